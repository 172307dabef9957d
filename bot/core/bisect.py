"""BISECT, decided: which commit a confirmed monitor drop came from, and how the finding is
told. Pure: the stage (bot/stages/bisect.py) lists the commits, measures what this module asks
for and acts.

The line is the default branch's first-parent history from the release's measured commit
(index 0, the release commit, whose measurement at release is the reference) to the head (the
last index). Every measurement of a commit of the line is compared with the reference by
COMPARE (``compare_results``: its intervals, its confidence), and classified here:

- ``worse``: past the warning threshold *and* lower with confidence (the interval of the
  relative change lies entirely below zero) on some suite that dropped;
- ``same``: not past the warning threshold on any of them;
- ``unsettled``: past the warning but not with confidence: measured again (more repeats) while
  ``max_attempts`` allows, then taken as ``same``: noise never becomes a culprit.

Decisions where the design is silent:

- The head is confirmed first (re-measured unless this run's own measurement of it is
  reused): a drop that is no longer ``worse`` ends the bisection with no culprit ("vanished").
- The release commit is assumed good (it was measured good at release) and re-measured only
  when the search narrows down to it: when it is now ``worse`` the release's own change is the
  culprit (its gain did not hold with nothing else changed).
- With non-monotone answers the earliest ``worse`` commit bounds the search from above and the
  latest ``same`` commit before it from below.
- A candidate is named only when the step from its first parent is itself a real change:
  COMPARE of the candidate against its parent (both already measured) is lower with confidence.
  A drop that built up over several small steps ends with no culprit.
- The budget is task runs and minutes: a measurement is started only when its estimated cost
  fits in what is left (runs: the suites' tasks times repeats; minutes: the mean of the
  measurements so far). Running out reports the narrowed range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.comparison.stats import ci_level
from bot.core.records import Bisection

Verdict = Literal["worse", "same", "unsettled"]
Kind = Literal["measure", "step", "found", "vanished", "no_culprit", "exhausted"]

# the texts the finding is told with (warning comment, record, issue)
R_VANISHED = "re-measured, {commit} is no longer worse than the release's measurement: no culprit"
R_FOUND = "{commit} is the first commit worse with confidence than the release's measurement"
R_RELEASE = ("the release commit {commit}, re-measured now, is itself worse with confidence "
             "than its measurement at release: the release's own change")
R_GRADUAL = ("{commit} is the first commit worse than the release's measurement, but the step "
             "from its parent {parent} is not a change with confidence: the drop built up over "
             "several commits, no single culprit")
R_EXHAUSTED = ("the budget ran out ({why}) after {measured} measurement(s): the first worse "
               "commit is after {good} and at or before {bad}")
R_BUDGET_RUNS = "{spent} of {limit} task runs"
R_BUDGET_MINUTES = "{spent:.1f} of {limit:.0f} minutes"


@dataclass(frozen=True)
class Change:
    """One suite's relative change against a baseline, as COMPARE reports it."""

    change: float | None
    low: float | None
    high: float | None


def classify(changes: Mapping[str, Change], warn_drop: float) -> Verdict:
    """A measurement of a commit against the reference, over the suites that dropped: worse
    when a suite is past the warning and lower with confidence (COMPARE's interval of the
    change lies entirely below zero)."""
    past = [c for c in changes.values() if c.change is not None and c.change < -warn_drop]
    if not past:
        return "same"
    if any(c.high is not None and c.high < 0 for c in past):
        return "worse"
    return "unsettled"


def real_step(changes: Mapping[str, Change]) -> bool:
    """The step from a commit's parent to it is a drop with confidence on some suite: worse
    with no warning threshold at all."""
    return classify(changes, 0.0) == "worse"


@dataclass(frozen=True)
class Probe:
    verdict: Verdict
    attempts: int = 1  # measurements made of this commit (the verdict is the latest's)


@dataclass(frozen=True)
class Budget:
    runs: int  # task runs (samples) all the measurements of one bisection may make
    minutes: float
    max_attempts: int = 2  # measurements of one unsettled commit before it counts as same


@dataclass(frozen=True)
class Spent:
    runs: int = 0
    minutes: float = 0.0
    measurements: int = 0  # fresh measurements (reused ones cost nothing)


@dataclass(frozen=True)
class Step:
    kind: Kind
    index: int | None = None  # the commit to measure, or the culprit
    good: int = 0  # the narrowed range: the first worse commit is in (good, bad]
    bad: int = 0
    reason: str = ""


def _fits(budget: Budget, spent: Spent, run_cost: int) -> str | None:
    """None when one more measurement of ``run_cost`` task runs fits; else why not. Its
    minutes are estimated from the minutes per task run so far (a re-measurement at twice the
    repeats takes about twice as long)."""
    if spent.runs + run_cost > budget.runs:
        return R_BUDGET_RUNS.format(spent=spent.runs, limit=budget.runs)
    if spent.runs:
        per = spent.minutes / spent.runs * run_cost
    else:
        per = spent.minutes / spent.measurements if spent.measurements else 0.0
    if spent.minutes + per > budget.minutes:
        return R_BUDGET_MINUTES.format(spent=spent.minutes, limit=budget.minutes)
    return None


def _settled(p: Probe | None, max_attempts: int) -> Verdict | None:
    """A commit's verdict as the search reads it (None: not measured yet): one still unsettled
    after as many measurements as the budget allows is not a change with confidence."""
    if p is None:
        return None
    if p.verdict == "unsettled" and p.attempts >= max_attempts:
        return "same"
    return p.verdict


def next_step(line: Sequence[str], probes: Mapping[int, Probe], steps: Mapping[int, bool],
              budget: Budget, spent: Spent, run_cost: int,
              remeasure_cost: int | None = None) -> Step:
    """What to do next over ``line`` (index 0 the release commit, the last the head), given the
    measurements so far (``probes``, by index), the step checks made (``steps``: index -> the
    step from index-1 is a real change) and the cost in task runs of a first measurement of a
    commit (``run_cost``) and of measuring one again (``remeasure_cost``, at more repeats;
    ``run_cost`` when None)."""
    if not line:
        raise ValueError("a bisection needs at least the release commit")
    head = len(line) - 1
    settled = [_settled(probes.get(i), budget.max_attempts) for i in range(len(line))]

    def measure(i: int, good: int, bad: int) -> Step:
        again = remeasure_cost if i in probes and remeasure_cost is not None else run_cost
        why = _fits(budget, spent, again)
        if why is not None:
            return Step("exhausted", None, good, bad, R_EXHAUSTED.format(
                why=why, measured=spent.measurements, good=line[good][:12],
                bad=line[bad][:12]))
        return Step("measure", i, good, bad)

    h = settled[head]
    if h is None or h == "unsettled":
        return measure(head, 0, head)
    if h == "same":
        return Step("vanished", None, head, head, R_VANISHED.format(commit=line[head][:12]))

    bad = min(i for i in range(head + 1) if settled[i] == "worse")
    if bad == 0:
        return Step("found", 0, 0, 0, R_RELEASE.format(commit=line[0][:12]))
    good = max((i for i in range(bad) if settled[i] == "same"), default=0)
    # an unsettled commit inside the range is measured again before it is relied on
    for i in range(good + 1, bad):
        if settled[i] == "unsettled":
            return measure(i, good, bad)
    if bad - good > 1:
        return measure((good + bad) // 2, good, bad)
    if good == 0 and settled[0] in (None, "unsettled"):
        return measure(0, 0, bad)  # the release commit itself, re-measured now
    if bad not in steps:
        return Step("step", bad, good, bad)
    if steps[bad]:
        return Step("found", bad, good, bad, R_FOUND.format(commit=line[bad][:12]))
    return Step("no_culprit", None, good, bad, R_GRADUAL.format(commit=line[bad][:12],
                                                                 parent=line[good][:12]))


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def _ci(low: float | None, high: float | None, level: str) -> str:
    if low is None or high is None:
        return ""
    return f" ({level} CI {pct(low)} to {pct(high)})"


def evidence_lines(b: Bisection) -> list[str]:
    """The bisection's numbers, one line each (warning comment, revert PR, issue)."""
    level = ci_level(b.confidence)
    out = [f"bisected {b.commits} commit(s) after the release commit {b.reference[:7]} up to "
           f"{b.head[:7]}: {b.reason}"]
    for p in b.probes:
        nums = ", ".join(f"{s} {pct(c)}" + _ci(*p.change_ci.get(s, (None, None)), level)
                         for s, c in sorted(p.changes.items()))
        how = "stored" if p.reused else f"measured, {p.runs} task runs"
        out.append(f"{p.commit[:7]}: {p.verdict} against the release's measurement: {nums} "
                   f"({how})")
    for s, (c, lo, hi) in sorted(b.step.items()):
        if c is not None:
            out.append(f"step into {(b.culprit or '?')[:7]} from its parent: {s} {pct(c)}"
                       + _ci(lo, hi, level))
    out.append(f"cost: {b.runs} task run(s), {b.minutes:.1f} minute(s)")
    return out


def summary(b: Bisection | None) -> str:
    """The finding in one line (the dashboard's monitors)."""
    if b is None:
        return ""
    if b.state == "found" and b.culprit:
        if b.culprit_is_release:
            return f"bisected: the release's own change {b.culprit[:7]}"
        by = ", ".join(x for x in (f"PR #{b.culprit_pr}" if b.culprit_pr else "",
                                   f"@{b.culprit_author}" if b.culprit_author else "") if x)
        return (f"bisected: {b.culprit[:7]}" + (f" ({by})" if by else "")
                + ", not this release" + (f"; issue #{b.issue}" if b.issue else ""))
    if b.state == "exhausted":
        return (f"bisection out of budget: after {(b.good or '?')[:7]}, "
                f"at or before {(b.bad or '?')[:7]}")
    return "bisected: no culprit (" + _NO_CULPRIT.get(b.state, b.state) + ")"


_NO_CULPRIT = {"vanished": "the drop was gone when measured again",
               "no_culprit": "it built up over several commits",
               "not_on_line": "the release is not on the branch's line"}
