"""The dashboard: the loop at a glance. Open proposals and their state, monitors and their latest
readings, recent releases and rollbacks, alerts, each suite's score over time, the proposers'
track records and a health line with its reason. Pure: :func:`dashboard` builds the model from
the records; :func:`render_markdown` (the issue, Mermaid charts), :func:`render_html` (a
self-contained page, inline SVG charts: no script, no network) and :func:`dashboard_json`
(``improve status --json``) show it."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.core import policy
from bot.core.analytics.alerts import ActiveAlert, rollback_rate
from bot.core.analytics.effectiveness import Effectiveness, rolled_back_versions
from bot.core.analytics.trends import Point, RunSummary, series
from bot.core.bisect import summary as bisect_summary
from bot.core.config import Config
from bot.core.embed import embed, extract
from bot.core.limits import release_slots
from bot.core.records import MonitorRecord, ReleaseRecord
from bot.core.render import pct, render, signed

MARKER = "dashboard"
LABEL = "improve-dashboard"
TITLE = "improve dashboard"
EMBED_NAME = "dashboard"
RECENT_RELEASES = 10

Health = Literal["excellent", "good", "fair", "needs attention"]
ProposalState = Literal["evaluating", "awaiting approval", "held", "rejected", "approved",
                        "error"]

H_ALERTS = "{count} alert(s): {first}"
H_MONITOR = "{tag} is past its monitor's warning ({state})"
H_REJECTED = "proposal #{number} is rejected by its comparison"
H_ERROR = "proposal #{number}: its test run failed"
H_ROLLBACK = "{count} rollback(s) in the last {days} days"
H_FAILING = "task {task} failed in the newest run"
H_EXCELLENT = "{count} release(s) in the last {days} days, none rolled back, nothing failing"
H_GOOD = "nothing is failing; no release in the last {days} days to judge the loop by"


def _pattern(fmt: str) -> re.Pattern[str]:
    # a gate description format ("{verdict}: awaiting /approve") as a regex of its filled forms
    parts = re.split(r"\{[a-z_]+\}", fmt)
    return re.compile("^" + ".+".join(re.escape(p) for p in parts) + ".*$", re.S)


_STATES: tuple[tuple[re.Pattern[str], ProposalState], ...] = (
    (_pattern(policy.DESC_HELD), "held"),
    (_pattern(policy.DESC_REJECT), "rejected"),
    (_pattern(policy.DESC_ERROR), "error"),
    (_pattern(policy.DESC_APPROVED_EARLY), "evaluating"),
    (_pattern(policy.DESC_WAITING), "evaluating"),
    (_pattern(policy.DESC_AUTO), "approved"),
    (_pattern(policy.DESC_STALE), "awaiting approval"),
    (_pattern(policy.DESC_EXPIRED), "awaiting approval"),
    (_pattern(policy.DESC_AWAIT), "awaiting approval"),
    (_pattern(policy.DESC_APPROVED), "approved"),
)


def proposal_state(description: str | None) -> ProposalState:
    """A proposal's state from its ``improve/gate`` description (bot/core/policy.py); no status
    yet means it is being evaluated."""
    if not description:
        return "evaluating"
    for pattern, state in _STATES:
        if pattern.match(description):
            return state
    return "evaluating"


WAITS_ON_ANYONE = "any approver"
WAITS_ON_TEST = "its test run"


@dataclass(frozen=True)
class ProposalView:
    number: int
    title: str
    state: ProposalState
    url: str = ""
    author: str = ""
    type: str = ""
    # who or what the proposal waits on (``waits_on``)
    waits_on: str = ""


def waits_on(state: ProposalState, requested: Sequence[str]) -> str:
    """Who or what an open proposal waits on: the reviewers asked (GitHub drops one once they
    have reviewed), any approver when nobody was asked, its test run while it is evaluated."""
    if state == "awaiting approval":
        return ", ".join(f"@{r}" for r in requested) or WAITS_ON_ANYONE
    if state == "evaluating":
        return WAITS_ON_TEST
    return ""


@dataclass(frozen=True)
class MonitorView:
    tag: str
    pr: int
    state: str
    until: datetime
    runs: int
    worst: float | None
    at: datetime | None
    cause: str = ""  # the bisection's finding, when a drop was bisected


@dataclass(frozen=True)
class ReleaseView:
    tag: str
    date: str
    pr: int
    kind: Literal["release", "rollback"]
    title: str
    improvement: str
    rolled_back: bool


@dataclass(frozen=True)
class Chart:
    suite: str
    points: tuple[Point, ...]

    @property
    def low(self) -> float:
        return min(p.value for p in self.points)

    @property
    def high(self) -> float:
        return max(p.value for p in self.points)


@dataclass
class Dashboard:
    generated_at: datetime
    health: Health
    reason: str
    proposals: list[ProposalView] = field(default_factory=list)
    monitors: list[MonitorView] = field(default_factory=list)
    releases: list[ReleaseView] = field(default_factory=list)
    alerts: list[ActiveAlert] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    effectiveness: Effectiveness = field(default_factory=Effectiveness)
    auto_paused: bool = False
    # why a release merged now would wait (``limits.max_releases_per_day``); empty: it would not
    releases_wait: str = ""


def _health(d: Dashboard, releases: Sequence[ReleaseRecord], monitors: Sequence[MonitorRecord],
            runs: Sequence[RunSummary], now: datetime, config: Config) -> tuple[Health, str]:
    if d.alerts:
        return "needs attention", H_ALERTS.format(count=len(d.alerts),
                                                  first=d.alerts[0].alert.title)
    days = config.alerts.rollback_rate_days
    reasons: list[str] = []
    reasons += [H_MONITOR.format(tag=m.tag, state=m.state) for m in d.monitors
                if m.state in ("warned", "rollback_opened")]
    reasons += [H_REJECTED.format(number=p.number) for p in d.proposals if p.state == "rejected"]
    reasons += [H_ERROR.format(number=p.number) for p in d.proposals if p.state == "error"]
    rr = rollback_rate(releases, now, days, monitors)
    if rr.rolled_back:
        reasons.append(H_ROLLBACK.format(count=len(rr.rolled_back), days=days))
    if runs:
        reasons += [H_FAILING.format(task=t) for t in sorted(runs[-1].failed)]
    if reasons:
        return "fair", "; ".join(reasons)
    if rr.released:
        return "excellent", H_EXCELLENT.format(count=len(rr.released), days=days)
    return "good", H_GOOD.format(days=days)


def dashboard(
    releases: Sequence[ReleaseRecord],
    monitors: Sequence[MonitorRecord],
    runs: Sequence[RunSummary],
    proposals: Sequence[ProposalView],
    alerts: Sequence[ActiveAlert],
    effectiveness: Effectiveness,
    now: datetime,
    config: Config,
) -> Dashboard:
    """The dashboard from the records (``runs`` oldest first)."""
    rolled = rolled_back_versions(releases, monitors)
    recent = sorted(releases, key=lambda r: r.released_at, reverse=True)[:RECENT_RELEASES]
    views = [ReleaseView(
        tag=r.tag, date=r.date, pr=r.pr, kind="rollback" if r.rollback else "release",
        title=str((r.proposal or {}).get("title") or (r.rollback or {}).get("reason") or ""),
        improvement=str((r.comparison or {}).get("improvement") or ""),
        rolled_back=r.version in rolled) for r in recent]
    watched = []
    for m in sorted(monitors, key=lambda m: m.until, reverse=True):
        if m.state not in ("watching", "warned", "rollback_opened") \
                and m.until < now - timedelta(days=config.monitor.window_days):
            continue
        last = max(m.runs, key=lambda r: r.at) if m.runs else None
        watched.append(MonitorView(tag=m.tag, pr=m.pr, state=m.state, until=m.until,
                                   runs=len(m.runs), worst=last.worst if last else None,
                                   at=last.at if last else None,
                                   cause=bisect_summary(m.bisection)))
    charts = [Chart(suite, tuple(points)) for suite, points in series(runs).items() if points]
    d = Dashboard(generated_at=now, health="good", reason="", proposals=list(proposals),
                  monitors=watched, releases=views, alerts=list(alerts), charts=charts,
                  effectiveness=effectiveness,
                  auto_paused=any(a.alert.kind == "rollback_rate" for a in alerts),
                  releases_wait=release_slots([r.released_at for r in releases], now,
                                              config.limits.max_releases_per_day).reason)
    d.health, d.reason = _health(d, releases, monitors, runs, now, config)
    return d


# --- showing it ---------------------------------------------------------------------------------


def _safe(text: str) -> str:
    """A label Mermaid cannot misread: no quotes, brackets or line breaks."""
    return re.sub(r"[^A-Za-z0-9 _./:+-]", "_", text)[:60]


def mermaid(chart: Chart) -> str:
    """A Mermaid ``xychart-beta`` line chart of the suite's score."""
    pad = max((chart.high - chart.low) * 0.1, 0.001)
    labels = ", ".join(f'"{_safe(p.label)}"' for p in chart.points)
    values = ", ".join(f"{p.value:.4f}" for p in chart.points)
    return (f'xychart-beta\n    title "{_safe(chart.suite)}"\n    x-axis [{labels}]\n'
            f'    y-axis "score" {chart.low - pad:.4f} --> {chart.high + pad:.4f}\n'
            f"    line [{values}]")


SVG_W, SVG_H, SVG_PAD = 640, 220, 40


def svg(chart: Chart) -> str:
    """The same chart as inline SVG: a polyline over the runs, the range on the axis."""
    pts = chart.points
    low, high = chart.low, chart.high
    span = (high - low) or 1.0
    n = len(pts)
    xs = [SVG_PAD + (SVG_W - 2 * SVG_PAD) * (i / (n - 1) if n > 1 else 0.5) for i in range(n)]
    ys = [SVG_H - SVG_PAD - (SVG_H - 2 * SVG_PAD) * ((p.value - low) / span) for p in pts]
    poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    e = html.escape
    dots = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3"><title>{e(p.label)}: {p.value:.4f}</title>'
        f"</circle>" for x, y, p in zip(xs, ys, pts, strict=True))
    return (
        f'<svg class="trend" data-suite="{e(chart.suite)}" data-points="{n}" '
        f'xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" '
        f'viewBox="0 0 {SVG_W} {SVG_H}" role="img" aria-label="{e(chart.suite)} score">'
        f'<rect x="0" y="0" width="{SVG_W}" height="{SVG_H}" fill="#fff" stroke="#ddd"/>'
        f'<text x="{SVG_PAD}" y="20" font-size="14">{e(chart.suite)}</text>'
        f'<text x="4" y="{SVG_PAD + 4}" font-size="11">{high:.4f}</text>'
        f'<text x="4" y="{SVG_H - SVG_PAD + 4}" font-size="11">{low:.4f}</text>'
        f'<line x1="{SVG_PAD}" y1="{SVG_H - SVG_PAD}" x2="{SVG_W - SVG_PAD}" '
        f'y2="{SVG_H - SVG_PAD}" stroke="#999"/>'
        f'<polyline fill="none" stroke="#0969da" stroke-width="2" points="{poly}"/>'
        f"{dots}</svg>")


def _context(d: Dashboard) -> dict[str, Any]:
    return {"d": d, "mermaid": mermaid, "svg": svg, "pct": pct, "signed": signed,
            "when": lambda dt: dt.strftime("%Y-%m-%d %H:%M UTC") if dt else "never"}


def render_markdown(d: Dashboard, alert_state: Mapping[str, str],
                    pin_pending: bool = False) -> str:
    """The issue's body; the active alerts' keys ride along in hidden data (raised once).
    ``pin_pending``: the body the issue is created with, saying it is not pinned yet (the pin
    comes after the creation; a run killed between them pins on its re-run)."""
    data: dict[str, Any] = {"alerts": dict(alert_state)}
    if pin_pending:
        data["pin"] = "pending"
    return render("dashboard.md.j2", data=embed(EMBED_NAME, data), **_context(d))


def pin_pending(body: str | None) -> bool:
    """Whether the dashboard issue's body says its pin is still to be done."""
    data = extract(body, EMBED_NAME)
    return isinstance(data, dict) and data.get("pin") == "pending"


def render_text(d: Dashboard) -> str:
    """``improve status``: the same sections, for a terminal."""
    return render("dashboard.txt.j2", **_context(d))


def render_html(d: Dashboard) -> str:
    return render("dashboard.html.j2", **_context(d))


def alert_state(body: str | None) -> dict[str, str]:
    """The alerts raised before, from the dashboard issue's hidden data."""
    data = extract(body, EMBED_NAME)
    alerts = data.get("alerts") if isinstance(data, dict) else None
    if not isinstance(alerts, dict):
        return {}
    return {str(k): str(v) for k, v in alerts.items() if isinstance(v, str)}


def dashboard_json(d: Dashboard) -> dict[str, Any]:
    def iso(dt: datetime | None) -> str | None:
        return dt.isoformat() if dt else None

    return {
        "generated_at": iso(d.generated_at),
        "health": d.health,
        "reason": d.reason,
        "auto_tier_paused": d.auto_paused,
        "proposals": [vars(p) for p in d.proposals],
        "monitors": [{**vars(m), "until": iso(m.until), "at": iso(m.at)} for m in d.monitors],
        "releases": [vars(r) for r in d.releases],
        "alerts": [{"key": a.alert.key, "kind": a.alert.kind, "title": a.alert.title,
                    "evidence": list(a.alert.evidence), "since": iso(a.since)}
                   for a in d.alerts],
        "trends": {c.suite: [{"at": iso(p.at), "commit": p.label, "score": p.value}
                             for p in c.points] for c in d.charts},
        "effectiveness": d.effectiveness.as_dict(),
    }
