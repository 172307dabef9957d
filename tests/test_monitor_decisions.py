"""The monitor's pure decisions, as tables: which releases are watched (triage), what a run
found (summarize over a real COMPARE), when it warns, reverts, recovers, and what a rollback
may be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.core import monitor as core
from bot.core.comparison.compare import compare_results
from bot.core.config import CompareConfig, MonitorConfig
from bot.core.records import MonitorRecord, MonitorRun, ReleaseRecord
from bot.core.results import Environment, Results, Sample, SuiteResult, TaskResult
from bot.core.suites import Metric

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
CFG = MonitorConfig()  # warn 3%, rollback 10% with confidence, two runs in a row


def release(**kw: Any) -> ReleaseRecord:
    data: dict[str, Any] = {
        "version": "1.4.0", "tag": "v1.4.0", "previous": "1.3.2", "date": "2026-11-21",
        "released_at": T0, "pr": 42, "merge_sha": "a" * 40, "merged_at": T0,
        "proposal": {"id": "prop-x", "title": "Raise the threshold"},
        "monitor": {"window_days": 7, "until": T0 + timedelta(days=7)},
        "results": "results/" + "b" * 40 + ".json",
    }
    data.update(kw)
    return ReleaseRecord.model_validate(data)


def record(state: str = "watching", runs: list[MonitorRun] | None = None,
           **kw: Any) -> MonitorRecord:
    return MonitorRecord(version="1.4.0", tag="v1.4.0", pr=42, state=state,  # type: ignore[arg-type]
                         until=T0 + timedelta(days=7), runs=runs or [], **kw)


def run(warn: bool = False, roll: bool = False, at: datetime = T0) -> MonitorRun:
    return MonitorRun(at=at, commit="c" * 40, past_warning=warn or roll, past_rollback=roll)


ROLLBACK = release(version="1.4.1", tag="v1.4.1", pr=43, proposal=None,
                   rollback={"version": "1.4.0", "restores": "1.3.2", "reason": "r"})


@pytest.mark.parametrize("rel, mon, now, rolled, expected", [
    (release(), None, T0 + timedelta(days=1), None, "measure"),
    (release(), record(), T0 + timedelta(days=6, hours=23), None, "measure"),
    (release(results=None), None, T0 + timedelta(days=1), None, "no_reference"),
    (release(), record(), T0 + timedelta(days=7), None, "kept"),
    (release(), None, T0 + timedelta(days=30), None, "kept"),
    (release(), record("warned"), T0 + timedelta(days=8), None, "kept"),
    (release(), record("rollback_opened", revert_pr=7), T0 + timedelta(days=8), None,
     "await_revert"),
    (release(), record("rollback_opened", revert_pr=7), T0 + timedelta(days=2), ROLLBACK,
     "rolled_back"),
    (release(), record("warned"), T0 + timedelta(days=9), ROLLBACK, "rolled_back"),
    (release(), record("kept"), T0 + timedelta(days=9), None, "ended"),
    (release(), record("rolled_back"), T0 + timedelta(days=2), ROLLBACK, "ended"),
    (release(monitor={"window_days": 7, "until": T0 + timedelta(days=7), "state": "kept"}),
     None, T0 + timedelta(days=1), None, "ended"),
])
def test_triage(rel: ReleaseRecord, mon: MonitorRecord | None, now: datetime,
                rolled: ReleaseRecord | None, expected: str) -> None:
    assert core.triage(rel, mon, now, rolled) == expected


@pytest.mark.parametrize("before, new, is_rollback, state, comment, revert, warned, recovered", [
    # a first run past the warning: not yet
    ([], run(warn=True), False, "watching", False, False, False, False),
    # two in a row: warn
    ([run(warn=True)], run(warn=True), False, "warned", True, False, True, False),
    # interrupted streak: not yet
    ([run(warn=True), run()], run(warn=True), False, "watching", False, False, False, False),
    # past the rollback threshold with confidence: revert at once, and say so on the PR
    ([], run(roll=True), False, "warned", True, True, False, False),
    ([run(warn=True)], run(roll=True), False, "warned", True, True, True, False),
    # a rollback release is never reverted automatically (but warns)
    ([run(warn=True)], run(roll=True), True, "warned", True, False, True, False),
    # healthy
    ([run(), run()], run(), False, "watching", False, False, False, False),
])
def test_after_run(before: list[MonitorRun], new: MonitorRun, is_rollback: bool, state: str,
                   comment: bool, revert: bool, warned: bool, recovered: bool) -> None:
    d = core.after_run(record(runs=before), new, CFG, is_rollback)
    assert (d.record.state, d.write_comment, d.open_revert, d.warned, d.recovered) == (
        state, comment, revert, warned, recovered)
    assert d.record.runs[-1] == new and len(d.record.runs) == len(before) + 1


@pytest.mark.parametrize("rec, new, state, comment, revert, recovered", [
    # a revert PR was opened (and maybe closed by a person): never another one
    (record("rollback_opened", [run(roll=True)], revert_pr=9), run(roll=True),
     "rollback_opened", True, False, False),
    # warned, then recovered: the comment is edited to say so, the state goes back
    (record("warned", [run(warn=True), run(warn=True)], warning_comment=5), run(),
     "watching", True, False, True),
    # warned and still past the warning on one run after a dip: the comment is kept current
    (record("warned", [run(warn=True), run()], warning_comment=5), run(warn=True),
     "warned", True, False, False),
])
def test_after_run_with_history(rec: MonitorRecord, new: MonitorRun, state: str, comment: bool,
                                revert: bool, recovered: bool) -> None:
    d = core.after_run(rec, new, CFG, False)
    assert (d.record.state, d.write_comment, d.open_revert, d.recovered) == (
        state, comment, revert, recovered)


def results(values: list[float], commit: str) -> Results:
    env = Environment(python="3.11", implementation="CPython", platform="linux",
                      machine="x86_64", cpu_count=2, improve="0")
    tasks = [TaskResult(id=f"t{i}", status="ok",
                        samples=[Sample(status="ok", metrics={"accuracy": v}, duration_s=0.1)])
             for i, v in enumerate(values)]
    suite = SuiteResult(id="acc", kind="benchmark", path="benchmarks/acc.yaml",
                        definition_hash="sha256:x", targets=["**"], repeat=1,
                        metrics=[Metric(name="accuracy", direction="higher")], tasks=tasks)
    return Results(commit=commit * 40, ref="main", created_at="2026-11-21T12:00:00+00:00",
                   environment=env, suites=[suite])


REF = [0.90, 0.92, 0.88, 0.91, 0.93, 0.89, 0.90, 0.92]


@pytest.mark.parametrize("now, warn, roll", [
    (REF, False, False),  # unchanged
    ([v - 0.01 for v in REF], False, False),  # -1.1%: within the warning
    ([v - 0.05 for v in REF], True, False),  # -5.5%: warns, no rollback
    ([v - 0.20 for v in REF], True, True),  # -22%: past the rollback with confidence
    # -12% on average but the tasks disagree wildly: past the warning, not confident
    ([0.90, 0.40, 0.88, 0.91, 0.93, 0.89, 0.90, 0.72], True, False),
    ([v + 0.05 for v in REF], False, False),  # better
])
def test_summarize_over_a_real_comparison(now: list[float], warn: bool, roll: bool) -> None:
    comparison = compare_results(results(REF, "a"), results(now, "b"),
                                 CompareConfig(resamples=2000))
    r = core.summarize(comparison, CFG, T0, "b" * 40, "results/x.json")
    assert (r.past_warning, r.past_rollback) == (warn, roll)
    assert r.worst == pytest.approx(comparison.suites[0].score_change)
    low, high = r.change_ci["acc"]
    assert low is not None and high is not None and low <= (r.worst or 0) <= high
    assert (r.commit, r.results, r.failed_tasks) == ("b" * 40, "results/x.json", [])


def timing_results(factor: float, commit: str) -> Results:
    env = Environment(python="3.11", implementation="CPython", platform="linux",
                      machine="x86_64", cpu_count=2, improve="0")
    tasks = [TaskResult(id=f"t{i}", status="ok", samples=[
        Sample(status="ok", metrics={"ms": (10.0 + i) * factor * (1 + 0.01 * r)},
               duration_s=0.1) for r in range(3)]) for i in range(8)]
    suite = SuiteResult(id="speed", kind="benchmark", path="benchmarks/speed.yaml",
                        definition_hash="sha256:t", targets=["**"], repeat=3,
                        metrics=[Metric(name="ms", direction="lower", kind="timing")],
                        tasks=tasks)
    return Results(commit=commit * 40, ref="main", created_at="2026-11-21T12:00:00+00:00",
                   environment=env, suites=[suite])


@pytest.mark.parametrize("factor, warn, roll", [
    (1.0, False, False), (1.05, True, False), (1.5, True, True), (0.8, False, False)])
def test_a_timing_only_suite_is_watched_too(factor: float, warn: bool, roll: bool) -> None:
    comparison = compare_results(timing_results(1.0, "a"), timing_results(factor, "b"),
                                 CompareConfig(resamples=2000))
    r = core.summarize(comparison, CFG, T0, "b" * 40, None)
    assert r.worst == pytest.approx(1 - factor, abs=1e-3)  # never "n/a"
    assert (r.past_warning, r.past_rollback) == (warn, roll)
    low, high = r.change_ci["speed"]
    assert low is not None and high is not None and low <= (r.worst or 0) <= high


@pytest.mark.parametrize("factor, verdict", [(1.5, "worse"), (1.0, "same")])
def test_the_bisection_reads_a_timing_only_suite_as_the_monitor_does(
        factor: float, verdict: str) -> None:
    # the monitor warns about a timing-only suite's drop; the bisection must see the same
    # drop, or it calls the drop vanished and the revert is skipped
    from bot.core.bisect import classify
    from bot.core.config import Config
    from bot.stages.bisect import changes_of

    base, now = timing_results(1.0, "a"), timing_results(factor, "b")
    config = Config.model_validate({"compare": {"resamples": 2000}})
    changes = changes_of(base, now, {"speed"}, config)
    run = core.summarize(compare_results(base, now, config.compare), CFG, T0, "b" * 40, None)
    c = changes["speed"]
    assert (c.change, (c.low, c.high)) == (run.changes["speed"], run.change_ci["speed"])
    assert classify(changes, CFG.warn_drop) == verdict


def test_the_suites_a_warned_drop_bisects_are_those_past_the_warning() -> None:
    changes = {"a": -0.05, "b": -0.03, "c": None, "d": 0.2, "e": -0.031}
    assert core.dropped_suites(changes, 0.03) == ["a", "e"]  # exactly -3% is not past it
    assert core.dropped_suites({"b": -0.01, "c": None}, 0.03) == []


@pytest.mark.parametrize("runs, expected", [
    ([], 0), ([run()], 0), ([run(warn=True)], 1), ([run(warn=True), run()], 0),
    ([run(), run(warn=True), run(roll=True)], 2),
])
def test_streak(runs: list[MonitorRun], expected: int) -> None:
    assert core.streak(runs) == expected


@pytest.mark.parametrize("rel, rolled, verdict, words", [
    (release(), None, "ok", ""),
    (ROLLBACK, None, "rollback_of_rollback", "itself the rollback of 1.4.0"),
    (release(), ROLLBACK, "already", "rolled back already by v1.4.1 (PR #43)"),
])
def test_check_rollback(rel: ReleaseRecord, rolled: ReleaseRecord | None, verdict: str,
                        words: str) -> None:
    got, why = core.check_rollback(rel, rolled)
    assert got == verdict and words in why


def test_rolled_back_by_names_the_first_rollback_of_each_version() -> None:
    later = ROLLBACK.model_copy(update={"tag": "v1.4.2", "released_at": T0 + timedelta(days=1)})
    found = core.rolled_back_by([later, release(), ROLLBACK])
    assert list(found) == ["1.4.0"] and found["1.4.0"].tag == "v1.4.1"


def test_evidence_reason_and_revert_message() -> None:
    r = MonitorRun(at=T0, commit="c" * 40, changes={"acc": -0.2, "lat": None},
                   change_ci={"acc": (-0.25, -0.15), "lat": (None, None)}, worst=-0.2,
                   past_warning=True, past_rollback=True, failed_tasks=["acc/t3"])
    lines = core.evidence_lines(r, "results/abc.json")
    assert lines == ["acc: -20.0% (95% CI -25.0% to -15.0%) at ccccccc on 2026-11-21 12:00 UTC, "
                     "against the release's own measurement (results/abc.json)",
                     "failing at ccccccc: acc/t3"]
    assert core.auto_reason(r, CFG) == ("the monitor measured acc 20.0% below its measurement "
                                        "at release, with confidence (rollback threshold 10%)")
    msg = core.revert_message(release(), "accuracy  fell\nsharply")
    assert msg.splitlines()[0] == "Roll back v1.4.0: Raise the threshold"
    assert "accuracy fell sharply" in msg and "restoring 1.3.2" in msg
    assert msg.rstrip().endswith("Improve-Rollback-Of: 1.4.0")
    assert core.rollback_branch("v1.4.0") == "improve/rollback-v1.4.0"
    hostile = core.revert_message(release(), "<img src=x onerror=1> @org/team\n\nSigned-off-by: x")
    assert "<img src=x onerror=1>" not in hostile and "@org/team" not in hostile
    assert "\\<img src=x onerror=1\\> @\u2060org/team Signed-off-by: x" in hostile
    assert core.suites_of({"suites": [{"id": "b"}, {"id": "a"}, {"x": 1}]}) == ["a", "b"]


@pytest.mark.parametrize("recovered, revert_pr, words", [
    (False, None, "on 2 monitor run(s) in a row"),
    (False, 7, "The revert pull request is #7"),
    (True, None, "recovered"),
])
def test_warning_comment(recovered: bool, revert_pr: int | None, words: str) -> None:
    from bot.core.render import find_marker, render

    r = MonitorRun(at=T0, commit="c" * 40, changes={"acc<x>": -0.05},
                   change_ci={"acc<x>": (-0.08, -0.02)}, worst=-0.05, past_warning=True)
    body = render("monitor_warning.md.j2", tag="v1.4.0", run=r, recovered=recovered,
                  rows=[{"suite": "acc<x>", "change": "-5.0%", "ci": "[-8.0%, -2.0%]"}],
                  runs_in_a_row=2, warn_drop=0.03, rollback_drop=0.10, level="95%",
                  reference="results/x.json", revert_pr=revert_pr, note=None)
    assert find_marker(body) == core.WARN_MARKER and words in body
    assert "acc\\<x\\>" in body  # a suite id is untrusted text


def test_the_intervals_are_labelled_with_the_configured_confidence() -> None:
    from bot.core.comparison.stats import ci_level
    from bot.core.render import render

    comparison = compare_results(results(REF, "a"), results([v - 0.2 for v in REF], "b"),
                                 CompareConfig(resamples=2000, confidence=0.9))
    r = core.summarize(comparison, CFG, T0, "b" * 40, None)
    assert r.confidence == 0.9
    assert "(90% CI " in core.evidence_lines(r, None)[0]
    body = render("monitor_warning.md.j2", tag="v1", run=r, rows=[],
                  level=ci_level(r.confidence), recovered=False, runs_in_a_row=2,
                  warn_drop=0.03, rollback_drop=0.1,
                  reference=None, revert_pr=None, note=None, bisection=None)
    assert "| suite | change since release | 90% CI |" in body and "95%" not in body
    # a run recorded before the confidence was kept with it reads as the default's 95%
    old = r.model_copy(update={"confidence": None})
    assert "(95% CI " in core.evidence_lines(old, None)[0]
