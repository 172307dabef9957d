"""Who may do what, approvals bound to a head SHA, holds, and the ``improve/gate`` status.

Everything here is pure: the stage gathers the event, the commenter's permission (from
``GET /repos/{o}/{r}/collaborators/{user}/permission``, never ``author_association``), the PR and
the bot's state comment; these functions decide; the stage acts.

Where the record lives: nothing is remembered outside git and GitHub, so the approval, the hold,
the last verdict and the idempotence keys of handled commands are a JSON block hidden in one
comment of the bot's own on the PR (marker ``state``), edited in place. Only a comment written by
the bot's own login is believed (anyone can paste the marker into a comment of their own). The
approval names the head SHA it approves; a push changes the head, so the record stops matching
and the gate goes back to pending without anyone having to clear it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.comment_commands import Command, CommandName
from bot.core.config import ApprovalConfig
from bot.core.render import find_marker, render

Verdict = Literal["accept", "reject", "inconclusive", "error"]
# the same values as bot.core.tiers.approval_tier, which decides the tier
Tier = Literal["auto", "person"]
GateState = Literal["success", "pending", "failure", "error"]
PrStatus = Literal["open", "closed", "merged"]
Reaction = Literal["eyes", "+1", "confused"]
# the reactions that record a comment's handling as finished (every command stage reads them)
RESULT_REACTIONS: tuple[Reaction, ...] = ("+1", "confused")

GATE_CONTEXT = "improve/gate"
# GitHub cuts commit-status descriptions at 140 characters
DESCRIPTION_LIMIT = 140
STATE_MARKER = "state"
REPLY_MARKER = "reply"
HELP_MARKER = "help"
# the newest handled keys kept in the state comment; a redelivery comes within minutes
HANDLED_LIMIT = 200

# permission levels, weakest first; "permission" of the endpoint says write for maintain and
# read for triage, its "role_name" says which
PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")

# gate descriptions (<= 140 characters once filled in)
DESC_WAITING = "waiting for the comparison"
DESC_ERROR = "the test run failed or its results were invalid"
DESC_REJECT = "the comparison rejects this change"
DESC_AUTO = "accepted (auto tier)"
DESC_AWAIT = "{verdict}: awaiting /approve"
DESC_APPROVED = "{verdict}, approved by @{by} for {sha}"
DESC_APPROVED_EARLY = "approved by @{by} for {sha}; waiting for the comparison"
DESC_STALE = "{verdict}: approval of {sha} voided by a push; awaiting /approve"
DESC_EXPIRED = "{verdict}: approval by @{by} expired; awaiting /approve"
DESC_WAITED = "{verdict} {days} days ago and not approved since; /retest or /approve"
DESC_HELD = "held by @{by}"
VERDICT_WORDS: dict[str, str] = {"accept": "accepted", "inconclusive": "inconclusive"}

# why a comment is not read at all (logged, never replied to)
IGNORE_ACTION = "only newly created comments carry commands"
IGNORE_NOT_PR = "the comment is on an issue, not a pull request"
IGNORE_SELF = "the comment is the bot's own"
IGNORE_BOT = "the comment is another bot's"

# refusals, as the reply says them
REFUSE_PERMISSION = "needs {needed} permission on this repository; the commenter has {has}"
REFUSE_AUTHOR = ("an author of a pull request cannot approve it: its opener, its proposal's "
                 "author, and whoever wrote or committed its commits")
REFUSE_CLOSED = "the pull request is closed"
REFUSE_MERGED = "the pull request is already merged"
REFUSE_NOT_MERGED = "works on a merged pull request only"
REFUSE_REJECTED = "the comparison rejects this head; an approval cannot override it"
MERGE_STALE = (
    "The approved head {sha} is no longer the head of this pull request (GitHub answered 409), "
    "so it was not merged. Review the new commits and `/approve` again."
)

# what each command does, for /help (usage, who, effect)
COMMAND_TABLE: tuple[tuple[str, str, str], ...] = (
    ("/approve", "approvers, not the PR's authors",
     "approves the current head commit; a later push voids it"),
    ("/approve cancel", "approvers, not the PR's authors", "withdraws the approval"),
    ("/hold [reason]", "approvers", "keeps the gate pending whatever the numbers say"),
    ("/unhold", "approvers", "lifts the hold (`/hold cancel` and `/remove-hold` too)"),
    ("/retest", "approvers", "runs the test and the comparison again"),
    ("/rollback [reason]", "approvers", "on a merged improvement PR: opens its revert PR"),
    ("/propose", "approvers",
     "on an issue carrying a proposal: opens its PR; merging the PR closes the issue"),
    ("/help", "anyone", "shows this list"),
)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Approval(Frozen):
    """An approval of one head commit by one person at one time."""

    sha: str = Field(pattern=r"^[0-9a-f]{7,64}$")
    by: str
    at: datetime


class Hold(Frozen):
    by: str
    at: datetime
    reason: str = ""


class VerdictRecord(Frozen):
    """The comparison's verdict for one head commit, and whether a person must approve."""

    sha: str = Field(pattern=r"^[0-9a-f]{7,64}$")
    verdict: Verdict
    tier: Tier = "person"
    # the base branch's tip the comparison stood on: the bot merges only while it still is
    base: str | None = Field(default=None, pattern=r"^[0-9a-f]{7,64}$")
    # who may not approve this head: the proposal's author and the commits' authors and
    # committers, as the report of the comparison found them (see pr_state.pr_authors)
    authors: tuple[str, ...] = ()
    # when it was recorded: an accepted change nobody approved within the approval timeout
    # says so on its gate (None: recorded before the bot kept the time)
    at: datetime | None = None


class PrState(Frozen):
    """What the bot remembers about one PR, kept in its state comment."""

    approval: Approval | None = None
    hold: Hold | None = None
    verdict: VerdictRecord | None = None
    handled: tuple[str, ...] = ()
    # who was asked to review while the proposal waited for /approve (None: not yet asked);
    # asked once, as Renovate's `reviewers` are, so the empty tuple means "asked nobody"
    asked: tuple[str, ...] | None = None


class GateStatus(Frozen):
    state: GateState
    description: str

    @field_validator("description")
    @classmethod
    def _fits(cls, v: str) -> str:
        return fit(v)


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def fit(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """One line of at most ``limit`` characters, cut with an ellipsis, no invisible characters."""
    s = " ".join(_INVISIBLE.sub("", text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def short(sha: str) -> str:
    return sha[:7]


# ---------------------------------------------------------------- who may do what


def effective_permission(permission: str | None, role_name: str | None = None) -> str:
    """The level from the collaborator-permission endpoint's answer.

    ``permission`` is the legacy field (admin, write, read, none); ``role_name`` names maintain
    and triage too. A custom role falls back to the legacy field; anything unknown is "none".
    """
    role = (role_name or "").lower()
    if role in PERMISSION_LEVELS:
        return role
    perm = (permission or "").lower()
    return perm if perm in PERMISSION_LEVELS else "none"


def is_bot(login: str, user_type: str = "User") -> bool:
    return user_type == "Bot" or login.lower().endswith("[bot]")


def ignore_reason(
    action: str, is_pull_request: bool, author: str, author_type: str, bot_login: str
) -> str | None:
    """Why a comment event carries no commands, or None when it should be read."""
    if action != "created":
        return IGNORE_ACTION
    if not is_pull_request:
        return IGNORE_NOT_PR
    if author.lower() == bot_login.lower():
        return IGNORE_SELF
    if is_bot(author, author_type):
        return IGNORE_BOT
    return None


def may_use(name: CommandName, permission: str, approvers: Iterable[str]) -> bool:
    """Whether a permission level may use a command at all (/help is for anyone)."""
    return name == "help" or permission in set(approvers)


def idempotence_key(comment_id: int | str, index: int) -> str:
    """Names one command of one comment, so a redelivered event is recognised."""
    return f"{comment_id}:{index}"


# ---------------------------------------------------------------- approvals and the gate

Standing = Literal["none", "valid", "stale", "expired"]


def approval_standing(
    approval: Approval | None, head_sha: str, now: datetime, timeout_days: float = 7.0
) -> Standing:
    """Valid only for the current head and until the timeout; stale once a push moved the head."""
    if approval is None:
        return "none"
    if approval.sha != head_sha:
        return "stale"
    if now - approval.at > timedelta(days=timeout_days):
        return "expired"
    return "valid"


def gate_state(
    verdict: Verdict | None,
    tier: Tier,
    approval: Approval | None,
    hold: Hold | None,
    head_sha: str,
    now: datetime,
    timeout_days: float = 7.0,
    verdict_at: datetime | None = None,
) -> GateStatus:
    """The ``improve/gate`` status of the head commit.

    A hold wins over everything; a reject or an error is never turned green by a person; an
    accepted change in the auto tier needs nobody; otherwise a valid approval of this head does.
    Without one, an inconclusive comparison fails the gate (it is never merged on its own: more
    repeats or a person), and an accepted change outside the auto tier waits, pending.
    """
    if hold is not None:
        held = DESC_HELD.format(by=hold.by) + (f": {hold.reason}" if hold.reason else "")
        return GateStatus(state="pending", description=held)
    if verdict == "error":
        return GateStatus(state="error", description=DESC_ERROR)
    if verdict == "reject":
        return GateStatus(state="failure", description=DESC_REJECT)
    standing = approval_standing(approval, head_sha, now, timeout_days)
    if verdict is None:
        if standing == "valid" and approval is not None:
            desc = DESC_APPROVED_EARLY.format(by=approval.by, sha=short(approval.sha))
            return GateStatus(state="pending", description=desc)
        return GateStatus(state="pending", description=DESC_WAITING)
    word = VERDICT_WORDS[verdict]
    if verdict == "accept" and tier == "auto":
        return GateStatus(state="success", description=DESC_AUTO)
    if standing == "valid" and approval is not None:
        desc = DESC_APPROVED.format(verdict=word, by=approval.by, sha=short(approval.sha))
        return GateStatus(state="success", description=desc)
    if standing == "stale" and approval is not None:
        desc = DESC_STALE.format(verdict=word, sha=short(approval.sha))
    elif standing == "expired" and approval is not None:
        desc = DESC_EXPIRED.format(verdict=word, by=approval.by)
    elif verdict_at is not None and now - verdict_at > timedelta(days=timeout_days):
        desc = DESC_WAITED.format(verdict=word, days=(now - verdict_at).days)
    else:
        desc = DESC_AWAIT.format(verdict=word)
    return GateStatus(state="failure" if verdict == "inconclusive" else "pending", description=desc)


def awaits_approval(state: PrState, head_sha: str, now: datetime,
                    timeout_days: float = 7.0) -> bool:
    """Whether the head waits for a person's /approve: its comparison accepted it outside the
    auto tier, or was inconclusive, and no hold or valid approval stands."""
    record = state.verdict if state.verdict and state.verdict.sha == head_sha else None
    if record is None or state.hold is not None:
        return False
    if record.verdict not in ("accept", "inconclusive"):
        return False
    if record.verdict == "accept" and record.tier == "auto":
        return False
    return approval_standing(state.approval, head_sha, now, timeout_days) != "valid"


def gate_for(state: PrState, head_sha: str, now: datetime, timeout_days: float = 7.0) -> GateStatus:
    """The gate from the state comment: a verdict recorded for another commit does not count."""
    record = state.verdict if state.verdict and state.verdict.sha == head_sha else None
    return gate_state(
        record.verdict if record else None,
        record.tier if record else "person",
        state.approval,
        state.hold,
        head_sha,
        now,
        timeout_days,
        record.at if record else None,
    )


def record_verdict(state: PrState, sha: str, verdict: Verdict, tier: Tier,
                   base: str | None = None, authors: Iterable[str] = (),
                   at: datetime | None = None) -> PrState:
    """The state after the comparison of ``sha`` on the base branch at ``base`` (the report
    stage calls this). The same verdict reported again keeps its time: a proposal waits from
    its first report."""
    record = VerdictRecord(sha=sha, verdict=verdict, tier=tier, base=base,
                           authors=tuple(sorted({a.lower() for a in authors if a})), at=at)
    old = state.verdict
    if old is not None and old.model_copy(update={"at": None}) == record.model_copy(
            update={"at": None}):
        record = old
    return state.model_copy(update={"verdict": record})


def base_moved(state: PrState, head_sha: str, tip: str | None) -> str | None:
    """The base the verdict for ``head_sha`` was measured on, when the base branch has moved on
    since (its tip is now ``tip``): the merge would make a combination nobody measured. None
    when it has not, or when the record does not say (a verdict recorded before bases were)."""
    v = state.verdict
    if v is None or v.sha != head_sha or not v.base or not tip or v.base == tip:
        return None
    return v.base


def authors_of(state: PrState, head_sha: str) -> tuple[str, ...] | None:
    """The authors recorded with the verdict of ``head_sha``, or None when no verdict of this
    head was recorded (the stage then asks the forge)."""
    v = state.verdict
    return v.authors if v is not None and v.sha == head_sha else None


def automerge_sha(
    gate: GateStatus, automerge: bool, pr_status: PrStatus, head_sha: str
) -> str | None:
    """The SHA to merge with (GitHub refuses with 409 if the head moved meanwhile), or None."""
    if automerge and pr_status == "open" and gate.state == "success":
        return head_sha
    return None


def merge_stale_message(sha: str) -> str:
    return MERGE_STALE.format(sha=f"`{short(sha)}`")


# ---------------------------------------------------------------- deciding a comment


class CommandContext(Frozen):
    """What the stage gathered about one comment event."""

    comment_id: int
    actor: str
    permission: str  # effective_permission(...) of the actor
    pr_author: str
    pr_status: PrStatus
    head_sha: str
    now: datetime
    # everyone else who authored the PR: its proposal's ``author``, its commits' authors and
    # committers; the bot opens every proposal's PR, so the opener alone says little
    authors: tuple[str, ...] = ()

    def is_author(self, login: str) -> bool:
        return login.lower() in {a.lower() for a in (self.pr_author, *self.authors) if a}


class Outcome(Frozen):
    key: str
    command: str  # as the user wrote it: untrusted, escaped when rendered
    name: CommandName
    ok: bool
    note: str = ""  # what happened, or why it was refused


class CommentDecision(Frozen):
    outcomes: tuple[Outcome, ...] = ()
    state: PrState = PrState()
    state_changed: bool = False  # the state comment must be written
    reactions: tuple[Reaction, ...] = ()  # after the "eyes" the stage adds at once
    reply: str | None = None  # a comment to post (refusals, /help)
    gate: GateStatus | None = None  # a new gate status for the head, when its inputs changed
    retest: bool = False
    rollback: str | None = None  # the reason, when a revert PR is to be opened
    merge_sha: str | None = None


NOTE_APPROVED = "approved {sha}"
NOTE_CANCELLED = "approval withdrawn"
NOTE_NOTHING_TO_CANCEL = "there was no approval to withdraw"
NOTE_HELD = "held"
NOTE_ALREADY_HELD = "already held by @{by}"
NOTE_UNHELD = "hold lifted"
NOTE_NOT_HELD = "there was no hold"
NOTE_RETEST = "the test and the comparison will run again"
NOTE_ROLLBACK = "a revert pull request will be opened"
NOTE_HELP = "the commands are listed below"


def _refusal(cmd: Command, ctx: CommandContext, state: PrState, config: ApprovalConfig) -> str:
    """Why a command may not run here, or "" when it may."""
    if cmd.error:
        return cmd.error
    if not may_use(cmd.name, ctx.permission, config.approvers):
        needed = " or ".join(config.approvers) or "no"
        return REFUSE_PERMISSION.format(needed=needed, has=ctx.permission)
    if cmd.name == "help":
        return ""
    if cmd.name == "rollback":
        return "" if ctx.pr_status == "merged" else REFUSE_NOT_MERGED
    if ctx.pr_status != "open":
        return REFUSE_MERGED if ctx.pr_status == "merged" else REFUSE_CLOSED
    if cmd.name == "approve" and ctx.is_author(ctx.actor):
        return REFUSE_AUTHOR
    if cmd.name == "approve" and not cmd.cancel:
        v = state.verdict
        if v is not None and v.sha == ctx.head_sha and v.verdict == "reject":
            return REFUSE_REJECTED
    return ""


def _apply(cmd: Command, ctx: CommandContext, state: PrState) -> tuple[PrState, str]:
    """The state after an allowed command, and the note for the reply."""
    if cmd.name == "approve" and cmd.cancel:
        if state.approval is None:
            return state, NOTE_NOTHING_TO_CANCEL
        return state.model_copy(update={"approval": None}), NOTE_CANCELLED
    if cmd.name == "approve":
        current = state.approval
        note = NOTE_APPROVED.format(sha=short(ctx.head_sha))
        if current and current.sha == ctx.head_sha and current.by.lower() == ctx.actor.lower():
            return state, note
        approval = Approval(sha=ctx.head_sha, by=ctx.actor, at=ctx.now)
        return state.model_copy(update={"approval": approval}), note
    if cmd.name == "hold":
        if state.hold is not None:
            return state, NOTE_ALREADY_HELD.format(by=state.hold.by)
        hold = Hold(by=ctx.actor, at=ctx.now, reason=cmd.args)
        return state.model_copy(update={"hold": hold}), NOTE_HELD
    if cmd.name == "unhold":
        if state.hold is None:
            return state, NOTE_NOT_HELD
        return state.model_copy(update={"hold": None}), NOTE_UNHELD
    if cmd.name == "retest":
        return state, NOTE_RETEST
    if cmd.name == "rollback":
        return state, NOTE_ROLLBACK
    return state, NOTE_HELP


def _outcome(cmd: Command, ctx: CommandContext, state: PrState, config: ApprovalConfig
             ) -> tuple[PrState, Outcome]:
    """One command, in the state the ones before it left: refused with the reason (the state
    unchanged), or done, with the state after it and the note for the reply."""
    key = idempotence_key(ctx.comment_id, cmd.index)
    why = _refusal(cmd, ctx, state, config)
    if why:
        return state, Outcome(key=key, command=cmd.text, name=cmd.name, ok=False, note=why)
    state, note = _apply(cmd, ctx, state)
    return state, Outcome(key=key, command=cmd.text, name=cmd.name, ok=True, note=note)


def _moved_gate(before: PrState, after: PrState, ctx: CommandContext, config: ApprovalConfig
                ) -> tuple[GateStatus | None, str | None]:
    """The gate when a comment's commands moved it (changed the approval or the hold), and the
    head SHA to merge when auto-merge may; (None, None) when they left it where it was."""
    if (after.approval, after.hold) == (before.approval, before.hold):
        return None, None
    gate = gate_for(after, ctx.head_sha, ctx.now, config.timeout_days)
    return gate, automerge_sha(gate, config.automerge, ctx.pr_status, ctx.head_sha)


def decide_comment(
    commands: Sequence[Command],
    ctx: CommandContext,
    state: PrState,
    config: ApprovalConfig,
    replied: Iterable[str] = (),
    record_handled: bool = True,
) -> CommentDecision:
    """Everything one comment's commands do, in order; commands already handled are skipped.

    Delivering the same event twice gives an empty decision the second time: the first delivery
    left a record, either the keys in the state comment or, when it replied, the reply itself
    (``replied``: the comment ids from ``replied_to`` over the PR's comments). The state comment
    is written only when the gate's inputs changed or nothing else records the handling, which
    keeps a refusal or /help at six API calls. With ``record_handled=False`` the caller keeps
    its own record of the handling (the bot's result reaction on the comment, which the stage
    checks before deciding), so the state is written only when the gate's inputs changed.
    """
    if str(ctx.comment_id) in set(replied):
        return CommentDecision(state=state)
    done = set(state.handled)
    todo = [c for c in commands if idempotence_key(ctx.comment_id, c.index) not in done]
    if not todo:
        return CommentDecision(state=state)
    before = state
    outcomes: list[Outcome] = []
    rollback: str | None = None
    for cmd in todo:
        state, outcome = _outcome(cmd, ctx, state, config)
        outcomes.append(outcome)
        if outcome.ok and cmd.name == "rollback":
            rollback = cmd.args
    gate, merge = _moved_gate(before, state, ctx, config)
    keys = tuple(o.key for o in outcomes)
    state = state.model_copy(update={"handled": (state.handled + keys)[-HANDLED_LIMIT:]})
    reactions, reply = answer(ctx.comment_id, outcomes)
    return CommentDecision(
        outcomes=tuple(outcomes),
        state=state,
        # the reply, when there is one, is the record of the handling; otherwise the state is
        state_changed=gate is not None or (record_handled and reply is None),
        reactions=tuple(reactions),
        reply=reply,
        gate=gate,
        retest=any(o.ok and o.name == "retest" for o in outcomes),
        rollback=rollback,
        merge_sha=merge,
    )


def resume_comment(
    commands: Sequence[Command],
    ctx: CommandContext,
    state: PrState,
    config: ApprovalConfig,
    replied: Iterable[str] = (),
) -> CommentDecision:
    """A comment whose handling left its record (the keys in the state comment, or the reply)
    but not its result reaction: a run that died after the record. What is left is done from
    the record. The comment's commands are decided again as if not handled, for the outcomes:
    the reactions (+1 and confused as the first run gave them) and the reply, unless it is
    posted already (``replied``). With the keys in the state, the state is kept as stored
    (it already holds what the commands did) and the gate and merge are the ones it implies;
    without them, the reply was the record and the decision is the one decided again.

    Refusals do not depend on what commands change (approval, hold), so a comment mixing an
    allowed command with a refused one gets both its reactions and its refusal's reply. A
    re-run's /retest is not repeated: a second re-run request could start the tests twice."""
    mine = {idempotence_key(ctx.comment_id, c.index) for c in commands}
    recorded = any(k in mine for k in state.handled)
    unhandled = state.model_copy(
        update={"handled": tuple(k for k in state.handled if k not in mine)})
    again = decide_comment(commands, ctx, unhandled, config, (), record_handled=False)
    reply = None if str(ctx.comment_id) in set(replied) else again.reply
    if not recorded:
        return again.model_copy(update={"reply": reply})
    gate = gate_for(state, ctx.head_sha, ctx.now, config.timeout_days)
    merge = automerge_sha(gate, config.automerge, ctx.pr_status, ctx.head_sha)
    return CommentDecision(outcomes=again.outcomes, state=state, gate=gate, merge_sha=merge,
                           reactions=again.reactions, reply=reply)


def answer(
    comment_id: int, outcomes: Sequence[Outcome]
) -> tuple[tuple[Reaction, ...], str | None]:
    """The result reactions (+1 when any command was done, confused when any was refused) and
    the reply (when one was refused or help was asked for)."""
    reactions: list[Reaction] = []
    if any(o.ok for o in outcomes):
        reactions.append("+1")
    if any(not o.ok for o in outcomes):
        reactions.append("confused")
    wants_help = any(o.ok and o.name == "help" for o in outcomes)
    reply = None
    if any(not o.ok for o in outcomes) or wants_help:
        reply = render_reply(comment_id, outcomes, wants_help)
    return tuple(reactions), reply


def refuse(decision: CommentDecision, comment_id: int, changes: dict[int, str]) -> CommentDecision:
    """The decision with some allowed outcomes turned into refusals (``changes``: index -> why),
    found out while acting (a /retest with no run to re-run, a /rollback refused), its
    reactions and reply redone to match."""
    if not changes:
        return decision
    outcomes = tuple(
        o.model_copy(update={"ok": False, "note": changes[i]}) if i in changes else o
        for i, o in enumerate(decision.outcomes)
    )
    reactions, reply = answer(comment_id, outcomes)
    done = {o.name for o in outcomes if o.ok}
    return decision.model_copy(update={
        "outcomes": outcomes,
        "reactions": reactions,
        "reply": reply,
        "retest": decision.retest and "retest" in done,
        "rollback": decision.rollback if "rollback" in done else None,
    })


def annotate_rollback(decision: CommentDecision, comment_id: int, note: str) -> CommentDecision:
    """The decision with the allowed /rollback's note replaced by what happened, answered with
    a reply (it names the revert pull request)."""
    outcomes = tuple(o.model_copy(update={"note": note}) if o.ok and o.name == "rollback" else o
                     for o in decision.outcomes)
    wants_help = any(o.ok and o.name == "help" for o in outcomes)
    return decision.model_copy(update={
        "outcomes": outcomes, "reply": render_reply(comment_id, outcomes, wants_help)})


# ---------------------------------------------------------------- texts and the state comment


def render_help(comment_id: int | None = None) -> str:
    key = None if comment_id is None else str(comment_id)
    return render("help.md.j2", key=key, commands=COMMAND_TABLE)


def render_reply(comment_id: int, outcomes: Sequence[Outcome], help: bool = False) -> str:
    if help and all(o.ok and o.name == "help" for o in outcomes):
        return render_help(comment_id)
    return render(
        "command_reply.md.j2",
        key=str(comment_id),
        outcomes=outcomes,
        help=help,
        commands=COMMAND_TABLE,
    )


_STATE_BLOCK = re.compile(r"<!-- improve-state ([^>]*) -->")
_REPLY_KEY = re.compile(r"<!-- improve-key ([0-9]+) -->")


def replied_to(comments: Iterable[tuple[int, str, str]], bot_login: str) -> set[str]:
    """Ids of the comments the bot has already answered, from its replies among
    ``(id, author, body)``; only the bot's own comments count."""
    out: set[str] = set()
    for _, author, body in comments:
        if author.lower() == bot_login.lower() and find_marker(body) in (REPLY_MARKER, HELP_MARKER):
            out.update(_REPLY_KEY.findall(body))
    return out


def state_block(state: PrState) -> str:
    """The hidden JSON block; ``<`` and ``>`` are escaped so the HTML comment cannot end early."""
    data = json.dumps(state.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    # "@" too: a mention must not ping anyone even from inside the hidden block
    for ch in "<>@":
        data = data.replace(ch, f"\\u{ord(ch):04x}")
    return f"<!-- improve-state {data} -->"


def render_state(state: PrState, head_sha: str, now: datetime, timeout_days: float = 7.0) -> str:
    """The bot's state comment: a readable summary and the hidden record."""
    standing = approval_standing(state.approval, head_sha, now, timeout_days)
    expires = state.approval.at + timedelta(days=timeout_days) if state.approval else None
    return render(
        "state.md.j2",
        state=state,
        standing=standing,
        expires=expires,
        gate=gate_for(state, head_sha, now, timeout_days),
        block=state_block(state),
    )


def parse_state(body: str | None) -> PrState:
    """The record in a state comment; an unreadable one counts as no record at all."""
    m = _STATE_BLOCK.search(body or "")
    if not m:
        return PrState()
    try:
        return PrState.model_validate(json.loads(m.group(1)))
    except (ValueError, ValidationError):
        return PrState()


def find_state(
    comments: Iterable[tuple[int, str, str]], bot_login: str
) -> tuple[int | None, PrState]:
    """The bot's state comment among ``(id, author, body)``: its id and record.

    Only the bot's own comment is believed; a copy of the marker in anyone else's is ignored.
    """
    for comment_id, author, body in comments:
        if author.lower() == bot_login.lower() and find_marker(body) == STATE_MARKER:
            return comment_id, parse_state(body)
    return None, PrState()


# ---------------------------------------------------------------- the merge queue

QUEUE_ACCEPTED = "the queue's merge commit: accepted"
QUEUE_AS_APPROVED = "the queue's merge commit: inconclusive, as approved on #{number}"
QUEUE_INCONCLUSIVE = "the queue's merge commit: inconclusive; a person approves it on the PR"
QUEUE_REJECTED = "the queue's merge commit: the combination is rejected"
QUEUE_ERROR = "the queue's merge commit could not be compared"
QUEUE_NOT_PROPOSAL = "not an improvement proposal"
_QUEUE_BRANCH = re.compile(
    r"^(?:refs/heads/)?gh-readonly-queue/(?P<base>.+)/pr-(?P<number>[0-9]+)-(?P<sha>[0-9a-f]{40})$")


def queued_pull(head_ref: str) -> tuple[int, str] | None:
    """The pull request a merge queue's branch was made for (GitHub names it
    ``gh-readonly-queue/<base>/pr-<number>-<head sha>``): (number, head SHA), or None."""
    m = _QUEUE_BRANCH.match(head_ref or "")
    return (int(m.group("number")), m.group("sha")) if m else None


def queue_gate(verdict: Verdict, number: int | None, pr_gate: GateState | None) -> GateStatus:
    """``improve/gate`` on a merge queue's commit, from the comparison of that commit with the
    queue's base: the pull request merges only if its verdict holds for the combination. An
    accept holds; an inconclusive combination holds only where a person approved the pull
    request's own inconclusive result (its gate is green); a regression never does. Failure,
    not pending, where it does not hold: the queue then drops the pull request at once."""
    if verdict == "accept":
        return GateStatus(state="success", description=QUEUE_ACCEPTED)
    if verdict == "inconclusive":
        if pr_gate == "success" and number is not None:
            return GateStatus(state="success", description=QUEUE_AS_APPROVED.format(number=number))
        return GateStatus(state="failure", description=QUEUE_INCONCLUSIVE)
    if verdict == "reject":
        return GateStatus(state="failure", description=QUEUE_REJECTED)
    return GateStatus(state="error", description=QUEUE_ERROR)
