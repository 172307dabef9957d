"""The forge contract: the same tests against every adapter (the GitHub one on the sandbox)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.forge import (
    Comment,
    Forge,
    NotFound,
    NotMergeable,
    StaleHead,
    Status,
    Unprocessable,
    combine_statuses,
    normalize_permission,
    permission_at_least,
    pick_marked_comment,
)
from bot.core.render import marker
from tests.helpers.forge import ForgeWorld, local_world
from tests.helpers.forge_github import forge_sandbox, github_world

__all__ = ["forge_sandbox"]  # the GitHub world's module-scoped sandbox fixture


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> ForgeWorld:
    if request.param == "local":
        return local_world(tmp_path)
    return github_world(request, tmp_path)


def open_pr(world: ForgeWorld, branch: str = "improve/p1", **kw: object) -> int:
    world.push_branch(branch, {"config/router.yaml": "threshold: 0.6\n"})
    pr = world.forge.create_pull(title=f"Tune {branch}", body="why", head=branch, base="main",
                                 **kw)  # type: ignore[arg-type]
    return pr.number


# --- pure helpers -------------------------------------------------------------------------


def _c(i: int, body: str, author: str = "bot") -> Comment:
    return Comment(id=i, body=body, author=author)


@pytest.mark.parametrize(
    ("comments", "login", "expected"),
    [
        ([_c(1, "x"), _c(2, marker("gate") + "\nhi")], "bot", 2),
        ([_c(1, marker("gate"), author="mallory"), _c(2, marker("gate"))], "bot", 2),
        ([_c(1, marker("gate"), author="mallory")], "bot", None),
        ([_c(1, marker("gate"), author="mallory")], None, 1),
        ([_c(1, marker("other")), _c(2, marker("gate")), _c(3, marker("gate"))], "bot", 2),
    ],
)
def test_pick_marked_comment(comments: list[Comment], login: str | None,
                             expected: int | None) -> None:
    found = pick_marked_comment(comments, "gate", login)
    assert (found.id if found else None) == expected


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], "pending"),
        (["success"], "success"),
        (["success", "pending"], "pending"),
        (["success", "failure"], "failure"),
        (["error", "pending"], "failure"),
    ],
)
def test_combine_statuses(states: list[str], expected: str) -> None:
    statuses = [Status(context=f"c{i}", state=s) for i, s in enumerate(states)]  # type: ignore[arg-type]
    assert combine_statuses("abc", statuses).state == expected


def test_combine_statuses_newest_per_context_wins() -> None:
    newest_first = [Status(context="improve/gate", state="success"),
                    Status(context="improve/gate", state="failure")]
    combined = combine_statuses("abc", newest_first)
    assert combined.state == "success" and len(combined.statuses) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("admin", "admin"), ("push", "write"), ("pull", "read"), (None, "none"), ("???", "none"),
     ("maintain", "maintain")],
)
def test_normalize_permission(raw: str | None, expected: str) -> None:
    assert normalize_permission(raw) == expected


def test_permission_order() -> None:
    assert permission_at_least("maintain", "write")
    assert not permission_at_least("triage", "write")


# --- the contract -------------------------------------------------------------------------


def test_is_a_forge(world: ForgeWorld) -> None:
    assert isinstance(world.forge, Forge)
    assert world.forge.full_name == world.extra.get("full_name", "owner/repo")


def test_repo_info_and_read_file(world: ForgeWorld) -> None:
    f = world.forge
    assert f.repo_info().default_branch == "main"
    assert f.read_file("config/router.yaml") == "threshold: 0.5\n"
    assert f.read_file("no/such/file.yml") is None
    world.push_branch("other", {"config/router.yaml": "threshold: 0.9\n"})
    assert f.read_file("config/router.yaml", ref="other") == "threshold: 0.9\n"
    assert f.read_file("config/router.yaml") == "threshold: 0.5\n"


def test_create_get_and_list_pulls(world: ForgeWorld) -> None:
    f = world.forge
    head_sha = world.push_branch("improve/p1", {"config/router.yaml": "threshold: 0.6\n"})
    pr = f.create_pull(title="Tune", body="body text", head="improve/p1", base="main",
                       labels=["improvement"])
    assert (pr.title, pr.body, pr.state, pr.merged) == ("Tune", "body text", "open", False)
    assert (pr.head_ref, pr.head_sha, pr.base_ref) == ("improve/p1", head_sha, "main")
    assert pr.base_sha == world.branch_sha("main")
    assert pr.labels == ("improvement",)
    got = f.get_pull(pr.number)
    assert got.number == pr.number and got.head_sha == head_sha
    other = open_pr(world, "improve/p2")
    assert [p.number for p in f.list_pulls()] == [other, pr.number]
    assert [p.number for p in f.list_pulls(head="improve/p1")] == [pr.number]
    assert [p.number for p in f.list_pulls(head="owner:improve/p1")] == [pr.number]
    assert [p.number for p in f.list_pulls(label="improvement")] == [pr.number]
    assert f.list_pulls(state="closed") == []
    # a push moves the head the forge reports
    new_head = world.push_branch("improve/p1", {"more.txt": "x\n"})
    assert f.get_pull(pr.number).head_sha == new_head


def test_second_open_pull_for_same_head_is_refused(world: ForgeWorld) -> None:
    open_pr(world, "improve/dup")
    with pytest.raises(Unprocessable):
        world.forge.create_pull(title="again", body="", head="improve/dup", base="main")


def test_missing_pull_is_not_found(world: ForgeWorld) -> None:
    with pytest.raises(NotFound):
        world.forge.get_pull(999)


def test_update_pull_close_and_reopen(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    pr = f.update_pull(n, title="New title", body="New body")
    assert (pr.title, pr.body, pr.state) == ("New title", "New body", "open")
    assert f.update_pull(n, state="closed").state == "closed"
    assert [p.number for p in f.list_pulls(state="closed")] == [n]
    assert f.update_pull(n, state="open").state == "open"


def test_labels_are_created_added_and_removed(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    assert set(f.add_labels(n, ["improvement", "risk:low"])) == {"improvement", "risk:low"}
    f.remove_label(n, "risk:low")
    f.remove_label(n, "never-there")
    assert f.get_pull(n).labels == ("improvement",)


def test_pull_files_against_merge_base(world: ForgeWorld) -> None:
    n = open_pr(world)
    world.push_branch("improve/p1", {"prompts/new.md": "text\n"})
    # main moving on does not add its files to the pull request
    world.push_branch("main", {"README.md": "changed\n"})
    assert sorted(world.forge.pull_files(n)) == ["config/router.yaml", "prompts/new.md"]


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_methods(world: ForgeWorld, method: str) -> None:
    f = world.forge
    n = open_pr(world)
    head = f.get_pull(n).head_sha
    result = f.merge_pull(n, method=method, sha=head)  # type: ignore[arg-type]
    assert result.merged
    main = world.branch_sha("main")
    assert result.sha == main
    pr = f.get_pull(n)
    assert (pr.state, pr.merged, pr.merge_commit_sha) == ("closed", True, main)
    assert f.read_file("config/router.yaml") == "threshold: 0.6\n"
    parents = world.work.run("rev-list", "--parents", "-n", "1", main).split()[1:]
    assert len(parents) == (2 if method == "merge" else 1)


def test_merge_with_stale_sha_is_refused(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    old = f.get_pull(n).head_sha
    world.push_branch("improve/p1", {"late.txt": "pushed after the check\n"})
    before = world.branch_sha("main")
    with pytest.raises(StaleHead):
        f.merge_pull(n, sha=old)
    assert world.branch_sha("main") == before
    assert not f.get_pull(n).merged


def test_merge_conflict_and_closed_are_not_mergeable(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    world.push_branch("main", {"config/router.yaml": "threshold: 0.7\n"})
    with pytest.raises(NotMergeable):
        f.merge_pull(n)
    m = open_pr(world, "improve/p2")
    f.update_pull(m, state="closed")
    with pytest.raises(NotMergeable):
        f.merge_pull(m)


def test_comments_create_list_edit_delete(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    first = f.create_comment(n, "first")
    second = f.create_comment(n, "second")
    assert [c.body for c in f.list_comments(n)] == ["first", "second"]
    assert first.author == second.author != ""
    assert f.edit_comment(first.id, "first, edited").body == "first, edited"
    f.delete_comment(second.id)
    assert [c.body for c in f.list_comments(n)] == ["first, edited"]


def test_comments_page_through(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    for i in range(35):  # more than one page of 30
        f.create_comment(n, f"c{i}")
    assert [c.body for c in f.list_comments(n)] == [f"c{i}" for i in range(35)]


def test_living_comment_is_edited_in_two_calls(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    f.create_comment(n, "unrelated")
    body1 = marker("compare") + "\nfirst verdict"
    created = f.upsert_comment(n, "compare", body1)
    before = f.calls.requests
    body2 = marker("compare") + "\nsecond verdict"
    edited = f.upsert_comment(n, "compare", body2)
    assert f.calls.requests - before == 2
    assert edited.id == created.id
    assert [c.body for c in f.list_comments(n)] == ["unrelated", body2]
    before = f.calls.requests
    assert f.upsert_comment(n, "compare", body2).id == created.id  # unchanged: list only
    assert f.calls.requests - before == 1


def test_a_marker_pasted_by_someone_else_is_not_the_bots(world: ForgeWorld) -> None:
    n = open_pr(world)
    world.as_user("mallory", "read").create_comment(n, marker("compare") + "\nfake")
    assert world.forge.find_comment(n, "compare") is None
    mine = world.forge.upsert_comment(n, "compare", marker("compare") + "\nreal")
    assert world.forge.find_comment(n, "compare") == mine


def test_comment_author_and_type(world: ForgeWorld) -> None:
    n = open_pr(world)
    c = world.as_user("alice", "write").create_comment(n, "/approve")
    got = next(x for x in world.forge.list_comments(n) if x.id == c.id)
    assert (got.author, got.author_type) == ("alice", "User")
    assert got.created_at


def test_reactions_are_idempotent(world: ForgeWorld) -> None:
    f = world.forge
    n = open_pr(world)
    c = world.as_user("alice", "write").create_comment(n, "/approve")
    f.add_reaction(c.id, "eyes")
    f.add_reaction(c.id, "eyes")
    f.add_reaction(c.id, "+1")
    assert [content for content, _ in f.list_reactions(c.id)] == ["+1", "eyes"]


def test_statuses_and_combined_status(world: ForgeWorld) -> None:
    f = world.forge
    sha = world.push_branch("improve/s", {"x.txt": "x\n"})
    assert f.combined_status(sha).state == "pending"
    f.set_status(sha, state="pending", context="improve/gate", description="measuring")
    f.set_status(sha, state="success", context="improve/gate", description="accepted")
    f.set_status(sha, state="success", context="improve/test")
    combined = f.combined_status(sha)
    assert combined.state == "success"
    gate = combined.get("improve/gate")
    assert gate is not None and gate.description == "accepted"
    f.set_status(sha, state="failure", context="improve/test", description="regressed")
    assert f.combined_status(sha).state == "failure"


def test_issues(world: ForgeWorld) -> None:
    f = world.forge
    open_pr(world)  # pull requests are not issues
    dash = f.create_issue(title="Dashboard", body="table", labels=["improve-dashboard"])
    other = f.create_issue(title="Opportunity", body="b", labels=["opportunity"])
    assert [i.number for i in f.list_issues(label="improve-dashboard")] == [dash.number]
    assert {i.number for i in f.list_issues()} == {dash.number, other.number}
    updated = f.update_issue(dash.number, body="new table", labels=["improve-dashboard", "pin"])
    assert updated.body == "new table" and set(updated.labels) == {"improve-dashboard", "pin"}
    f.update_issue(other.number, state="closed")
    assert [i.number for i in f.list_issues(state="closed")] == [other.number]
    assert f.get_issue(dash.number).title == "Dashboard"


def test_permissions(world: ForgeWorld) -> None:
    world.as_user("alice", "write")
    world.as_user("rita", "read")
    assert world.forge.permission("alice") == "write"
    assert world.forge.permission("rita") == "read"
    assert world.forge.permission("stranger") in ("none", "read")


def test_every_operation_is_counted(world: ForgeWorld) -> None:
    f = world.forge
    before = f.calls.operations
    f.repo_info()
    f.read_file("README.md")
    assert f.calls.operations - before == 2
    assert f.calls.requests >= f.calls.operations


def test_pin_issue_on_the_sandbox_and_refusals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The GraphQL pinIssue mutation through PyGithub's GraphQL path: a writer pins, a reader
    is refused with a ForgeError, and the local forge records the pin."""
    import pytest

    from bot.adapters.github_forge import GitHubForge
    from bot.errors import ForgeError
    from bot.sandbox import Sandbox

    with Sandbox.start() as sb:
        sb.create_repo("o/r", {"README.md": "x\n"})
        reader = sb.add_user("reader", permission="read")
        forge = GitHubForge("o/r", sb.token, api_url=sb.api_url)
        issue = forge.create_issue(title="dash", body="b")
        with pytest.raises(ForgeError, match="permission to pin"):
            GitHubForge("o/r", reader, api_url=sb.api_url).pin_issue(issue)
        forge.pin_issue(issue)
        forge.pin_issue(issue)  # again: not an error
        (state,) = sb.repo_state("o/r")["issues"]
        assert state["pinned"] is True
        assert not sb.violations


def test_the_local_forge_records_a_pin(make_repo) -> None:  # type: ignore[no-untyped-def]
    from bot.adapters.local_forge import LocalForge

    forge = LocalForge(make_repo())
    issue = forge.create_issue(title="dash", body="b")
    assert forge.get_issue(issue.number).pinned is False
    forge.pin_issue(issue)
    assert forge.get_issue(issue.number).pinned is True
