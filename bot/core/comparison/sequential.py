"""Sequential evaluation: when a comparison is inconclusive and more runs could settle it, run
more repeats of the tasks that carry the uncertainty (both sides) and compare again, until the
verdict settles or the budget ends.

Looks, equally spaced in information: each round adds, per suite, as many runs as the first
look had (``repeat`` a task on average), so look k of at most K = ``max_looks`` sits at the
information fraction t = k / K (the variance of a mean over tasks falls as 1 / runs).

Error rates under repeated looks: group-sequential boundaries from an alpha-spending function
(Lan and DeMets). Each side's one-sided error rate alpha/2 (alpha = 1 - confidence) is spent
linearly over the information, alpha/2 * t (the Kim-DeMets power family with rho = 1, between
Pocock's and O'Brien-Fleming's shapes), and each look's boundary z_k solves exactly

    P(Z_1 < z_1, ..., Z_{k-1} < z_{k-1}, Z_k >= z_k) = alpha/2 * (t_k - t_{k-1})

for the correlated statistics of nested samples (corr(Z_j, Z_k) = sqrt(t_j / t_k)), by the
recursive numerical integration of Armitage, McPherson and Rowe (1969) on a fixed grid:
deterministic. A look then compares at the confidence 1 - 2 * (1 - Phi(z_k)): the accept
(lower end within the tolerance) and the reject (upper end past it) each use that look's
boundary, so the chance that any look accepts a change sitting on the tolerance stays within
alpha/2, and likewise for rejects. Unlike a Bonferroni split, the boundaries take the looks'
correlation into account: with 8 looks at 95% they are z = 2.73 at the first look falling to
2.33 at the last (Bonferroni: 2.73 at every look), which is what lets a change that does
nothing settle as "accept" within the budget. The defaults (10 looks, up to 50 runs a task
and side on average, 20 minutes) were chosen with the calibration benchmark: at 8 looks and
40 runs a change that does nothing at the project's setting stayed inconclusive 12% of the
time; at 10 and 50 it is 2%, for 25% of the runs fixed repeats need to match it (100 trials a
scenario, benchmarks/bench_compare_calibration.py).

Which tasks: in each unsettled suite, runs are shared out by Neyman allocation: a task's
target number of runs is proportional to its runs' spread (the standard deviation of the
unclear metrics, each scaled by its typical spread across the suite's tasks, shrunk toward that
typical spread so that a few identical runs do not read as no noise). The spread of a mean over
tasks falls fastest that way; a task measured precisely already gets no more runs, a very noisy
one gets most of them, past ``max_repeats`` if need be: that is a suite's budget, runs a task
and side on average (a task ten times noisier than the other nineteen of its suite carries a
third of the suite's noise, and is given a third of its runs: seven times the average).
Noisier tasks are served first when the time budget runs short.

When to stop early (futility): a suite whose runs are so noisy for its tolerance that even the
whole budget could not accept a change that does nothing gets no more runs, and when that holds
for every unsettled suite the one look compares at the full confidence, as fixed repeats would
(see :func:`futile`: decided on the runs' spread alone, never on the estimate).

Deterministic: the plan depends only on the samples; the runner supplies new samples through
``more``, a function this module calls but does not implement (the functional core stays free of
I/O).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats as sps
from scipy.optimize import brentq

from bot.core.comparison.compare import Comparison, compare_results
from bot.core.comparison.models import MetricComparison
from bot.core.config import CompareConfig
from bot.core.results import Results, Sample, SuiteResult, TaskResult

# blockers that more runs can settle; any other (a changed definition, missing tasks, a check
# failing on both sides, a falling weighted mean) needs a person
SETTLEABLE = frozenset({"metric_unclear"})
# the prior weight (in degrees of freedom) that shrinks a task's spread toward the suite's
PRIOR_DF = 2.0
# the boundary integration's grid on the score scale S = Z sqrt(t) (t <= 1, so sd <= 1)
_GRID_STEP = 0.02
_GRID_HALF = 9.0

TaskKey = tuple[str, str]  # (suite id, task id)
Extra = Mapping[TaskKey, Sequence[Sample]]


@dataclass(frozen=True)
class SequentialConfig:
    """``max_looks``: comparisons at most, the first included. ``max_repeats``: runs per task
    and side at most, on average over a suite's tasks (Neyman allocation may give one noisy
    task more). A round adds, per suite, as many runs as the first look had."""

    max_looks: int = 10
    max_repeats: int = 50
    # task time (the runs' duration_s, both sides) the extra runs may bring the total to
    max_seconds: float = math.inf
    # stop early for futility: no more runs for a suite that even the whole budget could not
    # settle (see :func:`futile`)
    futility: bool = True

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
    # the look's confidence (stricter than the configured one when there are several looks)
    confidence: float | None = None


@dataclass
class SequentialOutcome:
    comparison: Comparison
    base: Results
    cand: Results
    rounds: list[Round] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(r.runs for r in self.rounds)


def spent(t: float, alpha: float) -> float:
    """The error rate spent by information fraction ``t``: linear, alpha * t."""
    return alpha * min(max(t, 0.0), 1.0)


@lru_cache(maxsize=64)
def boundaries(looks: int, alpha: float) -> tuple[float, ...]:
    """One-sided group-sequential boundaries z_1..z_looks for looks at the information
    fractions k / looks, spending ``alpha`` linearly (see the module's docstring).

    The density of the score S_k = Z_k sqrt(t_k) below the earlier boundaries is carried on a
    grid from look to look (a convolution with the normal increment); each boundary is the
    root of "the mass that crosses it at this look equals this look's share of alpha"."""
    grid = np.arange(-_GRID_HALF, _GRID_HALF + _GRID_STEP / 2, _GRID_STEP)
    out: list[float] = []
    density: np.ndarray | None = None  # of S on the grid, times the step (a mass per point)
    prev_t = 0.0
    for k in range(1, looks + 1):
        t = k / looks
        share = spent(t, alpha) - spent(prev_t, alpha)
        dt = t - prev_t
        if density is None:
            z = float(sps.norm.isf(share))
            density = sps.norm.pdf(grid / math.sqrt(t)) / math.sqrt(t) * _GRID_STEP
        else:
            mass = density

            def crossing(b: float, mass: np.ndarray = mass, t: float = t, dt: float = dt,
                         share: float = share) -> float:
                tail = sps.norm.sf((b * math.sqrt(t) - grid) / math.sqrt(dt))
                return float(np.sum(mass * tail)) - share

            z = float(brentq(crossing, -10.0, 40.0, xtol=1e-6))
            kernel = sps.norm.pdf((grid[:, None] - grid[None, :]) / math.sqrt(dt))
            density = kernel @ mass * (_GRID_STEP / math.sqrt(dt))
        density = np.where(grid < z * math.sqrt(t), density, 0.0)
        out.append(round(z, 6))
        prev_t = t
    return tuple(out)


def look_confidence(config: CompareConfig, looks: int, look: int = 1) -> CompareConfig:
    """The comparison settings for look number ``look`` of at most ``looks``: the two-sided
    confidence whose tails are that look's group-sequential boundary."""
    if looks <= 1:
        return config
    alpha = (1.0 - config.confidence) / 2
    z = boundaries(looks, round(alpha, 12))[min(max(look, 1), looks) - 1]
    confidence = 1.0 - 2.0 * float(sps.norm.sf(z))
    return config.model_copy(update={"confidence": round(confidence, 9)})


def round_settings(config: CompareConfig, rounds: Sequence[Round]) -> CompareConfig:
    """The settings the last look of ``rounds`` compared at (its recorded confidence; rounds
    recorded without one: the look's boundary by its number)."""
    if rounds and rounds[-1].confidence is not None:
        return config.model_copy(update={"confidence": rounds[-1].confidence})
    return look_confidence(config, config.max_looks, max(1, len(rounds)))


def may_look_again(base: Results, cand: Results, seq: SequentialConfig) -> bool:
    """Whether any suite could get a later look: a benchmark suite on both sides with runs
    left in its budget (``max_repeats`` a task on average). When none could, the one look is
    the whole evaluation and compares at the full confidence (a stricter first look would only
    leave more verdicts unsettled)."""
    for b in base.suites:
        c = cand.suite(b.id)
        if b.kind != "benchmark" or c is None or c.kind != "benchmark":
            continue
        bt = {t.id: t for t in b.tasks if t.status == "ok"}
        ct = {t.id: t for t in c.tasks if t.status == "ok"}
        paired = set(bt) & set(ct)
        if not paired:
            continue
        runs = sum(min(len(bt[t].samples), len(ct[t].samples)) for t in paired)
        if runs < seq.max_repeats * len(paired):
            return True
    return False


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

    A suite of 2 to 5 tasks is compared with Student's t over its tasks (not the bootstrap,
    too narrow over so few tasks at the later looks' strict levels: see
    :mod:`bot.core.comparison.stats`), which holds its level at every look."""
    if comparison.decision != "inconclusive" or not comparison.reasons:
        return False
    return all(r.code in SETTLEABLE for r in comparison.reasons)


def _variances(task: TaskResult, other: TaskResult, name: str,
               timing: bool) -> tuple[float, int] | None:
    """The task's pooled variance of ``name`` over both sides' runs (of logs for a timing) and
    its degrees of freedom; None with fewer than two runs a side."""
    total, df = 0.0, 0
    for t in (task, other):
        v = np.array(t.values(name), dtype=float)
        if timing:
            v = np.log(v[v > 0])
        if v.size < 2:
            return None
        total += float(np.var(v, ddof=1)) * (v.size - 1)
        df += v.size - 1
    return total / df, df


def shrunk_variances(pairs: Mapping[str, tuple[TaskResult, TaskResult]], name: str,
                     timing: bool) -> tuple[dict[str, float], float]:
    """Per task, the variance of one run of ``name`` (pooled over both sides) shrunk toward the
    suite's typical one (the median over tasks) by ``PRIOR_DF`` degrees of freedom, so that a
    few identical runs (five passes of a pass/fail task) do not read as no noise; and that
    typical variance. A task without two runs a side gets the typical one."""
    got = {tid: _variances(b, c, name, timing) for tid, (b, c) in pairs.items()}
    known = [v for v, _ in (g for g in got.values() if g is not None)]
    typical = float(np.median(known)) if known else 0.0
    if typical <= 0.0 and known:
        typical = float(np.mean(known))
    out: dict[str, float] = {}
    for tid, g in got.items():
        if g is None or typical <= 0.0:
            out[tid] = typical
        else:
            v, df = g
            out[tid] = (df * v + PRIOR_DF * typical) / (df + PRIOR_DF)
    return out, typical


def spreads(pairs: Mapping[str, tuple[TaskResult, TaskResult]], metrics: Sequence[str],
            timing: Mapping[str, bool]) -> dict[str, float]:
    """Per task, the spread Neyman allocation shares runs by: for each metric the task's
    shrunk variance (:func:`shrunk_variances`) over the suite's typical one; the square root of
    their mean over the metrics. Without any noise measured, every task counts as typical."""
    rel: dict[str, float] = {tid: 0.0 for tid in pairs}
    for name in metrics:
        var, typical = shrunk_variances(pairs, name, timing.get(name, False))
        for tid in pairs:
            rel[tid] += var[tid] / typical if typical > 0.0 else 1.0
    return {tid: math.sqrt(r / max(1, len(metrics))) for tid, r in rel.items()}


def noise_at_budget(pairs: Mapping[str, tuple[TaskResult, TaskResult]],
                    metric: MetricComparison, budget: int) -> float:
    """The runs' noise in the suite's mean delta once ``budget`` runs a side are spent on the
    suite, shared by Neyman allocation (a task's runs in proportion to its shrunk spread, never
    fewer than it has): the mean over tasks of 2 var_i / n_i, over the number of tasks."""
    var, _ = shrunk_variances(pairs, metric.name, metric.kind == "timing")
    sd = {tid: math.sqrt(v) for tid, v in var.items()}
    total = sum(sd.values())
    noise = 0.0
    for tid, (b, c) in pairs.items():
        have = min(len(b.samples), len(c.samples))
        runs = max(have, budget * sd[tid] / total if total > 0 else budget / len(pairs), 1)
        noise += 2.0 * var[tid] / runs
    return noise / len(pairs) ** 2


def futile(pairs: Mapping[str, tuple[TaskResult, TaskResult]], metric: MetricComparison,
           final_z: float, budget: int) -> bool:
    """Whether even the whole budget (``budget`` runs a side on the suite) could not accept
    ``metric`` unchanged: the last look's interval, predicted from the runs' noise at the
    budget (:func:`noise_at_budget`; boundary ``final_z``, Student's t over the tasks), would
    be wider on each side than the tolerance. Runs that noisy for their tolerance (pass/fail
    runs judged to 0.01) settle only changes far past it, which a look at the full confidence
    settles as well as the budget would: chasing them with more runs, on an estimate that
    noisy, spends the budget on changes that do nothing.

    It depends on the runs' spread only, never on the estimate, so deciding on it keeps the
    error rates (and stopping only ever gives up an accept or a reject, never adds one). The
    tasks' disagreement (true deltas that differ by task, which more runs do not shrink) is
    left out: estimated from a few runs, noise alone reads as disagreement in about one trial
    of four of a change that does nothing (the calibration benchmark), and the budget bounds
    what a real one costs. False with fewer than two tasks, and at a tolerance of zero: there
    no change that does nothing is ever accepted, whatever the runs, and the question is
    whether the change is better or worse with confidence, which more runs do settle."""
    margin = math.log1p(metric.tolerance) if metric.kind == "timing" else metric.tolerance
    if len(pairs) < 2 or margin <= 0.0:
        return False
    n = len(pairs)
    half = float(sps.t.isf(sps.norm.sf(final_z), n - 1)) * math.sqrt(
        noise_at_budget(pairs, metric, budget))
    return half > margin


def _unclear(comparison: Comparison) -> list[tuple[str, list[MetricComparison]]]:
    """The suites more runs could settle, each with its unclear gating metrics."""
    out = []
    for sc in comparison.suites:
        unclear = [m for m in sc.metrics if m.verdict == "unclear" and m.gate]
        if sc.verdict == "inconclusive" and sc.present == "both" and unclear:
            out.append((sc.id, unclear))
    return out


def beyond_budget(comparison: Comparison, base: Results, cand: Results, seq: SequentialConfig,
                  final_z: float) -> bool:
    """Every suite left unsettled has a metric the whole budget could not accept unchanged
    (:func:`futile`): then no look but the first will come."""
    unclear = _unclear(comparison)
    return bool(unclear) and all(
        any(futile(pairs, m, final_z, seq.max_repeats * len(pairs)) for m in metrics)
        for sid, metrics in unclear if (pairs := _pairs(base, cand, sid)))


def _pairs(base: Results, cand: Results,
           suite: str) -> dict[str, tuple[TaskResult, TaskResult]]:
    """The suite's tasks that passed on both sides, by id (sorted)."""
    b, c = base.suite(suite), cand.suite(suite)
    assert b is not None and c is not None
    btasks = {t.id: t for t in b.tasks if t.status == "ok"}
    ctasks = {t.id: t for t in c.tasks if t.status == "ok"}
    return {t: (btasks[t], ctasks[t]) for t in sorted(set(btasks) & set(ctasks))}


def _neyman(pairs: Mapping[str, tuple[TaskResult, TaskResult]], spread: Mapping[str, float],
            step: int, budget: int) -> dict[str, int]:
    """Runs a side to add per task: the suite's runs brought up by ``step`` (never past
    ``budget``), each task's target in proportion to its spread, less what it has."""
    have = {t: min(len(bt.samples), len(ct.samples)) for t, (bt, ct) in pairs.items()}
    total = min(sum(have.values()) + step, budget)
    left = budget - sum(have.values())
    weight = sum(spread.values())
    add: dict[str, int] = {}
    for tid in sorted(pairs, key=lambda t: (-spread[t], t)):
        target = math.ceil(total * spread[tid] / weight) if weight > 0 else total
        k = min(max(0, target - have[tid]), left)
        if k > 0:
            add[tid] = k
            left -= k
    return add


def plan_more(comparison: Comparison, base: Results, cand: Results,
              seq: SequentialConfig, final_z: float | None = None) -> dict[TaskKey, int]:
    """Runs per side to add, per task, for the next look; empty when nothing would help or
    the budget is spent. Per unsettled suite, the round brings the suite's runs per side up by
    ``repeat`` a task, shared out in proportion to the tasks' spreads (Neyman allocation),
    never past ``max_repeats`` a task on average (one very noisy task may take many more runs
    than the rest: that is where the suite's uncertainty is). A task's extra runs are priced
    at its runs' mean duration, and planned as far as they fit in the time budget; the
    noisiest tasks are served first. With ``final_z`` (the last look's boundary) and
    ``seq.futility``, a suite with an unclear metric that even the whole budget could not
    settle gets no more runs."""
    plan: dict[TaskKey, int] = {}
    seconds = seq.max_seconds - _seconds(base) - _seconds(cand)
    for sid, unclear in _unclear(comparison):
        pairs = _pairs(base, cand, sid)
        if not pairs:
            continue
        budget = seq.max_repeats * len(pairs)
        if final_z is not None and seq.futility and any(
                futile(pairs, m, final_z, budget) for m in unclear):
            continue
        spread = spreads(pairs, [m.name for m in unclear],
                         {m.name: m.kind == "timing" for m in unclear})
        suite = cand.suite(sid)
        repeat = max(1, suite.repeat) if suite is not None else 1
        for tid, add in _neyman(pairs, spread, repeat * len(pairs), budget).items():
            each = 2 * _mean_duration(*pairs[tid])  # a run on each side
            if each > 0 and math.isfinite(seconds):
                # as many of them as fit the time left: the noisiest task, served first, may
                # want more runs in one round than the time allows
                add = min(add, int(seconds // each))
            if add > 0:
                plan[(sid, tid)] = add
                seconds -= add * each
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
    looks = seq.max_looks if may_look_again(base, cand, seq) else 1
    first = look_confidence(config, looks, 1)
    final_z = boundaries(looks, round((1.0 - config.confidence) / 2, 12))[-1]
    comparison = compare_results(base, cand, first, **compare_kwargs)  # type: ignore[arg-type]
    if looks > 1 and seq.futility and settleable(comparison) and beyond_budget(
            comparison, base, cand, seq, final_z):
        # no later look will come: the one look is at the full confidence, as fixed repeats
        # would compare (decided on the runs' spread alone, see futile)
        looks, first = 1, config
        comparison = compare_results(base, cand, first, **compare_kwargs)  # type: ignore[arg-type]
    outcome = SequentialOutcome(comparison, base, cand)
    outcome.rounds.append(Round(look=1, decision=comparison.decision,
                                runs=_runs(base) + _runs(cand),
                                tasks=sum(len(s.tasks) for s in cand.suites),
                                confidence=first.confidence))
    for look in range(2, looks + 1):
        if not settleable(comparison):
            break
        plan = plan_more(comparison, base, cand, seq, final_z)
        if not plan:
            break
        extra_b, extra_c = more(plan)
        base, cand = _extend(base, extra_b), _extend(cand, extra_c)
        looked = look_confidence(config, seq.max_looks, look)
        comparison = compare_results(base, cand, looked, **compare_kwargs)  # type: ignore[arg-type]
        outcome.comparison, outcome.base, outcome.cand = comparison, base, cand
        added = sum(len(v) for v in extra_b.values()) + sum(len(v) for v in extra_c.values())
        outcome.rounds.append(Round(look=look, decision=comparison.decision, runs=added,
                                    tasks=len(plan), confidence=looked.confidence))
    return outcome
