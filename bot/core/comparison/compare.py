"""COMPARE: baseline results against candidate results, and a decision — accept, reject or
inconclusive — with the statistics that justify it.

Rules (``.github/improve.yml``, ``compare:``):

* Scores are paired by task: each task's mean over its repeats, candidate minus baseline. A
  metric's delta is the mean of those over the tasks both sides measured; its confidence
  interval is a seeded paired bootstrap over tasks (over the repeats when a suite has a single
  task), see :mod:`bot.core.comparison.stats`.
* Timings are judged on log ratios, paired by task. Per task the log ratio is the
  Hodges-Lehmann shift between the two sides' log samples (the median of all pairwise
  differences: one spike cannot move it); the suite's ratio is exp of their mean over tasks,
  with a bootstrap interval over tasks, and that interval is compared against the floor.
  Each task is also tested on its own (Yuen's 20%-trimmed t-test on log samples, one-sided,
  for "slower by more than the floor"), with Holm's correction across every per-task test of
  the comparison, so that one benchmark's slowdown cannot hide in the suite's mean.
* A score metric *regresses with confidence* when its (Holm-adjusted) p-value for "worse than
  -tolerance" is below 1 - confidence, i.e. its interval lies entirely past -tolerance. It is
  *within tolerance with confidence* when its interval's lower end is at or above -tolerance.
  A timing regresses with confidence when its interval lies entirely past the floor on the
  slow side (Holm-adjusted like the scores); it is *ok* when its interval lies within the
  floor on the slow side, *improved* when it lies past the floor on the fast side, and
  otherwise *unclear*. A task's timing that regresses past the floor with confidence (after
  Holm across tasks) rejects too, and is named.
* Reject: a regression check newly fails, a benchmark task newly fails, a suite's score falls
  under its minimum, or a gating metric regresses with confidence. Accept: every gating metric
  is within tolerance (or improved) with confidence, each suite's weighted mean delta does not
  fall with confidence (its interval is not entirely below zero), and nothing stands in the
  way (a changed suite definition, tasks or suites missing on the candidate, partial results).
  Otherwise inconclusive, with what would settle it.

The result, :class:`Comparison`, is also the ``--format json`` output: :func:`comparison_json`
serializes it byte-identically for the same inputs. Its models and texts are in
bot/core/comparison/models.py, its Markdown report in bot/core/comparison/report.py.
"""
from __future__ import annotations

import json
import math
from typing import Literal

import numpy as np

from bot.core.comparison import stats
from bot.core.comparison.models import (
    LIST_LIMIT,
    OUTPUT_TAIL_LIMIT,
    R_CHECK_FAILS,
    R_CHECK_MISSING,
    R_CHECK_STILL_FAILS,
    R_DEFINITION_CHANGED,
    R_METRIC_DROPPED,
    R_NOT_COMPARED,
    R_NOTHING,
    R_PARTIAL,
    R_SCORE_REGRESSED,
    R_SUITE_MISSING,
    R_TASK_FAILS,
    R_TASK_FAILS_NEW,
    R_TASK_TIMING_REGRESSED,
    R_TASKS_MISSING,
    R_TIMING_REGRESSED,
    R_UNCLEAR,
    R_UNDER_MINIMUM,
    R_WEIGHTED_FALLS,
    REC_PERSON,
    REC_PERSON_TASKS_DISAGREE,
    REC_REPEATS,
    REC_REPEATS_NO_ESTIMATE,
    SUMMARY,
    Approval,
    CheckComparison,
    CheckVerdict,
    Comparison,
    Decision,
    MetricVerdict,
    Reason,
    Recommendation,
    Settings,
    Side,
    TaskFailure,
    TaskTiming,
)
from bot.core.comparison.report import render_comparison_markdown  # noqa: F401 - its home was here
from bot.core.comparison.task_deltas import worse_tasks
from bot.core.comparison.work import MetricWork, SuiteWork, rounded, suite_model
from bot.core.config import ApprovalConfig, CompareConfig
from bot.core.results import (
    Results,
    SuiteResult,
    TaskResult,
    pair_problems,
    results_problems,
)
from bot.core.suites import Metric
from bot.core.tiers import approval_tier
from bot.errors import InputError

# ---------------------------------------------------------------------------------------------
# per-suite statistics


def suite_score(means: dict[str, float | None], metrics: list[Metric]) -> float | None:
    """The suite score: the weight-weighted mean, over the suite's higher-is-better score
    metrics, of each metric's mean over tasks of the task's per-repeat mean.

    ``means`` maps a metric to that mean over tasks. Lower-is-better scores (error rates) and
    timings do not enter it: a weighted mean of quantities pointing different ways means
    nothing. None when no such metric has a value.
    """
    total = 0.0
    weight = 0.0
    for m in metrics:
        v = means.get(m.name)
        if m.kind != "score" or m.direction != "higher" or v is None:
            continue
        total += m.weight * v
        weight += m.weight
    return total / weight if weight else None


def _ids(items: list[str]) -> str:
    shown = ", ".join(items[:LIST_LIMIT])
    return shown + (f" and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else "")


def _tail(task: TaskResult) -> str:
    failed = [s for s in task.samples if s.status == "failed" and s.output_tail]
    sample = failed[-1] if failed else (task.samples[-1] if task.samples else None)
    text = sample.output_tail if sample is not None else ""
    return text[-OUTPUT_TAIL_LIMIT:]


def _reason(task: TaskResult) -> str | None:
    if task.reason:
        return task.reason
    return next((s.reason for s in task.samples if s.status == "failed" and s.reason), None)


def _samples_array(tasks: list[TaskResult], names: list[str]) -> tuple[np.ndarray, int]:
    """(tasks, max repeats, metrics) of the ok samples' values, NaN where absent; and how many
    values were absent (parsing refuses non-finite values, so NaN means absent here)."""
    width = max((len(t.samples) for t in tasks), default=1) or 1
    arr = np.full((len(tasks), width, len(names)), np.nan)
    absent = 0
    for i, t in enumerate(tasks):
        r = 0
        for s in t.samples:
            if s.status != "ok":
                continue
            for j, name in enumerate(names):
                v = s.metrics.get(name)
                if v is None:
                    absent += 1
                else:
                    arr[i, r, j] = v
            r += 1
    return arr, absent


def _nan_stats(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per task and metric: count, mean, variance (ddof 1) and median over repeats."""
    count = np.sum(~np.isnan(arr), axis=1)
    with stats.quiet_nan():
        mean = np.nanmean(arr, axis=1)
        var = np.nanvar(arr, axis=1, ddof=1)
        med = np.nanmedian(arr, axis=1)
    var = np.where(count >= 2, var, np.nan)
    return count, mean, var, med


def _metric_defs(
    base: SuiteResult | None, cand: SuiteResult | None
) -> tuple[list[Metric], list[str]]:
    notes: list[str] = []
    defs: dict[str, Metric] = {}
    for m in (cand.metrics if cand else []):
        defs[m.name] = m
    for m in (base.metrics if base else []):
        if m.name not in defs:
            defs[m.name] = m
            if cand is not None:
                notes.append(f"metric {m.name} is defined on the baseline only")
    if base is not None and cand is not None:
        base_names = {m.name for m in base.metrics}
        for m in cand.metrics:
            if m.name not in base_names:
                notes.append(f"metric {m.name} is defined on the candidate only")
            elif m != next(b for b in base.metrics if b.name == m.name):
                notes.append(f"metric {m.name} is defined differently on each side; "
                             "the candidate's definition is used")
    return list(defs.values()), notes


def _benchmark(work: SuiteWork, config: CompareConfig, rng: np.random.Generator) -> None:
    base, cand = work.base, work.cand
    metric_defs, notes = _metric_defs(base, cand)
    work.notes.extend(notes)
    work.metrics = [
        MetricWork(m, config.tolerance_for(m.name) if m.kind == "score" else config.timing_floor)
        for m in metric_defs
    ]
    btasks = {t.id: t for t in (base.tasks if base else [])}
    ctasks = {t.id: t for t in (cand.tasks if cand else [])}
    if base is None or cand is None:
        _one_side(work, btasks if cand is None else ctasks)
        return
    both = sorted(set(btasks) & set(ctasks))
    work.base_only = sorted(set(btasks) - set(ctasks))
    work.cand_only = sorted(set(ctasks) - set(btasks))
    gated = [m.metric.name for m in work.metrics if m.metric.gate]
    paired = [tid for tid in both if _pair_task(work, btasks[tid], ctasks[tid], gated)]
    _unpaired_failures(work, btasks, ctasks)
    _pairing_notes(work)
    work.tasks_paired = len(paired)
    if paired:
        _paired_stats(work, [btasks[t] for t in paired], [ctasks[t] for t in paired], paired,
                      config, rng)
    for m in work.metrics:
        if m.tasks == 0:
            m.verdict = "not compared"


def _pair_task(work: SuiteWork, b: TaskResult, c: TaskResult, gated: list[str]) -> bool:
    """Whether a task both sides ran can be paired; when not, it is a failed task, named (and
    a reject when it failed, or lost a gating metric, on the candidate)."""
    tid = b.id
    if b.status == "ok" and c.status == "ok":
        dropped = _dropped_metric(b, c, gated)
        if dropped is None:
            return True
        # a task that stops reporting a gating metric must not leave the suite's mean over
        # the tasks left (and its minimum) looking fine: it fails, named
        name, side_lost = dropped
        lost = c if side_lost == "candidate" else b
        work.failed_tasks.append(TaskFailure(
            id=tid, side=side_lost,
            reason=f"reports no {name} on the {side_lost} (the other side does)",
            output_tail=_tail(lost)))
        if side_lost == "candidate":
            work.rejects.append(Reason(code="task_metric_missing", suite=work.id,
                                       subject=tid, message=R_METRIC_DROPPED.format(
                                           subject=tid, metric=name)))
        return False
    side: Literal["baseline", "candidate", "both"] = "both"
    if b.status != c.status:
        side = "candidate" if c.status == "failed" else "baseline"
    failing = c if c.status == "failed" else b
    work.failed_tasks.append(TaskFailure(
        id=tid, side=side, reason=_reason(failing), output_tail=_tail(failing)))
    if side == "candidate":
        work.rejects.append(Reason(code="task_fails", suite=work.id, subject=tid,
                                   message=R_TASK_FAILS.format(subject=tid)))
    return False


def _unpaired_failures(work: SuiteWork, btasks: dict[str, TaskResult],
                       ctasks: dict[str, TaskResult]) -> None:
    """Tasks on one side only that failed: named; a new one failing rejects."""
    for tid in work.base_only:
        if btasks[tid].status == "failed":
            work.failed_tasks.append(TaskFailure(
                id=tid, side="baseline", reason=_reason(btasks[tid]),
                output_tail=_tail(btasks[tid])))
    for tid in work.cand_only:
        if ctasks[tid].status == "failed":
            work.failed_tasks.append(TaskFailure(
                id=tid, side="candidate", reason=_reason(ctasks[tid]),
                output_tail=_tail(ctasks[tid])))
            work.rejects.append(Reason(code="task_fails", suite=work.id, subject=tid,
                                       message=R_TASK_FAILS_NEW.format(subject=tid)))


def _pairing_notes(work: SuiteWork) -> None:
    base_failed = [f.id for f in work.failed_tasks if f.side != "candidate"]
    if base_failed:
        work.notes.append(
            f"{len(base_failed)} task(s) failed on the baseline and are not compared: "
            f"{_ids(base_failed)}")
    if work.cand_only:
        work.notes.append(f"{len(work.cand_only)} task(s) are new on the candidate and have no "
                          f"baseline to compare with: {_ids(work.cand_only)}")
    if work.base_only:
        work.blockers.append(Reason(
            code="tasks_missing", suite=work.id, subject=None,
            message=R_TASKS_MISSING.format(count=len(work.base_only), ids=_ids(work.base_only))))


def _reports(task: TaskResult, metric: str) -> bool:
    return any(s.status == "ok" and metric in s.metrics for s in task.samples)


def _dropped_metric(
    b: TaskResult, c: TaskResult, gated: list[str]
) -> tuple[str, Literal["baseline", "candidate"]] | None:
    """The first gating metric one side of a task reports and the other does not, with the
    side that lost it. Absent on both sides is fine: not every task measures every metric."""
    for name in gated:
        rb, rc = _reports(b, name), _reports(c, name)
        if rb and not rc:
            return name, "candidate"
        if rc and not rb:
            return name, "baseline"
    return None


def _one_side(work: SuiteWork, tasks: dict[str, TaskResult]) -> None:
    """A suite that ran on one side only: its own numbers, nothing to compare."""
    ok = [tasks[t] for t in sorted(tasks) if tasks[t].status == "ok"]
    side: Literal["baseline", "candidate"] = "candidate" if work.cand is not None else "baseline"
    for tid in sorted(tasks):
        if tasks[tid].status == "failed":
            work.failed_tasks.append(TaskFailure(
                id=tid, side=side, reason=_reason(tasks[tid]), output_tail=_tail(tasks[tid])))
    if side == "candidate":
        for f in work.failed_tasks:
            work.rejects.append(Reason(
                code="task_fails", suite=work.id, subject=f.id,
                message=R_TASK_FAILS_NEW.format(subject=f.id)))
    names = [m.metric.name for m in work.metrics]
    if not ok:
        return
    arr, _ = _samples_array(ok, names)
    count, mean, _, med = _nan_stats(arr)
    means: dict[str, float | None] = {}
    for j, m in enumerate(work.metrics):
        col = mean[:, j] if m.metric.kind == "score" else med[:, j]
        col = col[count[:, j] > 0]
        value = float(np.mean(col)) if col.size else None
        if side == "candidate":
            m.cand = value
        else:
            m.base = value
        means[m.metric.name] = value
    score = suite_score(means, [m.metric for m in work.metrics])
    if side == "candidate":
        work.score_cand = score
    else:
        work.score_base = score


def _paired_stats(
    work: SuiteWork, btasks: list[TaskResult], ctasks: list[TaskResult], ids: list[str],
    config: CompareConfig, rng: np.random.Generator,
) -> None:
    names = [m.metric.name for m in work.metrics]
    k = len(names)
    barr, babsent = _samples_array(btasks, names)
    carr, cabsent = _samples_array(ctasks, names)
    _sample_notes(work, btasks, ctasks, babsent, cabsent)
    bcount, bmean, bvar, bmed = _nan_stats(barr)
    ccount, cmean, cvar, cmed = _nan_stats(carr)
    timing = [m.metric.kind == "timing" for m in work.metrics]
    effect = _effects(work, ids, barr, carr, timing)
    base_cols = np.where(np.isnan(effect), np.nan, bmean)
    if len(ids) >= 2:
        reps = stats.bootstrap_means(np.concatenate([effect, base_cols], axis=1),
                                     config.resamples, rng)
        eff_reps, base_reps = reps[:, :k], reps[:, k:]
        units = [int(np.count_nonzero(~np.isnan(effect[:, j]))) for j in range(k)]
    else:
        eff_reps, base_reps = stats.bootstrap_repeats(barr[0], carr[0], timing,
                                                      config.resamples, rng)
        units = [int(min(bcount[0, j], ccount[0, j])) for j in range(k)]
    for j, m in enumerate(work.metrics):
        present = ~np.isnan(effect[:, j])
        m.tasks = int(np.count_nonzero(present))
        if m.tasks == 0:
            continue
        m.units = units[j]
        if timing[j]:
            _timing_stats(m, effect[present, j], bmed[present, j], cmed[present, j],
                          eff_reps[:, j], config)
        else:
            _score_stats(m, effect[present, j], bmean[present, j], cmean[present, j],
                         eff_reps[:, j], config)
            m.worse_tasks = worse_tasks([ids[i] for i in np.flatnonzero(present)],
                                        bmean[present, j], cmean[present, j], m.sign, m.tolerance)
            noise = bvar[present, j] / bcount[present, j] + cvar[present, j] / ccount[present, j]
            m.noise_var = float(np.nanmean(noise)) if np.any(~np.isnan(noise)) else 0.0
    _suite_scores(work, eff_reps, base_reps, config)


def _sample_notes(work: SuiteWork, btasks: list[TaskResult], ctasks: list[TaskResult],
                  babsent: int, cabsent: int) -> None:
    failed_samples = sum(
        1 for t in (*btasks, *ctasks) for s in t.samples if s.status == "failed")
    if failed_samples:
        work.notes.append(f"{failed_samples} failed sample(s) inside tasks that passed are not "
                          "counted")
    if babsent or cabsent:
        work.notes.append(f"{babsent + cabsent} metric value(s) were missing in passing "
                          "samples (baseline {}, candidate {}) and are not counted"
                          .format(babsent, cabsent))


def _effects(work: SuiteWork, ids: list[str], barr: np.ndarray, carr: np.ndarray,
             timing: list[bool]) -> np.ndarray:
    """Per task and metric, the candidate's effect: a score's difference of means, a timing's
    Hodges-Lehmann log ratio (with its per-task test); NaN where a side has no value."""
    bcount, bmean, _, bmed = _nan_stats(barr)
    ccount, cmean, _, cmed = _nan_stats(carr)
    effect = np.full((len(ids), len(work.metrics)), np.nan)
    for j, m in enumerate(work.metrics):
        has = (bcount[:, j] > 0) & (ccount[:, j] > 0)
        if timing[j]:
            with np.errstate(invalid="ignore", divide="ignore"):
                ok = has & (bmed[:, j] > 0) & (cmed[:, j] > 0)
            _task_timings(m, ids, barr[:, :, j], carr[:, :, j], ok, effect[:, j])
            nonpos = [ids[i] for i in np.flatnonzero(has & ~ok)]
            if nonpos:
                work.notes.append(f"{m.metric.name}: {len(nonpos)} task(s) with a "
                                  f"median of zero or less are left out of the ratio: "
                                  f"{_ids(nonpos)}")
        else:
            effect[has, j] = cmean[has, j] - bmean[has, j]
        m.missing = [ids[i] for i in np.flatnonzero(~has)]
    return effect


def _timing_stats(m: MetricWork, col: np.ndarray, bmed: np.ndarray, cmed: np.ndarray,
                  reps: np.ndarray, config: CompareConfig) -> None:
    """A timing over the tasks: geometric means of the medians, the ratio exp(mean log ratio)
    and its interval, the p-value for "slower past the floor"."""
    m.base = float(np.exp(np.mean(np.log(bmed))))
    m.cand = float(np.exp(np.mean(np.log(cmed))))
    m.ratio = float(np.exp(np.mean(col)))
    m.delta = m.cand - m.base
    ci, m.p = _interval_p(m, col, reps, config, -math.log1p(m.tolerance))
    m.ci = (math.exp(ci[0]), math.exp(ci[1])) if ci else None


def _interval_p(m: MetricWork, col: np.ndarray, reps: np.ndarray, config: CompareConfig,
                threshold: float) -> tuple[tuple[float, float] | None, float | None]:
    """A metric's interval over the tasks (of the effects ``col``) and its p-value for "past
    ``threshold`` on the bad side": the expanded bootstrap from ``reps``; Student's t over the
    effects for 2 to ``FEW_TASKS - 1`` tasks (see :mod:`bot.core.comparison.stats`). A single
    task's (``reps`` over its repeats) is always the bootstrap's."""
    if 2 <= col.size < stats.FEW_TASKS and m.units == col.size:
        return stats.t_ci(col, config.confidence), stats.t_p_below(m.sign * col, threshold)
    return (stats.percentile_ci(reps, m.units, config.confidence),
            stats.bootstrap_p_below(m.sign * reps, m.units, threshold))


def _score_stats(m: MetricWork, col: np.ndarray, bmean: np.ndarray, cmean: np.ndarray,
                 reps: np.ndarray, config: CompareConfig) -> None:
    """A score over the tasks: the means, the delta and its interval, the p-value for "worse
    than the tolerance", and the spread of the per-task deltas."""
    m.base = float(np.mean(bmean))
    m.cand = float(np.mean(cmean))
    m.delta = float(np.mean(col))
    m.deltas = col
    m.ci, m.p = _interval_p(m, col, reps, config, -m.tolerance)
    m.delta_var = float(np.var(col, ddof=1)) if m.tasks >= 2 else 0.0


def _task_timings(m: MetricWork, ids: list[str], base: np.ndarray, cand: np.ndarray,
                  ok: np.ndarray, effect: np.ndarray) -> None:
    """Per task, on log samples: the Hodges-Lehmann log ratio (written into ``effect``) and the
    one-sided test of "slower by more than the floor" that lets a task reject on its own."""
    margin = math.log1p(m.tolerance)
    for i in np.flatnonzero(ok):
        b = base[i][~np.isnan(base[i])]
        c = cand[i][~np.isnan(cand[i])]
        b, c = np.log(b[b > 0]), np.log(c[c > 0])
        shift = stats.hodges_lehmann_shift(b, c)
        if shift is None:
            continue
        effect[i] = shift
        # "slower" is cand above base for a lower-is-better timing, below it otherwise
        p = (stats.yuen_p_greater(b, c, margin) if m.metric.direction == "lower"
             else stats.yuen_p_greater(c, b, margin))
        m.task_tests.append((ids[i], shift, p))


def _suite_scores(
    work: SuiteWork, eff_reps: np.ndarray, base_reps: np.ndarray, config: CompareConfig
) -> None:
    scored = [(j, m) for j, m in enumerate(work.metrics)
              if m.metric.kind == "score" and m.metric.direction == "higher" and m.tasks]
    if scored:
        w = np.array([m.metric.weight for _, m in scored])
        cols = [j for j, _ in scored]
        work.score_base = suite_score({m.metric.name: m.base for _, m in scored},
                                      [m.metric for _, m in scored])
        work.score_cand = suite_score({m.metric.name: m.cand for _, m in scored},
                                      [m.metric for _, m in scored])
        assert work.score_base is not None and work.score_cand is not None
        work.score_delta = work.score_cand - work.score_base
        d_rep = eff_reps[:, cols] @ w / w.sum()
        b_rep = base_reps[:, cols] @ w / w.sum()
        units = min(m.units for _, m in scored)
        work.score_delta_ci = stats.percentile_ci(d_rep, units, config.confidence)
        if work.score_base != 0:
            work.score_change = work.score_delta / abs(work.score_base)
            with np.errstate(invalid="ignore", divide="ignore"):
                work.score_change_ci = stats.percentile_ci(
                    d_rep / np.abs(b_rep), units, config.confidence)
    gating = [(j, m) for j, m in enumerate(work.metrics)
              if m.metric.kind == "score" and m.metric.gate and m.tasks]
    if gating:
        total = sum(m.metric.weight for _, m in gating)
        work.weighted_delta = sum(
            m.metric.weight * (m.oriented_delta() or 0.0) for _, m in gating) / total
        w_rep = sum(m.metric.weight * m.sign * eff_reps[:, j] for j, m in gating) / total
        work.weighted_ci = stats.percentile_ci(np.asarray(w_rep),
                                               min(m.units for _, m in gating),
                                               config.confidence)


def _regression(work: SuiteWork) -> None:
    btasks = {t.id: t for t in (work.base.tasks if work.base else [])}
    ctasks = {t.id: t for t in (work.cand.tasks if work.cand else [])}
    if work.cand is None:
        return
    for cid in sorted(set(btasks) | set(ctasks)):
        b, c = btasks.get(cid), ctasks.get(cid)
        bs = b.status if b else None
        cs = c.status if c else None
        verdict: CheckVerdict
        if c is None:
            verdict = "missing"
            work.blockers.append(Reason(code="check_missing", suite=work.id, subject=cid,
                                        message=R_CHECK_MISSING.format(subject=cid)))
        elif cs == "ok":
            verdict = "fixed" if bs == "failed" else "pass"
        elif bs == "failed":
            verdict = "still failing"
            work.blockers.append(Reason(code="check_still_fails", suite=work.id, subject=cid,
                                        message=R_CHECK_STILL_FAILS.format(subject=cid)))
        else:
            verdict = "new failure"
            work.rejects.append(Reason(code="check_fails", suite=work.id, subject=cid,
                                       message=R_CHECK_FAILS.format(subject=cid)))
        shown = c or b
        assert shown is not None
        work.checks.append(CheckComparison(
            id=cid, base=bs, cand=cs, verdict=verdict,
            reason=_reason(shown) if cs == "failed" or verdict == "missing" else None,
            failures=list(shown.failures) if cs == "failed" else [],
            output_tail=_tail(shown) if cs == "failed" else ""))


# ---------------------------------------------------------------------------------------------
# verdicts


def _level(confidence: float) -> str:
    """95%, or 97.5% for a look of a sequential evaluation."""
    return f"{confidence * 100:.3g}%"


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:+.4g}" if signed else f"{x:.4g}"


def _fmt_ci(ci: tuple[float, float] | None, signed: bool = True) -> str:
    if ci is None:
        return "n/a"
    return f"[{_fmt(ci[0], signed)}, {_fmt(ci[1], signed)}]"


def _timing_verdict(m: MetricWork, p: float | None, alpha: float) -> MetricVerdict:
    """The interval against the floor: past it on the slow side with confidence is a
    regression, inside it on the slow side is ok, past it on the fast side an improvement."""
    if m.slower_tasks:
        return "regressed"
    if p is not None and p < alpha:
        return "regressed"
    oci = m.oriented_ratio_ci()
    if oci is None:
        return "unclear"
    floor = 1.0 + m.tolerance
    if oci[1] < 1.0 / floor:
        return "improved"
    if oci[1] <= floor:
        return "ok"
    return "unclear"


def _task_timing_tests(suites: list[SuiteWork], config: CompareConfig) -> None:
    """Holm's step-down across every per-task timing test of the gating timing metrics in the
    comparison (not per suite: the error rate holds for the whole verdict)."""
    alpha = 1.0 - config.confidence
    family = [(m, tid, shift, p) for s in suites for m in s.metrics
              if m.metric.gate and m.metric.kind == "timing"
              for tid, shift, p in m.task_tests if p is not None]
    raw = [p for *_, p in family]
    adjusted = stats.holm(raw) if config.holm else raw
    for (m, tid, shift, _), adj in zip(family, adjusted, strict=True):
        m.tests_in_family = len(family)
        if adj < alpha:
            # candidate / baseline, as the metric's own ratio is
            m.slower_tasks.append(TaskTiming(id=tid, ratio=rounded(math.exp(shift)),
                                             p_adjusted=rounded(adj)))


def _metric_verdicts(suites: list[SuiteWork], config: CompareConfig) -> None:
    alpha = 1.0 - config.confidence
    family = [m for s in suites for m in s.metrics if m.metric.gate and m.p is not None]
    raw = [m.p for m in family if m.p is not None]
    adjusted = stats.holm(raw) if config.holm else raw
    for m, adj in zip(family, adjusted, strict=True):
        m.p_adj = adj
    _task_timing_tests(suites, config)
    for s in suites:
        for m in s.metrics:
            if m.tasks == 0:
                m.verdict = "not compared"
                continue
            p = m.p_adj if m.metric.gate else m.p
            if m.metric.kind == "score":
                od = m.oriented_delta()
                oci = m.oriented_ci()
                if p is not None and p < alpha and od is not None and od < -m.tolerance:
                    m.verdict = "regressed"
                elif oci is None:
                    m.verdict = "unclear"
                elif oci[0] > 0:
                    m.verdict = "improved"
                elif oci[0] >= -m.tolerance:
                    m.verdict = "ok"
                else:
                    m.verdict = "unclear"
            else:
                m.verdict = _timing_verdict(m, p, alpha)


def _suite_reasons(s: SuiteWork, config: CompareConfig) -> None:
    _presence_reasons(s)
    _minimum_reasons(s)
    unclear_scores: list[MetricWork] = []
    unclear_timings: list[MetricWork] = []
    level = _level(config.confidence)
    for m in (m for m in s.metrics if m.metric.gate):
        if m.verdict == "regressed" and m.metric.kind == "score":
            s.rejects.append(_score_regressed(s, m, level))
        elif m.verdict == "regressed":
            s.rejects.extend(_timing_regressed(s, m, level, config))
        elif m.verdict == "unclear":
            s.blockers.append(_unclear_reason(s, m, level))
            (unclear_scores if m.metric.kind == "score" else unclear_timings).append(m)
        elif m.verdict == "not compared" and s.present == "both":
            s.blockers.append(Reason(code="metric_not_compared", suite=s.id,
                                     subject=m.metric.name,
                                     message=R_NOT_COMPARED.format(subject=m.metric.name)))
    _weighted_falls(s, level)
    _recommend(s, unclear_scores, unclear_timings, config)


def _presence_reasons(s: SuiteWork) -> None:
    cand = s.cand
    if s.base is not None and cand is not None and s.base.definition_hash != cand.definition_hash:
        s.blockers.append(Reason(code="definition_changed", suite=s.id, subject=None,
                                 message=R_DEFINITION_CHANGED))
    if cand is None:
        s.blockers.append(Reason(code="suite_missing", suite=s.id, subject=None,
                                 message=R_SUITE_MISSING))
    elif s.base is None:
        s.notes.append("the suite did not run on the baseline: the candidate's own results are "
                       "checked, nothing is compared")


def _minimum_reasons(s: SuiteWork) -> None:
    minimum = s.cand.minimum if s.cand is not None else None
    if s.kind != "benchmark" or minimum is None:
        return
    if s.score_cand is None:
        s.notes.append(f"the minimum {minimum:g} is not checked: the suite has no "
                       "higher-is-better score metric with values")
    elif s.score_cand < minimum:
        s.rejects.append(Reason(
            code="under_minimum", suite=s.id, subject=None,
            message=R_UNDER_MINIMUM.format(value=_fmt(s.score_cand), minimum=f"{minimum:g}")))


def _score_regressed(s: SuiteWork, m: MetricWork, level: str) -> Reason:
    name = m.metric.name
    return Reason(code="metric_regressed", suite=s.id, subject=name,
                  message=R_SCORE_REGRESSED.format(
                      subject=name, delta=_fmt(m.delta, True), ci=_fmt_ci(m.ci),
                      tol=_fmt(m.tolerance), level=level))


def _timing_regressed(s: SuiteWork, m: MetricWork, level: str,
                      config: CompareConfig) -> list[Reason]:
    """The suite's timing past the floor with confidence (Holm-adjusted), and each task's."""
    name = m.metric.name
    out: list[Reason] = []
    if m.p_adj is not None and m.p_adj < 1.0 - config.confidence:
        out.append(Reason(code="metric_regressed", suite=s.id, subject=name,
                          message=R_TIMING_REGRESSED.format(
                              subject=name, ratio=_fmt(m.ratio), ci=_fmt_ci(m.ci, signed=False),
                              level=level, floor=f"{m.tolerance:.0%}")))
    for t in m.slower_tasks:
        out.append(Reason(code="task_timing_regressed", suite=s.id, subject=t.id,
                          message=R_TASK_TIMING_REGRESSED.format(
                              task=t.id, subject=name, ratio=_fmt(t.ratio),
                              floor=f"{m.tolerance:.0%}", p=_fmt(t.p_adjusted),
                              tests=m.tests_in_family)))
    return out


def _unclear_reason(s: SuiteWork, m: MetricWork, level: str) -> Reason:
    if m.ci is None:
        detail = "a single sample per side gives no estimate of the noise"
    elif m.metric.kind == "score":
        detail = (f"{_fmt(m.delta, True)} ({level} CI {_fmt_ci(m.ci)}) may be past the "
                  f"tolerance {_fmt(m.tolerance)}")
    else:
        detail = (f"x{_fmt(m.ratio)} ({level} CI {_fmt_ci(m.ci, signed=False)}) may "
                  f"be past the floor of {m.tolerance:.0%}")
    return Reason(code="metric_unclear", suite=s.id, subject=m.metric.name,
                  message=R_UNCLEAR.format(subject=m.metric.name, detail=detail))


def _weighted_falls(s: SuiteWork, level: str) -> None:
    # falls with confidence (its interval below zero), not on a point estimate: on a change
    # that does nothing the point estimate is below zero half the time
    falls = (s.weighted_delta is not None and s.weighted_delta < 0
             and (s.weighted_ci is None or s.weighted_ci[1] < 0))
    if s.rejects or s.blockers or not falls:
        return
    text = R_WEIGHTED_FALLS.format(delta=_fmt(s.weighted_delta, True), level=level,
                                   ci=_fmt_ci(s.weighted_ci))
    s.blockers.append(Reason(code="weighted_mean_falls", suite=s.id, subject=None,
                             message=text))
    s.recommendations.append(Recommendation(
        kind="person", suite=s.id, repeats=None,
        message=REC_PERSON.format(what=f"suite {s.id}: " + text)))


def _recommend(s: SuiteWork, scores: list[MetricWork], timings: list[MetricWork],
               config: CompareConfig) -> None:
    current = s.cand.repeat if s.cand is not None else 1
    need: list[int] = []
    no_estimate: list[str] = []
    person: list[str] = []
    for m in scores:
        if m.ci is None:
            no_estimate.append(m.metric.name)
            continue
        assert m.delta is not None
        r = stats.repeats_to_settle(
            delta=m.sign * m.delta, threshold=-m.tolerance, n_units=m.tasks,
            ci_units=m.units, delta_var=m.delta_var, noise_var=m.noise_var,
            repeat=current, confidence=config.confidence)
        if r is None:
            person.append(m.metric.name)
        else:
            need.append(r)
    no_estimate.extend(m.metric.name for m in timings)
    if need:
        names = ", ".join(m.metric.name for m in scores if m.metric.name not in person
                          and m.metric.name not in no_estimate)
        s.recommendations.append(Recommendation(
            kind="repeats", suite=s.id, repeats=max(need),
            message=REC_REPEATS.format(suite=s.id, repeats=max(need), current=current,
                                       metrics=names)))
    if no_estimate:
        s.recommendations.append(Recommendation(
            kind="repeats", suite=s.id, repeats=None,
            message=REC_REPEATS_NO_ESTIMATE.format(suite=s.id, metrics=", ".join(no_estimate))))
    if person:
        s.recommendations.append(Recommendation(
            kind="person", suite=s.id, repeats=None,
            message=REC_PERSON_TASKS_DISAGREE.format(suite=s.id, metrics=", ".join(person))))
    for b in s.blockers:
        if b.code in {"definition_changed", "suite_missing", "tasks_missing",
                      "check_still_fails", "check_missing", "metric_not_compared"}:
            s.recommendations.append(Recommendation(
                kind="person", suite=s.id, repeats=None,
                message=REC_PERSON.format(what=f"suite {s.id}: {b.message}")))


# ---------------------------------------------------------------------------------------------
# the public entry point


def compare_results(
    base: Results,
    cand: Results,
    config: CompareConfig,
    *,
    proposal_type: str | None = None,
    risk: str | None = None,
    approval: ApprovalConfig | None = None,
) -> Comparison:
    """Compare candidate results with baseline results and decide. Pure and deterministic:
    the same inputs give the same Comparison, whatever order suites and tasks come in.

    Results that cannot be compared honestly (a task listed twice, a metric defined
    differently under the same definition hash) are an InputError, not a verdict."""
    _refuse_bad_input(base, cand)
    works = _suite_works(base, cand, config)
    _metric_verdicts(works, config)
    for w in works:
        _suite_reasons(w, config)
    global_blockers = _partial_results(base, cand)
    decision, reasons, recommendations = _decide(works, global_blockers)
    approval_cfg = approval or ApprovalConfig()
    tier = approval_tier(proposal_type, risk, approval_cfg)
    return Comparison(
        decision=decision,
        summary=_summary(decision, reasons, works),
        reasons=reasons,
        recommendations=recommendations,
        base=Side(commit=base.commit, ref=base.ref),
        cand=Side(commit=cand.commit, ref=cand.ref),
        settings=Settings(confidence=config.confidence, tolerance=dict(config.tolerance),
                          timing_floor=config.timing_floor, resamples=config.resamples,
                          seed=config.seed, holm=config.holm),
        approval=Approval(type=proposal_type, risk=risk, tier=tier,
                          needs_person=decision != "accept" or tier == "person",
                          approvers=list(approval_cfg.approvers),
                          timeout_days=approval_cfg.timeout_days),
        suites=[suite_model(w) for w in works],
        notes=_pair_notes(base, cand) + [n for w in works for n in w.kind_notes],
    )


def _refuse_bad_input(base: Results, cand: Results) -> None:
    problems = results_problems(base, "baseline") + results_problems(cand, "candidate")
    problems += pair_problems(base, cand, "baseline", "candidate")
    if problems:
        raise InputError(problems)


def _partial_results(base: Results, cand: Results) -> list[Reason]:
    """A side that is one shard of several: nothing can be decided on part of the tasks."""
    out: list[Reason] = []
    for side, res in (("baseline", base), ("candidate", cand)):
        if res.shard is not None and res.shard.total > 1:
            out.append(Reason(
                code="partial_results", suite=None, subject=side,
                message=R_PARTIAL.format(side=side, index=res.shard.index,
                                         total=res.shard.total)))
    return out


def _pair_notes(base: Results, cand: Results) -> list[str]:
    notes: list[str] = []
    if base.commit == cand.commit:
        notes.append("baseline and candidate are the same commit")
    envb, envc = base.environment, cand.environment
    for key in ("python", "implementation", "platform", "machine", "cpu_count"):
        if getattr(envb, key) != getattr(envc, key):
            notes.append(f"environments differ in {key}: {getattr(envb, key)} vs "
                         f"{getattr(envc, key)}; timings may not be comparable")
    return notes


def _suite_works(base: Results, cand: Results, config: CompareConfig) -> list[SuiteWork]:
    """Each suite of either side, compared on its own (in id order)."""
    works: list[SuiteWork] = []
    for sid in sorted({s.id for s in base.suites} | {s.id for s in cand.suites}):
        b, c = base.suite(sid), cand.suite(sid)
        kind = (c or b).kind  # type: ignore[union-attr]
        work = SuiteWork(id=sid, kind=kind, base=b if b is None or b.kind == kind else None,
                          cand=c)
        if b is not None and c is not None and b.kind != c.kind:
            work.kind_notes.append(
                f"suite {sid} is a {b.kind} suite on the baseline and a {c.kind} suite "
                "on the candidate; the candidate's kind is used")
        if kind == "benchmark":
            _benchmark(work, config, stats.rng_for(config.seed, sid))
        else:
            _regression(work)
        works.append(work)
    return works


def _decide(works: list[SuiteWork], global_blockers: list[Reason]
            ) -> tuple[Decision, list[Reason], list[Recommendation]]:
    """Reject on any reject, else inconclusive on any blocker, else accept; the reasons that
    decided it and what would settle an inconclusive one."""
    rejects = [r for w in works for r in w.rejects]
    blockers = global_blockers + [r for w in works for r in w.blockers]
    compared = any(w.present == "both" or (w.kind == "regression" and w.cand is not None)
                   for w in works)
    if not compared and not rejects:
        blockers.append(Reason(code="nothing_compared", suite=None, subject=None,
                               message=R_NOTHING))
    decision: Decision = "reject" if rejects else ("inconclusive" if blockers else "accept")
    recommendations = [r for w in works for r in w.recommendations] if decision != "reject" else []
    if decision == "inconclusive" and (global_blockers or not compared):
        recommendations.append(Recommendation(
            kind="person", suite=None, repeats=None,
            message=REC_PERSON.format(what="; ".join(b.message for b in global_blockers)
                                      or R_NOTHING)))
    return decision, rejects if decision == "reject" else blockers, recommendations


def _summary(decision: Decision, reasons: list[Reason], works: list[SuiteWork]) -> str:
    if decision == "accept":
        text = SUMMARY["accept"]
        scored = [w for w in works if w.score_delta is not None]
        if scored:
            w = scored[0]
            text += f"; {w.id} score {_fmt(w.score_delta, True)} {_fmt_ci(w.score_delta_ci)}"
        return text
    first = reasons[0]
    where = f"{first.suite}: " if first.suite else ""
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return SUMMARY[decision].format(reason=where + first.message + more)


def comparison_json(comparison: Comparison) -> str:
    """The JSON form: sorted keys, floats already rounded, no timestamps; byte-identical for
    the same inputs."""
    return json.dumps(comparison.model_dump(mode="json"), sort_keys=True, indent=2,
                      ensure_ascii=False, allow_nan=False) + "\n"
