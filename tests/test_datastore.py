"""The data branch: records written as JSON in git, with compare-and-swap pushes."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bot.adapters.datastore import DataStore
from bot.adapters.git import Git
from tests.helpers.git import git


def _clone(bare: Path, dest: Path) -> Git:
    subprocess.run(["git", "clone", "-q", str(bare), str(dest)], check=True)
    return Git(dest)


def test_two_writers_both_land_on_the_remote(
    make_repo: Callable[..., Path], tmp_path: Path
) -> None:
    origin = make_repo({"README.md": "x\n"})
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin), str(bare)], check=True)
    a = DataStore(_clone(bare, tmp_path / "a"))
    b = DataStore(_clone(bare, tmp_path / "b"))
    assert a.read("releases/1.0.0.json") is None and a.list() == []

    calls = []

    def b_files() -> dict:
        calls.append(1)
        if len(calls) == 1:
            # a writes between b's fetch and b's push: b's first push must be rejected
            assert a.write({"releases/1.0.0.json": {"version": "1.0.0"}}, "record 1.0.0")
        return {"releases/1.1.0.json": {"version": "1.1.0"}}

    assert b.write(b_files, "record 1.1.0")
    assert len(calls) == 2  # rejected once, then written again on a's tip

    fresh = DataStore(_clone(bare, tmp_path / "c"))
    assert fresh.list("releases/") == ["releases/1.0.0.json", "releases/1.1.0.json"]
    assert fresh.read("releases/1.1.0.json") == {"version": "1.1.0"}
    log = git(bare, "log", "--format=%s", "improve-data")
    assert log.splitlines() == ["record 1.1.0", "record 1.0.0"]
    # the default branch is untouched
    assert git(bare, "log", "--format=%s", "main").splitlines() == ["initial"]


def test_an_unchanged_write_makes_no_commit(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    store = DataStore(Git(repo), remote=None)
    first = store.write({"r.json": {"a": 1}}, "one")
    assert first is not None
    assert store.write({"r.json": {"a": 1}}, "again") is None
    assert store.write(lambda: {"r.json": None}, "delete") is not None
    assert store.read("r.json") is None
    assert git(repo, "status", "--porcelain") == ""
