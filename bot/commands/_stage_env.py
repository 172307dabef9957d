"""Shared by the commands that talk to a forge (``improve release``, ``monitor``, ``rollback``,
and through ``_loop.py`` the loop's commands): the forge options, from which
``bot.stages.context.context_for_args`` builds the stage context. Not a command: the leading
underscore keeps it out of the command list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LOCAL_REPO_HELP = "--forge local: the repository (default: the current directory)"


def add_forge_options(p: Any, repo_help: str = LOCAL_REPO_HELP) -> None:
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL, "
                   "GITHUB_SERVER_URL, IMPROVE_BOT_LOGIN) or local: the repository itself is "
                   "the forge")
    p.add_argument("--repo", default=".", type=Path, help=repo_help)
