"""COMMANDS: ``/approve``, ``/hold``, ``/retest`` and friends, from a comment on a pull request.

gather -> decide -> act, in as few API calls as the answer allows (the goal is six):

- from the payload, free: the comment (id, body, author and type), the PR's number, author and
  state, the default branch; the configuration comes from the default branch's commit that the
  workflow checked out (``GITHUB_SHA``, read from git by its hash) when it is there, else from
  the API at the default branch, never from the PR;
- the eyes reaction, at once; GitHub answers 201 when it is new and 200 when the bot had already
  reacted, so a redelivered event is known without a read, and the bot's result reaction
  (+1 or confused, always the last write) tells a finished handling from an interrupted one;
- the commenter's permission (``GET .../collaborators/{user}/permission``, never
  ``author_association``), unless the comment holds only ``/help``;
- the state comment, only when a command may change the gate; the gate stands on the head
  whose comparison was recorded there (the PR is read only when there is none, or for /retest);
- then the writes the pure decision asks for: the state comment, the status, the reply, the
  merge, the re-run, and last the result reaction.

/retest never runs PR code here (that would hand the PR a write token): it asks GitHub to re-run
the TEST workflow's latest finished run for the head commit; TEST runs with its own read-only
token, and its completion starts REPORT, which compares and sets the gate again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.adapters.actions import print_untrusted
from bot.adapters.event import Event
from bot.core.comment_commands import Command, parse_commands
from bot.core.config import Config
from bot.core.forge import Forge, PullRequest
from bot.core.policy import (
    RESULT_REACTIONS,
    CommandContext,
    CommentDecision,
    PrState,
    annotate_rollback,
    authors_of,
    decide_comment,
    effective_permission,
    ignore_reason,
    refuse,
    resume_comment,
)
from bot.core.router import Router
from bot.stages.context import StageContext
from bot.stages.pr_state import (
    StoredState,
    forge_login,
    merge_when_current,
    pr_authors,
    pr_status,
    read_state,
    run_to_rerun,
    set_gate,
    write_state,
)
from bot.stages.rollback import rollback_release

router: Router[Event, StageContext] = Router()


@dataclass(frozen=True)
class CommentFacts:
    """What the issue_comment payload says, taken as GitHub sent it (the text is untrusted)."""

    action: str
    comment_id: int
    body: str
    author: str
    author_type: str
    url: str
    number: int
    is_pull_request: bool
    pr_author: str
    pr_state: str
    merged: bool
    default_branch: str | None


def comment_facts(event: Event) -> CommentFacts:
    """The facts, each checked for its type: a payload GitHub could not have sent (a proxy's,
    a hand-made one) is bad input naming the field, never a traceback."""
    pull = event.get("issue", "pull_request")
    return CommentFacts(
        action=event.action or "",
        comment_id=event.integer("comment", "id"),
        body=event.text("comment", "body"),
        author=event.text("comment", "user", "login"),
        author_type=event.text("comment", "user", "type") or "User",
        url=event.text("comment", "html_url"),
        number=event.integer("issue", "number"),
        is_pull_request=isinstance(pull, dict),
        pr_author=event.text("issue", "user", "login"),
        pr_state=event.text("issue", "state") or "open",
        merged=isinstance(pull, dict) and bool(pull.get("merged_at")),
        default_branch=event.default_branch,
    )


def config_at_default_head(event: Event, services: StageContext) -> Config:
    """The configuration at the default branch's commit: the context reads it from the
    checkout's object store when the event's commit is there (no API call), else from the forge
    (``bot.stages.context``)."""
    return services.config


def _rollback(decision: CommentDecision, facts: CommentFacts, event: Event,
              services: StageContext) -> CommentDecision:
    """/rollback: open the revert pull request of the release this PR made, once; a second
    request points at the open one; a refusal or a conflict is the reply's reason."""
    result = rollback_release(services, pr=facts.number,
                              reason=decision.rollback or "", requested_by=facts.author)
    if result.ok:
        return annotate_rollback(decision, facts.comment_id, result.message)
    changes = {i: result.message for i, o in enumerate(decision.outcomes)
               if o.ok and o.name == "rollback"}
    return refuse(decision, facts.comment_id, changes)


@dataclass
class _Gathered:
    forge: Forge
    number: int
    stored: StoredState | None = None
    pull: PullRequest | None = None

    def state(self) -> StoredState:
        if self.stored is None:
            self.stored = read_state(self.forge, self.number)
        return self.stored

    def get_pull(self) -> PullRequest:
        if self.pull is None:
            self.pull = self.forge.get_pull(self.number)
        return self.pull

    def head(self, need_current: bool) -> str:
        known = None if need_current else self.state().head
        return known or self.get_pull().head_sha


def _allowed(commands: list[Command], ctx: CommandContext, config: Config) -> set[str]:
    """The commands that may run as far as the payload and the permission tell. When none may
    but /help, the answer is final without reading the state comment or the PR."""
    probe = decide_comment(commands, ctx, PrState(), config.approval, record_handled=False)
    return {o.name for o in probe.outcomes if o.ok}


@router.register("issue_comment", "created", "edited", "deleted")
def on_comment(event: Event, services: StageContext) -> int:
    facts = comment_facts(event)
    out = services.out
    # a bot's login ends in "[bot]", so is_bot already ignores the bot's own comments; the
    # forge's login is still asked for, as policy.ignore_reason wants it
    why = ignore_reason(facts.action, facts.is_pull_request, facts.author, facts.author_type,
                        forge_login(services.forge))
    if why:
        print(f"improve: comment ignored: {why}", file=out)
        return 0
    commands = parse_commands(facts.body)
    if not commands:
        print("improve: the comment holds no command", file=out)
        return 0
    forge = services.forge
    first = forge.add_reaction(facts.comment_id, "eyes")
    if not first and _has_result(forge, facts.comment_id):
        print("improve: this comment was handled already (a redelivered event)", file=out)
        return 0
    config = config_at_default_head(event, services)
    gathered = _Gathered(forge, facts.number)
    ctx, stored = _gather(commands, facts, services, config, gathered)
    decision = decide_comment(commands, ctx, stored.state if stored else PrState(),
                              config.approval, stored.replied if stored else (),
                              record_handled=False)
    if not decision.outcomes and stored is not None:
        # recorded as handled, yet without its result reaction (checked above): an earlier run
        # died between the record and the end; finish what the record says
        decision = resume_comment(commands, ctx, stored.state, config.approval, stored.replied)
        print("improve: finishing the handling an earlier run left unfinished", file=out)
    if decision.rollback is not None:
        decision = _rollback(decision, facts, event, services)
    if decision.retest:
        decision = _retest(decision, facts, forge, ctx.head_sha)
    if (not first and decision.reply is not None and stored is None
            and str(facts.comment_id) in read_state(forge, facts.number).replied):
        # an earlier run posted this reply and died before its reaction
        decision = decision.model_copy(update={"reply": None})
    _act(decision, facts, gathered, ctx, services)
    _log(decision, facts, out)
    return 0


def _has_result(forge: Forge, comment_id: int) -> bool:
    """Whether the bot's result reaction is on the comment already (a redelivered event)."""
    done = {c for c, user in forge.list_reactions(comment_id)
            if user.lower() == forge_login(forge).lower()}
    return bool(done & set(RESULT_REACTIONS))


def _gather(commands: list[Command], facts: CommentFacts, services: StageContext,
            config: Config, gathered: _Gathered) -> tuple[CommandContext, StoredState | None]:
    """What the decision needs: who asks with what permission, on which head and, for the
    commands that change the gate, the pull request's stored state and its authors."""
    forge = services.forge
    only_help = all(c.name == "help" for c in commands)
    permission = "none" if only_help else effective_permission(forge.permission(facts.author))
    status = pr_status(facts.pr_state, facts.merged)
    ctx = CommandContext(comment_id=facts.comment_id, actor=facts.author, permission=permission,
                         pr_author=facts.pr_author, pr_status=status, head_sha="0" * 40,
                         now=services.now())
    allowed = _allowed(commands, ctx, config)
    stored: StoredState | None = None
    if allowed & {"approve", "hold", "unhold"}:
        stored = gathered.state()
        ctx = ctx.model_copy(update={"head_sha": gathered.head(need_current="retest" in allowed)})
        if "approve" in allowed:
            authors = authors_of(stored.state, ctx.head_sha)
            if authors is None:  # approved before any comparison of this head: ask the forge
                authors = pr_authors(forge, gathered.get_pull())
            ctx = ctx.model_copy(update={"authors": authors})
    elif "retest" in allowed:
        ctx = ctx.model_copy(update={"head_sha": gathered.get_pull().head_sha})
    return ctx, stored


def _retest(decision: CommentDecision, facts: CommentFacts, forge: Forge,
            head_sha: str) -> CommentDecision:
    """/retest: the head's pull_request run started again, or the command refused with why."""
    run, why_not = run_to_rerun(
        forge.list_workflow_runs(head_sha=head_sha, event="pull_request"), head_sha)
    if run is None:
        changes = {i: why_not for i, o in enumerate(decision.outcomes)
                   if o.ok and o.name == "retest"}
        return refuse(decision, facts.comment_id, changes)
    forge.rerun_workflow(run.id)
    return decision


def _act(decision: CommentDecision, facts: CommentFacts, gathered: _Gathered,
         ctx: CommandContext, services: StageContext) -> None:
    forge = gathered.forge
    if decision.state_changed and gathered.stored is not None:
        write_state(forge, facts.number, gathered.stored, decision.state, ctx.head_sha, services)
    if decision.merge_sha is not None:
        # sets the gate itself: pending instead of green when the base moved since
        merge_when_current(forge, facts.number, decision.merge_sha, decision.state,
                           gathered.get_pull, decision.gate,
                           facts.url or None)
    elif decision.gate is not None:
        set_gate(forge, ctx.head_sha, decision.gate, facts.url or None)
    if decision.reply is not None:
        forge.create_comment(facts.number, decision.reply)
    # the result reaction last: it is the record that the handling finished
    for reaction in decision.reactions:
        forge.add_reaction(facts.comment_id, reaction)


def _log(decision: CommentDecision, facts: CommentFacts, out: Any) -> None:
    lines = [f"{'ok' if o.ok else 'refused'}: {o.command[:80]} by @{facts.author}: {o.note}"
             for o in decision.outcomes]
    if not lines:
        lines = ["every command of this comment was handled already"]
    # commands and notes quote the comment: printed with workflow commands switched off
    print_untrusted("\n".join(lines), out)
