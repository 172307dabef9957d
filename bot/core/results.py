"""The results file that TEST writes and COMPARE reads: every sample of every task, the commit,
each suite's definition fingerprint and the environment. Its JSON schema ships in the package
(``bot/schemas/results.schema.json``) and is regenerated from these models."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from bot.core.strict import Strict
from bot.core.suites import Metric
from bot.errors import InputError, Problem

SCHEMA_VERSION = 1
Status = Literal["ok", "failed"]
# why a run failed, for machines: the first three are the task's own output contract broken
# (bad input: exit 2); the rest are outcomes of the code under test. ``missing_metric`` is a
# run that printed some declared metrics but not all: most often the code under test broke
# what computes the missing one, so it is the task's failure, compared like a crash.
Failure = Literal[
    "not_found", "no_metrics", "malformed_metrics", "crashed", "timeout", "check_failed",
    "missing_metric",
]
CONTRACT_FAILURES: frozenset[str] = frozenset({"not_found", "no_metrics", "malformed_metrics"})

# A metric value: a finite JSON number. Strict, so that "0.9" or true is refused rather than
# coerced, and NaN or Infinity (which Python's json reads) never reach the statistics.
Value = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class Sample(Strict):
    """One run of one task (or one check)."""

    status: Status
    metrics: dict[str, Value] = Field(default_factory=dict)
    duration_s: float = Field(ge=0, allow_inf_nan=False)
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

    def only(self, suite_ids: Collection[str]) -> Results:
        """The same results restricted to the suites ``suite_ids``."""
        return self.model_copy(update={"suites": [s for s in self.suites if s.id in suite_ids]})

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



def _where(data: Any, loc: tuple[int | str, ...]) -> str:
    """A validation error's location with suites and tasks named by their ids, so that a person
    finds the value: ``suites[router-v1].tasks[rt-001].samples[2].metrics.accuracy``."""
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        named = None
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            item = node[key]
            prev = loc[i - 1] if i else None
            if prev in ("suites", "tasks") and isinstance(item, dict) and isinstance(
                    item.get("id"), str):
                named = item["id"]
            node = item
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            node = None
        if isinstance(key, int):
            parts.append(f"[{named if named is not None else key}]")
        else:
            parts.append(("." if parts else "") + key)
    return "".join(parts)


def results_problems(results: Results, file: str) -> list[Problem]:
    """What the schema cannot say: suite ids and task ids are unique (a task listed twice
    would be counted twice, or one of its runs silently dropped)."""
    problems: list[Problem] = []
    seen_suites: set[str] = set()
    for suite in results.suites:
        if suite.id in seen_suites:
            problems.append(Problem(file, f"suite {suite.id!r} is listed twice",
                                    field=f"suites[{suite.id}]"))
        seen_suites.add(suite.id)
        seen: set[str] = set()
        for task in suite.tasks:
            if task.id in seen:
                what = "check" if suite.kind == "regression" else "task"
                problems.append(Problem(file, f"{what} id {task.id!r} is listed twice",
                                        field=f"suites[{suite.id}].tasks[{task.id}]"))
            seen.add(task.id)
    return problems


def pair_problems(base: Results, cand: Results, base_file: str,
                  cand_file: str) -> list[Problem]:
    """Two results files that cannot be compared as they are: a suite with the same definition
    hash on both sides must define its kind and metrics the same way, or the hash
    does not fingerprint what was measured (a hand-edited or corrupted file)."""
    problems: list[Problem] = []
    for c in cand.suites:
        b = base.suite(c.id)
        if b is None or b.definition_hash != c.definition_hash:
            continue
        where = f"suites[{c.id}]"
        if b.kind != c.kind:
            problems.append(Problem(cand_file, f"suite {c.id!r} is a {c.kind} suite here and a "
                                    f"{b.kind} suite in {base_file} under the same definition "
                                    f"hash {c.definition_hash}", field=f"{where}.kind"))
        bdefs = {m.name: m for m in b.metrics}
        cdefs = {m.name: m for m in c.metrics}
        for name in sorted(set(bdefs) | set(cdefs)):
            bm, cm = bdefs.get(name), cdefs.get(name)
            if bm == cm:
                continue
            shown_c = cm.model_dump() if cm else "not defined"
            shown_b = bm.model_dump() if bm else "not defined"
            problems.append(Problem(cand_file, f"suite {c.id!r}: metric {name!r} is {shown_c} "
                                    f"here but {shown_b} in {base_file}, under the same "
                                    f"definition hash {c.definition_hash}",
                                    field=f"{where}.metrics.{name}"))
    return problems


def parse_results(text: str, file: str) -> Results:
    """A results file's text as :class:`Results`; anything else is an InputError naming the
    file, the suite, the task and the field."""
    try:
        # the fast path: pydantic parses the JSON itself; errors are explained by the slow one
        parsed = Results.model_validate_json(text)
    except ValueError:
        pass
    else:
        problems = results_problems(parsed, file)
        if problems:
            raise InputError(problems)
        return parsed
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
        parsed = Results.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _where(data, tuple(err["loc"]))
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            if err["type"] in ("float_type", "finite_number"):
                msg += f", got {err['input']!r}"
            problems.append(Problem(file, msg, field=loc or None))
        raise InputError(problems) from None
    problems = results_problems(parsed, file)
    if problems:
        raise InputError(problems)
    return parsed
