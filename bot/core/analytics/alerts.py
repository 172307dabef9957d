"""Alerts: conditions of the loop a person must look at, each with its evidence, raised once and
kept until it clears. Pure.

* ``rollback_rate``: more than ``alerts.rollback_rate`` of the proposals released in the last
  ``alerts.rollback_rate_days`` days were rolled back. While it stands the auto tier pauses:
  callers of :func:`bot.core.tiers.approval_tier` ask :func:`auto_tier_paused` first and treat
  ``"auto"`` as ``"person"`` when it says True.
* ``metric_drop``: a release being monitored measures more than ``alerts.metric_drop`` below
  what was measured at release (its newest monitor run).
* ``waiting``: more than ``alerts.max_waiting`` proposals open.
* ``failing_task``: the same task failed in ``alerts.failing_runs`` runs of its suite in a row.

Raised once: the scheduled run keeps the keys of the active alerts (with when each was raised) in
the dashboard issue's hidden data; :func:`update_alerts` says which are new (announced once) and
which cleared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from bot.core.analytics.effectiveness import rolled_back_versions
from bot.core.analytics.trends import RunSummary, failing_streaks
from bot.core.config import Config
from bot.core.records import MonitorRecord, ReleaseRecord

AlertKind = Literal["rollback_rate", "metric_drop", "waiting", "failing_task"]

T_ROLLBACK = ("rollback rate {rate:.0%} in the last {days} days (over {limit:.0%}): the auto "
              "tier is paused until it clears")
T_METRIC = "{tag}: a monitored suite is down {drop:.1%} from release (over {limit:.0%})"
T_WAITING = "{count} proposals are waiting (more than {limit})"
T_FAILING = "task {task} failed in {count} runs in a row"
E_ROLLED = "{version} was rolled back"
E_RELEASED = "{count} proposal(s) released since {since}"
E_SUITE = "suite {suite}: {change:+.1%} at {at} (commit {commit})"
E_OPEN = "#{number} {title} ({state})"
E_RUN = "failed at {at} (commit {commit})"

MONITORED = ("watching", "warned", "rollback_opened")


@dataclass(frozen=True)
class Alert:
    key: str
    kind: AlertKind
    title: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActiveAlert:
    alert: Alert
    since: datetime


@dataclass
class AlertUpdate:
    active: list[ActiveAlert] = field(default_factory=list)
    raised: list[Alert] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)  # the keys that cleared

    def state(self) -> dict[str, str]:
        """What the dashboard keeps: key -> when it was raised."""
        return {a.alert.key: a.since.isoformat() for a in self.active}


@dataclass(frozen=True)
class RollbackRate:
    released: tuple[str, ...]
    rolled_back: tuple[str, ...]
    since: datetime

    @property
    def rate(self) -> float:
        return len(self.rolled_back) / len(self.released) if self.released else 0.0


def rollback_rate(releases: Sequence[ReleaseRecord], now: datetime, days: int,
                  monitors: Sequence[MonitorRecord] = ()) -> RollbackRate:
    """Of the proposals released in the last ``days`` days, which were rolled back since."""
    since = now - timedelta(days=days)
    rolled = rolled_back_versions(releases, monitors)
    recent = [r for r in releases if not r.rollback and r.released_at >= since]
    return RollbackRate(released=tuple(r.version for r in recent),
                        rolled_back=tuple(r.version for r in recent if r.version in rolled),
                        since=since)


def _rollback_alert(rr: RollbackRate, config: Config) -> Alert | None:
    a = config.alerts
    if not rr.released or rr.rate <= a.rollback_rate:
        return None
    evidence = [E_ROLLED.format(version=v) for v in rr.rolled_back]
    evidence.append(E_RELEASED.format(count=len(rr.released), since=rr.since.date().isoformat()))
    return Alert("rollback_rate", "rollback_rate",
                 T_ROLLBACK.format(rate=rr.rate, days=a.rollback_rate_days, limit=a.rollback_rate),
                 tuple(evidence))


def auto_tier_paused(releases: Sequence[ReleaseRecord], now: datetime, config: Config,
                     monitors: Sequence[MonitorRecord] = ()) -> bool:
    """True while the rollback-rate alert stands: the auto tier must not let anything through.

    For the PR-evaluation stage: ``tier = approval_tier(...)``, then
    ``if tier == "auto" and auto_tier_paused(releases, now, config): tier = "person"``."""
    rr = rollback_rate(releases, now, config.alerts.rollback_rate_days, monitors)
    return _rollback_alert(rr, config) is not None


def _metric_alerts(monitors: Sequence[MonitorRecord], config: Config) -> list[Alert]:
    limit = config.alerts.metric_drop
    out = []
    for m in sorted(monitors, key=lambda m: m.tag):
        if m.state not in MONITORED or not m.runs:
            continue
        run = max(m.runs, key=lambda r: r.at)
        if run.worst is None or run.worst >= -limit:
            continue
        evidence = tuple(
            E_SUITE.format(suite=s, change=c, at=run.at.strftime("%Y-%m-%d %H:%M"),
                           commit=run.commit[:7])
            for s, c in sorted(run.changes.items()) if c is not None and c < -limit)
        out.append(Alert(f"metric_drop:{m.tag}", "metric_drop",
                         T_METRIC.format(tag=m.tag, drop=-run.worst, limit=limit), evidence))
    return out


def current_alerts(
    releases: Sequence[ReleaseRecord],
    monitors: Sequence[MonitorRecord],
    runs: Sequence[RunSummary],
    waiting: Sequence[tuple[int, str, str]],
    now: datetime,
    config: Config,
) -> list[Alert]:
    """Every alert the records raise now. ``waiting``: the open proposals as
    ``(number, title, state)``; ``runs`` oldest first."""
    a = config.alerts
    out: list[Alert] = []
    rb = _rollback_alert(rollback_rate(releases, now, a.rollback_rate_days, monitors), config)
    if rb is not None:
        out.append(rb)
    out.extend(_metric_alerts(monitors, config))
    if len(waiting) > a.max_waiting:
        shown = tuple(E_OPEN.format(number=n, title=t, state=s) for n, t, s in waiting[:10])
        out.append(Alert("waiting", "waiting", T_WAITING.format(count=len(waiting),
                                                                 limit=a.max_waiting), shown))
    for task, count in failing_streaks(runs).items():
        if count < a.failing_runs:
            continue
        failed_runs = [r for r in runs if task in r.failed][-count:]
        evidence = tuple(E_RUN.format(at=r.at.strftime("%Y-%m-%d %H:%M"), commit=r.commit[:7])
                         for r in failed_runs[-a.failing_runs:])
        out.append(Alert(f"failing_task:{task}", "failing_task",
                         T_FAILING.format(task=task, count=count), evidence))
    return out


def update_alerts(previous: Mapping[str, str], current: Sequence[Alert],
                  now: datetime) -> AlertUpdate:
    """Merge the alerts standing now with those raised before (key -> ISO time raised): an
    alert that stands keeps its first time and is not raised again; one that no longer stands
    has cleared."""
    update = AlertUpdate()
    keys = set()
    for alert in current:
        keys.add(alert.key)
        since_text = previous.get(alert.key)
        since = None
        if since_text:
            try:
                since = datetime.fromisoformat(since_text)
            except ValueError:
                since = None
        if since is None:
            update.raised.append(alert)
            since = now
        update.active.append(ActiveAlert(alert, since))
    update.cleared = sorted(k for k in previous if k not in keys)
    return update


AUTO_PAUSED_NOTE = (
    "The auto tier is paused while the rollback-rate alert stands (see the dashboard issue): "
    "a person decides this change."
)


def paused_by(alert_state: Mapping[str, str]) -> bool:
    """Whether the alerts kept on the dashboard issue (key -> raised at) pause the auto tier:
    the same rule as ``auto_tier_paused``, read where a pull-request job can afford it (one
    API call for the dashboard issue, instead of the whole data branch)."""
    return "rollback_rate" in alert_state


def pause_tier(tier: str, paused: bool) -> str:
    return "person" if tier == "auto" and paused else tier
