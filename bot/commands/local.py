"""``improve local``: what a person does on GitHub, done on the local forge, so the whole loop
(a rollback included, which always needs ``/approve``) runs with git alone.

- ``evaluate N``: what the pull-request workflows do when a pull request opens or moves: run
  the suites on its base and head, post the comparison, set ``improve/gate``;
- ``approve N --as LOGIN`` (``--cancel``): ``/approve`` commented by LOGIN, handled by the same
  stage as on GitHub (the author rules, the head it binds to, the state comment);
- ``merge N``: merge it, as branch protection that requires ``improve/gate`` allows: only when
  the gate on its head is green (then ``improve release --forge local`` releases it);
- ``close N``: close it without merging.

``--repo`` is the repository that plays the remote: a bare one, or one whose checked-out branch
is not written to meanwhile. Whoever runs these commands can write to it, so LOGIN has write
permission; the bot's own login is refused as LOGIN (the bot never approves).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.errors import GateError, InputError, Problem

NOT_GREEN = ("pull request #{number}: improve/gate on {sha} is {state} ({description}); it is "
             "merged only when the gate is green (as branch protection requiring it allows)")
NO_GATE = "pull request #{number}: {sha} has no improve/gate; run improve local evaluate first"
MERGED = "merged pull request #{number} as {sha}; next: improve release --forge local --repo {repo}"
CLOSED = "closed pull request #{number}"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "local",
        help="evaluate, approve, merge or close a pull request on the local forge",
        description="What a person does on GitHub, on the local forge: the whole loop runs "
        "with git alone.",
    )
    actions = p.add_subparsers(dest="local_command", metavar="ACTION")
    for name, help_text in (
        ("evaluate", "run the suites on the pull request's base and head; post the gate"),
        ("approve", "/approve the pull request's head as a person (--as LOGIN)"),
        ("merge", "merge the pull request when improve/gate on its head is green"),
        ("close", "close the pull request without merging"),
    ):
        a = actions.add_parser(name, help=help_text, description=help_text)
        a.add_argument("number", type=int, help="the pull request's number")
        a.add_argument("--repo", default=".", type=Path,
                       help="the repository that is the forge (bare or not; default: .)")
        if name == "approve":
            a.add_argument("--as", dest="login", required=True, metavar="LOGIN",
                           help="who approves (not the pull request's author)")
            a.add_argument("--cancel", action="store_true", help="withdraw the approval")
        a.set_defaults(func=globals()[f"_{name}"])

    def _usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_usage)


def _repo(args: argparse.Namespace) -> Path:
    from bot.adapters.proposal_git import toplevel

    return toplevel(Path(args.repo).resolve())


def _pull(forge: Any, number: int) -> Any:
    from bot.core.forge import NotFound

    try:
        return forge.get_pull(number)
    except NotFound:
        raise InputError([Problem("number", f"no pull request #{number}")]) from None


def _event(forge: Any, name: str, payload: dict[str, Any], repo: Path) -> Any:
    from bot.adapters.event import Event

    return Event(name, payload, forge.full_name, workspace=repo)


def _evaluate(args: argparse.Namespace) -> int:
    from bot.adapters.local_forge import LocalForge
    from bot.sandbox.events import build_event
    from bot.stages import pr_evaluation
    from bot.stages.context import context_for_event

    repo = _repo(args)
    forge = LocalForge(repo)
    pr = _pull(forge, args.number)
    if pr.state != "open":
        raise InputError([Problem("number", f"pull request #{pr.number} is not open")])
    payload = build_event("pull_request", "opened", repo=forge.full_name, number=pr.number,
                          title=pr.title, head_ref=pr.head_ref, head_sha=pr.head_sha,
                          base_ref=pr.base_ref, base_sha=pr.base_sha, labels=list(pr.labels),
                          default_branch=forge.repo_info().default_branch)
    event = _event(forge, "pull_request", payload, repo)
    return pr_evaluation.router.dispatch(event, context_for_event(event, make_forge=lambda: forge))


def _approve(args: argparse.Namespace) -> int:
    from bot.adapters.local_forge import LocalForge
    from bot.core.policy import is_bot
    from bot.sandbox.events import build_event
    from bot.stages import comment_commands
    from bot.stages.context import context_for_event

    repo = _repo(args)
    login = str(args.login).strip()
    bot = LocalForge(repo, permissions={login: "write"})
    if not login or login.lower() == (bot.bot_login or "").lower() or is_bot(login):
        raise InputError([Problem("--as", f"{login!r}: a person's login (the bot never "
                                  "approves)")])
    pr = _pull(bot, args.number)
    body = "/approve cancel" if args.cancel else "/approve"
    comment = LocalForge(repo, actor=login).create_comment(pr.number, body)
    payload = build_event("issue_comment", "created", repo=bot.full_name, number=pr.number,
                          body=body, comment_id=comment.id, sender=login, pr_author=pr.author,
                          issue_state=pr.state, merged=pr.merged,
                          default_branch=bot.repo_info().default_branch)
    event = _event(bot, "issue_comment", payload, repo)
    code = comment_commands.router.dispatch(event, context_for_event(event, make_forge=lambda: bot))
    reactions = {c for c, who in bot.list_reactions(comment.id) if who == bot.bot_login}
    if "confused" in reactions:
        raise GateError(f"pull request #{pr.number}: /approve by {login} was refused; the "
                        "bot's reply on the pull request says why")
    return code


def _merge(args: argparse.Namespace) -> int:
    from bot.adapters.local_forge import LocalForge
    from bot.core.policy import GATE_CONTEXT

    repo = _repo(args)
    forge = LocalForge(repo)
    pr = _pull(forge, args.number)
    gate = forge.combined_status(pr.head_sha).get(GATE_CONTEXT)
    if gate is None:
        raise GateError(NO_GATE.format(number=pr.number, sha=pr.head_sha[:7]))
    if gate.state != "success":
        raise GateError(NOT_GREEN.format(number=pr.number, sha=pr.head_sha[:7],
                                         state=gate.state, description=gate.description))
    result = forge.merge_pull(pr.number, sha=pr.head_sha)
    print(MERGED.format(number=pr.number, sha=result.sha[:12], repo=repo))
    return 0


def _close(args: argparse.Namespace) -> int:
    from bot.adapters.local_forge import LocalForge

    repo = _repo(args)
    forge = LocalForge(repo)
    pr = _pull(forge, args.number)
    forge.update_pull(pr.number, state="closed")
    print(CLOSED.format(number=pr.number))
    return 0
