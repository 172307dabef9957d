"""Tokens carry what GitHub gives them, and every endpoint the bot uses requires the permission
GitHub's endpoint-to-permission table documents for it (vendored from github/docs)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox, permissions
from bot.sandbox import routes as r
from tests.helpers.sandbox import call, clone, push_change, run_git, sandbox  # noqa: F401

PRIVATE = "acme/secret"
PUBLIC = "acme/open"


@pytest.fixture
def sb(sandbox: Sandbox, tmp_path: Path) -> Sandbox:  # noqa: F811
    for name, private in ((PRIVATE, True), (PUBLIC, False)):
        sandbox.create_repo(name, {"README.md": "hello\n", DISPATCHABLE: "on: workflow_dispatch\n"
                                   "jobs: {}\n"}, private=private)
        work = clone(sandbox, name, tmp_path / name.replace("/", "-"))
        push_change(work, "feature", {"a.txt": "a\n"})
        push_change(work, "feature2", {"b.txt": "b\n"})
    return sandbox


def _scene(sb: Sandbox, repo: str) -> dict[str, str]:
    """One of everything the endpoints address: a PR, an issue, comments, a reaction, a label,
    a check run, a workflow run. Made with the lenient admin token, so nothing here is under
    test."""
    main = call(sb, "GET", f"/repos/{repo}/branches/main")[2]["commit"]["sha"]
    pr = call(sb, "POST", f"/repos/{repo}/pulls",
              {"title": "t", "head": "feature", "base": "main"})[2]
    issue = call(sb, "POST", f"/repos/{repo}/issues", {"title": "i", "labels": ["bug"]})[2]
    comment = call(sb, "POST", f"/repos/{repo}/issues/{issue['number']}/comments",
                   {"body": "c"})[2]
    doomed = call(sb, "POST", f"/repos/{repo}/issues/{issue['number']}/comments",
                  {"body": "d"})[2]
    reaction = call(sb, "POST", f"/repos/{repo}/issues/comments/{comment['id']}/reactions",
                    {"content": "eyes"})[2]
    # (check runs are a GitHub App's: a job's GITHUB_TOKEN makes this one)
    checks = sb.mint_token("ci", kind="github_token", repo=repo, permissions="write-all")
    check = call(sb, "POST", f"/repos/{repo}/check-runs", {"name": "n", "head_sha": main},
                 token=checks)[2]
    run = sb.add_workflow_run(repo, head_sha=main, head_branch="main")
    release = call(sb, "POST", f"/repos/{repo}/releases", {"tag_name": "v0.1.0"})[2]
    sb.add_user("rev", "write", repos=[PRIVATE, PUBLIC])
    return {"sha": main, "pull": str(pr["number"]), "issue": str(issue["number"]),
            "comment": str(comment["id"]), "doomed": str(doomed["id"]),
            "reaction": str(reaction["id"]), "check": str(check["id"]), "run": str(run),
            "release": str(release["id"])}


# (method, template) -> (path, body) for every route the sandbox serves; {x} are scene values.
# Ordered so that each call finds what it needs (a label added before it is removed, a ref
# created before it is moved and deleted, the merge last).
DISPATCHABLE = ".github/workflows/go.yml"
CALLS: list[tuple[str, str, str, Any]] = [
    ("GET", "/user", "/user", None),
    ("GET", "/users/{username}", "/users/github-actions[bot]", None),
    ("GET", "/rate_limit", "/rate_limit", None),
    ("GET", "/repos/{owner}/{repo}", "", None),
    ("GET", "/repos/{owner}/{repo}/pulls", "/pulls", None),
    ("POST", "/repos/{owner}/{repo}/pulls", "/pulls",
     {"title": "t2", "head": "feature2", "base": "main"}),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", "/pulls/{pull}", None),
    ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}", "/pulls/{pull}", {"body": "b"}),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "/pulls/{pull}/merge", None),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files", "/pulls/{pull}/files", None),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits", "/pulls/{pull}/commits", None),
    ("GET", "/repos/{owner}/{repo}/compare/{basehead}", "/compare/main...feature", None),
    ("GET", "/repos/{owner}/{repo}/issues", "/issues", None),
    ("POST", "/repos/{owner}/{repo}/issues", "/issues", {"title": "new"}),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}", "/issues/{issue}", None),
    ("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", "/issues/{issue}", {"body": "e"}),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "/issues/{issue}/comments",
     None),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "/issues/{issue}/comments",
     {"body": "hi"}),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "/issues/comments/{comment}",
     None),
    ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}", "/issues/comments/{comment}",
     {"body": "edited"}),
    ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
     "/issues/comments/{comment}/reactions", None),
    ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
     "/issues/comments/{comment}/reactions", {"content": "+1"}),
    ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}",
     "/issues/comments/{comment}/reactions/{reaction}", None),
    ("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}",
     "/issues/comments/{doomed}", None),
    ("GET", "/repos/{owner}/{repo}/labels", "/labels", None),
    ("POST", "/repos/{owner}/{repo}/labels", "/labels", {"name": "fresh"}),
    ("GET", "/repos/{owner}/{repo}/labels/{name}", "/labels/bug", None),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "/issues/{issue}/labels",
     None),
    ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "/issues/{issue}/labels",
     {"labels": ["fresh"]}),
    ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
     "/issues/{issue}/labels/fresh", None),
    ("POST", "/repos/{owner}/{repo}/statuses/{sha}", "/statuses/{sha}",
     {"state": "success", "context": "c"}),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/status", "/commits/{sha}/status", None),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses", "/commits/{sha}/statuses", None),
    ("POST", "/repos/{owner}/{repo}/check-runs", "/check-runs",
     {"name": "m", "head_sha": "{sha}"}),
    ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "/check-runs/{check}", None),
    ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "/check-runs/{check}",
     {"status": "completed", "conclusion": "success"}),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "/commits/{sha}/check-runs",
     None),
    ("GET", "/repos/{owner}/{repo}/commits/{ref}", "/commits/{sha}", None),
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}", "/git/ref/heads/main", None),
    ("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}", "/git/matching-refs/heads/", None),
    ("POST", "/repos/{owner}/{repo}/git/refs", "/git/refs",
     {"ref": "refs/heads/made", "sha": "{sha}"}),
    ("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}", "/git/refs/heads/made", {"sha": "{sha}"}),
    ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}", "/git/refs/heads/made", None),
    ("GET", "/repos/{owner}/{repo}/branches", "/branches", None),
    ("GET", "/repos/{owner}/{repo}/branches/{branch}", "/branches/main", None),
    ("GET", "/repos/{owner}/{repo}/tags", "/tags", None),
    ("GET", "/repos/{owner}/{repo}/contents/{path}", "/contents/README.md", None),
    ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission",
     "/collaborators/github-actions[bot]/permission", None),
    ("GET", "/repos/{owner}/{repo}/actions/runs", "/actions/runs", None),
    ("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun", "/actions/runs/{run}/rerun",
     None),
    ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
     "/actions/workflows/go.yml/dispatches", {"ref": "main"}),
    ("GET", "/repos/{owner}/{repo}/releases", "/releases", None),
    ("POST", "/repos/{owner}/{repo}/releases", "/releases", {"tag_name": "v0.2.0"}),
    ("GET", "/repos/{owner}/{repo}/releases/tags/{tag}", "/releases/tags/v0.1.0", None),
    ("GET", "/repos/{owner}/{repo}/releases/{release_id}", "/releases/{release}", None),
    ("PATCH", "/repos/{owner}/{repo}/releases/{release_id}", "/releases/{release}",
     {"body": "notes"}),
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
     "/pulls/{pull}/requested_reviewers", None),
    ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
     "/pulls/{pull}/requested_reviewers", {"reviewers": ["rev"]}),
    ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", "/pulls/{pull}/merge", {}),
]


def _fill(value: Any, scene: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**scene)
    if isinstance(value, dict):
        return {k: _fill(v, scene) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, scene) for v in value]
    return value


def _url(repo: str, template: str, path: str, scene: dict[str, str]) -> str:
    return _fill(path, scene) if not template.startswith("/repos/") \
        else f"/repos/{repo}" + _fill(path, scene)


def test_the_table_covers_every_endpoint_the_sandbox_serves() -> None:
    served = {(route.method, route.template) for route in r.ROUTES}
    assert served == {(m, t) for m, t, _, _ in CALLS}
    # and every repository endpoint has an entry in GitHub's table
    missing = [(m, t) for m, t in served if t.startswith("/repos/")
               and permissions.requirement(m, t) is None]
    assert not missing


def test_each_endpoint_refuses_a_token_without_its_permission_and_allows_one_with_it(
        sb: Sandbox) -> None:
    scene = _scene(sb, PRIVATE)
    nothing = sb.mint_token("ci", kind="github_token", repo=PRIVATE, permissions={})
    for method, template, path, body in CALLS:
        req = permissions.requirement(method, template)
        status, headers, answer = call(sb, method, _url(PRIVATE, template, path, scene),
                                       _fill(body, scene), token=nothing)
        always = req is not None and permissions.allows({"metadata": "read"}, req)
        if (req is None and template != "/user") or always:
            # no repository, or metadata: read, which every token has
            assert status < 400, (method, template, status, answer)
            continue
        assert status == 403, (method, template, status, answer)
        assert answer["message"] == r.NO_ACCESS
        assert answer["status"] == "403"
        if req is not None:
            assert headers["X-Accepted-GitHub-Permissions"] == req.header()
            assert answer["documentation_url"] == req.doc_url
    for method, template, path, body in CALLS:
        req = permissions.requirement(method, template)
        if req is None:
            continue
        for name, level in req.alternatives:
            token = sb.mint_token("ci", kind="github_token", repo=PRIVATE,
                                  permissions={name: level})
            status, _, answer = call(sb, method, _url(PRIVATE, template, path, scene),
                                     _fill(body, scene), token=token)
            if template.endswith("/merge") and method == "GET":
                assert status == 404  # GitHub's answer for "not merged (yet)"
                continue
            # the first permission set does the work; the others may meet what it left
            # (a label that now exists, a comment deleted), but none is refused
            assert status not in (401, 403), (method, template, name, status, answer)
            if (name, level) == req.alternatives[0]:
                assert status < 400, (method, template, name, status, answer)


def test_reads_of_a_public_repository_need_no_permission(sb: Sandbox) -> None:
    scene = _scene(sb, PUBLIC)
    nothing = sb.mint_token("ci", kind="github_token", repo=PUBLIC, permissions={})
    for method, template, path, body in CALLS:
        if method != "GET" or template == "/user":
            continue
        status, _, answer = call(sb, method, _url(PUBLIC, template, path, scene), body,
                                 token=nothing)
        unmerged = template.endswith("/merge")  # GitHub's 404: not merged
        assert status < 400 or (unmerged and status == 404), (template, status, answer)
    # but writes do
    status, _, answer = call(sb, "POST", f"/repos/{PUBLIC}/issues", {"title": "x"},
                             token=nothing)
    assert (status, answer["message"]) == (403, r.NO_ACCESS)


def test_a_github_token_is_scoped_to_its_repository(sb: Sandbox) -> None:
    token = sb.mint_token("ci", kind="github_token", repo=PUBLIC, permissions="write-all")
    assert call(sb, "GET", f"/repos/{PRIVATE}", token=token)[0] == 404
    assert call(sb, "POST", f"/repos/{PRIVATE}/issues", {"title": "x"}, token=token)[0] == 404
    status, _, me = call(sb, "GET", f"/repos/{PUBLIC}/issues", token=token)
    assert status == 200
    status, _, issue = call(sb, "POST", f"/repos/{PUBLIC}/issues", {"title": "x"}, token=token)
    assert (status, issue["user"]["login"]) == (201, "github-actions[bot]")


def test_a_job_without_a_permissions_block_gets_githubs_restricted_default(
        sb: Sandbox) -> None:
    token = sb.mint_token("ci", kind="github_token", repo=PRIVATE)
    assert call(sb, "GET", f"/repos/{PRIVATE}/contents/README.md", token=token)[0] == 200
    status, _, answer = call(sb, "POST", f"/repos/{PRIVATE}/issues", {"title": "x"},
                             token=token)
    assert (status, answer["message"]) == (403, r.NO_ACCESS)


def test_workflow_spelling_and_defaults() -> None:
    assert permissions.normalize({"pull-requests": "write", "contents": "read",
                                  "issues": "none"}) == {"pull_requests": "write",
                                                         "contents": "read"}
    assert permissions.normalize("read-all")["contents"] == "read"
    assert permissions.normalize("write-all")["statuses"] == "write"
    assert permissions.normalize({}) == {}
    with pytest.raises(ValueError, match="unknown permission"):
        permissions.normalize({"contnets": "read"})
    with pytest.raises(ValueError, match="level"):
        permissions.normalize({"contents": "admin"})


def test_app_tokens_are_the_apps_permissions_narrowed(sb: Sandbox) -> None:
    sb.create_app("improve-bot", {"contents": "write", "pull-requests": "write",
                                  "issues": "write"})
    full = sb.mint_token("improve-bot", kind="app")
    status, _, issue = call(sb, "POST", f"/repos/{PRIVATE}/issues", {"title": "x"}, token=full)
    assert (status, issue["user"]["login"], issue["user"]["type"]) == \
        (201, "improve-bot[bot]", "Bot")
    narrow = sb.mint_token("improve-bot", kind="app", repo=PRIVATE,
                           permissions={"contents": "read"})
    status, _, answer = call(sb, "POST", f"/repos/{PRIVATE}/issues", {"title": "x"},
                             token=narrow)
    assert (status, answer["message"]) == (403, r.NO_ACCESS)
    assert call(sb, "GET", f"/repos/{PRIVATE}/contents/README.md", token=narrow)[0] == 200
    # an App token is no person: it has no user account to read
    assert call(sb, "GET", "/user", token=full)[0] == 403
    with pytest.raises(ValueError, match="not granted"):
        sb.mint_token("improve-bot", kind="app", permissions={"statuses": "write"})
    assert sb.token_info(narrow).kind == "app"  # type: ignore[union-attr]


def test_git_needs_contents_read_to_clone_a_private_repo_and_write_to_push(
        sb: Sandbox, tmp_path: Path) -> None:
    nothing = sb.mint_token("ci", kind="github_token", repo=PRIVATE, permissions={})
    done = run_git(tmp_path, "clone", "-q", sb.git_url(PRIVATE, nothing), "no", check=False)
    assert done.returncode != 0 and "not found" in done.stderr.lower()
    read = sb.mint_token("ci", kind="github_token", repo=PRIVATE,
                         permissions={"contents": "read"})
    work = tmp_path / "w"
    run_git(tmp_path, "clone", "-q", sb.git_url(PRIVATE, read), str(work))
    (work / "x.txt").write_text("x\n")
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", "x")
    pushed = run_git(work, "push", "-q", "origin", "HEAD:refs/heads/x", check=False)
    assert pushed.returncode != 0
    assert f"Permission to {PRIVATE}.git denied to github-actions[bot]" in pushed.stderr
    write = sb.mint_token("ci", kind="github_token", repo=PRIVATE,
                          permissions={"contents": "write"})
    run_git(work, "push", "-q", sb.git_url(PRIVATE, write), "HEAD:refs/heads/x")


def test_pinning_an_issue_needs_issues_write(sb: Sandbox) -> None:
    issue = call(sb, "POST", f"/repos/{PRIVATE}/issues", {"title": "dash"})[2]
    query = {"query": "mutation($input: PinIssueInput!) { pinIssue(input: $input) "
                      "{ issue { id } } }",
             "variables": {"input": {"issueId": issue["node_id"]}}}
    url = sb.server_url + "/api/graphql"

    def pin(token: str) -> dict[str, Any]:
        req = urllib.request.Request(url, json.dumps(query).encode(), method="POST",
                                     headers={"Authorization": f"bearer {token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req) as resp:
            return json.loads(resp.read())

    read = sb.mint_token("ci", kind="github_token", repo=PRIVATE, permissions={"issues": "read"})
    assert "errors" in pin(read)
    write = sb.mint_token("ci", kind="github_token", repo=PRIVATE,
                          permissions={"issues": "write"})
    assert pin(write)["data"]["pinIssue"]["issue"]["id"] == issue["node_id"]


def test_only_an_app_creates_or_updates_a_check_run(sb: Sandbox) -> None:
    # GitHub: the Checks API's writes are a GitHub App's (an installation token, a job's
    # GITHUB_TOKEN); a person's token, even an admin's, gets 403 "You must authenticate via a
    # GitHub App."
    main = call(sb, "GET", f"/repos/{PRIVATE}/branches/main")[2]["commit"]["sha"]
    body = {"name": "n", "head_sha": main}
    status, _, answer = call(sb, "POST", f"/repos/{PRIVATE}/check-runs", body)
    assert (status, answer["message"]) == (403, "You must authenticate via a GitHub App.")
    app = sb.mint_token("ci", kind="github_token", repo=PRIVATE, permissions={"checks": "write"})
    status, _, check = call(sb, "POST", f"/repos/{PRIVATE}/check-runs", body, token=app)
    assert status == 201
    path = f"/repos/{PRIVATE}/check-runs/{check['id']}"
    status, _, answer = call(sb, "PATCH", path, {"status": "in_progress"})
    assert (status, answer["message"]) == (403, "You must authenticate via a GitHub App.")
    assert call(sb, "PATCH", path, {"status": "in_progress"}, token=app)[0] == 200
