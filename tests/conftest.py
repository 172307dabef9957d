"""Shared test fixtures: a git identity for every test, and real temporary git repositories."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from tests.helpers.git import commit_all, git, write_files


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    # CI machines have no global git identity; tests must not depend on the developer's either
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in {
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Committer",
        "GIT_COMMITTER_EMAIL": "committer@example.com",
    }.items():
        monkeypatch.setenv(var, value)
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(var, raising=False)
    # `python -m bot` in a subprocess must run this checkout's code, not another installed copy
    # (when the suite runs inside a scratch worktree, the editable install points elsewhere)
    root = str(Path(__file__).resolve().parent.parent)
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    )


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[..., Path]:
    """``make_repo({"path": "text", ...})`` -> a real git repository with one commit on main."""
    counter = iter(range(1000))

    def _make(files: Mapping[str, str | bytes] | None = None, name: str | None = None) -> Path:
        root = tmp_path / (name or f"repo{next(counter)}")
        root.mkdir()
        git(root, "init", "-q", "-b", "main")
        write_files(root, files or {"README.md": "hello\n"})
        commit_all(root, "initial")
        return root

    return _make
