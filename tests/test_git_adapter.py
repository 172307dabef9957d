"""The git adapter against real temporary repositories (never a mocked git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bot.adapters.git import (
    Git,
    GitError,
    MergeConflict,
    PushRejected,
    auth_env,
    commit_message,
    format_trailers,
    parse_trailers,
    redact,
    register_secret,
)
from tests.helpers.git import commit_all, git, write_files


def bare_with_clone(make_repo, tmp_path: Path) -> tuple[Path, Git]:
    src = make_repo({"a.txt": "one\n", "dir/b.txt": "two\n"})
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(src), str(bare))
    clone = Git.clone(str(bare), tmp_path / "clone")
    return bare, clone


@pytest.mark.parametrize(
    ("trailers", "expected"),
    [
        ({"Improve-Proposal": "prop-1"}, "Improve-Proposal: prop-1"),
        ({"A": "x", "B-C": "y  z\nw"}, "A: x\nB-C: y z w"),
    ],
)
def test_format_trailers(trailers: dict[str, str], expected: str) -> None:
    assert format_trailers(trailers) == expected


def test_trailer_key_must_be_a_token() -> None:
    with pytest.raises(ValueError, match="trailer key"):
        format_trailers({"bad key": "v"})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("subject\n\nbody\n\nKey: v\nOther-Key: w\n", {"Key": "v", "Other-Key": "w"}),
        ("subject only\n", {}),
        ("subject\n\nnot a trailer line\n", {}),
    ],
)
def test_parse_trailers(message: str, expected: dict[str, str]) -> None:
    assert parse_trailers(message) == expected


def test_commit_trailers_are_read_back_by_git(make_repo) -> None:
    repo = Git(make_repo())
    sha = repo.commit_files(
        {"x.txt": "x\n"}, "Add x\n\nBecause.", {"Improve-Proposal": "prop-7", "Risk": "low"}
    )
    out = git(repo.path, "log", "-1", "--format=%(trailers:key=Improve-Proposal,valueonly)", sha)
    assert out.strip() == "prop-7"
    assert parse_trailers(git(repo.path, "log", "-1", "--format=%B")) == {
        "Improve-Proposal": "prop-7",
        "Risk": "low",
    }
    assert commit_message("s", {"K": "v"}) == "s\n\nK: v\n"


def test_rev_parse_file_at_and_list_files(make_repo) -> None:
    repo = Git(make_repo({"a.txt": "one\n", "d/b.txt": "two\n"}))
    head = repo.rev_parse("HEAD")
    assert len(head) == 40
    assert repo.try_rev_parse("no-such-branch") is None
    assert repo.file_at("main", "a.txt") == "one\n"
    assert repo.file_at("main", "missing.txt") is None
    assert repo.list_files("main") == ["a.txt", "d/b.txt"]
    assert repo.list_files("main", "d") == ["d/b.txt"]
    assert repo.current_branch() == "main"


def test_changed_paths_use_merge_base(make_repo) -> None:
    root = make_repo({"a.txt": "1\n", "b.txt": "1\n"})
    repo = Git(root)
    repo.create_branch("feature", "main")
    git(root, "checkout", "-q", "feature")
    write_files(root, {"a.txt": "2\n", "new/c.txt": "c\n"})
    commit_all(root, "feature")
    git(root, "checkout", "-q", "main")
    # main moving on must not show up in the PR's changes
    write_files(root, {"b.txt": "2\n"})
    commit_all(root, "main moves")
    assert repo.changed_paths("main", "feature") == ["a.txt", "new/c.txt"]
    assert repo.is_ancestor(repo.merge_base("main", "feature") or "", "main")


def test_commit_files_deletes_and_refuses_paths_outside(make_repo) -> None:
    repo = Git(make_repo({"a.txt": "1\n", "b.txt": "1\n"}))
    repo.commit_files({"a.txt": None, "c.txt": "c\n"}, "change")
    assert repo.list_files("HEAD") == ["b.txt", "c.txt"]
    with pytest.raises(GitError, match="outside the repository"):
        repo.commit_files({"../escape.txt": "x"}, "bad")
    before = repo.rev_parse("HEAD")
    assert repo.commit("nothing staged") == before


def test_commit_to_branch_leaves_worktree_alone(make_repo) -> None:
    root = make_repo()
    repo = Git(root)
    first = repo.commit_to_branch("improve-data", {"results/x.json": "{}\n"}, "record x")
    second = repo.commit_to_branch("improve-data", {"results/y.json": "[]\n"}, "record y")
    assert repo.list_files("improve-data") == ["results/x.json", "results/y.json"]
    assert repo.is_ancestor(first, second)
    # nothing changed: no new commit
    assert repo.commit_to_branch("improve-data", {"results/y.json": "[]\n"}, "again") == second
    assert repo.commit_to_branch("improve-data", {"results/x.json": None}, "drop x") != second
    assert repo.list_files("improve-data") == ["results/y.json"]
    assert git(root, "status", "--porcelain") == ""
    assert repo.current_branch() == "main"
    assert not (root / "results").exists()


def test_push_and_rejected_non_fast_forward_raises(make_repo, tmp_path: Path) -> None:
    bare, clone = bare_with_clone(make_repo, tmp_path)
    clone.commit_files({"a.txt": "changed\n"}, "change a")
    clone.push("HEAD:refs/heads/main")
    assert git(bare, "rev-parse", "main") == clone.rev_parse("HEAD")

    other = Git.clone(str(bare), tmp_path / "other")
    other.commit_files({"c.txt": "c\n"}, "other change")
    other.push("HEAD:refs/heads/main")

    clone.commit_files({"d.txt": "d\n"}, "diverging change")
    with pytest.raises(PushRejected, match="rejected") as info:
        clone.push("HEAD:refs/heads/main")
    assert info.value.refs == ["refs/heads/main"]
    assert git(bare, "rev-parse", "main") == other.rev_parse("HEAD")


def test_push_refused_by_a_hook_raises(make_repo, tmp_path: Path) -> None:
    bare, clone = bare_with_clone(make_repo, tmp_path)
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    clone.commit_files({"a.txt": "changed\n"}, "change a")
    with pytest.raises(PushRejected):
        clone.push("HEAD:refs/heads/main")


def test_push_needs_explicit_refspec(make_repo, tmp_path: Path) -> None:
    _, clone = bare_with_clone(make_repo, tmp_path)
    with pytest.raises(ValueError):
        clone.push()


def test_annotated_tag_is_created_pushed_and_never_moved(make_repo, tmp_path: Path) -> None:
    bare, clone = bare_with_clone(make_repo, tmp_path)
    head = clone.rev_parse("HEAD")
    assert clone.tag("v1.0.0", "HEAD", "Release 1.0.0") == head
    assert git(clone.path, "cat-file", "-t", "v1.0.0") == "tag"
    assert clone.tag("v1.0.0", "HEAD", "again") == head  # idempotent
    clone.push_tag("v1.0.0")
    assert git(bare, "rev-parse", "v1.0.0^{commit}") == head
    clone.commit_files({"z.txt": "z\n"}, "later")
    with pytest.raises(GitError, match="already exists"):
        clone.tag("v1.0.0", "HEAD", "moved")


def test_merge_and_revert(make_repo) -> None:
    root = make_repo({"a.txt": "1\n"})
    repo = Git(root)
    repo.create_branch("feature")
    repo.checkout("feature")
    repo.commit_files({"f.txt": "f\n"}, "feature")
    repo.checkout("main")
    merge_sha = repo.merge("feature", "Merge feature", {"Improve-Proposal": "p1"})
    assert len(git(root, "rev-list", "--parents", "-n", "1", merge_sha).split()) == 3
    assert (root / "f.txt").exists()
    revert_sha = repo.revert(merge_sha)
    assert not (root / "f.txt").exists()
    assert "This reverts commit" in git(root, "log", "-1", "--format=%B", revert_sha)


def test_merge_conflict_aborts_and_names_files(make_repo) -> None:
    root = make_repo({"a.txt": "1\n"})
    repo = Git(root)
    repo.create_branch("feature")
    repo.checkout("feature")
    repo.commit_files({"a.txt": "feature\n"}, "feature")
    repo.checkout("main")
    repo.commit_files({"a.txt": "main\n"}, "main")
    head = repo.rev_parse("HEAD")
    with pytest.raises(MergeConflict) as info:
        repo.merge("feature")
    assert info.value.paths == ["a.txt"]
    assert repo.rev_parse("HEAD") == head
    assert git(root, "status", "--porcelain") == ""


def test_revert_conflict_aborts(make_repo) -> None:
    root = make_repo({"a.txt": "1\n"})
    repo = Git(root)
    first = repo.commit_files({"a.txt": "2\n"}, "two")
    repo.commit_files({"a.txt": "3\n"}, "three")
    with pytest.raises(MergeConflict) as info:
        repo.revert(first)
    assert info.value.paths == ["a.txt"]
    assert git(root, "status", "--porcelain") == ""


def test_worktree_is_scratch(make_repo) -> None:
    root = make_repo({"a.txt": "1\n"})
    repo = Git(root)
    with repo.worktree("main") as wt:
        wt.commit_files({"b.txt": "b\n"}, "in scratch")
        scratch_head = wt.rev_parse("HEAD")
        wt_path = wt.path
    assert not wt_path.exists()
    assert repo.rev_parse("main") != scratch_head
    assert git(root, "status", "--porcelain") == ""


def test_token_is_sent_as_header_and_redacted(make_repo, tmp_path: Path) -> None:
    token = "ghs_secretTOKEN1234"
    env = auth_env(token)
    assert token not in " ".join(env.values())  # base64 in a header, never plain
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    register_secret(token)
    msg = redact(f"fatal: unable to access 'https://x-access-token:{token}@example.com/o/r.git'")
    assert token not in msg and "***@example.com" in msg
    with pytest.raises(GitError) as info:
        Git.clone(f"http://x-access-token:{token}@127.0.0.1:9/o/r.git", tmp_path / "c",
                  token=token)
    assert token not in str(info.value)
    # a clone made with a token keeps no credential in its configuration
    _, clone = bare_with_clone(make_repo, tmp_path)
    config = subprocess.run(["git", "config", "--list", "--local"], cwd=clone.path,
                            capture_output=True, text=True, check=True).stdout
    assert "extraheader" not in config.lower()


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not a git repository"):
        Git(tmp_path)
