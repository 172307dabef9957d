"""The sandbox records webhook deliveries as GitHub sends them: one per change, each payload the
state at that moment, validated against the webhook schemas, naming the token kind that caused
it (a GITHUB_TOKEN's events start no workflow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox
from tests.helpers.sandbox import call, clone, push_change, run_git, sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n"}, private=True)
    sandbox.add_user("alice", "write", repos=[REPO])
    sandbox.create_app("improve-bot", {"contents": "write", "pull-requests": "write",
                                       "issues": "write"})
    return sandbox


def _alice_opens_a_pull(sb: Sandbox, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """alice (write) pushes ``feature`` and opens a pull request from it: her token, the PR."""
    alice = sb.mint_token("alice", kind="user")
    push_change(clone(sb, REPO, tmp_path / "w", alice), "feature", {"a.txt": "a\n"})
    status, _, pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                         {"title": "F", "head": "feature", "base": "main"}, token=alice)
    assert status == 201, pr
    return alice, pr


def _summary(sb: Sandbox, since: int = 0) -> list[tuple[str, str | None, str, bool]]:
    return [(d.event, d.action, d.actor, d.via_github_token) for d in sb.deliveries(since)]


def test_a_pull_request_opened_then_labelled_sends_opened_without_the_label(
        sb: Sandbox, tmp_path: Path) -> None:
    alice = sb.mint_token("alice", kind="user")
    push_change(clone(sb, REPO, tmp_path / "w", alice), "revert-x", {"a.txt": "a\n"})
    start = len(sb.deliveries())
    gh = sb.mint_token("ci", kind="github_token", repo=REPO,
                       permissions={"pull-requests": "write", "issues": "write"})
    status, _, pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                         {"title": "Revert", "head": "revert-x", "base": "main"}, token=gh)
    assert status == 201
    call(sb, "POST", f"/repos/{REPO}/issues/{pr['number']}/labels",
         {"labels": ["improvement", "rollback"]}, token=gh)
    got = sb.deliveries(start)
    assert [(d.event, d.action) for d in got] == [
        ("pull_request", "opened"), ("pull_request", "labeled"), ("pull_request", "labeled")]
    opened, first, second = got
    assert opened.payload["pull_request"]["labels"] == []
    assert [x["name"] for x in first.payload["pull_request"]["labels"]] == ["improvement"]
    assert first.payload["label"]["name"] == "improvement"
    assert [x["name"] for x in second.payload["pull_request"]["labels"]] == \
        ["improvement", "rollback"]
    assert all(d.via_github_token and d.actor == "github-actions[bot]" for d in got)
    assert opened.payload["repository"]["private"] is True
    assert opened.payload["pull_request"]["head"]["ref"] == "revert-x"
    assert opened.repository == REPO and opened.token_kind == "github_token"
    # and the request log names the kind of token of every write
    writes = [q for q in sb.requests if q.kind == "api" and q.method == "POST"][-2:]
    assert [q.token_kind for q in writes] == ["github_token", "github_token"]


def test_pushes_record_push_and_synchronize_with_the_pusher(sb: Sandbox, tmp_path: Path) -> None:
    alice = sb.mint_token("alice", kind="user")
    work = clone(sb, REPO, tmp_path / "w", alice)
    first = push_change(work, "feature", {"a.txt": "a\n"})
    app = sb.mint_token("improve-bot", kind="app", repo=REPO)
    call(sb, "POST", f"/repos/{REPO}/pulls", {"title": "F", "head": "feature", "base": "main"},
         token=app)
    start = len(sb.deliveries())
    second = push_change(work, "feature", {"a.txt": "b\n"}, new_branch=False)
    run_git(work, "tag", "v1.0.0")
    run_git(work, "push", "-q", "origin", "v1.0.0")
    got = sb.deliveries(start)
    assert [(d.event, d.action, d.actor, d.token_kind) for d in got] == [
        ("push", None, "alice", "user"), ("pull_request", "synchronize", "alice", "user"),
        ("push", None, "alice", "user")]
    push, sync, tag = got
    assert (push.payload["ref"], push.payload["before"], push.payload["after"]) == \
        ("refs/heads/feature", first, second)
    assert push.payload["head_commit"]["id"] == second and not push.payload["created"]
    assert (sync.payload["before"], sync.payload["after"]) == (first, second)
    assert sync.payload["pull_request"]["head"]["sha"] == second
    assert tag.payload["ref"] == "refs/tags/v1.0.0" and tag.payload["created"]
    assert not any(d.via_github_token for d in got)


def test_a_merge_sends_closed_merged_and_a_push_of_the_base(sb: Sandbox, tmp_path: Path) -> None:
    _, pr = _alice_opens_a_pull(sb, tmp_path)
    start = len(sb.deliveries())
    gh = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"contents": "write"})
    status, _, merged = call(sb, "PUT", f"/repos/{REPO}/pulls/{pr['number']}/merge", {},
                             token=gh)
    assert status == 200
    closed, push = sb.deliveries(start)
    assert (closed.event, closed.action) == ("pull_request", "closed")
    assert closed.payload["pull_request"]["merged"] is True
    assert closed.payload["pull_request"]["merge_commit_sha"] == merged["sha"]
    assert (push.event, push.payload["ref"], push.payload["after"]) == \
        ("push", "refs/heads/main", merged["sha"])
    assert closed.via_github_token and push.via_github_token


def test_comments_and_issues(sb: Sandbox, tmp_path: Path) -> None:
    alice, pr = _alice_opens_a_pull(sb, tmp_path)
    start = len(sb.deliveries())
    comment = call(sb, "POST", f"/repos/{REPO}/issues/{pr['number']}/comments",
                   {"body": "/approve"}, token=alice)[2]
    app = sb.mint_token("improve-bot", kind="app", repo=REPO)
    issue = call(sb, "POST", f"/repos/{REPO}/issues",
                 {"title": "Dashboard", "body": "v1", "labels": ["improve-dashboard"]},
                 token=app)[2]
    call(sb, "PATCH", f"/repos/{REPO}/issues/{issue['number']}", {"body": "v2"}, token=app)
    assert _summary(sb, start) == [
        ("issue_comment", "created", "alice", False),
        ("issues", "opened", "improve-bot[bot]", False),
        ("issues", "labeled", "improve-bot[bot]", False),
        ("issues", "edited", "improve-bot[bot]", False)]
    said, opened, _, edited = sb.deliveries(start)
    assert said.payload["comment"]["id"] == comment["id"]
    assert said.payload["comment"]["body"] == "/approve"
    assert said.payload["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr['number']}")
    assert said.payload["sender"]["login"] == "alice"
    assert [x["name"] for x in opened.payload["issue"]["labels"]] == ["improve-dashboard"]
    assert opened.payload["sender"]["type"] == "Bot"
    assert edited.payload["changes"] == {"body": {"from": "v1"}}
    assert edited.payload["issue"]["body"] == "v2"


def test_deliveries_since_an_index(sb: Sandbox) -> None:
    alice = sb.mint_token("alice", kind="user")
    call(sb, "POST", f"/repos/{REPO}/issues", {"title": "one"}, token=alice)
    mark = len(sb.deliveries())
    call(sb, "POST", f"/repos/{REPO}/issues", {"title": "two"}, token=alice)
    later = sb.deliveries(mark)
    assert [d.payload["issue"]["title"] for d in later] == ["two"]
    assert [d.index for d in later] == [mark]
