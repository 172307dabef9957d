"""What the scheduled run does to open proposals whose gate only time changes: nothing else
re-evaluates a gate when no one pushes or comments.

- an approval past ``approval.timeout_days``: the gate turns from success to pending, saying
  the approval expired (``policy.gate_for`` already says so; the sweep writes it);
- an accepted proposal nobody approved within the timeout: its pending gate says how long it
  has waited;
- a rejected proposal still open after ``proposals.close_rejected_days``: closed with a comment,
  because an open proposal holds its targets (one open proposal per target) and a rejected one
  would hold them for good. Closing, not superseding: a newer proposal to the same file is not
  necessarily a better one, and a person may still push a fix to the rejected one within the
  time; a closed pull request can be reopened.

Each is written once: the sweep compares with the gate status the head already has.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.config import Config
from bot.core.policy import (
    DESC_EXPIRED,
    DESC_WAITED,
    VERDICT_WORDS,
    GateStatus,
    PrState,
    gate_for,
)

CLOSE_REJECTED = (
    "The comparison rejected this proposal's head {sha} {days} days ago and nothing has changed "
    "since, so the bot closes it: an open proposal holds its target files "
    "(`limits.one_per_target`). Reopen it after pushing a fix, or file a new proposal. "
    "(`proposals.close_rejected_days`: {limit})"
)


@dataclass(frozen=True)
class SweepDecision:
    gate: GateStatus | None = None  # the head's new gate status, when time changed it
    close: str | None = None  # the comment to close the proposal with


def _time_driven(gate: GateStatus) -> bool:
    """Whether a gate description is one that only the passing of time produces."""
    prefixes = {DESC_EXPIRED.split("{by}")[0].format(verdict=w) for w in VERDICT_WORDS.values()}
    waited = DESC_WAITED.split("{days}")[1]
    return gate.description.startswith(tuple(prefixes)) or waited in gate.description


def sweep_decision(state: PrState, head_sha: str, current: tuple[str, str] | None,
                   now: datetime, config: Config) -> SweepDecision:
    """What the sweep does to one open proposal: its state comment's record, its head, the
    gate status the head has now (state, description; None: none), the time, the settings."""
    verdict = state.verdict
    if verdict is None or verdict.sha != head_sha:
        return SweepDecision()  # no comparison of this head yet: the report will set the gate
    limit = config.proposals.close_rejected_days
    if (verdict.verdict == "reject" and limit > 0 and verdict.at is not None
            and state.hold is None and now - verdict.at > timedelta(days=limit)):
        days = (now - verdict.at).days
        return SweepDecision(close=CLOSE_REJECTED.format(sha=f"`{head_sha[:7]}`", days=days,
                                                         limit=f"{limit:g}"))
    gate = gate_for(state, head_sha, now, config.approval.timeout_days)
    if not _time_driven(gate) or current == (gate.state, gate.description):
        return SweepDecision()
    return SweepDecision(gate=gate)
