"""``improve propose FILE``: validate a proposal, commit it on ``improve/<id>``, push it and
open its pull request (GitHub, or the local forge)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import InputError, Problem

if TYPE_CHECKING:
    from bot.adapters.git import Git
    from bot.core.forge import Forge
    from bot.stages.publish import Proposed

NO_TOKEN = "GITHUB_TOKEN: is not set; publishing through --forge github needs a token " \
    "(use --dry-run to preview, or --no-push to commit the branch locally)"
NO_REPOSITORY = "GITHUB_REPOSITORY: is not set; pass --github-repo OWNER/NAME"
NO_FILE = "no such file"
ENV_TEXT = "IMPROVE_PROPOSAL"
ENV_FILE = "IMPROVE_PROPOSAL_FILE"
ONE_SOURCE = f"give FILE, or --from-env with exactly one of ${ENV_TEXT} and ${ENV_FILE} set"
OUTSIDE = "is outside the repository"
NOT_TEXT = "not UTF-8 text"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "propose",
        help="turn a proposal file into the branch improve/<id> and its pull request",
        description="Validate the proposal (every problem at once), apply its changes to the "
        "default branch's tip in memory, check the limits, and commit them with "
        ".improve/proposals/<id>.yaml on the branch improve/<id>, without touching your "
        "working tree. Running it again with the same proposal changes nothing.",
    )
    p.add_argument("file", type=Path, metavar="FILE", nargs="?", help="the proposal (YAML)")
    p.add_argument(
        "--from-env", action="store_true",
        help=f"read the proposal from ${ENV_TEXT} (its text) or ${ENV_FILE} (a file in the "
        "repository) instead of FILE: how the improve-propose workflow passes its inputs, "
        "never through a shell",
    )
    p.add_argument(
        "--forge", choices=["github", "local"], default="github",
        help="where the branch is pushed and the pull request opened (default: github)",
    )
    p.add_argument(
        "--dry-run", action="store_true",
        help="print the diff and the pull request's body; write nothing",
    )
    p.add_argument(
        "--no-push", action="store_true",
        help="commit the branch in the local repository only; no push, no pull request",
    )
    p.add_argument(
        "--repo", default=".", type=Path, help="the repository (default: the current directory)"
    )
    p.add_argument(
        "--github-repo", metavar="OWNER/NAME",
        help="the repository on GitHub (default: $GITHUB_REPOSITORY); the token is read from "
        "$GITHUB_TOKEN only, never from the command line",
    )
    p.add_argument("--api-url", help="the GitHub API (default: $GITHUB_API_URL or api.github.com)")
    p.add_argument("--remote", default="origin", help="the git remote to push to (default: origin)")
    p.set_defaults(func=run)


def _forge(args: argparse.Namespace, env: dict[str, str]) -> tuple[Forge, Git | None]:
    """The forge to publish through, and the repository to push from (None: the local forge
    is this repository, nothing to push)."""
    from bot.adapters.git import Git

    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        return LocalForge(args.repo), None
    token = env.get("GITHUB_TOKEN")
    if not token:
        raise InputError(NO_TOKEN)
    full_name = args.github_repo or env.get("GITHUB_REPOSITORY")
    if not full_name:
        raise InputError(NO_REPOSITORY)
    from bot.adapters.github_forge import forge_for

    return forge_for(full_name, token, env, args.api_url), Git(args.repo, token=token)


def read_proposal(file: Path) -> str:
    """The proposal file's text, or the CLI's error naming the file."""
    name = str(file)
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, NO_FILE)]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(name, NOT_TEXT)]) from None
    except OSError as exc:
        raise InputError([Problem(name, exc.strerror or str(exc))]) from None


def propose_text(args: argparse.Namespace, text: str, name: str) -> Proposed:
    """PROPOSE for one proposal's text with the command's options: the CLI and the MCP
    server's ``propose`` tool both run exactly this (same limits, same token rule)."""
    # the stage loads when the command runs, not when the CLI starts
    from bot.adapters.proposal_git import toplevel
    from bot.stages.propose import propose
    from bot.stages.publish import Proposed, publish_proposal

    if args.dry_run or args.no_push:
        return Proposed(propose(args.repo, text, name, dry_run=args.dry_run), [], None)
    args.repo = toplevel(args.repo)
    env = dict(os.environ)
    forge, pusher = _forge(args, env)
    return publish_proposal(args.repo, text, name, forge, pusher, remote=args.remote, env=env)


def _source(args: argparse.Namespace) -> tuple[str, str]:
    """(text, name) of the proposal: FILE, or with --from-env the workflow's input (the text,
    named ``inputs.proposal``, or a file that must lie inside the repository)."""
    if not args.from_env:
        if args.file is None:
            raise InputError([Problem("FILE", ONE_SOURCE)])
        return read_proposal(args.file), str(args.file)
    text = os.environ.get(ENV_TEXT, "")
    file = os.environ.get(ENV_FILE, "").strip()
    if args.file is not None or bool(text.strip()) == bool(file):
        raise InputError([Problem("--from-env", ONE_SOURCE)])
    if text.strip():
        return text, "inputs.proposal"
    root = Path(args.repo).resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root):
        raise InputError([Problem(file, OUTSIDE, field=ENV_FILE)])
    return read_proposal(path), file


def run(args: argparse.Namespace) -> int:
    from bot.stages.propose import unified_diff

    text, name = _source(args)
    done = propose_text(args, text, name)
    outcome, notes, warning = done.outcome, done.notes, done.warning
    plan = outcome.plan
    out = sys.stdout
    if outcome.status == "dry-run":
        out.write(unified_diff(plan, args.repo))
        out.write(f"\n--- pull request: {plan.title} (into {plan.base_branch}, "
                  f"from {plan.branch}, label improvement) ---\n\n")
        out.write(plan.body)
        return 0
    if outcome.status == "unchanged":
        print(f"{plan.branch} already holds proposal {plan.id} at {outcome.commit}: "
              "nothing changed", file=out)
    else:
        print(f"created {plan.branch} at {outcome.commit} from {plan.base_branch} "
              f"({len(plan.applied.files)} file(s) changed, tier: {plan.tier})", file=out)
    for note in notes:
        print(note, file=out)
    if outcome.url:
        print(f"pull request: {outcome.url}", file=out)
    if args.no_push:
        print("not pushed (--no-push); no pull request opened", file=out)
    if warning and outcome.status == "created":
        print(f"warning: {warning}", file=sys.stderr)
    return 0
