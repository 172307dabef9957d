"""The tool results formats' contracts (bot/core/formats): suites that name a results file are
validated with the file and field; files that are not what their format says are a FormatError
naming the file and place; thinning keeps the distribution. The real tools' files are read in
tests/test_tool_results.py."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.formats import FORMATS, Entry, FormatError, parse
from bot.core.formats.custom import path_steps
from bot.core.measure import MAX_TOOL_SAMPLES, thin, tool_samples
from bot.core.suites import parse_suite
from bot.errors import InputError
from tests.test_tool_results import improve


def suite_with(results: str, metrics: str = "") -> str:
    return f"id: x\n{metrics}tasks:\n  - id: t\n    run: x\n    results: {results}\n"


def test_formats_name_their_metrics_when_the_suite_does_not() -> None:
    s = parse_suite(suite_with("{file: out.json, format: hyperfine}"), "b.yaml", "benchmark")
    assert [(m.name, m.direction, m.kind) for m in s.metrics] == [("time_s", "lower", "timing")]
    s = parse_suite(suite_with("{file: o.json, format: promptfoo}"), "b.yaml", "benchmark")
    assert [m.name for m in s.metrics] == ["score", "pass"]


BAD = [
    ("{file: out.json, format: pytest-benchmarks}", "metrics: [{name: a}]\n",
     "tasks[0].results.format",
     "Input should be 'pytest-benchmark'"),
    ("{file: /abs/out.json, format: junit}", "", "tasks[0].results.file",
     "a path inside the repository"),
    ("{file: ../out.json, format: junit}", "", "tasks[0].results.file",
     "a path inside the repository"),
    ("{file: out.json, format: json}", "metrics: [{name: a}]\n", "tasks[0].results",
     "the json format needs 'metrics'"),
    ("{file: out.json, format: json, metrics: {a: 'x..y'}}", "metrics: [{name: a}]\n",
     "tasks[0].results", "metrics.a: not a path"),
    ("{file: out.json, format: junit, metrics: {a: x}}", "metrics: [{name: a}]\n",
     "tasks[0].results", "'metrics' is for the json format"),
    ("{file: out.json, format: json, metrics: {b: x}}", "metrics: [{name: a}]\n", None,
     "metric 'b' of its results is not declared"),
    ("{file: out.json, format: hyperfine}", "metrics: [{name: time_s}]\n", None,
     "hyperfine reports 'time_s' as timing, lower is better; it is declared score, higher"),
    ("{format: junit}", "", "tasks[0].results.file", "required key is missing"),
    ("{file: out.json, format: junit, extra: 1}", "", "tasks[0].results.extra", "unknown key"),
]


@pytest.mark.parametrize(("results", "metrics", "field", "message"), BAD)
def test_bad_results_specs_name_the_file_and_field(results: str, metrics: str, field: str | None,
                                                   message: str) -> None:
    with pytest.raises(InputError) as info:
        parse_suite(suite_with(results, metrics), "benchmarks/x.yaml", "benchmark")
    problems = info.value.problems
    assert [p.field for p in problems] == [field], problems
    assert problems[0].file == "benchmarks/x.yaml" and problems[0].line
    assert message in problems[0].message


def test_results_and_cases_exclude_each_other() -> None:
    text = ("id: x\nmetrics: [{name: a}]\ntasks:\n  - {id: t, run: x, cases: c.jsonl, "
            "scorer: {exact: {field: l}}, results: {file: o.json, format: junit}}\n")
    with pytest.raises(InputError, match="either its tool's 'results' or 'cases'"):
        parse_suite(text, "benchmarks/x.yaml", "benchmark")


@pytest.mark.parametrize(
    ("fmt", "data", "message"),
    [
        ("pytest-benchmark", b"{not json", "out: not JSON"),
        ("pytest-benchmark", b'{"machine_info": {}}', "out: no 'benchmarks'"),
        ("pytest-benchmark", b'{"benchmarks": [{"name": "a", "stats": {"data": ["x"]}}]}',
         "out: benchmarks[0].stats.data: not a number: 'x'"),
        ("junit", b"<testsuite><testcase name='a' time='fast'/></testsuite>",
         "test case a: time is not a number"),
        ("junit", b"<html/>", "not a JUnit report"),
        ("junit", b"<testsuite", "out: not XML"),
        ("hyperfine", b'{"results": [{"command": "a", "times": [NaN]}]}', "not a finite number"),
        ("google-benchmark", b'{"benchmarks": [{"name": "a", "real_time": 1, "time_unit": "h"}]}',
         "unknown unit 'h'"),
        ("customSmallerIsBetter", b'{"name": "a"}', "is a JSON list"),
        ("customBiggerIsBetter", b'[{"name": "a", "value": "1"}]', "out: [0].value: not a number"),
        ("promptfoo", b'{"results": {}}', "not a promptfoo output"),
        ("inspect", b'{"status": "error"}', "an Inspect log with no samples (status 'error')"),
        ("inspect", b"PK\x03\x04broken", "not an Inspect .eval archive"),
        ("pytest-benchmark", b'{"benchmarks": []}', "no results in out"),
    ],
)
def test_malformed_files_are_format_errors_naming_the_file(fmt: str, data: bytes,
                                                           message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse(fmt, {"out": data})
    assert message in str(info.value)


def test_json_paths() -> None:
    assert path_steps("$.a.b[2].c") == ["a", "b", 2, "c"]
    assert path_steps("runs[0]") == ["runs", 0]
    for bad in ("", "a..b", "a[x]", ".a"):
        with pytest.raises(ValueError):
            path_steps(bad)
    doc = json.dumps({"a": {"b": [1, 2, 3]}, "c": 0.5}).encode()
    with pytest.raises(FormatError, match="different numbers of samples"):
        parse("json", {"o.json": doc}, {"lat": "a.b", "acc": "c"})
    with pytest.raises(FormatError, match="o.json: a.d: no key 'd'"):
        parse("json", {"o.json": doc}, {"x": "a.d"})
    [entry] = parse("json", {"o.json": doc}, {"lat": "a.b"})
    assert entry == Entry("", [{"lat": 1.0}, {"lat": 2.0}, {"lat": 3.0}])


def test_thinning_keeps_the_quantiles() -> None:
    values = [{"time_s": float(v)} for v in reversed(range(10_001))]
    kept = thin(values)
    assert len(kept) == MAX_TOOL_SAMPLES
    got = [x["time_s"] for x in kept]
    assert got[0] == 0 and got[-1] == 10_000 and got == sorted(got)
    assert abs(got[len(got) // 2] - 5000) < 60
    assert thin(values[:50]) == values[:50]


def test_tool_samples_names_tasks_and_keeps_declared_metrics() -> None:
    entries = [Entry("fast", [{"time_s": 0.1, "other": 1}]), Entry("", [{"time_s": 2.0}]),
               Entry("broken", [], "failed: assert 1 == 2"), Entry("extra", [{"other": 1}])]
    got = tool_samples("t", entries, ["time_s"], 3.0)
    assert sorted(got) == ["t", "t/broken", "t/fast"]
    assert got["t/fast"][0].metrics == {"time_s": 0.1} and got["t/fast"][0].duration_s == 0.1
    assert got["t/broken"][0].status == "failed"
    assert got["t/broken"][0].reason == "failed: assert 1 == 2"


def test_every_format_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for name in FORMATS:
        assert f"`{name}`" in readme, name


def test_a_tool_that_writes_no_results_exits_2(make_repo: Callable[..., Path]) -> None:
    files = {"benchmarks/x.yaml": suite_with("{file: out/r.json, format: hyperfine}").replace(
        "run: x", "run: [python, -c, 'print(1)']")}
    repo = make_repo(files)
    code, out = improve(repo, "evaluate", "-o", "r.json")
    assert code == 2
    data = json.loads((repo / "r.json").read_text())
    [task] = data["suites"][0]["tasks"]
    assert task["reason"].startswith("wrote no hyperfine results at out/r.json")


def test_validate_names_the_file_and_field(make_repo: Callable[..., Path],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({"benchmarks/x.yaml": suite_with("{file: out.json, format: pytest}")})
    code, out = improve(repo, "validate")
    assert code == 2
    err = capsys.readouterr().err + out
    assert "benchmarks/x.yaml" in err and "tasks[0].results.format" in err, err


def test_links_out_of_the_repository_are_not_read(make_repo: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"version": 2, "result_columns": ["result"], "results": {"x": [1]}}')
    link = (f"import os; os.makedirs('out', exist_ok=True); "
            f"os.symlink({str(secret)!r}, 'out/r.json')")
    text = suite_with("{file: out, format: asv}").replace(
        "run: x", f"run: [python, -c, {json.dumps(link)}]")
    repo = make_repo({"benchmarks/x.yaml": text})
    code, _ = improve(repo, "evaluate", "--repeat", "1", "-o", "r.json")
    assert code == 2
    [task] = json.loads((repo / "r.json").read_text())["suites"][0]["tasks"]
    assert task["reason"] == "malformed asv results: no results in the directory"
