"""The results file that TEST writes and COMPARE reads: every sample of every task, the commit,
each suite's definition fingerprint and the environment. Its JSON schema ships in the package
(``bot/schemas/results.schema.json``) and is regenerated from these models."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.suites import Metric
from bot.errors import InputError, Problem

SCHEMA_VERSION = 1
Status = Literal["ok", "failed"]
# why a run failed, for machines: the first three are the task's own output contract broken
# (bad input: exit 2); the rest are outcomes of the code under test
Failure = Literal[
    "not_found", "no_metrics", "malformed_metrics", "crashed", "timeout", "check_failed"
]
CONTRACT_FAILURES: frozenset[str] = frozenset({"not_found", "no_metrics", "malformed_metrics"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sample(Strict):
    """One run of one task (or one check)."""

    status: Status
    metrics: dict[str, float] = Field(default_factory=dict)
    duration_s: float = Field(ge=0)
    exit_code: int | None = None
    failure: Failure | None = None
    # why a failed sample failed, for people: "exited with code 3", "timed out after 5 s", ...
    reason: str | None = None
    output_tail: str = ""


class TaskResult(Strict):
    id: str
    status: Status
    reason: str | None = None
    samples: list[Sample]
    # failing test names, from the JUnit XML a regression check wrote
    failures: list[str] = Field(default_factory=list)

    def values(self, metric: str) -> list[float]:
        """The metric's values over the ok samples."""
        return [s.metrics[metric] for s in self.samples if s.status == "ok" and metric in s.metrics]


class SuiteResult(Strict):
    id: str
    kind: Literal["benchmark", "regression"]
    path: str
    definition_hash: str
    targets: list[str]
    minimum: float | None = None
    repeat: int = Field(ge=1)
    metrics: list[Metric] = Field(default_factory=list)
    tasks: list[TaskResult]


class Environment(Strict):
    python: str
    implementation: str
    platform: str
    machine: str
    cpu_count: int
    improve: str


class Shard(Strict):
    index: int = Field(ge=1)
    total: int = Field(ge=1)


class Results(Strict):
    schema_version: Literal[1] = 1
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    ref: str
    created_at: str
    environment: Environment
    changed_from: str | None = None
    shard: Shard | None = None
    suites: list[SuiteResult]

    def suite(self, suite_id: str) -> SuiteResult | None:
        return next((s for s in self.suites if s.id == suite_id), None)

    def failed_tasks(self) -> Iterable[tuple[SuiteResult, TaskResult]]:
        for s in self.suites:
            for t in s.tasks:
                if t.status == "failed":
                    yield s, t


def results_schema() -> dict:
    schema = Results.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/improve-bot/improve/results.schema.json"
    return schema



def parse_results(text: str, file: str) -> Results:
    """A results file's text as :class:`Results`; anything else is an InputError naming the
    file and the field."""
    try:
        # the fast path: pydantic parses the JSON itself; errors are explained by the slow one
        return Results.model_validate_json(text)
    except ValueError:
        pass
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError([Problem(file, f"not JSON: {exc}")]) from None
    if not isinstance(data, dict):
        raise InputError([Problem(file, "a results file is a JSON object")])
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError(
            [
                Problem(
                    file,
                    f"schema_version {version!r} is not supported: this improve reads version "
                    f"{SCHEMA_VERSION}",
                    field="schema_version",
                )
            ]
        )
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(Problem(file, msg, field=loc or None))
        raise InputError(problems) from None
