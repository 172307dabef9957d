"""The gate of a pull request, in one place: the bot's state comment (verdict, approval, hold)
and the ``improve/gate`` status computed from it by ``bot.core.policy``.

Two stages write the gate: the comment commands (``bot/stages/comment_commands.py``) and the
pull-request stage's report of a comparison, which calls ``publish_verdict``. Both read the
state comment, let the pure policy decide, then write the state comment and the status; neither
computes a gate itself. (The pull-request stage wrote the first, smallest ``publish_verdict``;
this is the fuller one, with the same signature.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.forge import (
    GITHUB_ACTIONS_BOT,
    Comment,
    Forge,
    NotMergeable,
    PermissionDenied,
    PullRequest,
    StaleHead,
)
from bot.core.policy import (
    GATE_CONTEXT,
    GateStatus,
    PrState,
    PrStatus,
    Tier,
    Verdict,
    automerge_sha,
    find_state,
    gate_for,
    merge_stale_message,
    record_verdict,
    render_state,
    replied_to,
)
from bot.core.render import render
from bot.stages.context import Services

# the login GITHUB_TOKEN's comments and statuses are made as (an App token: "<slug>[bot]")

MERGE_BLOCKED = (
    "The gate is green for {sha}, but GitHub would not merge it: {why}. "
    "Resolve that and merge by hand, or `/approve` again."
)
# a 403: the job's token may not merge (no contents: write, or a rule only the App may bypass)
MERGE_FORBIDDEN = (
    "The gate is green for {sha}, but this workflow's token may not merge it ({why}). "
    "Give the job `contents: write`, or install the GitHub App the README describes; until "
    "then, merge by hand."
)


def forge_login(forge: Forge) -> str:
    """Whose comments are the bot's own: the adapters know the login their token acts as."""
    return forge.bot_login or GITHUB_ACTIONS_BOT


def bot_login(services: Services) -> str:
    return forge_login(services.forge)


@dataclass(frozen=True)
class StoredState:
    """The state comment as found on the PR: its id (None: not written yet), the record, and
    the comments the bot has already answered (from its replies)."""

    comment_id: int | None
    state: PrState
    replied: frozenset[str]

    @property
    def head(self) -> str | None:
        """The head commit the gate last stood on: the one whose comparison was recorded.
        ``publish_verdict`` records only the PR's current head, so this is the current head
        unless a push is being tested right now."""
        return self.state.verdict.sha if self.state.verdict else None


def read_state(
    forge: Forge, number: int, comments: Sequence[Comment] | None = None
) -> StoredState:
    """One API call (none when the caller has just listed the ``comments``): the PR's comments,
    searched for the bot's own state comment and replies."""
    login = forge_login(forge)
    listed = forge.list_comments(number) if comments is None else comments
    triples = [(c.id, c.author, c.body) for c in listed]
    comment_id, state = find_state(triples, login)
    return StoredState(comment_id, state, frozenset(replied_to(triples, login)))


def write_state(
    forge: Forge, number: int, stored: StoredState, state: PrState, head_sha: str,
    services: Services, timeout_days: float | None = None,
) -> None:
    """Edit the state comment in place (or create it): one API call."""
    days = services.config.approval.timeout_days if timeout_days is None else timeout_days
    body = render_state(state, head_sha, services.now(), days)
    if stored.comment_id is None:
        forge.create_comment(number, body)
    else:
        forge.edit_comment(stored.comment_id, body)


def set_gate(forge: Forge, head_sha: str, gate: GateStatus, target_url: str | None = None) -> None:
    forge.set_status(head_sha, state=gate.state, context=GATE_CONTEXT,
                     description=gate.description, target_url=target_url or None)


def merge_approved(forge: Forge, number: int, sha: str) -> str | None:
    """Merge with the approved head ``sha`` (GitHub answers 409 if the head moved meanwhile).
    Returns the comment posted on the PR when the merge did not happen, else None."""
    try:
        forge.merge_pull(number, sha=sha)
    except StaleHead:
        text = merge_stale_message(sha)
    except NotMergeable as exc:
        text = MERGE_BLOCKED.format(sha=f"`{sha[:7]}`", why=str(exc).split(": ", 1)[-1])
    except PermissionDenied as exc:
        text = MERGE_FORBIDDEN.format(sha=f"`{sha[:7]}`", why=str(exc).split(": ", 1)[-1])
    else:
        return None
    body = render("merge_refused.md.j2", text=text)
    forge.create_comment(number, body)
    return body


def pr_status(state: str, merged: bool) -> PrStatus:
    if merged:
        return "merged"
    return "open" if state == "open" else "closed"


def publish_verdict(
    services: Services,
    pr_number: int,
    head_sha: str,
    verdict: Verdict,
    tier: Tier,
    *,
    comments: Sequence[Comment] | None = None,
    timeout_days: float | None = None,
    pull: PullRequest | None = None,
    target_url: str | None = None,
) -> GateStatus:
    """What the report of a comparison calls: record ``verdict`` for ``head_sha`` and set the
    ``improve/gate`` status from the state (approval, hold, expiry), merging when the gate turns
    green and ``approval.automerge`` is on.

    A verdict for a commit that is no longer the PR's head (a push landed while it was tested)
    still gets its own gate status, but is not recorded: the record stays with the current head.

    ``comments`` (the PR's comments) and ``pull`` (the PR), when the caller has just read them,
    save a call each; ``timeout_days`` defaults to the configuration's ``approval.timeout_days``.
    Calls otherwise: the PR, the comments, the status, the state comment (and the merge).
    """
    forge = services.forge
    pr = pull if pull is not None else forge.get_pull(pr_number)
    stored = read_state(forge, pr_number, comments)
    approval = services.config.approval
    days = approval.timeout_days if timeout_days is None else timeout_days
    now = services.now()
    state = record_verdict(stored.state, head_sha, verdict, tier)
    gate = gate_for(state, head_sha, now, days)
    set_gate(forge, head_sha, gate, target_url)
    if pr.head_sha != head_sha:
        return gate
    if state != stored.state or stored.comment_id is None:
        write_state(forge, pr_number, stored, state, head_sha, services, days)
    sha = automerge_sha(gate, approval.automerge, pr_status(pr.state, pr.merged), head_sha)
    if sha is not None:
        merge_approved(forge, pr_number, sha)
    return gate
