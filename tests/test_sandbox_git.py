"""Git over HTTP against the sandbox with real git, pushes that move pull requests, and merges
done by git (merge, squash, rebase) with GitHub's 405 and 409."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from bot.sandbox import Sandbox, gitserve
from bot.sandbox import routes as r
from tests.helpers.sandbox import call, clone, push_change, run_git, sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n", "config.yaml": "a: 1\nb: 1\n"})
    return sandbox


def pr_for(sb: Sandbox, branch: str, title: str = "Tune") -> dict:
    status, _, pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                         {"title": title, "head": branch, "base": "main"})
    assert status == 201, pr
    return pr


def test_clone_push_and_request_log(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    assert (work / "config.yaml").read_text() == "a: 1\nb: 1\n"
    before = sb.api_calls()
    sha = push_change(work, "feature", {"new.txt": "x\n"})
    assert sb.repo_state(REPO)["refs"]["refs/heads/feature"] == sha
    git_requests = [q for q in sb.requests if q.kind == "git"]
    assert any(q.path.endswith("/git-receive-pack") and q.status == 200 for q in git_requests)
    # a public repository is fetched anonymously; a push always names its user
    pushes = [q for q in git_requests if "receive-pack" in q.path + q.query and q.status == 200]
    assert pushes and all(q.user == "github-actions[bot]" for q in pushes)
    assert sb.api_calls(since=0) == before  # git traffic is not counted as API calls


def test_chunked_push_body(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    # a post buffer smaller than the pack makes git send the body chunked
    run_git(work, "config", "http.postBuffer", "1024")
    (work / "blob.bin").write_bytes(os.urandom(64 * 1024))
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "big")
    run_git(work, "push", "-q", "origin", "HEAD:refs/heads/big")
    assert "refs/heads/big" in sb.repo_state(REPO)["refs"]


def test_gzip_request_bodies_are_inflated() -> None:
    assert gitserve.decode_body(gzip.compress(b"0000"), "gzip") == b"0000"
    assert gitserve.decode_body(b"0000", None) == b"0000"


def test_login_as_user_name_works_and_bad_token_fails(sb: Sandbox, tmp_path: Path) -> None:
    token = sb.add_user("alice", "write")
    url = sb.git_url(REPO, token).replace("x-access-token", "alice")
    run_git(tmp_path, "clone", "-q", url, "a")
    work = tmp_path / "a"
    (work / "x.txt").write_text("x\n")
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "x")
    run_git(work, "push", "-q", "origin", "HEAD:refs/heads/by-alice")
    run_git(work, "remote", "set-url", "origin", sb.git_url(REPO, "not-a-token"))
    proc = run_git(work, "push", "origin", "HEAD:refs/heads/by-nobody", check=False)
    assert proc.returncode != 0
    assert any(q.kind == "git" and q.status == 401 for q in sb.requests)
    assert "refs/heads/by-alice" in sb.repo_state(REPO)["refs"]
    assert "refs/heads/by-nobody" not in sb.repo_state(REPO)["refs"]


def test_read_only_user_cannot_push(sb: Sandbox, tmp_path: Path) -> None:
    token = sb.add_user("reader", "read")
    work = clone(sb, REPO, tmp_path / "w", token=token)
    (work / "x.txt").write_text("x\n")
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "x")
    proc = run_git(work, "push", "origin", "HEAD:refs/heads/x", check=False)
    assert proc.returncode != 0 and "403" in proc.stderr
    assert "refs/heads/x" not in sb.repo_state(REPO)["refs"]


def test_push_moves_pull_request_head(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    first = push_change(work, "improve/a", {"config.yaml": "a: 2\nb: 1\n"})
    pr = pr_for(sb, "improve/a")
    assert pr["head"]["sha"] == first
    second = push_change(work, "improve/a", {"extra.txt": "y\n"}, new_branch=False)
    got = call(sb, "GET", f"/repos/{REPO}/pulls/{pr['number']}")[2]
    assert got["head"]["sha"] == second and got["commits"] == 2


def test_reject_pushes_as_non_fast_forward(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    before = sb.repo_state(REPO)["refs"]["refs/heads/main"]
    sb.reject_pushes(REPO, times=1)
    (work / "x.txt").write_text("x\n")
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "x")
    proc = run_git(work, "push", "origin", "HEAD:main", check=False)
    assert proc.returncode != 0
    assert "non-fast-forward" in proc.stderr and "rejected" in proc.stderr
    assert sb.repo_state(REPO)["refs"]["refs/heads/main"] == before
    run_git(work, "push", "-q", "origin", "HEAD:main")  # only the next push was rejected
    assert sb.repo_state(REPO)["refs"]["refs/heads/main"] != before


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_methods(sb: Sandbox, tmp_path: Path, method: str) -> None:
    merger = sb.add_user("maintainer", "maintain")
    work = clone(sb, REPO, tmp_path / "w")
    push_change(work, "improve/a", {"config.yaml": "a: 2\nb: 1\n"}, "first")
    head = push_change(work, "improve/a", {"more.txt": "m\n"}, "second", new_branch=False)
    # main moves on meanwhile, without conflict
    run_git(work, "checkout", "-q", "-B", "side", "origin/main")
    main_tip = push_change(work, "main", {"README.md": "hello again\n"}, "readme",
                           new_branch=False)
    pr = pr_for(sb, "improve/a")
    status, _, result = call(sb, "PUT", f"/repos/{REPO}/pulls/{pr['number']}/merge",
                             {"merge_method": method, "sha": head}, token=merger)
    assert (status, result["merged"], result["message"]) == (200, True, r.MERGED)
    new = result["sha"]
    repo = sb.repo_state(REPO)
    assert repo["refs"]["refs/heads/main"] == new
    assert repo["pulls"][0]["merged"] and repo["pulls"][0]["state"] == "closed"
    assert repo["pulls"][0]["merge_commit_sha"] == new
    run_git(work, "fetch", "-q", "origin")
    parents = run_git(work, "log", "-1", "--format=%P", new).stdout.split()
    author = run_git(work, "log", "-1", "--format=%an", new).stdout.strip()
    files = run_git(work, "show", f"{new}:config.yaml").stdout
    assert files == "a: 2\nb: 1\n"
    if method == "merge":
        assert parents == [main_tip, head] and author == "maintainer"
    elif method == "squash":
        assert parents == [main_tip] and author == "maintainer"
        assert run_git(work, "show", f"{new}:more.txt").stdout == "m\n"
    else:
        assert len(parents) == 1
        chain = run_git(work, "rev-list", f"{main_tip}..{new}").stdout.split()
        assert len(chain) == 2 and head not in chain  # replayed, not fast-forwarded
    got = call(sb, "GET", f"/repos/{REPO}/pulls/{pr['number']}")[2]
    assert got["merged"] is True and got["merge_commit_sha"] == new
    assert call(sb, "GET", f"/repos/{REPO}/pulls/{pr['number']}/merge")[0] == 204
    status, _, body = call(sb, "PUT", f"/repos/{REPO}/pulls/{pr['number']}/merge", {})
    assert (status, body["message"]) == (405, r.NOT_MERGEABLE)


def test_stale_sha_is_409_and_conflict_is_405(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    push_change(work, "improve/a", {"config.yaml": "a: 2\nb: 1\n"})
    run_git(work, "checkout", "-q", "-B", "b2", "origin/main")
    push_change(work, "improve/b", {"config.yaml": "a: 3\nb: 1\n"})
    a, b = pr_for(sb, "improve/a"), pr_for(sb, "improve/b", "Other")
    assert call(sb, "GET", f"/repos/{REPO}/pulls/{b['number']}/merge")[0] == 404
    status, _, body = call(sb, "PUT", f"/repos/{REPO}/pulls/{a['number']}/merge",
                           {"sha": "0" * 40})
    assert (status, body["message"]) == (409, r.HEAD_MODIFIED)
    assert call(sb, "PUT", f"/repos/{REPO}/pulls/{a['number']}/merge",
                {"sha": a["head"]["sha"]})[0] == 200
    got = call(sb, "GET", f"/repos/{REPO}/pulls/{b['number']}")[2]
    assert got["mergeable"] is False and got["mergeable_state"] == "dirty"
    status, _, body = call(sb, "PUT", f"/repos/{REPO}/pulls/{b['number']}/merge",
                           {"merge_method": "squash"})
    assert (status, body["message"]) == (405, r.NOT_MERGEABLE)


def test_merge_needs_write(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    push_change(work, "improve/a", {"config.yaml": "a: 2\nb: 1\n"})
    pr = pr_for(sb, "improve/a")
    token = sb.add_user("triager", "triage")
    status, _, body = call(sb, "PUT", f"/repos/{REPO}/pulls/{pr['number']}/merge", {},
                           token=token)
    assert status == 403 and body["message"] == r.PAT_NO_ACCESS
