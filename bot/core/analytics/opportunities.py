"""Opportunities: what the history says is worth a proposal. A task failing again and again, a
suite whose score drifts down. Each becomes one issue (label ``improve-opportunity``), found
again by its key so it is filed once. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.analytics.trends import RunSummary, drift, failure_counts, series
from bot.core.config import Config

LABEL = "improve-opportunity"
MARKER = "opportunity"
T_FAILING = "Opportunity: task {task} keeps failing ({failed} of the last {runs} runs)"
T_DRIFT = "Opportunity: suite {suite} is drifting down ({change:+.1%})"
_KEY_LINE = re.compile(r"<!-- improve-opportunity-key ([A-Za-z0-9_.:/@+-]{1,300}) -->")


@dataclass(frozen=True)
class Opportunity:
    key: str
    kind: str  # "failing_task" | "drift"
    title: str
    subject: str  # the task or the suite
    evidence: tuple[str, ...]

    def key_line(self) -> str:
        return f"<!-- improve-opportunity-key {self.key} -->"


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.:/@+-]", "_", text)[:300]


def find_opportunities(runs: Sequence[RunSummary], config: Config) -> list[Opportunity]:
    """Recurring failures (a task failing in at least ``alerts.opportunity_failures`` of its
    suite's last ``alerts.history_runs`` runs) and drifting suites (the newer half of the last
    runs scoring ``alerts.drift`` below the older half), oldest-first ``runs``."""
    a = config.alerts
    out: list[Opportunity] = []
    for task, (failed, total) in failure_counts(runs, a.history_runs).items():
        if failed < a.opportunity_failures:
            continue
        when = [f"failed at {r.at.strftime('%Y-%m-%d %H:%M')} (commit {r.commit[:7]})"
                for r in runs if task in r.failed][-a.history_runs:]
        out.append(Opportunity(_safe_key(f"failing:{task}"), "failing_task",
                               T_FAILING.format(task=task, failed=failed, runs=total), task,
                               tuple(when[-failed:])))
    for suite, points in series(runs, a.history_runs).items():
        change = drift(points, a.history_runs)
        if change is None or change > -a.drift:
            continue
        evidence = tuple(f"{p.at.strftime('%Y-%m-%d %H:%M')} {p.label}: {p.value:.4f}"
                         for p in points)
        out.append(Opportunity(_safe_key(f"drift:{suite}"), "drift",
                               T_DRIFT.format(suite=suite, change=change), suite, evidence))
    return out


def filed_keys(bodies: Iterable[str]) -> set[str]:
    """The opportunity keys already filed, from the issues' bodies."""
    keys: set[str] = set()
    for body in bodies:
        keys.update(_KEY_LINE.findall(body or ""))
    return keys


def to_file(found: Sequence[Opportunity], filed: set[str]) -> list[Opportunity]:
    """The opportunities not filed yet (an issue with the key, open or closed, exists)."""
    return [o for o in found if o.key not in filed]
