"""What the history says about a new proposal: its proposer's track record, its resemblance to
a change that was rolled back, and the tier that decides it (the auto tier needs the
proposer's record when a rule asks for one, and pauses while the rollback-rate alert stands)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.analytics.alerts import auto_tier_paused
from bot.core.analytics.effectiveness import (
    effectiveness,
    release_outcomes,
    resemblance_warnings,
    track_record,
    track_record_lines,
)
from bot.core.config import Config
from bot.core.records import MonitorRecord, ReleaseRecord
from bot.core.tiers import Tier, approval_tier


@dataclass(frozen=True)
class ProposerContext:
    tier: Tier
    track: list[str]
    warnings: list[str]
    paused: bool


def proposer_context(
    *,
    ptype: str,
    risk: str,
    author: str,
    changes: Sequence[tuple[str, str]],
    releases: Sequence[ReleaseRecord],
    monitors: Sequence[MonitorRecord],
    config: Config,
    now: datetime,
    paused: bool | None = None,
) -> ProposerContext:
    """``paused``: whether the rollback-rate alert stands, as the dashboard issue says (what
    ``improve propose`` reads, as the pull-request evaluation does); None: decided here from
    the records by the same rule."""
    eff = effectiveness(release_outcomes(releases, monitors))
    tier = approval_tier(ptype, risk, config.approval, record=track_record(eff, author))
    if paused is None:
        paused = auto_tier_paused(releases, now, config, monitors)
    paused = tier == "auto" and paused
    return ProposerContext(
        tier="person" if paused else tier,
        track=track_record_lines(eff, author),
        warnings=resemblance_warnings(ptype, changes, releases, monitors),
        paused=paused,
    )
