"""Shared by ``improve status``, ``report``, ``dashboard``, ``request`` and ``tune``: the forge
options and the stage environment they build (not a command: the leading underscore keeps it
out of the command list)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

NEEDS_ENV = "is not set; --forge github needs it (or use --forge local in a plain repository)"


def add_forge_options(p: Any) -> None:
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL) or local: "
                   "the repository itself is the forge")
    p.add_argument("--repo", default=".", type=Path,
                   help="the repository: a clone with the data branch's remote as origin "
                   "(default: the current directory)")


def loop_env(args: argparse.Namespace) -> Any:
    """The dashboard stage's environment from the command's options."""
    from bot.adapters.git import Git
    from bot.core.config import CONFIG_PATH, parse_config
    from bot.core.forge import Forge
    from bot.stages.dashboard import LoopEnv, has_remote

    repo = Path(args.repo).resolve()
    forge: Forge
    token = None
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        forge = LocalForge(repo)
    else:
        from bot.adapters.github_forge import GitHubForge

        env = os.environ
        missing = [v for v in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not env.get(v)]
        if missing:
            raise InputError([Problem(v, NEEDS_ENV) for v in missing])
        token = env["GITHUB_TOKEN"]
        forge = GitHubForge(env["GITHUB_REPOSITORY"], token,
                            api_url=env.get("GITHUB_API_URL") or "https://api.github.com")
    try:
        git = Git(repo, token=token)
    except Exception as exc:  # noqa: BLE001 - GitError and friends: say which path
        raise InputError([Problem(str(repo), f"not a git repository ({exc})")]) from None
    branch = forge.repo_info().default_branch
    config = parse_config(forge.read_file(CONFIG_PATH, ref=branch),
                          f"{CONFIG_PATH} (on {branch})")
    remote = "origin" if args.forge == "github" and has_remote(git.path) else None
    return LoopEnv(forge=forge, config=config, git=git, remote=remote, default_branch=branch)
