"""The bisection's pure decisions, as tables: the classification of one measurement, the real
step, and whole bisections driven to their end over lines whose commits answer as a table says
(clean drops, noisy steps, a drop that vanishes, a gradual drop, the release itself, budgets)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from bot.core.bisect import (
    Budget,
    Change,
    Probe,
    Spent,
    Step,
    classify,
    evidence_lines,
    next_step,
    real_step,
    summary,
)
from bot.core.records import Bisection

WARN = 0.03


def ch(change: float, low: float, high: float) -> Change:
    return Change(change, low, high)


@pytest.mark.parametrize("changes, expected", [
    ({"s": ch(-0.30, -0.40, -0.20)}, "worse"),
    ({"s": ch(-0.05, -0.09, -0.01)}, "worse"),
    ({"s": ch(-0.05, -0.12, 0.02)}, "unsettled"),  # past the warning, not with confidence
    ({"s": ch(-0.02, -0.03, -0.01)}, "same"),  # a confident drop short of the warning
    ({"s": ch(0.01, -0.02, 0.04)}, "same"),
    ({"s": Change(None, None, None)}, "same"),
    ({"s": ch(0.0, 0.0, 0.0), "t": ch(-0.20, -0.30, -0.10)}, "worse"),
    ({}, "same"),
])
def test_classify(changes: dict[str, Change], expected: str) -> None:
    assert classify(changes, WARN) == expected


@pytest.mark.parametrize("changes, expected", [
    ({"s": ch(-0.20, -0.30, -0.10)}, True),
    ({"s": ch(-0.01, -0.015, -0.005)}, True),  # small but real
    ({"s": ch(-0.04, -0.09, 0.01)}, False),  # noise
    ({"s": ch(0.05, 0.01, 0.09)}, False),
    ({"s": Change(None, None, None)}, False),
])
def test_real_step(changes: dict[str, Change], expected: bool) -> None:
    assert real_step(changes) is expected


LINE = [f"{i:02d}" + "0" * 38 for i in range(17)]  # 0: the release commit, 16: the head
BIG = Budget(runs=10_000, minutes=600)


def drive(line: Sequence[str], answers: Mapping[int, Sequence[str]], steps: Mapping[int, bool],
          budget: Budget = BIG, cost: int = 8, minutes: float = 1.0,
          reused: Mapping[int, str] | None = None) -> tuple[Step, list[int]]:
    """Run the bisection to its end: commit i answers answers[i][attempt] (the last answer
    repeats; 'same' when absent), the step check into i is steps[i]; ``reused`` measurements
    are there before it starts and cost nothing. Returns the last step and the commits
    measured, in order."""
    probes = {i: Probe(v) for i, v in (reused or {}).items()}  # type: ignore[arg-type]
    spent = Spent()
    measured: list[int] = []
    checked: dict[int, bool] = {}
    for _ in range(100):
        step = next_step(line, probes, checked, budget, spent, cost)
        if step.kind == "measure":
            assert step.index is not None
            i = step.index
            n = probes[i].attempts + 1 if i in probes else 1
            seq = answers.get(i, ["same"])
            probes[i] = Probe(seq[min(n, len(seq)) - 1], n)  # type: ignore[arg-type]
            spent = Spent(spent.runs + cost, spent.minutes + minutes, spent.measurements + 1)
            measured.append(i)
        elif step.kind == "step":
            assert step.index is not None
            checked[step.index] = steps.get(step.index, True)
        else:
            return step, measured
    raise AssertionError("the bisection did not end")


def broken_from(k: int, n: int = 17) -> dict[int, list[str]]:
    return {i: ["worse"] for i in range(k, n)}


@pytest.mark.parametrize("k", [1, 2, 7, 8, 9, 15, 16])
def test_a_clean_drop_is_found_in_log_measurements(k: int) -> None:
    step, measured = drive(LINE, broken_from(k), {})
    assert (step.kind, step.index) == ("found", k)
    assert LINE[k][:12] in step.reason
    assert measured[0] == 16  # the head confirmed first
    # head + log2(16) probes, + the release commit when the culprit is its child
    assert len(measured) <= 1 + 4 + (1 if k == 1 else 0)
    assert len(set(measured)) == len(measured)  # nothing measured twice


def test_the_release_commit_is_remeasured_only_when_the_search_reaches_it() -> None:
    _, measured = drive(LINE, broken_from(9), {})
    assert 0 not in measured
    step, measured = drive(LINE, broken_from(1), {})
    assert 0 in measured and (step.kind, step.index) == ("found", 1)


def test_the_release_itself_is_the_culprit_when_it_no_longer_measures_as_at_release() -> None:
    step, measured = drive(LINE, broken_from(0), {})
    assert (step.kind, step.index) == ("found", 0)
    assert "release's own change" in step.reason
    assert measured[-1] == 0


def test_release_commit_is_the_head() -> None:
    step, measured = drive(LINE[:1], {0: ["worse"]}, {})
    assert (step.kind, step.index, measured) == ("found", 0, [0])
    step, measured = drive(LINE[:1], {0: ["same"]}, {})
    assert (step.kind, measured) == ("vanished", [0])


@pytest.mark.parametrize("answers, kind, measured", [
    # the head no longer worse: ends at once, nothing else measured
    ({16: ["same"]}, "vanished", [16]),
    # the head unsettled, then same on the second measurement
    ({16: ["unsettled", "same"]}, "vanished", [16, 16]),
    # unsettled twice: not a change with confidence, so no culprit either
    ({16: ["unsettled", "unsettled"]}, "vanished", [16, 16]),
])
def test_a_drop_that_disappears_on_remeasurement_has_no_culprit(
        answers: dict[int, list[str]], kind: str, measured: list[int]) -> None:
    step, got = drive(LINE, answers, {})
    assert (step.kind, step.index, got) == (kind, None, measured)


def test_a_noisy_commit_is_measured_again_and_never_becomes_the_culprit() -> None:
    # commit 8 (the first probe) looks past the warning once, then settles as same; the real
    # drop is at 12
    answers = {**broken_from(12), 8: ["unsettled", "same"]}
    step, measured = drive(LINE, answers, {})
    assert (step.kind, step.index) == ("found", 12)
    assert measured.count(8) == 2


def test_a_noisy_commit_that_stays_unsettled_counts_as_same() -> None:
    answers = {**broken_from(12), 8: ["unsettled"]}
    step, measured = drive(LINE, answers, {})
    assert (step.kind, step.index) == ("found", 12)
    assert measured.count(8) == 2  # max_attempts


def test_a_step_that_is_not_a_real_change_is_not_named() -> None:
    # 11 is past the warning against the reference, but its parent 10 was already a little
    # lower: the step 10 -> 11 is within noise, the drop built up
    step, _ = drive(LINE, broken_from(11), {11: False})
    assert (step.kind, step.index) == ("no_culprit", None)
    assert (step.good, step.bad) == (10, 11)
    assert "no single culprit" in step.reason


def test_non_monotone_answers_take_the_earliest_worse_commit() -> None:
    # worse at 4..7, same again at 8 (a fix), worse from 12: the earliest drop is the culprit
    answers = {**broken_from(12), 4: ["worse"], 5: ["worse"], 6: ["worse"], 7: ["worse"]}
    step, _ = drive(LINE, answers, {})
    assert step.kind == "found" and step.index is not None
    # bisection looks at 8 first (same), so it finds the drop that is still there: 12
    assert step.index == 12


def test_reused_measurements_cost_nothing() -> None:
    # the head measured by this monitor run, and commit 8 by an earlier one
    step, measured = drive(LINE, broken_from(5), {}, reused={16: "worse", 8: "worse"})
    assert (step.kind, step.index) == ("found", 5)
    assert 16 not in measured and 8 not in measured
    assert len(measured) == 3  # 4, 6, 5 (or the like): log2 of the range 0..8


@pytest.mark.parametrize("budget, kind, count", [
    (Budget(runs=16, minutes=600), "exhausted", 2),  # two measurements of 8 task runs
    (Budget(runs=10_000, minutes=2.5), "exhausted", 2),  # a third would pass 2.5 minutes
    (Budget(runs=10_000, minutes=600), "found", 5),
])
def test_the_budget_ends_a_bisection_with_the_narrowed_range(
        budget: Budget, kind: str, count: int) -> None:
    step, measured = drive(LINE, broken_from(3), {}, budget=budget)
    assert (step.kind, len(measured)) == (kind, count)
    if kind == "exhausted":
        assert (step.good, step.bad) == (0, 8)  # head worse, 8 worse: in (0, 8]
        assert f"at or before {LINE[8][:12]}" in step.reason


def test_an_empty_line_is_refused() -> None:
    with pytest.raises(ValueError):
        next_step([], {}, {}, BIG, Spent(), 8)


def bisection(**kw: object) -> Bisection:
    base: dict[str, object] = {"state": "found", "reason": "r", "reference": "a" * 40,
                               "head": "f" * 40, "commits": 3}
    return Bisection.model_validate({**base, **kw})


@pytest.mark.parametrize("b, expected", [
    (None, ""),
    (bisection(culprit="c" * 40, culprit_is_release=True, culprit_pr=4),
     "bisected: the release's own change ccccccc"),
    (bisection(culprit="c" * 40, culprit_pr=7, culprit_author="bob", issue=9),
     "bisected: ccccccc (PR #7, @bob), not this release; issue #9"),
    (bisection(culprit="c" * 40, culprit_author="bob"),
     "bisected: ccccccc (@bob), not this release"),
    (bisection(state="exhausted", good="1" * 40, bad="2" * 40),
     "bisection out of budget: after 1111111, at or before 2222222"),
    (bisection(state="no_culprit"), "bisected: no culprit (it built up over several commits)"),
    (bisection(state="vanished"), "bisected: no culprit (the drop was gone when measured "
                                  "again)"),
    (bisection(state="not_on_line"),
     "bisected: no culprit (the release is not on the branch's line)"),
])
def test_the_finding_in_one_line(b: Bisection | None, expected: str) -> None:
    assert summary(b) == expected


def test_the_evidence_lines_show_each_measurement_the_step_and_the_cost() -> None:
    b = bisection(culprit="c" * 40, runs=8, minutes=1.234, probes=[
        {"commit": "1" * 40, "verdict": "same", "runs": 8, "changes": {"s": -0.01, "t": None},
         "change_ci": {"s": (-0.02, 0.0)}},
        {"commit": "2" * 40, "verdict": "worse", "reused": True, "changes": {"s": -0.3},
         "change_ci": {"s": (None, -0.2)}}],
        step={"s": (-0.2, -0.3, -0.1), "u": (None, None, None)})
    assert evidence_lines(b) == [
        "bisected 3 commit(s) after the release commit aaaaaaa up to fffffff: r",
        "1111111: same against the release's measurement: s -1.0% (95% CI -2.0% to +0.0%), "
        "t n/a (measured, 8 task runs)",
        # half an interval is no interval
        "2222222: worse against the release's measurement: s -30.0% (stored)",
        "step into ccccccc from its parent: s -20.0% (95% CI -30.0% to -10.0%)",
        "cost: 8 task run(s), 1.2 minute(s)",
    ]


def test_the_issue_points_at_another_improvements_rollback_when_it_is_the_culprit() -> None:
    from bot.core.render import render

    def body(**kw: object) -> str:
        b = bisection(culprit="c" * 40, culprit_pr=7, culprit_author="bob", suites=["s"], **kw)
        return render("opportunity_culprit.md.j2", b=b, tag="v1.4.0", pr=42,
                      evidence=["e1"], key_line="<!-- k -->")

    other = body(culprit_release="v1.5.0")
    assert "merge of the improvement **v1.5.0**" in other
    assert "`/rollback` on PR #7" in other and "`improve rollback v1.5.0`" in other
    assert "instead of the revert of v1.4.0" in other
    plain = body()
    assert "v1.4.0 is not to blame" in plain and "/rollback" not in plain
    assert "Commit `cccccccccccc` (PR #7) by bob lowered **s**" in plain


def test_a_remeasurement_is_priced_at_its_own_repeats() -> None:
    # the head is unsettled at first; measuring it again runs twice the repeats (16 task
    # runs, not 8): 8 + 16 would pass a budget of 20, so the bisection stops instead
    answers = {16: ["unsettled", "worse"]}
    budget = Budget(runs=20, minutes=600)
    probes: dict[int, Probe] = {}
    spent = Spent()
    for _ in range(10):
        step = next_step(LINE, probes, {}, budget, spent, 8, 16)
        if step.kind != "measure":
            break
        assert step.index is not None
        n = probes[step.index].attempts + 1 if step.index in probes else 1
        seq = answers.get(step.index, ["same"])
        probes[step.index] = Probe(seq[min(n, len(seq)) - 1], n)  # type: ignore[arg-type]
        spent = Spent(spent.runs + (8 if n == 1 else 16), spent.minutes + n,
                      spent.measurements + 1)
    assert step.kind == "exhausted" and spent.runs == 8 <= budget.runs
    # with room for it, the head is measured again at its price
    step = next_step(LINE, {16: Probe("unsettled")}, {}, Budget(runs=24, minutes=600),
                     Spent(8, 1.0, 1), 8, 16)
    assert (step.kind, step.index) == ("measure", 16)


def test_the_minutes_of_a_remeasurement_scale_with_its_runs() -> None:
    # 8 runs took 2 minutes: measuring again at 16 runs would take about 4, past 5 in all
    step = next_step(LINE, {16: Probe("unsettled")}, {}, Budget(runs=1000, minutes=5.0),
                     Spent(8, 2.0, 1), 8, 16)
    assert step.kind == "exhausted" and "minute" in step.reason


def test_the_evidence_lines_label_the_intervals_with_the_configured_confidence() -> None:
    b = bisection(culprit="c" * 40, confidence=0.9, probes=[
        {"commit": "1" * 40, "verdict": "worse", "changes": {"s": -0.2},
         "change_ci": {"s": (-0.3, -0.1)}}], step={"s": (-0.2, -0.3, -0.1)})
    lines = evidence_lines(b)
    assert "s -20.0% (90% CI -30.0% to -10.0%)" in lines[1] and "90% CI" in lines[2]
    assert not any("95%" in line for line in lines)
