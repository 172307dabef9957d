"""Shared by ``improve status``, ``report``, ``dashboard``, ``request`` and ``tune``: the forge
options, with ``--repo`` a clone holding the data branch (their stage context is
``context_for_args(args, checkout=True)``; not a command: the leading underscore keeps it out
of the command list)."""

from __future__ import annotations

from typing import Any

from bot.commands._stage_env import add_forge_options as _add_forge_options

REPO_HELP = ("the repository: a clone with the data branch's remote as origin "
             "(default: the current directory)")


def add_forge_options(p: Any) -> None:
    _add_forge_options(p, REPO_HELP)
