"""Scratch git worktrees: the commit under test is checked out beside the repository, never in
it, and removed afterwards even on failure or interrupt. The user's tree and index are untouched."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import git

from bot.errors import InputError


def open_repo(path: Path) -> git.Repo:
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(f"{path}: not inside a git repository") from None


def resolve(repo: git.Repo, rev: str, what: str = "--ref") -> str:
    """The full commit SHA of ``rev``; a name that does not resolve is bad input."""
    try:
        return repo.git.rev_parse("--verify", "--end-of-options", f"{rev}^{{commit}}")
    except git.GitCommandError:
        raise InputError(
            f"{what}: {rev!r} does not resolve to a commit in {repo.working_dir}"
        ) from None


def changed_paths(repo: git.Repo, since: str, until: str) -> list[str]:
    """Paths changed on ``until`` since it forked from ``since`` (merge-base, like a PR's diff)."""
    base = resolve(repo, since, "--changed-from")
    head = resolve(repo, until)
    try:
        merge_base = repo.git.merge_base(base, head)
    except git.GitCommandError:
        merge_base = base  # unrelated histories: compare the trees directly
    out = repo.git.diff("--name-only", "-z", "--no-renames", merge_base, head)
    return sorted(p for p in out.split("\0") if p)


@contextlib.contextmanager
def scratch_worktree(repo: git.Repo, commit: str) -> Iterator[Path]:
    """A detached worktree of ``commit`` in a temporary directory, removed on the way out."""
    holder = Path(tempfile.mkdtemp(prefix="improve-wt-"))
    path = holder / "tree"
    try:
        repo.git.worktree("add", "--detach", "--quiet", str(path), commit)
        yield path
    finally:
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("remove", "--force", str(path))
        shutil.rmtree(holder, ignore_errors=True)
        with contextlib.suppress(git.GitCommandError):
            repo.git.worktree("prune")
