"""Sequential evaluation: when a comparison is inconclusive and more runs could settle it, run
more repeats of the tasks that carry the uncertainty (both sides) and compare again, until the
verdict settles or the budget ends.

Error rates under repeated looks: the comparison is looked at up to ``max_looks`` times, and
the error rate alpha = 1 - confidence is spent over the looks: half at the first look (most
verdicts settle there, and it keeps the first look nearly as sharp as a single comparison),
the other half split evenly over the later ones. These are group-sequential boundaries of the
Bonferroni kind: conservative, but valid whatever information each look adds (here it grows
unevenly, as only some tasks get more runs). By the union bound, the chance that any look's
interval misses the truth stays within alpha, so false accepts and false rejects stay within
it too.

Which tasks: in each unsettled suite, the tasks whose runs' noise (var_b / n_b + var_c / n_c of
the unclear metrics, scaled by the metric's spread) makes up most of the noise of the suite's
estimate (the fewest tasks that carry ``COVER`` of it). A task with very noisy runs gets more;
tasks already measured precisely do not.

Deterministic: the plan depends only on the samples; the runner supplies new samples through
``more``, a function this module calls but does not implement (the functional core stays free of
I/O).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from bot.core.compare import Comparison, compare_results
from bot.core.config import CompareConfig
from bot.core.results import Results, Sample, SuiteResult, TaskResult

# the share of a suite's noise variance whose tasks get more runs
COVER = 0.8
# fewest paired tasks for which later looks keep their error rates (see settleable)
MIN_TASKS = 6
# blockers that more runs can settle; any other (a changed definition, missing tasks, a check
# failing on both sides, a falling weighted mean) needs a person
SETTLEABLE = frozenset({"metric_unclear"})

TaskKey = tuple[str, str]  # (suite id, task id)
Extra = Mapping[TaskKey, Sequence[Sample]]


@dataclass(frozen=True)
class SequentialConfig:
    """``max_looks``: comparisons at most, the first included. ``max_repeats``: runs per task
    and side at most. A round adds as many runs as the task has, so its runs double each round:
    the interval narrows by about 1/sqrt(2) a look."""

    max_looks: int = 3
    max_repeats: int = 20
    # task time (the runs' duration_s, both sides) the extra runs may bring the total to
    max_seconds: float = math.inf

    @classmethod
    def of(cls, config: CompareConfig) -> SequentialConfig:
        return cls(max_looks=config.max_looks, max_repeats=config.max_repeats,
                   max_seconds=config.max_minutes * 60.0)


class Round(BaseModel):
    """One look: the decision it gave, and the runs (both sides) that were measured for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    look: int
    decision: str
    runs: int
    tasks: int


@dataclass
class SequentialOutcome:
    comparison: Comparison
    base: Results
    cand: Results
    rounds: list[Round] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(r.runs for r in self.rounds)


def look_confidence(config: CompareConfig, looks: int, look: int = 1) -> CompareConfig:
    """The comparison settings for look number ``look`` of at most ``looks``: half the error
    rate at the first look, the other half split evenly over the rest."""
    if looks <= 1:
        return config
    alpha = 1.0 - config.confidence
    spent = alpha / 2 if look <= 1 else alpha / (2 * (looks - 1))
    return config.model_copy(update={"confidence": 1.0 - spent})


def _runs(results: Results) -> int:
    return sum(len(t.samples) for s in results.suites if s.kind == "benchmark" for t in s.tasks)


def _seconds(results: Results) -> float:
    return sum(x.duration_s for s in results.suites for t in s.tasks for x in t.samples)


def _mean_duration(*tasks: TaskResult) -> float:
    durations = [x.duration_s for t in tasks for x in t.samples]
    return sum(durations) / len(durations) if durations else 0.0


def settleable(comparison: Comparison) -> bool:
    """Inconclusive only because some metrics are unclear: more runs narrow their intervals.
    (Even when the comparison's estimate says the tasks disagree: that estimate is itself noisy
    at a few repeats, and the budget bounds what a real disagreement costs.)

    Not for a suite of 2 to ``MIN_TASKS - 1`` tasks: its interval is a bootstrap over so few
    tasks that it is too narrow at the stricter levels of the later looks (the calibration
    benchmark measured 9% false accepts at 5 tasks with more looks, 5% without), and more runs
    do not add tasks. A single task's interval is over its runs, which more runs do narrow."""
    if comparison.decision != "inconclusive" or not comparison.reasons:
        return False
    if not all(r.code in SETTLEABLE for r in comparison.reasons):
        return False
    unclear = {r.suite for r in comparison.reasons}
    return all(not 1 < s.tasks_paired < MIN_TASKS for s in comparison.suites if s.id in unclear)


def _noise(task: TaskResult, other: TaskResult, metrics: Sequence[str],
           timing: Mapping[str, bool]) -> float:
    """The task's share of the noise in the suite's estimate of ``metrics``: the sum over the
    metrics of var / n on each side (on logs for timings)."""
    total = 0.0
    for name in metrics:
        for t in (task, other):
            v = np.array(t.values(name), dtype=float)
            if timing.get(name):
                v = np.log(v[v > 0])
            if v.size >= 2:
                total += float(np.var(v, ddof=1)) / v.size
            else:
                total += math.inf  # no estimate of its noise: it must get more runs
    return total


def plan_more(comparison: Comparison, base: Results, cand: Results,
              seq: SequentialConfig) -> dict[TaskKey, int]:
    """Runs per side to add, per task, for the next look; empty when nothing would help or
    the budget is spent. A task's extra runs are priced at its runs' mean duration."""
    plan: dict[TaskKey, int] = {}
    budget = seq.max_seconds - _seconds(base) - _seconds(cand)
    for sc in comparison.suites:
        if sc.verdict != "inconclusive" or sc.present != "both":
            continue
        unclear = [m.name for m in sc.metrics if m.verdict == "unclear" and m.gate]
        if not unclear:
            continue
        b, c = base.suite(sc.id), cand.suite(sc.id)
        assert b is not None and c is not None
        timing = {m.name: m.kind == "timing" for m in sc.metrics}
        btasks = {t.id: t for t in b.tasks if t.status == "ok"}
        ctasks = {t.id: t for t in c.tasks if t.status == "ok"}
        paired = sorted(set(btasks) & set(ctasks))
        noise = sorted(((_noise(btasks[t], ctasks[t], unclear, timing), t) for t in paired),
                       key=lambda x: (-x[0], x[1]))
        total = sum(n for n, _ in noise)
        carried = 0.0
        for n, tid in noise:
            have = min(len(btasks[tid].samples), len(ctasks[tid].samples))
            add = min(have, seq.max_repeats - have)
            cost = 2 * add * _mean_duration(btasks[tid], ctasks[tid])
            if add > 0 and cost <= budget:
                plan[(sc.id, tid)] = add
                budget -= cost
            carried += n
            if math.isfinite(total) and carried >= COVER * total:
                break
    return plan


def _extend(results: Results, extra: Extra) -> Results:
    suites: list[SuiteResult] = []
    for s in results.suites:
        tasks = []
        for t in s.tasks:
            added = list(extra.get((s.id, t.id), ()))
            if added:
                samples = [*t.samples, *added]
                failed = any(x.status == "failed" for x in samples)
                t = t.model_copy(update={"samples": samples,
                                         "status": "failed" if failed else t.status})
            tasks.append(t)
        suites.append(s.model_copy(update={"tasks": tasks}))
    return results.model_copy(update={"suites": suites})


MoreRuns = Callable[[dict[TaskKey, int]], tuple[Extra, Extra]]


def run_sequential(base: Results, cand: Results, config: CompareConfig, seq: SequentialConfig,
                   more: MoreRuns, **compare_kwargs: object) -> SequentialOutcome:
    """Compare; while the verdict is unsettled, more runs could settle it and the budget lasts,
    ask ``more`` for the planned runs (it returns the new samples of each side) and compare
    again. Each look uses its :func:`look_confidence`."""
    first = look_confidence(config, seq.max_looks, 1)
    comparison = compare_results(base, cand, first, **compare_kwargs)  # type: ignore[arg-type]
    outcome = SequentialOutcome(comparison, base, cand)
    outcome.rounds.append(Round(look=1, decision=comparison.decision,
                                runs=_runs(base) + _runs(cand),
                                tasks=sum(len(s.tasks) for s in cand.suites)))
    for look in range(2, seq.max_looks + 1):
        if not settleable(comparison):
            break
        plan = plan_more(comparison, base, cand, seq)
        if not plan:
            break
        extra_b, extra_c = more(plan)
        base, cand = _extend(base, extra_b), _extend(cand, extra_c)
        looked = look_confidence(config, seq.max_looks, look)
        comparison = compare_results(base, cand, looked, **compare_kwargs)  # type: ignore[arg-type]
        outcome.comparison, outcome.base, outcome.cand = comparison, base, cand
        added = sum(len(v) for v in extra_b.values()) + sum(len(v) for v in extra_c.values())
        outcome.rounds.append(Round(look=look, decision=comparison.decision, runs=added,
                                    tasks=len(plan)))
    return outcome
