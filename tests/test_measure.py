"""Reading task output: metrics lines, cases files, the built-in scorers and JUnit reports."""

from __future__ import annotations

import pytest

from bot.core.cases import read_cases
from bot.core.measure import case_stdin, junit_failures, parse_metrics, score_case
from bot.core.suites import Scorer
from bot.errors import InputError

DECLARED = ["accuracy", "latency_ms"]


@pytest.mark.parametrize(
    ("stdout", "metrics", "failure"),
    [
        ('{"accuracy": 0.9, "latency_ms": 3}\n', {"accuracy": 0.9, "latency_ms": 3.0}, None),
        ('{"accuracy": 0.9}\n', {}, "missing_metric"),
        ('{"latency_ms": 3, "other": 1}\n', {}, "missing_metric"),
        (
            'noise\n{"accuracy": 1, "latency_ms": 2.5}\n\n',
            {"accuracy": 1.0, "latency_ms": 2.5},
            None,
        ),
        ('{"accuracy": 0.9, "latency_ms": 1, "extra": 7}', {"accuracy": 0.9, "latency_ms": 1.0},
         None),
        ("", {}, "no_metrics"),
        ("\n  \n", {}, "no_metrics"),
        ("done\n", {}, "malformed_metrics"),
        ('{"accuracy": 0.9}\ntrailing words\n', {}, "malformed_metrics"),
        ("[0.9]", {}, "malformed_metrics"),
        ('{"accuracy": "high"}', {}, "malformed_metrics"),
        ('{"accuracy": true}', {}, "malformed_metrics"),
        ('{"accuracy": NaN}', {}, "malformed_metrics"),
        ('{"other": 1}', {}, "no_metrics"),
    ],
)
def test_parse_metrics(stdout: str, metrics: dict[str, float], failure: str | None) -> None:
    parsed = parse_metrics(stdout, DECLARED)
    assert parsed.metrics == metrics
    assert parsed.failure == failure
    assert (parsed.reason is None) == (failure is None)


def test_cases_file_broken_line_names_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        read_cases(b'{"a": 1}\n\n{"a": 2\n[1]\n', "data/cases.jsonl")
    assert [(p.file, p.line) for p in info.value.problems] == [
        ("data/cases.jsonl", 3),
        ("data/cases.jsonl", 4),
    ]
    assert read_cases(b'{"a": 1}\n{"a": 2}\n', "x.jsonl") == [{"a": 1}, {"a": 2}]
    with pytest.raises(InputError, match="no cases"):
        read_cases(b"\n", "empty.jsonl")


def _scorer(spec: dict) -> Scorer:
    return Scorer.model_validate(spec)


@pytest.mark.parametrize(
    ("spec", "case", "output", "score"),
    [
        ({"exact": {"field": "label"}}, {"label": "billing"}, "billing\n", 1.0),
        ({"exact": {"field": "label"}}, {"label": "billing"}, "Billing\n", 0.0),
        ({"exact": {"field": "label"}}, {"label": "billing"}, '{"label": "billing"}', 1.0),
        ({"exact": {"field": "n"}}, {"n": 3}, '{"n": 3}', 1.0),
        ({"exact": {"field": "n"}}, {"n": 3}, "3", 1.0),
        ({"contains": {"field": "want"}}, {"want": "refund"}, "we will refund you", 1.0),
        ({"contains": {"value": "sorry"}}, {}, "we will refund you", 0.0),
        ({"regex": {"pattern": r"^\d{3}-\d{4}$"}}, {}, "555-1234", 1.0),
        ({"regex": {"field": "re"}}, {"re": "ab+c"}, "xxabbbcxx", 1.0),
        ({"regex": {"field": "re"}}, {"re": "("}, "x", 0.0),
        ({"json_schema": {"schema": {"type": "object", "required": ["a"]}}}, {}, '{"a": 1}', 1.0),
        ({"json_schema": {"schema": {"type": "object", "required": ["a"]}}}, {}, '{"b": 1}', 0.0),
        ({"json_schema": {"schema": {"type": "object"}}}, {}, "not json", 0.0),
        ({"numeric": {"field": "y", "tolerance": 0.1}}, {"y": 1.0}, "1.05", 1.0),
        ({"numeric": {"field": "y", "tolerance": 0.1}}, {"y": 1.0}, "1.2", 0.0),
        ({"numeric": {"field": "y"}}, {"y": 2}, '{"y": 2.0}', 1.0),
        ({"numeric": {"field": "y"}}, {"y": 2}, "two", 0.0),
    ],
)
def test_scorers(spec: dict, case: dict, output: str, score: float) -> None:
    got, reason = score_case(_scorer(spec), case, output)
    assert got == score
    assert (reason is None) == (score == 1.0)


def test_json_schema_scorer_reads_a_schema_file() -> None:
    scorer = _scorer({"json_schema": {"schema_file": "s.json"}})
    schemas = {"s.json": {"type": "array"}}
    assert score_case(scorer, {}, "[1]", schemas)[0] == 1.0
    assert score_case(scorer, {}, "{}", schemas)[0] == 0.0


def test_the_task_never_sees_the_expected_answer() -> None:
    scorer = _scorer({"exact": {"field": "label"}})
    assert case_stdin({"text": "hi", "label": "greet"}, scorer) == b'{"text": "hi"}\n'
    assert case_stdin({"input": "hi there", "label": "greet"}, scorer) == b"hi there\n"


def test_junit_failures() -> None:
    xml = """<testsuites><testsuite name="s">
      <testcase classname="tests.test_a" name="test_ok"/>
      <testcase classname="tests.test_a" name="test_bad"><failure message="x"/></testcase>
      <testcase name="test_err"><error message="boom"/></testcase>
      <testcase classname="tests.test_b" name="test_skip"><skipped/></testcase>
    </testsuite></testsuites>"""
    assert junit_failures(xml) == ["test_err", "tests.test_a.test_bad"]
    assert junit_failures("<not xml")[0].startswith("(the JUnit XML could not be read")
