"""Results read strictly: values that cannot be compared are refused (exit 2, the file, suite,
task and field named), and a task that stops reporting a gating metric fails, never passes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.core.comparison.compare import compare_results
from bot.core.config import CompareConfig
from bot.core.results import parse_results
from bot.core.suites import Metric
from bot.errors import InputError
from tests.helpers.compare import CAND_SHA, LAT, bench, results, task
from tests.helpers.git import commit_all, git, write_files

DATA = Path(__file__).parent / "data" / "compare"
CFG = CompareConfig(tolerance={"default": 0.01}, resamples=500)
SUITE = "router-accuracy-v1"


def _first_task(data: dict) -> dict:
    return data["suites"][0]["tasks"][0]


def _set_value(value: Any) -> Callable[[dict], None]:
    def edit(data: dict) -> None:
        _first_task(data)["samples"][1]["metrics"]["accuracy"] = value
    return edit


def _duplicate_task(data: dict) -> None:
    tasks = data["suites"][0]["tasks"]
    tasks.append(json.loads(json.dumps(tasks[0])))


def _flip_direction(data: dict) -> None:
    m = next(m for m in data["suites"][0]["metrics"] if m["name"] == "accuracy")
    m["direction"] = "lower"


def _drop_metric_definition(data: dict) -> None:
    data["suites"][0]["metrics"] = [m for m in data["suites"][0]["metrics"]
                                    if m["name"] != "latency_ms"]


@pytest.mark.parametrize(
    ("edit", "text", "field", "message"),
    [
        (_set_value(float("nan")), None, "samples[1].metrics.accuracy", "finite number"),
        (None, "Infinity", "samples[1].metrics.accuracy", "finite number"),
        (None, "-Infinity", "samples[1].metrics.accuracy", "finite number"),
        (_set_value("0.91"), None, "samples[1].metrics.accuracy",
         "valid number, got '0.91'"),
        (_set_value(True), None, "samples[1].metrics.accuracy", "valid number, got True"),
        (_set_value(None), None, "samples[1].metrics.accuracy", "valid number"),
        (_duplicate_task, None, "", "is listed twice"),
        (_flip_direction, None, "metrics.accuracy", "under the same definition hash"),
        (_drop_metric_definition, None, "metrics.latency_ms", "not defined"),
    ],
    ids=["nan", "infinity", "minus-infinity", "string", "bool", "null", "duplicate-task",
         "direction-changed", "metric-dropped"],
)
def test_results_that_cannot_be_compared_exit_2_naming_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    edit: Callable[[dict], None] | None, text: str | None, field: str, message: str,
) -> None:
    for f in DATA.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    data = json.loads((tmp_path / "cand.json").read_text())
    task_id = _first_task(data)["id"]
    if edit is not None:
        edit(data)
        body = json.dumps(data)
    else:
        # JSON has no Infinity: Python's json writes it, and reads it back, as a bare token
        _first_task(data)["samples"][1]["metrics"]["accuracy"] = "@@"
        body = json.dumps(data).replace('"@@"', str(text))
    (tmp_path / "bad.json").write_text(body)
    assert main(["compare", "base.json", "bad.json", "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing half-written
    err = captured.err
    assert err.startswith("improve compare: error: bad.json")
    assert f"suites[{SUITE}]" in err, err
    if field.startswith("samples") or "listed" in message:
        assert f"tasks[{task_id}]" in err, err
    assert field in err and message in err, err
    assert "Traceback" not in err and "Warning" not in err


def test_the_core_refuses_the_same_in_memory() -> None:
    """Callers other than the CLI (the PR evaluation, the monitor) get the same refusal."""
    acc = Metric(name="accuracy")
    tasks = [task(f"t{i}", {"accuracy": [0.7, 0.71]}) for i in range(3)]
    base = results([bench("s", tasks, [acc])])
    twice = results([bench("s", [*tasks, tasks[0]], [acc])], commit=CAND_SHA, ref="x")
    with pytest.raises(InputError, match=r"candidate: suites\[s\]\.tasks\[t0\]: task id 't0'"):
        compare_results(base, twice, CFG)
    lower = results([bench("s", tasks, [Metric(name="accuracy", direction="lower")])],
                    commit=CAND_SHA, ref="x")
    with pytest.raises(InputError, match=r"metric 'accuracy' is .*direction.*'lower'"):
        compare_results(base, lower, CFG)
    # a changed definition under a new hash is a blocker, not bad input
    rehashed = results([bench("s", tasks, [Metric(name="accuracy", direction="lower")],
                              definition_hash="sha256:two")], commit=CAND_SHA, ref="x")
    assert compare_results(base, rehashed, CFG).decision == "inconclusive"


def test_parse_names_suite_and_task_by_id() -> None:
    text = (DATA / "cand.json").read_text()
    data = json.loads(text)
    data["suites"][0]["tasks"][2]["samples"][0]["duration_s"] = "slow"
    with pytest.raises(InputError) as info:
        parse_results(json.dumps(data), "c.json")
    (p,) = info.value.problems
    tid = data["suites"][0]["tasks"][2]["id"]
    assert p.field == f"suites[{SUITE}].tasks[{tid}].samples[0].duration_s"


LEVELS = [0.6, 0.7, 0.8, 0.9, 0.65, 0.75]


def _suite(values: dict[str, dict[str, list[float]]], metrics: list[Metric]) -> list:
    return [task(tid, v) for tid, v in values.items()]


def _runs(level: float) -> list[float]:
    return [level - 0.01, level, level + 0.01]


@pytest.mark.parametrize(
    ("lost_on", "gate", "decision", "codes"),
    [
        ("candidate", True, "reject", [("task_metric_missing", "t2")]),
        ("baseline", True, "accept", []),
        ("candidate", False, "accept", []),
    ],
)
def test_a_gating_metric_missing_on_one_side_fails_that_task(
    lost_on: str, gate: bool, decision: str, codes: list[tuple[str, str]],
) -> None:
    acc = Metric(name="accuracy", gate=gate)
    score = Metric(name="f1")
    metrics = [score, acc]
    full = {f"t{i}": {"f1": _runs(lv), "accuracy": _runs(lv)} for i, lv in enumerate(LEVELS)}
    lost = {**full, "t2": {"f1": _runs(LEVELS[2])}}
    b, c = (full, lost) if lost_on == "candidate" else (lost, full)
    base = results([bench("s", _suite(b, metrics), metrics, minimum=0.5)])
    cand = results([bench("s", _suite(c, metrics), metrics, minimum=0.5)], commit=CAND_SHA,
                   ref="x")
    out = compare_results(base, cand, CFG)
    assert out.decision == decision, out.summary
    if decision == "reject":
        assert [(r.code, r.subject) for r in out.reasons] == codes
        assert "t2 no longer reports the gating metric accuracy" in out.reasons[0].message
    failed = {(f.id, f.side) for f in out.suites[0].failed_tasks}
    if gate:
        # named as a failed task on the side that lost the metric, and left out of the pairing
        assert failed == {("t2", lost_on)}
        assert out.suites[0].tasks_paired == len(LEVELS) - 1
    else:
        assert failed == set()
        m = next(m for m in out.suites[0].metrics if m.name == "accuracy")
        assert m.missing_tasks == ["t2"]


def test_values_missing_in_some_runs_are_noted() -> None:
    base = results([bench("s", [task(f"t{i}", {"accuracy": _runs(lv)})
                                for i, lv in enumerate(LEVELS)])])
    c = [task(f"t{i}", {"accuracy": _runs(lv)}) for i, lv in enumerate(LEVELS)]
    c[0] = task("t0", {"accuracy": _runs(LEVELS[0])[:2], "f1": _runs(0.5)})
    cand = results([bench("s", c)], commit=CAND_SHA, ref="x")
    out = compare_results(base, cand, CFG)
    assert any("1 metric value(s) were missing" in n for n in out.suites[0].notes)


def test_timing_metric_dropped_fails_the_task_too() -> None:
    acc = Metric(name="accuracy")
    b = [task(f"t{i}", {"accuracy": _runs(lv), "latency_ms": [10.0, 11.0, 10.5]})
         for i, lv in enumerate(LEVELS)]
    c = [task(f"t{i}", {"accuracy": _runs(lv), "latency_ms": [10.0, 11.0, 10.5]})
         for i, lv in enumerate(LEVELS)]
    c[4] = task("t4", {"accuracy": _runs(LEVELS[4])})
    out = compare_results(results([bench("s", b, [acc, LAT])]),
                          results([bench("s", c, [acc, LAT])], commit=CAND_SHA, ref="x"), CFG)
    assert [(r.code, r.subject) for r in out.reasons] == [("task_metric_missing", "t4")]


# --- end to end: the real `improve evaluate` on two commits, then `improve compare` -----------

TASK_CODE = (
    "import json, os; d = json.load(open('scores.json'))[os.environ['IMPROVE_TASK']]; "
    "print(json.dumps(d))"
)


def _improve(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=repo, capture_output=True,
                          text=True, timeout=120)


def test_a_task_that_stops_printing_accuracy_is_rejected_end_to_end(
    make_repo: Callable[..., Path],
) -> None:
    suite = {
        "id": "acc", "repeat": 2, "timeout": 30, "minimum": 0.8,
        "metrics": [{"name": "accuracy"},
                    {"name": "latency_ms", "direction": "lower", "kind": "timing"}],
        "tasks": [{"id": f"t{i}", "run": ["python", "-c", TASK_CODE]} for i in range(4)],
    }
    scores = {"t0": 0.9, "t1": 0.85, "t2": 0.75, "t3": 0.78}  # mean 0.82
    repo = make_repo({
        "benchmarks/acc.yaml": json.dumps(suite),
        "scores.json": json.dumps({t: {"accuracy": v, "latency_ms": 5}
                                   for t, v in scores.items()}),
    })
    base = git(repo, "rev-parse", "HEAD")
    # the candidate breaks task t2: it still prints its latency, but no accuracy
    broken = {t: {"accuracy": v, "latency_ms": 5} for t, v in scores.items()}
    broken["t2"] = {"latency_ms": 5}
    write_files(repo, {"scores.json": json.dumps(broken)})
    head = commit_all(repo, "break t2")
    for ref, out in ((base, "base.json"), (head, "head.json")):
        proc = _improve(repo, "evaluate", "--ref", ref, "-o", out)
        assert proc.returncode == 0, proc.stderr
    head_tasks = {t["id"]: t for t in json.loads((repo / "head.json").read_text())
                  ["suites"][0]["tasks"]}
    assert head_tasks["t2"]["status"] == "failed"
    assert head_tasks["t2"]["samples"][0]["failure"] == "missing_metric"
    assert head_tasks["t2"]["reason"].startswith("printed no accuracy")
    proc = _improve(repo, "compare", "base.json", "head.json", "--format", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["decision"] == "reject"
    assert ("task_fails", "t2") in [(r["code"], r["subject"]) for r in out["reasons"]]
