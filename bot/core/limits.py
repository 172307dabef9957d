"""The limits on proposing, as pure policy: at most ``max_open`` open proposals, one open
proposal per target path, a cooldown per target after a release, dependencies merged first,
and no more than ``alerts.max_waiting`` waiting. Inputs are plain lists; the output is every
refusal with its reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from bot.core.config import Config

MAX_OPEN = "{count} proposals are open already; at most {limit} may be open (limits.max_open)"
TARGET_TAKEN = "{path!r} is already the target of the open proposal {other}{number}; " \
    "one open proposal per target path (limits.one_per_target)"
COOLDOWN = "{path!r} was released in {version} at {at}; the next proposal on it may come " \
    "after {until} (limits.cooldown_hours = {hours:g})"
DEPENDENCY_NOT_MERGED = "depends on {dep!r}, which is not merged yet"
TOO_MANY_WAITING = "{count} proposals are waiting; at most {limit} (alerts.max_waiting)"


class OpenProposal(BaseModel):
    """A proposal whose pull request (or, locally, branch) is open."""

    id: str
    targets: list[str] = Field(default_factory=list)
    number: int | None = None


class CooldownRelease(BaseModel):
    """A release, as far as the cooldown needs it: when, which version, which paths."""

    version: str
    released_at: datetime
    paths: list[str] = Field(default_factory=list)
    proposal: str | None = None


def cooldown_view(data: Any) -> CooldownRelease | None:
    """What the cooldown needs of a data-branch release record (JSON): when, which version,
    the paths its proposal changed; None when it does not say when or which version."""
    if not isinstance(data, dict):
        return None
    found = data.get("proposal")
    proposal: dict[str, Any] = found if isinstance(found, dict) else {}
    changes = proposal.get("changes") or []
    try:
        return CooldownRelease(
            version=str(data["version"]),
            released_at=data["released_at"],
            paths=[str(c["path"]) for c in changes if isinstance(c, dict) and c.get("path")],
            proposal=proposal.get("id"),
        )
    except (KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Refusal:
    code: str  # max_open | target | cooldown | depends_on | waiting
    message: str


def _fmt_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z").strip()


def _targets_taken(wanted: list[str], others: list[OpenProposal]) -> list[Refusal]:
    """``limits.one_per_target``: each wanted path another open proposal already targets."""
    refusals: list[Refusal] = []
    for path in wanted:
        for other in others:
            if path in other.targets:
                number = f" (#{other.number})" if other.number is not None else ""
                refusals.append(Refusal(
                    "target", TARGET_TAKEN.format(path=path, other=other.id, number=number)
                ))
                break
    return refusals


def _cooling_down(wanted: list[str], releases: Iterable[CooldownRelease], now: datetime,
                  hours: float) -> list[Refusal]:
    """``limits.cooldown_hours``: each wanted path a release changed less than ``hours`` ago,
    with the latest such release and when the path is free again."""
    window = timedelta(hours=hours)
    refusals: list[Refusal] = []
    for path in wanted:
        recent = [r for r in releases if path in r.paths and now - r.released_at < window]
        if recent:
            last = max(recent, key=lambda r: r.released_at)
            refusals.append(Refusal("cooldown", COOLDOWN.format(
                path=path, version=last.version, at=_fmt_time(last.released_at),
                until=_fmt_time(last.released_at + window), hours=hours,
            )))
    return refusals


def check_limits(
    proposal_id: str,
    targets: Iterable[str],
    depends_on: Iterable[str],
    open_proposals: Iterable[OpenProposal],
    releases: Iterable[CooldownRelease],
    merged: Iterable[str],
    now: datetime,
    config: Config,
) -> list[Refusal]:
    """Every reason this proposal may not be opened now; empty when it may.

    The proposal itself (same id) never counts against it, so proposing again is not refused
    by its own open pull request."""
    limits = config.limits
    others = [p for p in open_proposals if p.id != proposal_id]
    wanted = sorted(set(targets))
    refusals: list[Refusal] = []
    if len(others) >= limits.max_open:
        refusals.append(
            Refusal("max_open", MAX_OPEN.format(count=len(others), limit=limits.max_open))
        )
    if len(others) >= config.alerts.max_waiting:
        refusals.append(
            Refusal("waiting",
                    TOO_MANY_WAITING.format(count=len(others), limit=config.alerts.max_waiting))
        )
    if limits.one_per_target:
        refusals += _targets_taken(wanted, others)
    if timedelta(hours=limits.cooldown_hours):  # a cooldown under a microsecond is none
        refusals += _cooling_down(wanted, releases, now, limits.cooldown_hours)
    done = set(merged)
    for dep in depends_on:
        if dep not in done:
            refusals.append(Refusal("depends_on", DEPENDENCY_NOT_MERGED.format(dep=dep)))
    return refusals


RELEASE_WAITS = ("{count} releases in the last 24 hours, at most {limit} "
                 "(limits.max_releases_per_day); the next may be released after {at}")


@dataclass(frozen=True)
class ReleaseSlots:
    """How many releases may be made now; when none may, when the next one may and why."""

    free: int
    opens_at: datetime | None = None
    reason: str = ""


def release_slots(released_at: Iterable[datetime], now: datetime, limit: int) -> ReleaseSlots:
    """``limits.max_releases_per_day`` over a sliding 24 hours: the releases made in the last 24
    hours use the slots; a slot opens again 24 hours after the release that used it."""
    day = timedelta(hours=24)
    window = sorted(t for t in released_at if now - day < t <= now)
    free = limit - len(window)
    if free > 0:
        return ReleaseSlots(free)
    # enough of the oldest must leave the window for one slot to open
    opens = window[len(window) - limit] + day
    return ReleaseSlots(0, opens, RELEASE_WAITS.format(count=len(window), limit=limit,
                                                       at=_fmt_time(opens)))
