"""A proposal file checked against a working tree (``improve validate FILE``): every problem
PROPOSE would find, without a commit or a branch. ``improve propose`` itself reads the default
branch's tip instead (bot/stages/propose.py)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path

from bot.adapters.patch import apply_patch
from bot.adapters.proposal_git import IS_A_DIR, NOT_A_DIR, NOT_UTF8, SYMLINK_IN, SYMLINK_OUT
from bot.core.config import read_config
from bot.core.edits import EditError
from bot.core.proposals import apply_changes, check_proposal
from bot.errors import InputError, Problem


class WorkTreeReader:
    """Files' texts from a working tree, refusing any path through a symlink."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def __call__(self, path: str) -> str | None:
        parts = path.split("/")
        here = self.root
        for i, part in enumerate(parts):
            here = here / part
            prefix = "/".join(parts[: i + 1])
            if here.is_symlink():
                target = Path(os.path.realpath(here))
                try:
                    inside = target.relative_to(self.root).as_posix()
                except ValueError:
                    raise EditError(SYMLINK_OUT.format(path=path, link=prefix)) from None
                rest = "/".join(parts[i + 1 :])
                instead = f"{inside}/{rest}" if rest else inside
                raise EditError(SYMLINK_IN.format(path=path, link=prefix, target=instead))
            if not here.exists():
                return None
            if i < len(parts) - 1 and not here.is_dir():
                raise EditError(NOT_A_DIR.format(path=path, parent=prefix))
        if here.is_dir():
            raise EditError(IS_A_DIR.format(path=path))
        try:
            return here.read_bytes().decode()
        except UnicodeDecodeError:
            raise EditError(NOT_UTF8.format(path=path)) from None


def check_proposal_file(root: Path, path: Path, today: date | None = None) -> list[Problem]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(name, f"cannot read: {exc}")]
    return check_proposal_text(root, text, name, today)


def check_proposal_text(root: Path, text: str, name: str, today: date | None = None
                        ) -> list[Problem]:
    """Every problem of a proposal's ``text`` (named ``name`` in the problems) against the
    working tree ``root``: what ``improve validate FILE`` and the MCP tool report."""
    try:
        config = read_config(lambda p: _text_of(root / p))
    except InputError as exc:
        return exc.problems
    checked = check_proposal(text, name, config, today or datetime.now(UTC).date())
    if checked.proposal is None:
        return checked.problems
    applied = apply_changes(
        checked.proposal, WorkTreeReader(root), file=name, doc=checked.doc, patcher=apply_patch
    )
    return applied.problems


def _text_of(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None
