"""Approval tiers: whether a proposal may ride the auto tier or needs ``/approve`` from a person.

Kept apart from the command and permission policy on purpose: COMPARE needs only this rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.config import ApprovalConfig

Tier = Literal["auto", "person"]


@dataclass(frozen=True)
class TrackRecord:
    """A proposer's history, for auto rules that demand one."""

    merged: int = 0
    rolled_back: int = 0

    @property
    def rollback_rate(self) -> float:
        return self.rolled_back / self.merged if self.merged else 0.0


def approval_tier(
    type: str | None,
    risk: str | None,
    approval_config: ApprovalConfig,
    record: TrackRecord | None = None,
) -> Tier:
    """``"auto"`` when an auto rule matches the proposal's type and risk (and the proposer's
    track record, when the rule asks for one); otherwise ``"person"``.

    An unknown type or risk is never auto: without them nothing says the change is low-risk.
    Without a track record a rule that demands merged proposals does not match.
    """
    if not type or not risk:
        return "person"
    rec = record or TrackRecord()
    for rule in approval_config.auto:
        if rule.type != type or risk not in rule.risk:
            continue
        if rec.merged < rule.min_merged:
            continue
        if rec.merged and rec.rollback_rate > rule.max_rollback_rate:
            continue
        return "auto"
    return "person"
