"""The history of measurements, as the dashboard, the alerts and the opportunities read it: one
:class:`RunSummary` per measured run (a results file on the data branch, a monitor run), each
with its suite scores and failed tasks, oldest first. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.comparison.compare import suite_score
from bot.core.records import MonitorRecord, as_utc, monitor_path
from bot.core.results import Results, SuiteResult


@dataclass(frozen=True)
class RunSummary:
    """One measured run: when, which commit, each suite's score and the tasks that failed
    (``suite/task``). ``suites`` lists every suite that ran, scored or not, so a task is known
    to have passed when its suite ran and it is not in ``failed``."""

    at: datetime
    commit: str
    source: str
    scores: dict[str, float] = field(default_factory=dict)
    suites: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Point:
    at: datetime
    label: str
    value: float


def suite_result_score(suite: SuiteResult) -> float | None:
    """The suite score of one side, as COMPARE defines it: per metric the mean over tasks of
    each task's mean over its ok repeats, then the weighted mean of the higher-is-better
    scores."""
    means: dict[str, float | None] = {}
    for m in suite.metrics:
        per_task = []
        for t in suite.tasks:
            values = t.values(m.name)
            if values:
                per_task.append(sum(values) / len(values))
        means[m.name] = sum(per_task) / len(per_task) if per_task else None
    return suite_score(means, suite.metrics)


def summarize_results(results: Results, source: str) -> RunSummary | None:
    """A results file as a run; None when its time cannot be read (then it cannot be placed)."""
    try:
        at = as_utc(datetime.fromisoformat(results.created_at.replace("Z", "+00:00")))
    except ValueError:
        return None
    scores: dict[str, float] = {}
    for s in results.suites:
        if s.kind == "benchmark":
            score = suite_result_score(s)
            if score is not None:
                scores[s.id] = score
    failed = frozenset(f"{s.id}/{t.id}" for s, t in results.failed_tasks())
    return RunSummary(at=at, commit=results.commit, source=source, scores=scores,
                      suites=frozenset(s.id for s in results.suites), failed=failed)


def monitor_runs(records: Iterable[MonitorRecord]) -> list[RunSummary]:
    """Monitor runs as runs: their failed tasks (the suites are those the task names carry and
    those the run compared)."""
    out = []
    for rec in records:
        for run in rec.runs:
            suites = {t.split("/", 1)[0] for t in run.failed_tasks} | set(run.changes)
            out.append(RunSummary(at=as_utc(run.at), commit=run.commit,
                                  source=run.results or monitor_path(rec.tag),
                                  suites=frozenset(suites), failed=frozenset(run.failed_tasks)))
    return out


def merge_runs(*groups: Iterable[RunSummary]) -> list[RunSummary]:
    """Every run once, oldest first. A monitor run and the results file it wrote describe the
    same measurement: the one with scores is kept (the results file)."""
    by_key: dict[tuple[str, str], RunSummary] = {}
    for group in groups:
        for run in group:
            key = (run.commit, run.at.isoformat(timespec="minutes"))
            have = by_key.get(key)
            if have is None or (not have.scores and run.scores):
                by_key[key] = run
    return sorted(by_key.values(), key=lambda r: (r.at, r.commit))


def series(runs: Sequence[RunSummary], limit: int = 30) -> dict[str, list[Point]]:
    """Per suite, its score over the last ``limit`` runs that scored it, oldest first."""
    out: dict[str, list[Point]] = {}
    for run in runs:
        for suite, value in run.scores.items():
            out.setdefault(suite, []).append(Point(run.at, run.commit[:7], value))
    return {k: v[-limit:] for k, v in sorted(out.items())}


def failing_streaks(runs: Sequence[RunSummary]) -> dict[str, int]:
    """Per task that failed in the newest run of its suite: in how many of its suite's runs in
    a row, counting back from the newest, it failed."""
    streaks: dict[str, int] = {}
    for task in {t for r in runs for t in r.failed}:
        suite = task.split("/", 1)[0]
        count = 0
        for run in reversed(runs):
            if suite not in run.suites and task not in run.failed:
                continue  # the suite did not run: it says nothing about the task
            if task not in run.failed:
                break
            count += 1
        if count:
            streaks[task] = count
    return dict(sorted(streaks.items()))


def failure_counts(runs: Sequence[RunSummary], window: int) -> dict[str, tuple[int, int]]:
    """Per task: (runs it failed in, runs of its suite) over its suite's last ``window`` runs."""
    out: dict[str, tuple[int, int]] = {}
    for task in {t for r in runs for t in r.failed}:
        suite = task.split("/", 1)[0]
        relevant = [r for r in runs if suite in r.suites or task in r.failed][-window:]
        out[task] = (sum(1 for r in relevant if task in r.failed), len(relevant))
    return dict(sorted(out.items()))


def drift(points: Sequence[Point], window: int) -> float | None:
    """The relative change of the mean of the newer half of the last ``window`` points against
    the mean of the older half; None with fewer than four points or a zero baseline."""
    pts = list(points)[-window:]
    if len(pts) < 4:
        return None
    half = len(pts) // 2
    old = sum(p.value for p in pts[:half]) / half
    new = sum(p.value for p in pts[half:]) / (len(pts) - half)
    if old == 0:
        return None
    return (new - old) / abs(old)
