"""Shared by ``improve release``, ``improve monitor`` and ``improve rollback``: the forge
options and the stage environment (the release stage's ``Env``: forge, trusted configuration, a
private clone of the default branch). Not a command: the leading underscore keeps it out of
the command list."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

LOCAL_REPO_HELP = "--forge local: the repository (default: the current directory)"


def add_forge_options(p: Any, repo_help: str = LOCAL_REPO_HELP) -> None:
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL, "
                   "GITHUB_SERVER_URL, IMPROVE_BOT_LOGIN) or local: the repository itself is "
                   "the forge")
    p.add_argument("--repo", default=".", type=Path, help=repo_help)


def stage_env(args: argparse.Namespace) -> Any:
    """The release stage's ``Env`` from the command's options (imports happen here, when the
    command runs, so the CLI's start-up stays light)."""
    from bot.adapters import actions
    from bot.adapters.release_git import Workspace
    from bot.core.forge import Forge
    from bot.stages.context import Env, _now, trusted_config

    forge: Forge
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        repo = Path(args.repo).resolve()
        forge = LocalForge(repo)

        def open_ws(branch: str) -> Workspace:
            return Workspace.local(repo, branch)
    else:
        from bot.adapters.github_forge import forge_from_env

        env = os.environ
        forge = forge_from_env(env)
        full_name, token = env["GITHUB_REPOSITORY"], env["GITHUB_TOKEN"]
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")

        def open_ws(branch: str) -> Workspace:
            return Workspace.clone(f"{server}/{full_name}.git", branch, token=token)

    branch = forge.repo_info().default_branch
    return Env(forge=forge, config=trusted_config(forge, branch), open_workspace=open_ws, now=_now,
               default_branch=branch, in_actions=actions.in_actions())
