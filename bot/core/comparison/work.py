"""The working state of one comparison (per suite, per metric: what compare.py computes step
by step) and its turning into the published models of bot/core/comparison/models.py: rounded
to significant digits, the interval and histogram shown, and the change shown with
confidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from bot.core.comparison import stats
from bot.core.comparison.models import (
    HISTOGRAM_BINS,
    HISTOGRAM_MIN_TASKS,
    Change,
    CheckComparison,
    Decision,
    Histogram,
    Interval,
    MetricComparison,
    MetricVerdict,
    Presence,
    Reason,
    Recommendation,
    SuiteComparison,
    TaskDelta,
    TaskFailure,
    TaskTiming,
)
from bot.core.results import SuiteResult
from bot.core.suites import Metric


@dataclass
class MetricWork:
    metric: Metric
    tolerance: float
    tasks: int = 0
    base: float | None = None
    cand: float | None = None
    delta: float | None = None
    ratio: float | None = None
    ci: tuple[float, float] | None = None
    p: float | None = None
    p_adj: float | None = None
    units: int = 0
    delta_var: float = 0.0
    noise_var: float = 0.0
    deltas: np.ndarray | None = None
    missing: list[str] = field(default_factory=list)
    # timings, per task: (task id, log ratio, one-sided p for "slower past the floor")
    task_tests: list[tuple[str, float, float | None]] = field(default_factory=list)
    slower_tasks: list[TaskTiming] = field(default_factory=list)
    worse_tasks: tuple[list[TaskDelta], int] = ([], 0)
    tests_in_family: int = 0
    verdict: MetricVerdict = "not compared"

    @property
    def sign(self) -> float:
        return 1.0 if self.metric.direction == "higher" else -1.0

    def oriented_delta(self) -> float | None:
        return None if self.delta is None else self.sign * self.delta

    def oriented_ci(self) -> tuple[float, float] | None:
        if self.ci is None:
            return None
        lo, hi = self.ci
        return (lo, hi) if self.sign > 0 else (-hi, -lo)

    def oriented_ratio_ci(self) -> tuple[float, float] | None:
        """The ratio's interval turned so that above 1 is worse, whichever the direction."""
        if self.ci is None or self.ci[0] <= 0:
            return None
        lo, hi = self.ci
        return (lo, hi) if self.metric.direction == "lower" else (1.0 / hi, 1.0 / lo)


@dataclass
class SuiteWork:
    id: str
    kind: Literal["benchmark", "regression"]
    base: SuiteResult | None
    cand: SuiteResult | None
    metrics: list[MetricWork] = field(default_factory=list)
    checks: list[CheckComparison] = field(default_factory=list)
    failed_tasks: list[TaskFailure] = field(default_factory=list)
    tasks_paired: int = 0
    base_only: list[str] = field(default_factory=list)
    cand_only: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # the comparison's notes about this suite (its kind differs between the sides)
    kind_notes: list[str] = field(default_factory=list)
    score_base: float | None = None
    score_cand: float | None = None
    score_delta: float | None = None
    score_delta_ci: tuple[float, float] | None = None
    score_change: float | None = None
    score_change_ci: tuple[float, float] | None = None
    weighted_delta: float | None = None
    weighted_ci: tuple[float, float] | None = None
    rejects: list[Reason] = field(default_factory=list)
    blockers: list[Reason] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)

    @property
    def present(self) -> Presence:
        if self.base is not None and self.cand is not None:
            return "both"
        return "baseline" if self.cand is None else "candidate"


def rounded(x: float | None) -> float | None:
    return stats.sig_round(x)


def interval(ci: tuple[float, float] | None) -> Interval | None:
    return None if ci is None else Interval(low=rounded(ci[0]), high=rounded(ci[1]))


def histogram(deltas: np.ndarray | None) -> Histogram | None:
    if deltas is None or deltas.size < HISTOGRAM_MIN_TASKS:
        return None
    lo, hi = float(np.min(deltas)), float(np.max(deltas))
    # equal up to float noise (0.75 - 0.7 != 0.8 - 0.75): one bar, not eight spurious ones
    if hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi)):
        return Histogram(edges=[rounded(lo), rounded(hi)], counts=[int(deltas.size)])
    counts, edges = np.histogram(deltas, bins=HISTOGRAM_BINS, range=(lo, hi))
    return Histogram(edges=[rounded(float(e)) for e in edges], counts=[int(c) for c in counts])


def metric_change(m: MetricWork) -> Change | None:
    """Better, worse or unchanged, as shown with confidence: the interval against no change
    (scores) or against the floor (timings, where a ratio within the floor is never a change).
    A timing with one task slower past the floor on its own is worse."""
    if m.tasks == 0:
        return None
    if m.metric.kind == "timing":
        if m.slower_tasks:
            return "worse"
        oci = m.oriented_ratio_ci()
        if oci is None:
            return None
        floor = 1.0 + m.tolerance
        if oci[0] > floor:
            return "worse"
        return "better" if oci[1] < 1.0 / floor else "unchanged"
    sci = m.oriented_ci()
    if sci is None:
        return None
    if sci[0] > 0:
        return "better"
    return "worse" if sci[1] < 0 else "unchanged"


def metric_model(m: MetricWork) -> MetricComparison:
    delta_pct: float | None = None
    if m.metric.kind == "timing" and m.ratio is not None:
        delta_pct = (m.ratio - 1.0) * 100.0
    elif m.delta is not None and m.base:
        delta_pct = m.delta / abs(m.base) * 100.0
    return MetricComparison(
        name=m.metric.name, kind=m.metric.kind, direction=m.metric.direction,
        weight=m.metric.weight, gate=m.metric.gate, tolerance=m.tolerance, tasks=m.tasks,
        base=rounded(m.base), cand=rounded(m.cand), delta=rounded(m.delta),
        delta_pct=rounded(delta_pct), ratio=rounded(m.ratio), ci=interval(m.ci),
        p_value=rounded(m.p), p_adjusted=rounded(m.p_adj),
        verdict=m.verdict, change=metric_change(m),
        histogram=histogram(m.deltas) if m.metric.kind == "score" else None,
        missing_tasks=m.missing if m.tasks else [],
        slower_tasks=m.slower_tasks,
        worse_tasks=m.worse_tasks[0], worse_tasks_more=m.worse_tasks[1],
    )


def suite_model(w: SuiteWork) -> SuiteComparison:
    verdict: Decision = "reject" if w.rejects else ("inconclusive" if w.blockers else "accept")
    b, c = w.base, w.cand
    shown = c or b
    assert shown is not None
    return SuiteComparison(
        id=w.id, kind=w.kind, present=w.present,
        base_hash=b.definition_hash if b else None, cand_hash=c.definition_hash if c else None,
        definition_changed=bool(b and c and b.definition_hash != c.definition_hash),
        repeat=shown.repeat, minimum=shown.minimum,
        score_base=rounded(w.score_base), score_cand=rounded(w.score_cand),
        score_delta=rounded(w.score_delta),
        score_delta_ci=interval(w.score_delta_ci), score_change=rounded(w.score_change),
        score_change_ci=interval(w.score_change_ci), weighted_delta=rounded(w.weighted_delta),
        tasks_paired=w.tasks_paired, tasks_base_only=w.base_only, tasks_cand_only=w.cand_only,
        metrics=[metric_model(m) for m in w.metrics], checks=w.checks,
        failed_tasks=w.failed_tasks, notes=w.notes, verdict=verdict,
    )
