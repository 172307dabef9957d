"""The sandbox's REST endpoints over plain HTTP: happy paths and GitHub's errors."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from bot.adapters.github_forge import GitHubForge
from bot.core.forge import NotMergeable
from bot.sandbox import Sandbox
from bot.sandbox import routes as r
from tests.helpers.sandbox import call, clone, push_change, run_git, sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n", "config/router.yaml": "threshold: 1\n"})
    return sandbox


def open_pr(sb: Sandbox, tmp_path: Path, branch: str = "improve/x",
            files: dict[str, str] | None = None) -> dict:
    work = clone(sb, REPO, tmp_path / branch.replace("/", "-"))
    push_change(work, branch, files or {"config/router.yaml": "threshold: 2\n"})
    status, _, pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                         {"title": "Tune", "head": branch, "base": "main", "body": "why"})
    assert status == 201, pr
    return pr


def test_user_repo_and_rate_limit(sb: Sandbox) -> None:
    status, headers, me = call(sb, "GET", "/user")
    assert (status, me["login"], me["type"]) == (200, "github-actions[bot]", "Bot")
    assert headers["X-RateLimit-Limit"] == "5000"
    assert int(headers["X-RateLimit-Remaining"]) < 5000
    status, _, repo = call(sb, "GET", f"/repos/{REPO}")
    assert (status, repo["full_name"], repo["default_branch"]) == (200, REPO, "main")
    # every url points at the sandbox, never at github.com (PyGithub asserts this)
    assert repo["url"] == f"{sb.api_url}/repos/{REPO}"
    assert "api.github.com" not in str(repo)
    status, _, limits = call(sb, "GET", "/rate_limit")
    assert status == 200 and limits["resources"]["core"]["limit"] == 5000


@pytest.mark.parametrize(
    ("token", "path", "status", "message"),
    [
        ("nope", "/user", 401, "Bad credentials"),
        (None, "/user", 401, r.REQUIRES_AUTH),
        ("default", "/repos/acme/missing", 404, r.NOT_FOUND),
        ("default", "/nowhere", 404, r.NOT_FOUND),
    ],
)
def test_errors_are_shaped_like_github(sb: Sandbox, token: str | None, path: str, status: int,
                                       message: str) -> None:
    got, _, body = call(sb, "GET", path, token=token)
    assert got == status
    assert body["message"] == message
    assert body["documentation_url"].startswith("https://docs.github.com/")


def test_pull_create_list_get_update(sb: Sandbox, tmp_path: Path) -> None:
    pr = open_pr(sb, tmp_path)
    assert pr["number"] == 1 and pr["state"] == "open" and pr["head"]["ref"] == "improve/x"
    assert pr["mergeable"] is True and pr["changed_files"] == 1
    assert re.fullmatch(r"[0-9a-f]{40}", pr["head"]["sha"])
    status, headers, listed = call(sb, "GET", f"/repos/{REPO}/pulls?head=acme:improve/x")
    assert status == 200 and [p["number"] for p in listed] == [1]
    assert call(sb, "GET", f"/repos/{REPO}/pulls?head=acme:other")[2] == []
    assert call(sb, "GET", f"/repos/{REPO}/pulls?state=closed")[2] == []
    status, _, updated = call(sb, "PATCH", f"/repos/{REPO}/pulls/1",
                              {"title": "Tune more", "state": "closed"})
    assert (status, updated["title"], updated["state"]) == (200, "Tune more", "closed")
    assert [p["number"] for p in call(sb, "GET", f"/repos/{REPO}/pulls?state=all")[2]] == [1]
    status, _, files = call(sb, "GET", f"/repos/{REPO}/pulls/1/files")
    assert [(f["filename"], f["status"], f["additions"]) for f in files] == [
        ("config/router.yaml", "modified", 1)]
    assert "+threshold: 2" in files[0]["patch"]
    status, _, commits = call(sb, "GET", f"/repos/{REPO}/pulls/1/commits")
    assert [c["sha"] for c in commits] == [pr["head"]["sha"]]


def test_pull_errors(sb: Sandbox, tmp_path: Path) -> None:
    open_pr(sb, tmp_path)
    status, _, body = call(sb, "POST", f"/repos/{REPO}/pulls",
                           {"title": "Again", "head": "improve/x", "base": "main"})
    assert status == 422 and "already exists" in body["errors"][0]["message"]
    status, _, body = call(sb, "POST", f"/repos/{REPO}/pulls",
                           {"title": "Ghost", "head": "no-such-branch", "base": "main"})
    assert status == 422 and body["errors"][0]["field"] == "head"
    status, _, body = call(sb, "POST", f"/repos/{REPO}/pulls",
                           {"title": "Empty", "head": "main", "base": "improve/x"})
    assert status == 422 and "No commits between" in body["errors"][0]["message"]
    assert call(sb, "GET", f"/repos/{REPO}/pulls/99")[0] == 404


def test_issues_comments_pagination_and_reactions(sb: Sandbox, tmp_path: Path) -> None:
    status, _, issue = call(sb, "POST", f"/repos/{REPO}/issues",
                            {"title": "Dashboard", "body": "x", "labels": ["dashboard"]})
    assert status == 201 and "pull_request" not in issue
    assert [lbl["name"] for lbl in issue["labels"]] == ["dashboard"]
    pr = open_pr(sb, tmp_path)
    status, _, as_issue = call(sb, "GET", f"/repos/{REPO}/issues/{pr['number']}")
    assert as_issue["pull_request"]["url"].endswith(f"/pulls/{pr['number']}")
    ids = []
    for i in range(5):
        status, _, c = call(sb, "POST", f"/repos/{REPO}/issues/2/comments", {"body": f"c{i}"})
        assert status == 201
        ids.append(c["id"])
    status, headers, page = call(sb, "GET", f"/repos/{REPO}/issues/2/comments?per_page=2")
    assert [c["body"] for c in page] == ["c0", "c1"]
    assert 'rel="next"' in headers["Link"] and "page=3" in headers["Link"]
    _, headers, last = call(sb, "GET", f"/repos/{REPO}/issues/2/comments?per_page=2&page=3")
    assert [c["body"] for c in last] == ["c4"] and 'rel="prev"' in headers["Link"]
    status, _, edited = call(sb, "PATCH", f"/repos/{REPO}/issues/comments/{ids[0]}",
                             {"body": "edited"})
    assert (status, edited["body"]) == (200, "edited")
    assert call(sb, "DELETE", f"/repos/{REPO}/issues/comments/{ids[1]}")[0] == 204
    assert call(sb, "GET", f"/repos/{REPO}/issues/comments/{ids[1]}")[0] == 404
    url = f"/repos/{REPO}/issues/comments/{ids[0]}/reactions"
    assert call(sb, "POST", url, {"content": "eyes"})[0] == 201
    assert call(sb, "POST", url, {"content": "eyes"})[0] == 200  # the same reaction again
    status, _, reactions = call(sb, "GET", url)
    assert [x["content"] for x in reactions] == ["eyes"]
    state = sb.repo_state(REPO)
    assert state["comments"][0]["reactions"][0]["content"] == "eyes"
    assert [p["number"] for p in state["pulls"]] == [2] and state["issues"][0]["number"] == 1


def test_labels(sb: Sandbox) -> None:
    status, _, lbl = call(sb, "POST", f"/repos/{REPO}/labels",
                          {"name": "improvement", "color": "0e8a16"})
    assert (status, lbl["name"]) == (201, "improvement")
    assert call(sb, "POST", f"/repos/{REPO}/labels", {"name": "improvement"})[0] == 422
    assert call(sb, "GET", f"/repos/{REPO}/labels/improvement")[0] == 200
    call(sb, "POST", f"/repos/{REPO}/issues", {"title": "t"})
    status, _, labels = call(sb, "POST", f"/repos/{REPO}/issues/1/labels",
                             {"labels": ["improvement", "risk:low"]})
    assert status == 200 and [x["name"] for x in labels] == ["improvement", "risk:low"]
    status, _, labels = call(sb, "DELETE", f"/repos/{REPO}/issues/1/labels/risk:low")
    assert status == 200 and [x["name"] for x in labels] == ["improvement"]
    status, _, body = call(sb, "DELETE", f"/repos/{REPO}/issues/1/labels/absent")
    assert status == 404 and body["message"] == "Label does not exist"
    status, _, issues = call(sb, "GET", f"/repos/{REPO}/issues?labels=improvement")
    assert [i["number"] for i in issues] == [1]


@pytest.mark.parametrize(
    ("states", "combined"),
    [
        ([], "pending"),
        (["success"], "success"),
        (["success", "pending"], "pending"),
        (["pending", "failure"], "failure"),
        (["success", "error"], "failure"),
    ],
)
def test_combined_status_rules(sb: Sandbox, states: list[str], combined: str) -> None:
    sha = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    for i, state in enumerate(states):
        status, _, s = call(sb, "POST", f"/repos/{REPO}/statuses/{sha}",
                            {"state": state, "context": f"ctx{i}", "description": "d"})
        assert status == 201 and s["state"] == state
    status, _, got = call(sb, "GET", f"/repos/{REPO}/commits/main/status")
    assert (status, got["state"], got["total_count"]) == (200, combined, len(states))


def test_status_replaces_same_context_and_rejects_unknown_sha(sb: Sandbox) -> None:
    sha = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    call(sb, "POST", f"/repos/{REPO}/statuses/{sha}", {"state": "failure", "context": "gate"})
    call(sb, "POST", f"/repos/{REPO}/statuses/{sha}", {"state": "success", "context": "gate"})
    got = call(sb, "GET", f"/repos/{REPO}/commits/{sha}/status")[2]
    assert (got["state"], got["total_count"]) == ("success", 1)
    assert len(call(sb, "GET", f"/repos/{REPO}/commits/{sha}/statuses")[2]) == 2
    status, _, body = call(sb, "POST", f"/repos/{REPO}/statuses/{'0' * 40}",
                           {"state": "success"})
    assert status == 422 and body["message"].startswith("No commit found")


def test_check_runs(sb: Sandbox) -> None:
    sha = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    # an App's token (a job's GITHUB_TOKEN): GitHub refuses a person's on these writes
    app = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"checks": "write"})
    status, _, run = call(sb, "POST", f"/repos/{REPO}/check-runs",
                          {"name": "improve", "head_sha": sha, "status": "in_progress"},
                          token=app)
    assert (status, run["status"], run["conclusion"]) == (201, "in_progress", None)
    status, _, run = call(sb, "PATCH", f"/repos/{REPO}/check-runs/{run['id']}",
                          {"conclusion": "success", "output": {"title": "ok", "summary": "s"}},
                          token=app)
    assert (status, run["status"], run["conclusion"]) == (200, "completed", "success")
    status, _, listed = call(sb, "GET", f"/repos/{REPO}/commits/{sha}/check-runs")
    assert listed["total_count"] == 1 and listed["check_runs"][0]["output"]["title"] == "ok"


def test_refs_branches_tags_contents_commits(sb: Sandbox, tmp_path: Path) -> None:
    main = call(sb, "GET", f"/repos/{REPO}/git/ref/heads/main")[2]["object"]["sha"]
    status, _, ref = call(sb, "POST", f"/repos/{REPO}/git/refs",
                          {"ref": "refs/heads/improve-data", "sha": main})
    assert status == 201 and ref["ref"] == "refs/heads/improve-data"
    assert call(sb, "POST", f"/repos/{REPO}/git/refs",
                {"ref": "refs/heads/improve-data", "sha": main})[2]["message"] == r.REF_EXISTS
    work = clone(sb, REPO, tmp_path / "w")
    new = push_change(work, "feature", {"a.txt": "a\n"})
    # moving main to an unrelated-side commit is fine (fast-forward); back again is not
    status, _, moved = call(sb, "PATCH", f"/repos/{REPO}/git/refs/heads/main", {"sha": new})
    assert status == 200 and moved["object"]["sha"] == new
    status, _, body = call(sb, "PATCH", f"/repos/{REPO}/git/refs/heads/main", {"sha": main})
    assert status == 422 and body["message"] == r.NOT_FAST_FORWARD
    assert call(sb, "PATCH", f"/repos/{REPO}/git/refs/heads/main",
                {"sha": main, "force": True})[0] == 200
    names = [x["ref"] for x in call(sb, "GET", f"/repos/{REPO}/git/matching-refs/heads/")[2]]
    assert names == ["refs/heads/feature", "refs/heads/improve-data", "refs/heads/main"]
    assert call(sb, "DELETE", f"/repos/{REPO}/git/refs/heads/improve-data")[0] == 204
    assert call(sb, "DELETE", f"/repos/{REPO}/git/refs/heads/improve-data")[0] == 422
    assert call(sb, "GET", f"/repos/{REPO}/git/ref/heads/improve-data")[0] == 404
    branches = [b["name"] for b in call(sb, "GET", f"/repos/{REPO}/branches")[2]]
    assert branches == ["feature", "main"]
    assert call(sb, "GET", f"/repos/{REPO}/branches/nope")[0] == 404
    call(sb, "POST", f"/repos/{REPO}/git/refs", {"ref": "refs/tags/v1.0.0", "sha": main})
    tags = call(sb, "GET", f"/repos/{REPO}/tags")[2]
    assert [(t["name"], t["commit"]["sha"]) for t in tags] == [("v1.0.0", main)]
    status, _, content = call(sb, "GET", f"/repos/{REPO}/contents/config/router.yaml")
    assert status == 200 and base64.b64decode(content["content"]) == b"threshold: 1\n"
    status, _, listing = call(sb, "GET", f"/repos/{REPO}/contents/config?ref=main")
    assert [e["name"] for e in listing] == ["router.yaml"]
    assert call(sb, "GET", f"/repos/{REPO}/contents/a.txt?ref=feature")[0] == 200
    assert call(sb, "GET", f"/repos/{REPO}/contents/nope.txt")[0] == 404
    status, _, commit = call(sb, "GET", f"/repos/{REPO}/commits/feature")
    assert commit["sha"] == new and [f["filename"] for f in commit["files"]] == ["a.txt"]
    status, _, cmp = call(sb, "GET", f"/repos/{REPO}/compare/main...feature")
    assert (cmp["status"], cmp["ahead_by"], [f["filename"] for f in cmp["files"]]) == (
        "ahead", 1, ["a.txt"])


def test_collaborator_permission(sb: Sandbox) -> None:
    sb.add_user("alice", "maintain", repos=[REPO])
    sb.add_user("bob", "read", repos=["other/repo"])
    url = f"/repos/{REPO}/collaborators/{{}}/permission"
    got = call(sb, "GET", url.format("alice"))[2]
    assert (got["permission"], got["role_name"]) == ("write", "maintain")
    got = call(sb, "GET", url.format("bob"))[2]
    assert (got["permission"], got["role_name"]) == ("read", "read")  # public repository
    assert call(sb, "GET", url.format("github-actions[bot]"))[2]["permission"] == "write"
    assert call(sb, "GET", url.format("nobody"))[0] == 404


def test_read_only_user_cannot_write(sb: Sandbox) -> None:
    token = sb.add_user("reader", "read")
    status, _, body = call(sb, "POST", f"/repos/{REPO}/labels", {"name": "x"}, token=token)
    assert status == 403 and body["message"] == r.PAT_NO_ACCESS
    # but may comment, as anyone may on a public repository
    call(sb, "POST", f"/repos/{REPO}/issues", {"title": "t"})
    assert call(sb, "POST", f"/repos/{REPO}/issues/1/comments", {"body": "hi"},
                token=token)[0] == 201


def test_private_repository_is_hidden(sb: Sandbox) -> None:
    sb.create_repo("acme/secret", private=True)
    token = sb.add_user("outsider", "read", repos=[REPO])
    assert call(sb, "GET", "/repos/acme/secret", token=token)[0] == 404
    assert call(sb, "GET", "/repos/acme/secret")[0] == 200


def test_reopening_a_pull_request_follows_its_head_or_is_refused_as_github_refuses(
    sb: Sandbox, tmp_path: Path
) -> None:
    pr = open_pr(sb, tmp_path, "improve/reopen")
    n = pr["number"]
    work = tmp_path / "improve-reopen"

    def state(value: str, via: str = "issues") -> tuple[int, dict]:
        status, _, answer = call(sb, "PATCH", f"/repos/{REPO}/{via}/{n}", {"state": value})
        return status, answer

    assert state("closed")[0] == 200
    # new commits on the head branch while closed: reopened (through /issues too), the pull
    # request's head is the branch's new tip, as on GitHub
    moved = push_change(work, "improve/reopen", {"b.txt": "b\n"}, new_branch=False)
    assert state("open")[0] == 200
    assert call(sb, "GET", f"/repos/{REPO}/pulls/{n}")[2]["head"]["sha"] == moved
    # a force-pushed head, then a deleted one: GitHub refuses to reopen (422, its words)
    assert state("closed", "pulls")[0] == 200
    run_git(work, "commit", "-q", "--amend", "-m", "rewritten")
    run_git(work, "push", "-q", "-f", "origin", "HEAD:refs/heads/improve/reopen")
    for via in ("issues", "pulls"):
        status, answer = state("open", via)
        assert (status, answer["errors"][0]["message"]) == (422, (
            "state cannot be changed. The improve/reopen branch was force-pushed or recreated."))
    run_git(work, "push", "-q", "origin", ":refs/heads/improve/reopen")
    status, answer = state("open")
    assert (status, answer["errors"][0]["message"]) == (
        422, "state cannot be changed. The improve/reopen branch has been deleted.")
    assert call(sb, "GET", f"/repos/{REPO}/pulls/{n}")[2]["state"] == "closed"


def test_the_merge_queue_merges_a_group_whose_required_checks_pass_and_drops_a_failing_one(
    sb: Sandbox, tmp_path: Path
) -> None:
    from bot.sandbox.merge_queue import QueueError

    sb.add_user("maya", "write", repos=[REPO])
    sb.add_user("rita", "read", repos=[REPO])
    ci = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"statuses": "write"})

    def status(sha: str, state: str) -> None:
        assert call(sb, "POST", f"/repos/{REPO}/statuses/{sha}",
                    {"state": state, "context": "improve/gate"}, token=ci)[0] == 201

    one, two = open_pr(sb, tmp_path, "improve/one"), open_pr(sb, tmp_path, "improve/two",
                                                              {"b.txt": "b\n"})
    # main requires the merge queue: GitHub refuses a direct merge, and the bot's forge reads
    # the refusal as "not mergeable" with GitHub's words (the bot tells the PR why)
    sb.require_merge_queue(REPO)
    refused, _, answer = call(sb, "PUT", f"/repos/{REPO}/pulls/{one['number']}/merge", {})
    assert (refused, answer["message"]) == (405, r.QUEUE_REQUIRED)
    with pytest.raises(NotMergeable, match="Changes must be made through the merge queue"):
        GitHubForge(REPO, sb.token, api_url=sb.api_url).merge_pull(one["number"])
    # GitHub queues a pull request only once its required checks are green, and only for
    # someone who may merge
    with pytest.raises(QueueError, match="not green on its head"):
        sb.enqueue(REPO, one["number"], "maya")
    status(one["head"]["sha"], "success")
    with pytest.raises(QueueError, match="rita may not merge"):
        sb.enqueue(REPO, one["number"], "rita")
    main = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    since = len(sb.deliveries())
    queued = sb.enqueue(REPO, one["number"], "maya")
    (entry,) = sb.merge_queue(REPO)
    assert entry["branch"] == f"gh-readonly-queue/main/pr-{one['number']}-{one['head']['sha']}"
    group = [d for d in sb.deliveries(since) if d.event == "merge_group"]
    assert [(d.action, d.payload["merge_group"]["head_sha"],
             d.payload["merge_group"]["base_sha"]) for d in group] == [
        ("checks_requested", queued, main)]
    # the group's commit: the pull request's head merged into main's tip
    commit = call(sb, "GET", f"/repos/{REPO}/commits/{queued}")[2]
    assert [p["sha"] for p in commit["parents"]] == [main, one["head"]["sha"]]
    status(queued, "pending")
    assert not call(sb, "GET", f"/repos/{REPO}/pulls/{one['number']}")[2]["merged"]
    status(queued, "success")  # the queue merges as the required check turns green
    pr = call(sb, "GET", f"/repos/{REPO}/pulls/{one['number']}")[2]
    assert (pr["merged"], pr["merge_commit_sha"], pr["merged_by"]["login"]) == (
        True, queued, "maya")
    assert call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"] == queued
    assert sb.merge_queue(REPO) == []
    pushed = [(d.payload["ref"], d.payload["deleted"]) for d in sb.deliveries(since)
              if d.event == "push"]
    # the queue's branch created, then deleted as main moves to its commit
    assert pushed == [(f"refs/heads/{entry['branch']}", False),
                      (f"refs/heads/{entry['branch']}", True), ("refs/heads/main", False)]
    # a failing check drops the group: nothing merges, the queue's branch goes
    status(two["head"]["sha"], "success")
    queued = sb.enqueue(REPO, two["number"], "maya")
    status(queued, "failure")
    assert sb.merge_queue(REPO) == []
    assert not call(sb, "GET", f"/repos/{REPO}/pulls/{two['number']}")[2]["merged"]
    assert call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"] == pr[
        "merge_commit_sha"]


def test_a_push_to_its_head_or_closing_it_takes_a_pull_request_out_of_the_merge_queue(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.add_user("maya", "write", repos=[REPO])
    ci = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"statuses": "write"})

    def status(sha: str, state: str) -> None:
        assert call(sb, "POST", f"/repos/{REPO}/statuses/{sha}",
                    {"state": state, "context": "improve/gate"}, token=ci)[0] == 201

    def branches() -> set[str]:
        return {b["name"] for b in call(sb, "GET", f"/repos/{REPO}/branches")[2]}

    issue = call(sb, "POST", f"/repos/{REPO}/issues", {"title": "slow"})[2]
    one = open_pr(sb, tmp_path, "improve/one")
    two = open_pr(sb, tmp_path, "improve/two", {"b.txt": "b\n"})
    call(sb, "PATCH", f"/repos/{REPO}/pulls/{two['number']}",
         {"body": f"Closes #{issue['number']}"})
    sb.require_merge_queue(REPO)
    main = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    # a new commit on the head while queued: GitHub removes the pull request from the queue
    status(one["head"]["sha"], "success")
    queued = sb.enqueue(REPO, one["number"], "maya")
    (entry,) = sb.merge_queue(REPO)
    push_change(tmp_path / "improve-one", "improve/one", {"c.txt": "c\n"}, new_branch=False)
    assert sb.merge_queue(REPO) == [] and entry["branch"] not in branches()
    status(queued, "success")  # too late: the group is gone, nothing merges at the old head
    assert not call(sb, "GET", f"/repos/{REPO}/pulls/{one['number']}")[2]["merged"]
    assert call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"] == main
    # closed while queued (through /issues too): out of the queue, it stays closed unmerged
    status(two["head"]["sha"], "success")
    queued = sb.enqueue(REPO, two["number"], "maya")
    (entry,) = sb.merge_queue(REPO)
    assert call(sb, "PATCH", f"/repos/{REPO}/issues/{two['number']}",
                {"state": "closed"})[0] == 200
    assert sb.merge_queue(REPO) == [] and entry["branch"] not in branches()
    status(queued, "success")
    pr = call(sb, "GET", f"/repos/{REPO}/pulls/{two['number']}")[2]
    assert (pr["state"], pr["merged"]) == ("closed", False)
    # reopened and queued again, it merges, and closes the issue its body links, as a
    # merge by the API does
    assert call(sb, "PATCH", f"/repos/{REPO}/pulls/{two['number']}", {"state": "open"})[0] == 200
    status(sb.enqueue(REPO, two["number"], "maya"), "success")
    assert call(sb, "GET", f"/repos/{REPO}/pulls/{two['number']}")[2]["merged"]
    linked = call(sb, "GET", f"/repos/{REPO}/issues/{issue['number']}")[2]
    assert (linked["state"], linked["state_reason"]) == ("closed", "completed")
