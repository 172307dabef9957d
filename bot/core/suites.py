"""Suite definitions: benchmark suites (scored tasks with a minimum) and regression suites
(pass/fail checks), and the pure functions that select, shard and fingerprint them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    field_validator,
    model_validator,
)

from bot.core.config import Command, command_argv
from bot.core.formats import FORMATS, FormatName
from bot.core.formats.custom import path_steps
from bot.core.globs import check_glob, match_any
from bot.core.matrix import expand, expanded_id, matrix_env, render, unknown_keys
from bot.core.strict import Strict
from bot.core.yamldoc import Document, parse_yaml, validate_document
from bot.errors import InputError, Problem

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Metric(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    direction: Literal["higher", "lower"] = "higher"
    kind: Literal["score", "timing"] = "score"
    weight: float = Field(1.0, gt=0)
    # a metric that does not gate is reported but never rejects
    gate: bool = True


class FieldRef(Strict):
    field: str


class ContainsScorer(Strict):
    field: str | None = None
    value: str | None = None

    @model_validator(mode="after")
    def _one(self) -> ContainsScorer:
        if (self.field is None) == (self.value is None):
            raise ValueError("give exactly one of 'field' (the case's expected text) or 'value'")
        return self


class RegexScorer(Strict):
    pattern: str | None = None
    field: str | None = None

    @model_validator(mode="after")
    def _one(self) -> RegexScorer:
        if (self.field is None) == (self.pattern is None):
            raise ValueError("give exactly one of 'pattern' or 'field'")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return self


class JsonSchemaScorer(Strict):
    schema_: dict | None = Field(None, alias="schema")
    schema_file: str | None = None

    @model_validator(mode="after")
    def _one(self) -> JsonSchemaScorer:
        if (self.schema_ is None) == (self.schema_file is None):
            raise ValueError("give exactly one of 'schema' or 'schema_file'")
        return self


class NumericScorer(Strict):
    field: str
    tolerance: float = Field(0.0, ge=0)


class Scorer(Strict):
    """Exactly one built-in scorer, written as ``{exact: {field: label}}`` and so on."""

    exact: FieldRef | None = None
    contains: ContainsScorer | None = None
    regex: RegexScorer | None = None
    json_schema: JsonSchemaScorer | None = None
    numeric: NumericScorer | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Scorer:
        chosen = [k for k in type(self).model_fields if getattr(self, k) is not None]
        if len(chosen) != 1:
            raise ValueError(
                "name exactly one scorer: exact, contains, regex, json_schema or numeric"
            )
        return self

    @property
    def name(self) -> str:
        return next(k for k in type(self).model_fields if getattr(self, k) is not None)

    @property
    def expected_field(self) -> str | None:
        spec = getattr(self, self.name)
        return getattr(spec, "field", None)


MatrixItem = str | int | float


def _check_command(v: Command) -> Command:
    try:
        argv = command_argv(v)
    except ValueError as exc:
        raise ValueError(f"cannot split the command: {exc}") from None
    if not argv or not argv[0]:
        raise ValueError("the command is empty")
    return v


def _relative(path: str) -> str:
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise ValueError("give a path inside the repository, relative to its root")
    return path


class ResultsFile(Strict):
    """The results a task's own tool writes (bot/core/formats), read instead of a JSON line on
    its stdout: ``{file: .benchmarks/out.json, format: pytest-benchmark}``."""

    # relative to the repository; a directory for asv and lm-eval
    file: Annotated[str, AfterValidator(_relative)]
    format: FormatName
    # the json format only: metric name -> its path in the document (``summary.accuracy``)
    metrics: dict[str, str] | None = None

    @model_validator(mode="after")
    def _paths(self) -> ResultsFile:
        if self.format != "json":
            if self.metrics is not None:
                raise ValueError(f"'metrics' is for the json format; {self.format} names its "
                                 "own metrics")
            return self
        if not self.metrics:
            raise ValueError("the json format needs 'metrics': a path per metric, "
                             "e.g. {accuracy: summary.accuracy}")
        for name, path in self.metrics.items():
            try:
                path_steps(path)
            except ValueError as exc:
                raise ValueError(f"metrics.{name}: {exc}") from None
        return self

    def reports(self) -> list[tuple[str, str | None, str | None]]:
        """(metric, direction, kind) this file reports; None where the suite says."""
        if self.metrics is not None:
            return [(m, None, None) for m in self.metrics]
        return [(n, d, k) for n, d, k in FORMATS[self.format].metrics]


def _render_command(run: Command, combo: dict[str, str]) -> list[str]:
    """The command's argv with the combination's values in. A value has no spaces, quotes or
    backslashes (bot/core/matrix.py), so filling a string in before splitting it gives the same
    words as filling each word in: a value never makes or joins an argument."""
    if isinstance(run, str):
        return command_argv(render(run, combo))
    return [render(arg, combo) for arg in run]


class Task(Strict):
    id: str = Field(pattern=ID_PATTERN)
    run: Command
    # the results file the task's tool writes, read instead of the task's stdout
    results: ResultsFile | None = None
    # a JSON Lines file of cases, each scored by the scorer; compressed when its name ends in
    # .gz, .bz2 or .xz, or a .zip holding one file (bot/core/cases.py)
    cases: str | None = None
    scorer: Scorer | None = None
    # all cases in one process: JSON Lines in ({"id", "input"}), JSON Lines out ({"id",
    # "output"} scored by the scorer, or without a scorer the case's metrics: {"id", "accuracy"}),
    # instead of one process per case
    batch: bool = False
    # the score metric a data-driven task fills (default: the suite's first score metric)
    metric: str | None = None
    timeout: float | None = Field(None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)
    # one task per combination (bot/core/matrix.py): ``{dataset: [a, b], fold: [0, 1]}``, with
    # optional ``exclude``/``include`` lists; ``${{ matrix.KEY }}`` in run, cases and env
    matrix: dict[str, list[MatrixItem] | list[dict[str, MatrixItem]]] | None = None

    _cmd = field_validator("run")(_check_command)

    @field_validator("matrix")
    @classmethod
    def _matrix(cls, v: dict | None) -> dict | None:
        if v is not None:
            expand(v)  # refused here, so the error names the field
        return v

    def _templated(self) -> list[tuple[str, str]]:
        """(field, text) of what may name the matrix's values."""
        out = [("run", arg) for arg in ([self.run] if isinstance(self.run, str) else self.run)]
        out += [("cases", self.cases)] if self.cases else []
        return out + [(f"env.{k}", v) for k, v in self.env.items()]

    @model_validator(mode="after")
    def _templates(self) -> Task:
        keys = list(expand(self.matrix)[0]) if self.matrix is not None else []
        for where, text in self._templated():
            unknown = unknown_keys([text], keys)
            if unknown and self.matrix is None:
                raise ValueError(f"{where}: '${{{{ matrix.{unknown[0]} }}}}' needs a 'matrix'")
            if unknown:
                raise ValueError(f"{where}: the matrix has no key {unknown[0]!r} "
                                 f"(it has: {', '.join(keys)})")
        return self

    def expanded(self) -> list[Task]:
        """The task itself, or one task per combination of its matrix: ``id[key=value,...]``,
        its templates filled in (in each argv element, never through a shell) and the values
        in its environment (``IMPROVE_MATRIX_<KEY>``)."""
        if self.matrix is None:
            return [self]
        out = []
        for combo in expand(self.matrix):
            out.append(self.model_copy(update={
                "id": expanded_id(self.id, combo),
                "run": _render_command(self.run, combo),
                "cases": render(self.cases, combo) if self.cases else None,
                "env": {**matrix_env(combo),
                        **{k: render(v, combo) for k, v in self.env.items()}},
                "matrix": None,
            }))
        return out

    @model_validator(mode="after")
    def _cases_need_scorer(self) -> Task:
        if self.scorer is not None and self.cases is None:
            raise ValueError("a 'scorer' scores a data-driven task's cases: give it 'cases'")
        if self.cases is not None and self.scorer is None and not self.batch:
            raise ValueError("a data-driven task needs a 'scorer' (or 'batch: true', printing "
                             "each case's metrics itself)")
        if self.results is not None and self.cases is not None:
            raise ValueError("a task reads either its tool's 'results' or 'cases', not both")
        if self.batch and self.cases is None:
            raise ValueError("'batch' is for a data-driven task: give it 'cases'")
        return self


class Check(Strict):
    id: str = Field(pattern=ID_PATTERN)
    run: Command
    # a JUnit XML file the check writes (relative to the repository); its failures are named
    junit: str | None = None
    timeout: float | None = Field(None, gt=0)
    env: dict[str, str] = Field(default_factory=dict)

    _cmd = field_validator("run")(_check_command)


def _unique(items: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ValueError(f"duplicate {what} {item!r}")
        seen.add(item)


def _target(pattern: str) -> str:
    """A target glob checked when the suite is read (bot/core/globs.py says what they mean),
    so a bad one is an error naming the file and line, not a crash when paths are matched."""
    why = check_glob(pattern)
    if why is not None:
        raise ValueError(f"not a target pattern: {why}")
    return pattern


Target = Annotated[str, AfterValidator(_target)]


class BenchmarkSuite(Strict):
    kind: Literal["benchmark"] = "benchmark"
    id: str = Field(pattern=ID_PATTERN)
    description: str | None = None
    targets: list[Target] = Field(default_factory=lambda: ["**"], min_length=1)
    minimum: float | None = None
    repeat: int = Field(5, ge=1, le=1000)
    timeout: float = Field(120.0, gt=0)
    # may be left out when the tasks' results formats name their metrics (pytest-benchmark's
    # time_s, ...): those are added with the format's direction and kind
    metrics: list[Metric] = Field(min_length=1)
    tasks: list[Task] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _metrics_from_formats(cls, data: object) -> object:
        """No metrics declared: those of the tasks' results formats, when they name some."""
        if not isinstance(data, dict) or data.get("metrics"):
            return data
        found: dict[str, dict[str, str]] = {}
        for task in data.get("tasks") or []:
            spec = task.get("results") if isinstance(task, dict) else None
            name = spec.get("format") if isinstance(spec, dict) else None
            fmt = FORMATS.get(name) if isinstance(name, str) else None
            for metric, direction, kind in fmt.metrics if fmt else ():
                found.setdefault(metric, {"name": metric, "direction": direction, "kind": kind})
        return {**data, "metrics": list(found.values())} if found else data

    @model_validator(mode="after")
    def _consistent(self) -> BenchmarkSuite:
        # a task with a matrix is the tasks of its combinations from here on
        self.tasks = [one for t in self.tasks for one in t.expanded()]
        _unique((t.id for t in self.tasks), "task id")
        _unique((m.name for m in self.metrics), "metric")
        self._format_metrics()
        names = {m.name: m for m in self.metrics}
        for t in self.tasks:
            if t.metric is not None and t.metric not in names:
                raise ValueError(f"task {t.id!r}: metric {t.metric!r} is not declared")
            if t.cases is not None and self.score_metric(t) is None:
                raise ValueError(f"task {t.id!r}: a data-driven task needs a score metric")
        return self

    def _format_metrics(self) -> None:
        """Add the metrics the tasks' results formats report; a declared one must point the
        way its format does, and the json format's must be declared."""
        names = {m.name: m for m in self.metrics}
        for t in self.tasks:
            if t.results is None:
                continue
            for name, direction, kind in t.results.reports():
                have = names.get(name)
                if direction is None:
                    if have is None:
                        raise ValueError(f"task {t.id!r}: metric {name!r} of its results is "
                                         "not declared under 'metrics' (say its direction)")
                    continue
                if have is None:
                    have = Metric(name=name, direction=direction, kind=kind)
                    self.metrics.append(have)
                    names[name] = have
                elif (have.direction, have.kind) != (direction, kind):
                    raise ValueError(
                        f"task {t.id!r}: {t.results.format} reports {name!r} as {kind}, "
                        f"{direction} is better; it is declared {have.kind}, {have.direction}")

    def score_metric(self, task: Task) -> str | None:
        if task.metric is not None:
            return task.metric
        return next((m.name for m in self.metrics if m.kind == "score"), None)

    def timeout_for(self, task: Task | Check) -> float:
        return task.timeout or self.timeout


class RegressionSuite(Strict):
    kind: Literal["regression"] = "regression"
    id: str = Field(pattern=ID_PATTERN)
    description: str | None = None
    targets: list[Target] = Field(default_factory=lambda: ["**"], min_length=1)
    timeout: float = Field(600.0, gt=0)
    checks: list[Check] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RegressionSuite:
        _unique((c.id for c in self.checks), "check id")
        return self

    def timeout_for(self, task: Task | Check) -> float:
        return task.timeout or self.timeout


Suite = BenchmarkSuite | RegressionSuite


def parse_suite(text: str, file: str, kind: Literal["benchmark", "regression"]) -> Suite:
    suite, problems = check_suite(parse_yaml(text, file), kind)
    if problems or suite is None:
        raise InputError(problems)
    return suite


def check_suite(
    doc: Document, kind: Literal["benchmark", "regression"]
) -> tuple[Suite | None, list[Problem]]:
    model: type[Suite] = BenchmarkSuite if kind == "benchmark" else RegressionSuite
    if isinstance(doc.data, dict) and doc.data.get("kind", kind) != kind:
        return None, [
            Problem(doc.file, f"a suite in this folder must be of kind {kind!r}",
                    doc.line_of(("kind",)), "kind")
        ]
    return validate_document(model, doc)


def load_suites(
    files: Mapping[str, str], kind_of: Mapping[str, Literal["benchmark", "regression"]]
) -> tuple[list[tuple[Suite, str]], list[Problem]]:
    """Every suite from ``{path: text}`` with its path; every problem across all files, and
    duplicate ids."""
    suites: list[tuple[Suite, str]] = []
    problems: list[Problem] = []
    where: dict[str, str] = {}
    for path in sorted(files):
        try:
            doc = parse_yaml(files[path], path)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        suite, found = check_suite(doc, kind_of[path])
        problems.extend(found)
        if suite is None:
            continue
        if suite.id in where:
            message = f"suite id {suite.id!r} is also used by {where[suite.id]}"
            problems.append(Problem(path, message, doc.line_of(("id",)), "id"))
            continue
        where[suite.id] = path
        suites.append((suite, path))
    return suites, problems


def select_suites(
    suites: Iterable[Suite], ids: Iterable[str] | None, changed: Iterable[str] | None
) -> list[Suite]:
    """Suites by id (unknown ids are an error) and, when ``changed`` is given, by targets."""
    suites = list(suites)
    by_id = {s.id: s for s in suites}
    wanted = list(ids or [])
    unknown = [i for i in wanted if i not in by_id]
    if unknown:
        known = ", ".join(sorted(by_id)) or "none"
        raise InputError(
            [Problem("--suite", f"unknown suite {i!r} (known: {known})") for i in unknown]
        )
    chosen = [by_id[i] for i in wanted] if wanted else suites
    if changed is not None:
        paths = list(changed)
        chosen = [s for s in chosen if any(match_any(p, s.targets) for p in paths)]
    return chosen


def definition_hash(suite: Suite, inputs: Mapping[str, bytes]) -> str:
    """Fingerprint of a suite's definition and the input files it names (cases, schemas)."""
    h = hashlib.sha256()
    h.update(json.dumps(suite.model_dump(mode="json", by_alias=True), sort_keys=True).encode())
    for path in sorted(inputs):
        h.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(inputs[path]).digest())
    return "sha256:" + h.hexdigest()


def input_paths(suite: Suite) -> list[str]:
    """Files a suite's definition names, which its fingerprint covers."""
    out: list[str] = []
    if isinstance(suite, BenchmarkSuite):
        for t in suite.tasks:
            if t.cases:
                out.append(t.cases)
            if t.scorer and t.scorer.json_schema and t.scorer.json_schema.schema_file:
                out.append(t.scorer.json_schema.schema_file)
    return sorted(set(out))


UnitKey = tuple[str, str]


def shard_units(units: Iterable[UnitKey], k: int, n: int) -> list[UnitKey]:
    """The K-th of N deterministic shards (1-based): round-robin over the sorted units."""
    if not (1 <= k <= n):
        raise InputError(f"--shard: {k}/{n} is not a shard (want K/N with 1 <= K <= N)")
    ordered = sorted(set(units))
    return [u for i, u in enumerate(ordered) if i % n == k - 1]
