"""What a task's output means: the metrics on its last stdout line, data-driven cases and their
scoring by the built-in scorers, and the failing tests named in a JUnit XML file."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
from pydantic import TypeAdapter

from bot.core.formats import Entry
from bot.core.results import Sample
from bot.core.suites import Scorer
from bot.errors import Problem

TAIL_CHARS = 2000


def tail(text: str, limit: int = TAIL_CHARS) -> str:
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


@dataclass(frozen=True)
class Parsed:
    metrics: dict[str, float]
    reason: str | None = None  # set when the output breaks the contract
    failure: str | None = None  # "no_metrics" or "malformed_metrics" with the reason


def parse_metrics(stdout: str, declared: Iterable[str]) -> Parsed:
    """The JSON object on the last non-empty stdout line, restricted to the declared metrics."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        return Parsed({}, "printed no metrics (stdout was empty)", "no_metrics")
    last = lines[-1].strip()
    try:
        obj = json.loads(last)
    except json.JSONDecodeError:
        return Parsed(
            {},
            f"malformed metrics: last stdout line is not JSON: {last[:120]!r}",
            "malformed_metrics",
        )
    if not isinstance(obj, dict):
        return Parsed(
            {},
            f"malformed metrics: last stdout line is not an object: {last[:120]!r}",
            "malformed_metrics",
        )
    wanted = list(declared)
    metrics: dict[str, float] = {}
    for name in wanted:
        if name not in obj:
            continue
        value = obj[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            return Parsed(
                {}, f"malformed metrics: {name!r} is not a number: {value!r}", "malformed_metrics"
            )
        if not math.isfinite(value):
            return Parsed({}, f"malformed metrics: {name!r} is not finite", "malformed_metrics")
        metrics[name] = float(value)
    if not metrics:
        got = ", ".join(sorted(map(str, obj))) or "none"
        reason = f"printed none of the declared metrics ({', '.join(wanted)}); got: {got}"
        return Parsed({}, reason, "no_metrics")
    missing = [name for name in wanted if name not in metrics]
    if missing:
        # a run that leaves out a declared metric must not pass: the suite's mean would be
        # taken over the tasks left and its minimum dodged
        reason = f"printed no {', '.join(missing)} (declared by the suite)"
        return Parsed({}, reason, "missing_metric")
    return Parsed(metrics)


def check_cases(cases: list[dict[str, Any]], scorer: Scorer, file: str) -> list[Problem]:
    """Every case must carry the field its scorer compares against."""
    field = scorer.expected_field
    if field is None:
        return []
    return [
        Problem(file, f"case {i} has no field {field!r}, which the {scorer.name} scorer needs")
        for i, case in enumerate(cases, start=1)
        if field not in case
    ]


def case_stdin(case: dict[str, Any], scorer: Scorer) -> bytes:
    """What a data-driven task reads: the case's ``input`` if it has one, else the case minus
    the expected answer, as JSON. The expected answer is never shown to the task."""
    if "input" in case:
        value = case["input"]
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    else:
        shown = {k: v for k, v in case.items() if k != scorer.expected_field}
        text = json.dumps(shown, sort_keys=True)
    return (text + "\n").encode()


def _answer(output: str, field: str | None) -> Any:
    """The task's answer: the named field of a JSON object it printed, else its stripped text."""
    text = output.strip()
    if field is not None:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(obj, dict) and field in obj:
            return obj[field]
        return text
    return text


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) or isinstance(actual, str):
        return str(expected).strip() == str(actual).strip()
    return bool(expected == actual)


def score_case(
    scorer: Scorer, case: dict[str, Any], output: str, schemas: dict[str, Any] | None = None
) -> tuple[float, str | None]:
    """Score one case's output in [0, 1] and say why it failed when it did."""
    if scorer.exact is not None:
        field = scorer.exact.field
        got = _answer(output, field)
        ok = _same(case[field], got)
        return (1.0, None) if ok else (0.0, f"expected {case[field]!r}, got {got!r}")
    if scorer.contains is not None:
        needle = case[scorer.contains.field] if scorer.contains.field else scorer.contains.value
        ok = str(needle) in output
        return (1.0, None) if ok else (0.0, f"output does not contain {needle!r}")
    if scorer.regex is not None:
        pattern = scorer.regex.pattern if scorer.regex.pattern else case[scorer.regex.field or ""]
        try:
            ok = re.search(str(pattern), output) is not None
        except re.error as exc:
            return 0.0, f"case pattern is not a valid regular expression: {exc}"
        return (1.0, None) if ok else (0.0, f"output does not match /{pattern}/")
    if scorer.json_schema is not None:
        spec = scorer.json_schema
        schema = spec.schema_
        if schema is None:
            schema = (schemas or {})[spec.schema_file or ""]
        try:
            doc = json.loads(output)
        except json.JSONDecodeError:
            return 0.0, "output is not JSON"
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
        if errors:
            return 0.0, f"output does not match the schema: {errors[0].message}"
        return 1.0, None
    if scorer.numeric is not None:
        field = scorer.numeric.field
        got = _answer(output, field)
        try:
            diff = abs(float(got) - float(case[field]))
        except (TypeError, ValueError):
            return 0.0, f"expected a number near {case[field]!r}, got {got!r}"
        if diff <= scorer.numeric.tolerance:
            return 1.0, None
        return 0.0, f"expected {case[field]!r} ± {scorer.numeric.tolerance}, got {got!r}"
    raise AssertionError("scorer validated to have exactly one kind")


def score_case_run(
    scorer: Scorer, case: dict[str, Any], label: object, exit_code: int | None, output: str,
    schemas: dict[str, Any] | None = None,
) -> tuple[float, str | None]:
    """One case's run scored, with the note on it (named by ``label``) when there is one: a
    run that exited non-zero scores 0, its output unread."""
    if exit_code != 0:
        return 0.0, f"case {label}: exited with code {exit_code}"
    score, why = score_case(scorer, case, output, schemas)
    return score, f"case {label}: {why}" if why else None


def junit_failures(xml_text: str) -> list[str]:
    """Names (``classname.name``) of the failed or errored test cases in a JUnit XML report."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        return [f"(the JUnit XML could not be read: {exc})"]
    names = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            cls = case.get("classname") or ""
            name = case.get("name") or "?"
            names.append(f"{cls}.{name}" if cls else name)
    return sorted(set(names))


# A timing tool may time a fast function a hundred thousand times: the comparison's per-task
# tests cost the product of both sides' sample counts, and the results file grows with them.
# Past this many samples per entry and run, the samples are thinned to evenly spaced order
# statistics (quantiles), which keep the distribution's shape: its median, spread and tails.
MAX_TOOL_SAMPLES = 200
_SAMPLE_LIST = TypeAdapter(list[Sample])


def thin(samples: list[dict[str, float]], limit: int = MAX_TOOL_SAMPLES) -> list[dict[str, float]]:
    """At most ``limit`` samples, as evenly spaced quantiles of the samples (sorted by their one
    metric; samples of several metrics are taken evenly spaced in their order)."""
    n = len(samples)
    if n <= limit:
        return samples
    ordered = samples
    if all(len(x) == 1 for x in samples) and len({k for x in samples for k in x}) == 1:
        ordered = sorted(samples, key=lambda x: next(iter(x.values())))
    return [ordered[round(i * (n - 1) / (limit - 1))] for i in range(limit)]


def tool_samples(task_id: str, entries: Iterable[Entry], declared: Iterable[str],
                 duration_s: float) -> dict[str, list[Sample]]:
    """A tool's results (bot/core/formats) as samples by results task id: ``<task>/<entry>``
    (the task itself for the json format's one unnamed entry). Metrics the suite does not
    declare are dropped, and an entry left with none with them; a failed entry is one failed
    sample, compared like a failing task. A sample's duration is its own time where the tool
    measured one, else the run's (one sample) or 0."""
    wanted = set(declared)
    out: dict[str, list[Sample]] = {}
    for entry in entries:
        tid = f"{task_id}/{entry.name}" if entry.name else task_id
        if entry.failure is not None:
            out[tid] = [Sample(status="failed", failure="check_failed", reason=entry.failure,
                               duration_s=0.0)]
            continue
        samples: list[dict[str, Any]] = []
        for values in thin(entry.samples):
            kept = {k: v for k, v in values.items() if k in wanted}
            if kept:
                own = kept.get("time_s", duration_s if not entry.name else 0.0)
                samples.append({"status": "ok", "metrics": kept, "duration_s": max(own, 0.0)})
        if samples:
            # validated as one list: a tool may report tens of thousands of samples, and one
            # call into pydantic's core per sample costs most of the reading
            out[tid] = _SAMPLE_LIST.validate_python(samples)
    return out
