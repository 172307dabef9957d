"""The one place the gate is set from a verdict: record the comparison's verdict for a head SHA
in the bot's state comment and set ``improve/gate`` from that record (with the approval and the
hold kept there by the comment commands). The decisions are bot.core.policy's.

Written by the pull-request stage as the smallest version of the shared function; the comment
commands stage is to call the same function (or replace it with a fuller one in this module).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.forge import Comment
from bot.core.policy import (
    GATE_CONTEXT,
    GateStatus,
    Tier,
    Verdict,
    find_state,
    gate_for,
    record_verdict,
    render_state,
)

if TYPE_CHECKING:
    from bot.stages.context import Services

DEFAULT_BOT_LOGIN = "github-actions[bot]"


def bot_login(services: Services) -> str:
    login = getattr(services.forge, "bot_login", None)
    return login if isinstance(login, str) and login else DEFAULT_BOT_LOGIN


def publish_verdict(
    services: Services,
    pr_number: int,
    head_sha: str,
    verdict: Verdict,
    tier: Tier,
    *,
    comments: Sequence[Comment] | None = None,
    timeout_days: float = 7.0,
) -> GateStatus:
    """Record ``verdict`` for ``head_sha`` and set the gate; returns the gate set.

    ``comments``: the PR's comments when the caller has just listed them (saves one API call).
    Three calls otherwise: list the comments, write the state comment, set the status."""
    forge = services.forge
    listed = list(comments) if comments is not None else forge.list_comments(pr_number)
    comment_id, state = find_state(((c.id, c.author, c.body) for c in listed), bot_login(services))
    now = services.now()
    state = record_verdict(state, head_sha, verdict, tier)
    gate = gate_for(state, head_sha, now, timeout_days)
    body = render_state(state, head_sha, now, timeout_days)
    if comment_id is None:
        forge.create_comment(pr_number, body)
    else:
        old = next((c.body for c in listed if c.id == comment_id), None)
        if old != body:
            forge.edit_comment(comment_id, body)
    forge.set_status(head_sha, state=gate.state, context=GATE_CONTEXT,
                     description=gate.description)
    return gate
