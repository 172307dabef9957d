"""Shared by ``improve release``, ``improve monitor`` and ``improve rollback``: the forge
options and the stage environment (the release stage's ``Env``: forge, trusted configuration, a
private clone of the default branch). Not a command: the leading underscore keeps it out of
the command list."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

NEEDS_ENV = "is not set; --forge github needs it (or use --forge local in a plain repository)"


def add_forge_options(p: Any) -> None:
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL, "
                   "GITHUB_SERVER_URL) or local: the repository itself is the forge")
    p.add_argument("--repo", default=".", type=Path,
                   help="--forge local: the repository (default: the current directory)")


def stage_env(args: argparse.Namespace) -> Any:
    """The release stage's ``Env`` from the command's options (imports happen here, when the
    command runs, so the CLI's start-up stays light)."""
    from bot.adapters import actions
    from bot.adapters.release_git import Workspace
    from bot.core.config import CONFIG_PATH, parse_config
    from bot.core.forge import Forge
    from bot.stages.context import _now
    from bot.stages.release import Env

    forge: Forge
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        repo = Path(args.repo).resolve()
        forge = LocalForge(repo)

        def open_ws(branch: str) -> Workspace:
            return Workspace.local(repo, branch)
    else:
        from bot.adapters.github_forge import GitHubForge

        env = os.environ
        missing = [v for v in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not env.get(v)]
        if missing:
            raise InputError([Problem(v, NEEDS_ENV) for v in missing])
        full_name, token = env["GITHUB_REPOSITORY"], env["GITHUB_TOKEN"]
        forge = GitHubForge(full_name, token,
                            api_url=env.get("GITHUB_API_URL") or "https://api.github.com")
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")

        def open_ws(branch: str) -> Workspace:
            return Workspace.clone(f"{server}/{full_name}.git", branch, token=token)

    branch = forge.repo_info().default_branch
    config = parse_config(forge.read_file(CONFIG_PATH, ref=branch),
                          f"{CONFIG_PATH} (on {branch})")
    return Env(forge=forge, config=config, open_workspace=open_ws, now=_now,
               default_branch=branch, in_actions=actions.in_actions())
