"""PROPOSE from an issue: a maintainer's ``/propose`` on an issue that carries a proposal (the
request form's Proposal field, or a fenced ``yaml`` block) proposes it as ``improve propose``
would: validated, limited, branch ``improve/<id>`` pushed and its pull request opened. The pull
request's body says it closes the issue, so GitHub closes it when the pull request merges.

gather (the comment and the issue from the payload; the commenter's permission) -> decide (the
permission as for /approve; the proposal block; bot/core/issue_proposals.py) -> act (the
proposal published, then one reply and the result reaction, last: the record of the handling).
A redelivered event is recognised by the bot's result reaction; a run killed after its reply is
recognised by the reply's key; proposing again finds the branch and the pull request.
"""

from __future__ import annotations

from pathlib import Path

from bot.adapters.actions import print_untrusted
from bot.adapters.event import Event
from bot.adapters.git import Git
from bot.core import issue_proposals as ip
from bot.core.comment_commands import ISSUE_COMMAND_NAMES, parse_commands
from bot.core.forge import Forge
from bot.core.policy import (
    REFUSE_PERMISSION,
    RESULT_REACTIONS,
    Outcome,
    answer,
    effective_permission,
    idempotence_key,
    is_bot,
    may_use,
    replied_to,
)
from bot.core.render import render
from bot.core.router import Router
from bot.errors import GateError, InputError
from bot.stages.context import StageContext

router: Router[Event, StageContext] = Router()


def _issue_name(number: int) -> str:
    return f"#{number}"


def _handled(forge: Forge, number: int, comment_id: int, me: str) -> tuple[bool, bool]:
    """(finished, replied): the bot's result reaction on the comment says the handling
    finished; its reply's key says a reply was posted by a run that died before the end."""
    done = {c for c, user in forge.list_reactions(comment_id) if user.lower() == me.lower()}
    if done & set(RESULT_REACTIONS):
        return True, True
    comments = [(c.id, c.author, c.body) for c in forge.list_comments(number)]
    return False, str(comment_id) in replied_to(comments, me)


@router.register("issue_comment", "created")
def on_issue_comment(event: Event, services: StageContext) -> int:
    if isinstance(event.get("issue", "pull_request"), dict):
        return 0  # a pull request's comment: the COMMANDS stage reads it
    author = event.text("comment", "user", "login")
    if is_bot(author, event.text("comment", "user", "type") or "User"):
        return 0
    commands = parse_commands(event.text("comment", "body"), ISSUE_COMMAND_NAMES)
    if not commands:
        return 0
    cmd = commands[0]  # one /propose per comment: the issue holds one proposal
    forge = services.forge
    out = services.out
    comment_id = event.integer("comment", "id")
    number = event.integer("issue", "number")
    me = forge.bot_login or ""
    first = forge.add_reaction(comment_id, "eyes")
    replied = False
    if not first:
        finished, replied = _handled(forge, number, comment_id, me)
        if finished:
            print("improve: this comment was handled already (a redelivered event)", file=out)
            return 0
    key = idempotence_key(comment_id, cmd.index)
    permission = effective_permission(forge.permission(author))
    approvers = services.config.approval.approvers
    why = cmd.error or ""
    if not why and not may_use(cmd.name, permission, approvers):
        why = REFUSE_PERMISSION.format(needed=" or ".join(approvers) or "no", has=permission)
    if not why and event.text("issue", "state") == "closed":
        why = ip.ISSUE_CLOSED
    block = ip.proposal_block(event.text("issue", "body"))
    if not why and block is None:
        why = ip.NO_PROPOSAL
    reply: str | None
    if why:
        outcome = Outcome(key=key, command=cmd.text, name=cmd.name, ok=False, note=why)
        reactions, reply = answer(comment_id, [outcome])
    else:
        assert block is not None
        outcome, reply = _propose(event, services, block, number, comment_id, cmd.text, key)
        reactions = ("+1",) if outcome.ok else ("confused",)
    if reply is not None and not replied:
        forge.create_comment(number, reply)
    # the result reaction last: it is the record that the handling finished
    for reaction in reactions:
        forge.add_reaction(comment_id, reaction)
    print_untrusted(f"{'ok' if outcome.ok else 'refused'}: {cmd.text} on #{number} by "
                    f"@{author}: {outcome.note}", out)
    return 0


def _propose(event: Event, services: StageContext, block: ip.Block, number: int, comment_id: int,
             command: str, key: str) -> tuple[Outcome, str]:
    """Publish the issue's proposal: (the outcome, the reply). Bad input and refused limits are
    the reply's reason, never a failed job."""
    from bot.stages.publish import publish_proposal

    name = _issue_name(number)
    try:
        done = publish_proposal(Path(event.workspace), block.text, name, services.forge,
                                Git(event.workspace, token=event.token), env=event.env,
                                source_issue=number)
    except InputError as exc:
        problems = ip.at_issue_lines(exc.problems, name, block) if exc.problems else []
        if not problems:
            return _refused(comment_id, command, key, str(exc))
        body = render("issue_proposal_problems.md.j2", key=str(comment_id), command=command,
                      problems=problems)
        return Outcome(key=key, command=command, name="propose", ok=False,
                       note=f"{len(problems)} problem(s)"), body
    except GateError as exc:
        return _refused(comment_id, command, key, str(exc))
    plan, url = done.outcome.plan, done.outcome.url
    pr = ip.pr_number(url)
    template = ip.NOTE_ALREADY if done.outcome.status == "unchanged" else ip.NOTE_PROPOSED
    note = template.format(number=pr, branch=plan.branch)
    outcome = Outcome(key=key, command=command, name="propose", ok=True, note=note)
    return outcome, render("issue_proposed.md.j2", key=str(comment_id), command=command,
                           number=pr, branch=plan.branch, url=url,
                           again=done.outcome.status == "unchanged")


def _refused(comment_id: int, command: str, key: str, why: str) -> tuple[Outcome, str]:
    outcome = Outcome(key=key, command=command, name="propose", ok=False, note=why)
    _, reply = answer(comment_id, [outcome])
    assert reply is not None
    return outcome, reply
