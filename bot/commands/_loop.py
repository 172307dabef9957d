"""Shared by ``improve status``, ``report``, ``dashboard``, ``request`` and ``tune``: the forge
options and the stage environment they build (not a command: the leading underscore keeps it
out of the command list)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.commands._stage_env import add_forge_options as _add_forge_options
from bot.errors import InputError, Problem

REPO_HELP = ("the repository: a clone with the data branch's remote as origin "
             "(default: the current directory)")


def add_forge_options(p: Any) -> None:
    _add_forge_options(p, REPO_HELP)


def loop_env(args: argparse.Namespace) -> Any:
    """The dashboard stage's environment from the command's options."""
    from bot.adapters.git import Git
    from bot.core.forge import Forge
    from bot.stages.context import trusted_config
    from bot.stages.dashboard import LoopEnv, has_remote

    repo = Path(args.repo).resolve()
    forge: Forge
    token = None
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        forge = LocalForge(repo)
    else:
        from bot.adapters.github_forge import forge_from_env

        forge = forge_from_env(os.environ)
        token = os.environ["GITHUB_TOKEN"]
    try:
        git = Git(repo, token=token)
    except Exception as exc:  # noqa: BLE001 - GitError and friends: say which path
        raise InputError([Problem(str(repo), f"not a git repository ({exc})")]) from None
    branch = forge.repo_info().default_branch
    config = trusted_config(forge, branch)
    remote = "origin" if args.forge == "github" and has_remote(git.path) else None
    return LoopEnv(forge=forge, config=config, git=git, remote=remote, default_branch=branch)
