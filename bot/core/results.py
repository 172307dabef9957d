"""The results file that TEST writes and COMPARE reads: every sample of every task, the commit,
each suite's definition fingerprint and the environment. Its JSON schema ships in the package
(``bot/schemas/results.schema.json``) and is regenerated from these models."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.suites import Metric

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
    """A results file, or InputError naming the file and every field that is wrong."""
    import json

    from pydantic import ValidationError

    from bot.core.yamldoc import dotted
    from bot.errors import InputError, Problem

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError([Problem(file, f"not valid JSON: {exc.msg}", exc.lineno)]) from None
    if isinstance(data, dict) and data.get("schema_version") != SCHEMA_VERSION:
        found = data.get("schema_version")
        raise InputError(
            [
                Problem(
                    file,
                    f"schema version {found!r} is not {SCHEMA_VERSION} "
                    "(written by another version of improve?)",
                    field="schema_version",
                )
            ]
        )
    try:
        return Results.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [Problem(file, e["msg"], field=dotted(e["loc"]) or None) for e in exc.errors()]
        ) from None
