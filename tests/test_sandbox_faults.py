"""Faults the sandbox injects (5xx, rate limits), its validation catching a malformed response,
and a PyGithub flow on it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from github import Auth, Github, GithubException

from bot.sandbox import Sandbox, openapi
from bot.sandbox.shapes import Shapes
from tests.helpers.sandbox import call, clone, push_change, sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n"})
    return sandbox


def test_5xx_then_success(sb: Sandbox) -> None:
    sb.inject_fault(path=r"^/repos/acme/widgets$", status=502, times=2)
    assert call(sb, "GET", f"/repos/{REPO}")[0] == 502
    assert call(sb, "GET", "/user")[0] == 200  # other paths are not affected
    assert call(sb, "GET", f"/repos/{REPO}")[0] == 502
    assert call(sb, "GET", f"/repos/{REPO}")[0] == 200
    assert [q.status for q in sb.requests if q.kind == "api"] == [502, 200, 502, 200]


def test_fault_by_method(sb: Sandbox) -> None:
    sb.inject_fault(method="POST", path="/issues$", status=500)
    assert call(sb, "GET", f"/repos/{REPO}/issues")[0] == 200
    status, _, body = call(sb, "POST", f"/repos/{REPO}/issues", {"title": "t"})
    assert status == 500 and body["message"] == "Server Error"
    assert call(sb, "POST", f"/repos/{REPO}/issues", {"title": "t"})[0] == 201


@pytest.mark.parametrize(
    ("status", "retry_after", "reset_in", "expect"),
    [
        (403, None, 2, {"X-RateLimit-Remaining": "0"}),
        (429, 1, None, {"Retry-After": "1"}),
        (403, 3, 5, {"Retry-After": "3", "X-RateLimit-Remaining": "0"}),
    ],
)
def test_rate_limits(sb: Sandbox, status: int, retry_after: float | None,
                     reset_in: float | None, expect: dict[str, str]) -> None:
    sb.inject_fault(path="/pulls", status=status, retry_after=retry_after,
                    rate_limit_reset=reset_in)
    got, headers, body = call(sb, "GET", f"/repos/{REPO}/pulls")
    assert got == status and "rate limit" in body["message"]
    for k, v in expect.items():
        assert headers[k] == v
    if reset_in is not None:
        assert 0 < int(headers["X-RateLimit-Reset"]) - time.time() <= reset_in + 1
    else:
        assert headers["X-RateLimit-Remaining"] != "0"
    assert call(sb, "GET", f"/repos/{REPO}/pulls")[0] == 200


def test_fault_with_custom_body(sb: Sandbox) -> None:
    sb.inject_fault(path="/user", status=503, body={"message": "down for maintenance"})
    assert call(sb, "GET", "/user")[2] == {"message": "down for maintenance"}


def test_validator_rejects_malformed_response() -> None:
    bad = json.dumps({"id": "not-a-number", "name": 3}).encode()
    problem = openapi.validate_response("GET", "/repos/{owner}/{repo}/labels/{name}",
                                        {"owner": "o", "repo": "r", "name": "bug"}, 200, bad,
                                        "application/json")
    assert problem is not None and "labels/{name}" in problem
    good = json.dumps(openapi.example("label")).encode()
    assert openapi.validate_response("GET", "/repos/{owner}/{repo}/labels/{name}",
                                      {"owner": "o", "repo": "r", "name": "bug"}, 200, good,
                                      "application/json") is None


def test_validator_catches_a_broken_builder(monkeypatch: pytest.MonkeyPatch) -> None:
    # a sandbox whose label builder forgets required fields: the violation is recorded
    with Sandbox.start() as sb:
        sb.create_repo(REPO)
        call(sb, "POST", f"/repos/{REPO}/labels", {"name": "bug"})
        monkeypatch.setattr(Shapes, "label", lambda self, repo, lbl: {"name": lbl.name})
        assert call(sb, "GET", f"/repos/{REPO}/labels/bug")[0] == 200
        assert len(sb.violations) == 1 and "labels/{name}" in sb.violations[0]


def test_invalid_request_is_a_violation_and_422() -> None:
    with Sandbox.start() as sb:
        sb.create_repo(REPO)
        status, _, body = call(sb, "POST", f"/repos/{REPO}/statuses/{'a' * 40}",
                               {"state": "fantastic"})
        assert status == 422 and "Invalid request" in body["message"]
        assert sb.violations and sb.violations[0].startswith("request POST")


def test_no_validation_when_disabled() -> None:
    with Sandbox.start(validate=False) as sb:
        sb.create_repo(REPO)
        assert call(sb, "POST", f"/repos/{REPO}/statuses/{'a' * 40}",
                    {"state": "fantastic"})[0] == 422
        assert sb.violations == []


def test_pygithub_flow(sb: Sandbox, tmp_path: Path) -> None:
    work = clone(sb, REPO, tmp_path / "w")
    push_change(work, "improve/x", {"README.md": "better\n"})
    # PyGithub waits between writes by default; the sandbox needs no such courtesy
    gh = Github(auth=Auth.Token(sb.token), base_url=sb.api_url, retry=None,
                seconds_between_requests=0, seconds_between_writes=0)
    repo = gh.get_repo(REPO)
    pr = repo.create_pull(title="Improve", body="b", head="improve/x", base="main")
    pr.add_to_labels("improvement")
    comment = pr.create_issue_comment("<!-- improve:report -->\nfirst")
    comment.edit("<!-- improve:report -->\nsecond")
    comment.create_reaction("+1")
    repo.get_commit(pr.head.sha).create_status("success", description="ok",
                                               context="improve/gate")
    assert repo.get_commit(pr.head.sha).get_combined_status().state == "success"
    assert [c.body for c in pr.get_issue_comments()] == ["<!-- improve:report -->\nsecond"]
    assert repo.get_collaborator_permission("github-actions[bot]") == "write"
    assert repo.get_contents("README.md", ref="main").decoded_content == b"hello\n"
    assert pr.merge(merge_method="squash", sha=pr.head.sha).merged
    assert gh.get_repo(REPO).get_pull(pr.number).merged
    with pytest.raises(GithubException) as exc:
        repo.get_pull(999)
    assert exc.value.status == 404
