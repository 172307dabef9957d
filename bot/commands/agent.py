"""``improve agent``: run the configured agent command (``agent.command``) for one open
opportunity and propose what it writes; the scheduled improve-tune workflow runs it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "agent",
        help="turn one open opportunity into a proposal with the configured agent command",
        description="Read agent.command from the default branch's configuration; for the "
        "oldest open opportunity issue it has not answered, run it in a scratch worktree with "
        "the evidence on stdin (JSON) and in IMPROVE_OPPORTUNITY_* variables, and no token; it "
        "must write a proposal to $IMPROVE_PROPOSAL_FILE (without changes: the files it edited "
        "become the change). The proposal, its author set to agent.name, is proposed as "
        "`improve propose` does; the outcome, a failure included, is commented on the "
        "opportunity once.",
    )
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN) or local")
    p.add_argument("--repo", default=".", type=Path,
                   help="the repository (default: the current directory)")
    p.add_argument("--remote", default="origin", help="the git remote (default: origin)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.adapters.proposal_git import toplevel
    from bot.commands.propose import _forge
    from bot.stages.agent import run_agent
    from bot.stages.context import trusted_config

    args.repo = toplevel(args.repo)
    args.github_repo = None
    args.api_url = None
    env = dict(os.environ)
    forge, pusher = _forge(args, env)
    config = trusted_config(forge, forge.repo_info().default_branch)
    run_agent(args.repo, forge, pusher, config, env=env, out=sys.stdout,
              remote=args.remote)
    return 0
