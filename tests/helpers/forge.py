"""A "world" for forge contract tests: a forge acting as the bot, a clone that can push branches,
and a way to act as another user. One builder per adapter; the same tests run on each."""

from __future__ import annotations

import itertools
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.adapters.git import Git
from bot.adapters.local_forge import LocalForge
from bot.core.forge import Forge, Permission

SEED_FILES = {"README.md": "hello\n", "config/router.yaml": "threshold: 0.5\n"}
_names = itertools.count()


@dataclass
class ForgeWorld:
    kind: str
    forge: Forge
    work: Git
    _as_user: Callable[[str, Permission], Forge]
    extra: dict[str, Any] = field(default_factory=dict)

    def as_user(self, login: str, permission: Permission = "read") -> Forge:
        """A forge acting as ``login``, who holds ``permission`` on the repository."""
        return self._as_user(login, permission)

    def push_branch(
        self, name: str, files: Mapping[str, str | None], base: str = "main", message: str = ""
    ) -> str:
        """Create or move branch ``name`` (from ``base`` when new) with one commit of ``files``."""
        self.work.fetch()
        start = (
            f"origin/{name}" if self.work.try_rev_parse(f"origin/{name}") else f"origin/{base}"
        )
        self.work.checkout(start, create=name)
        sha = self.work.commit_files(files, message or f"change on {name}")
        self.work.push(f"{name}:refs/heads/{name}")
        return sha

    def branch_sha(self, name: str) -> str:
        self.work.fetch()
        return self.work.rev_parse(f"origin/{name}")


def local_world(tmp: Path) -> ForgeWorld:
    """A bare repository playing the remote, the local forge on it, and a clone."""
    n = next(_names)
    src = tmp / f"seed{n}"
    src.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=src, check=True)
    for rel, text in SEED_FILES.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    subprocess.run(["git", "add", "-A"], cwd=src, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "initial"], cwd=src, check=True)
    bare = tmp / f"remote{n}.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(bare)], check=True)
    forge = LocalForge(bare, full_name="owner/repo")
    work = Git.clone(str(bare), tmp / f"work{n}")

    def as_user(login: str, permission: Permission) -> Forge:
        forge.permissions[login] = permission
        return LocalForge(bare, full_name="owner/repo", actor=login,
                          permissions=forge.permissions)

    return ForgeWorld("local", forge, work, as_user, {"bare": bare})
