"""The sandbox's Releases and review-request endpoints refuse what GitHub refuses: a second
release of a tag, a draft found by its tag, a reader's write, a review asked of the author or
of someone who is no collaborator. (Permissions by token: test_sandbox_permissions.py; shapes:
every answer here is validated against GitHub's description by the fixture.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sandbox import Sandbox
from bot.sandbox import routes as r
from tests.helpers.sandbox import call, clone, push_change, sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox, tmp_path: Path) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n"})
    push_change(clone(sandbox, REPO, tmp_path / "w"), "feature", {"a.txt": "a\n"})
    return sandbox


def test_a_release_makes_its_missing_tag_and_is_found_by_it_once(sb: Sandbox) -> None:
    status, headers, made = call(sb, "POST", f"/repos/{REPO}/releases",
                                 {"tag_name": "v1.0.0", "name": "v1.0.0", "body": "notes"})
    assert status == 201 and headers["Location"].endswith(f"/releases/{made['id']}")
    # GitHub tags the default branch when the tag does not exist yet
    main = sb.repo_state(REPO)["refs"]["refs/heads/main"]
    assert sb.repo_state(REPO)["tags"] == {"v1.0.0": main}
    assert call(sb, "GET", f"/repos/{REPO}/releases/tags/v1.0.0")[2]["id"] == made["id"]
    status, _, again = call(sb, "POST", f"/repos/{REPO}/releases", {"tag_name": "v1.0.0"})
    assert status == 422
    assert again["errors"] == [{"resource": "Release", "field": "tag_name",
                                "code": "already_exists"}]
    status, _, edited = call(sb, "PATCH", f"/repos/{REPO}/releases/{made['id']}",
                             {"name": "v1.0.0 [ROLLED BACK]"})
    assert status == 200 and (edited["name"], edited["body"]) == ("v1.0.0 [ROLLED BACK]", "notes")
    assert call(sb, "POST", f"/repos/{REPO}/releases",
                {"tag_name": "v2", "target_commitish": "nowhere"})[0] == 422


def test_drafts_are_seen_by_pushers_only_and_never_by_tag(sb: Sandbox) -> None:
    reader = sb.add_user("rita", "read", repos=[REPO])
    draft = call(sb, "POST", f"/repos/{REPO}/releases", {"tag_name": "v3", "draft": True})[2]
    assert draft["published_at"] is None and "v3" not in sb.repo_state(REPO)["tags"]
    assert call(sb, "GET", f"/repos/{REPO}/releases/tags/v3")[0] == 404
    assert [x["id"] for x in call(sb, "GET", f"/repos/{REPO}/releases")[2]] == [draft["id"]]
    assert call(sb, "GET", f"/repos/{REPO}/releases", token=reader)[2] == []
    assert call(sb, "GET", f"/repos/{REPO}/releases/{draft['id']}", token=reader)[0] == 404
    status, _, refused = call(sb, "POST", f"/repos/{REPO}/releases", {"tag_name": "v4"},
                              token=reader)
    assert (status, refused["message"]) == (403, r.PAT_NO_ACCESS)


def test_reviews_are_asked_of_collaborators_other_than_the_author(sb: Sandbox) -> None:
    alice = sb.add_user("alice", "write", repos=[REPO])
    sb.add_user("bob", "write", repos=[REPO])
    sb.add_user("stranger", "read", repos=["acme/other"])
    pr = call(sb, "POST", f"/repos/{REPO}/pulls",
              {"title": "t", "head": "feature", "base": "main"}, token=alice)[2]
    url = f"/repos/{REPO}/pulls/{pr['number']}/requested_reviewers"
    assert call(sb, "GET", url)[2] == {"users": [], "teams": []}
    status, _, answer = call(sb, "POST", url, {"reviewers": ["alice"]})
    assert (status, answer["message"]) == (422, r.AUTHOR_REVIEW)
    status, _, answer = call(sb, "POST", url, {"reviewers": ["stranger"]})
    assert (status, answer["message"]) == (422, r.NOT_COLLABORATOR.format(repo=REPO))
    assert call(sb, "POST", url, {"reviewers": ["bob"], "team_reviewers": ["core"]})[0] == 422
    status, _, simple = call(sb, "POST", url, {"reviewers": ["bob"]})
    assert status == 201 and [u["login"] for u in simple["requested_reviewers"]] == ["bob"]
    call(sb, "POST", url, {"reviewers": ["bob"]})  # asked again: still once
    assert [u["login"] for u in call(sb, "GET", url)[2]["users"]] == ["bob"]
    full = call(sb, "GET", f"/repos/{REPO}/pulls/{pr['number']}")[2]
    assert [u["login"] for u in full["requested_reviewers"]] == ["bob"]
