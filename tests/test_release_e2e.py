"""COMMIT end to end against the sandbox: merge, release, and what exists afterwards (the commit,
the tag, the entry, the version file, the record, the comment), idempotence, racing releases, a
rejected push, ``release.mode: pr``, and ``python -m bot handle`` as Actions runs it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.release_git import Workspace
from bot.core.config import parse_config
from bot.core.release.changelog import parse_history
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from bot.sandbox.events import actions_env, build_event
from bot.stages.release import Outcome, ReleaseRequest, run_release
from tests.helpers.release import (
    CHANGELOG,
    CONFIG,
    NOW,
    REPO,
    data_file,
    git_bare,
    make_clone,
    merge,
    open_improvement,
    release,
    setup_repo,
    stage_env,
)
from tests.helpers.sandbox import call, run_git, sandbox  # noqa: F401 - the fixture

pytestmark = pytest.mark.usefixtures("sandbox")


def _setup(box: Sandbox, files: dict[str, str] | None = None) -> Sandbox:
    setup_repo(box, files)
    # labels made with a description: the description requires a string there
    for name in ("improvement", "release"):
        call(box, "POST", f"/repos/{REPO}/labels",
             {"name": name, "color": "ededed", "description": name})
    return box


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    return _setup(sandbox)


def _open_two(sb: Sandbox, tmp_path: Path) -> tuple[int, int]:
    """Two improvement PRs on separate files, opened in this order: prop-a (config/a.yaml) and
    prop-b (config/b.yaml)."""
    work = make_clone(sb, tmp_path)
    return (open_improvement(sb, work, "prop-a", "0.60", path="config/a.yaml"),
            open_improvement(sb, work, "prop-b", "0.61", path="config/b.yaml"))


def _diff(sb: Sandbox, a: str, b: str) -> set[str]:
    """The paths that differ between two commits."""
    return set(git_bare(sb, "diff", "--name-only", a, b).splitlines())


# what a release of prop-b alone brings after the release before it: prop-b's change and
# proposal file, the entry and the version
PROP_B_RELEASED = {"config/b.yaml", ".improve/proposals/prop-b.yaml", "CHANGELOG.md",
                   "pyproject.toml"}


def _without(text: str, entry_start: str, entry_end: str) -> str:
    i = text.index(entry_start)
    j = text.index(entry_end, i)
    return text[:i] + text[j:]


def test_merge_then_release_writes_everything_once(sb: Sandbox, tmp_path: Path) -> None:
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a")
    merge_sha = merge(sb, number)

    outcomes = release(sb)
    assert [(o.pr, o.version, o.action) for o in outcomes] == [(number, "1.3.3", "released")]
    commit = outcomes[0].commit
    assert commit is not None

    # the commit on main, its parent the merge, its message and trailers
    assert git_bare(sb, "rev-parse", "main") == commit
    assert git_bare(sb, "rev-parse", f"{commit}^") == merge_sha
    message = git_bare(sb, "log", "-1", "--format=%B", commit)
    assert message.startswith("chore(release): v1.3.3\n")
    assert "Improve-Proposal: prop-a" in message and f"Improve-PR: {number}" in message
    # an annotated tag on it
    assert git_bare(sb, "cat-file", "-t", "v1.3.3") == "tag"
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}") == commit
    # the entry, and the rest of the changelog byte for byte
    log = git_bare(sb, "show", "v1.3.3:CHANGELOG.md") + "\n"
    entry = log[log.index("## [1.3.3]"):log.index("## [1.3.2]")]
    assert "**Proposal**: prop-a (#1)" in entry
    assert "**Improvement**: accuracy +0.031 [+0.012, +0.050], no regression" in entry
    assert "- config/router.yaml: routing.threshold 0.55 -> 0.62 — low-confidence" in entry
    assert "- accuracy: 0.842 -> 0.873 (+3.7%)" in entry
    # the file uses link definitions: the new heading gets one, made from 1.3.2's
    assert "\n[1.3.3]: https://example.com/1.3.3\n[1.3.2]: " in log
    log = log.replace("[1.3.3]: https://example.com/1.3.3\n", "", 1)
    assert _without(log, "## [1.3.3]", "## [1.3.2]") == CHANGELOG
    # the version file, nothing else in it changed
    assert git_bare(sb, "show", "v1.3.3:pyproject.toml") == \
        '[project]\nname = "app"\nversion = "1.3.3"  # kept'
    # the record on the data branch
    record = data_file(sb, "releases/v1.3.3.json")
    assert (record["version"], record["pr"], record["release_commit"]) == ("1.3.3", number, commit)
    assert record["proposal"]["id"] == "prop-a" and record["monitor"]["state"] == "watching"
    assert record["comparison"]["details"]["decision"] == "accept"
    # the comment
    comments = [c for c in sb.repo_state(REPO)["comments"] if c["issue_number"] == number]
    released = [c for c in comments if "<!-- improve:released -->" in c["body"]]
    assert len(released) == 1 and "Released **v1.3.3**" in released[0]["body"]
    # the GitHub Release of the tag, the entry as its notes (as release-please publishes them)
    (page,) = call(sb, "GET", f"/repos/{REPO}/releases")[2]
    assert (page["tag_name"], page["name"], page["draft"]) == ("v1.3.3", "v1.3.3", False)
    assert page["body"] == entry.strip("\n") + "\n"
    assert page["author"]["login"] == "github-actions[bot]"

    # a second run changes nothing: no commit, tag, entry, comment, record, API write
    before_refs = sb.repo_state(REPO)["refs"], sb.repo_state(REPO)["tags"]
    mark = len(sb.requests)
    assert release(sb) == []
    assert (sb.repo_state(REPO)["refs"], sb.repo_state(REPO)["tags"]) == before_refs
    writes = [r for r in sb.requests[mark:] if r.kind == "api" and r.method != "GET"]
    assert writes == []
    assert len(sb.repo_state(REPO)["comments"]) == len(comments) + 0


def test_two_merges_one_run_in_merge_order_and_dry_run(sb: Sandbox, tmp_path: Path) -> None:
    work = make_clone(sb, tmp_path)
    first = open_improvement(sb, work, "prop-a", "0.60", ptype="prompt_edit",
                             path="config/a.yaml")
    second = open_improvement(sb, work, "prop-b", "0.61", path="config/b.yaml")
    # merged in the other order than opened: merge order decides
    merge(sb, second)
    merge(sb, first, method="squash")

    out = io.StringIO()
    planned = run_release(stage_env(sb, out=out), ReleaseRequest(dry_run=True))
    assert [(o.pr, o.version, o.action) for o in planned] == [
        (second, "1.3.3", "planned"), (first, "1.4.0", "planned")]
    assert "would release v1.3.3" in out.getvalue() and "## [1.4.0] - 2026-11-21" in \
        out.getvalue()
    assert sb.repo_state(REPO)["tags"] == {}

    done = release(sb)
    assert [(o.pr, o.version) for o in done] == [(second, "1.3.3"), (first, "1.4.0")]
    history = parse_history(git_bare(sb, "show", "main:CHANGELOG.md"))
    assert [(h.version, h.pr) for h in history] == [("1.4.0", first), ("1.3.3", second),
                                                    ("1.3.2", None)]
    assert set(sb.repo_state(REPO)["tags"]) == {"v1.3.3", "v1.4.0"}
    # each tag holds its own change and the earlier ones, nothing later
    release_files = {"CHANGELOG.md", "pyproject.toml"}
    start = git_bare(sb, "rev-list", "--max-parents=0", "main")
    assert _diff(sb, start, "v1.3.3") == {"config/b.yaml", ".improve/proposals/prop-b.yaml",
                                          *release_files}
    assert _diff(sb, "v1.3.3", "v1.4.0") == {"config/a.yaml", ".improve/proposals/prop-a.yaml",
                                             *release_files}
    assert git_bare(sb, "show", "v1.3.3:pyproject.toml").count('version = "1.3.3"') == 1
    # the branch ends on the last release, whose changelog has both entries; the history has no
    # merge commit of the bot's (a linear-history rule would refuse one)
    assert git_bare(sb, "rev-parse", "main") == git_bare(sb, "rev-parse", "v1.4.0^{commit}")
    assert git_bare(sb, "rev-list", "--merges", "--count", f"{start}..main") == "1"  # PR b's
    # a second run releases nothing again
    assert release(sb) == []


def test_a_run_that_stopped_between_two_releases_is_finished_by_the_next(
    sb: Sandbox, tmp_path: Path
) -> None:
    first, second = _open_two(sb, tmp_path)
    merge(sb, first)
    merge(sb, second)
    main_before = git_bare(sb, "rev-parse", "main")
    # the first release alone (as a run stopped after it): its tag only, on its own merge
    assert [(o.version, o.action) for o in release(sb, only_pr=first)] == [("1.3.3", "released")]
    assert git_bare(sb, "rev-parse", "main") == main_before
    assert _diff(sb, "v1.3.3", "main") == PROP_B_RELEASED
    # the next run starts from that release: version, both entries on the branch
    assert [(o.pr, o.version) for o in release(sb)] == [(second, "1.3.4")]
    history = parse_history(git_bare(sb, "show", "main:CHANGELOG.md"))
    assert [(h.version, h.pr) for h in history] == [("1.3.4", second), ("1.3.3", first),
                                                    ("1.3.2", None)]
    assert _diff(sb, "v1.3.3", "v1.3.4") == PROP_B_RELEASED


def test_a_github_release_is_made_once_whatever_stops_the_run(
    sb: Sandbox, tmp_path: Path
) -> None:
    """Crash safety of the Releases page: a create whose answer was lost is found by its tag,
    not sent again; a run stopped after the release was made but before the record is finished
    by the next, which finds the release and makes no second one."""
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a")
    merge(sb, number)
    data_before = sb.repo_state(REPO)["refs"].get("refs/heads/improve-data")
    sb.inject_fault("POST", path=r"/releases$", status=502, after=True)
    assert [o.action for o in release(sb)] == ["released"]
    sb.clear_faults()
    assert [r["tag_name"] for r in sb.repo_state(REPO)["releases"]] == ["v1.3.3"]
    # as if the run had stopped before its record: the next run completes the release
    if data_before is None:
        git_bare(sb, "update-ref", "-d", "refs/heads/improve-data")
    else:
        git_bare(sb, "update-ref", "refs/heads/improve-data", data_before)
    mark = len(sb.requests)
    assert [(o.tag, o.action) for o in release(sb)] == [("v1.3.3", "completed")]
    assert [r["tag_name"] for r in sb.repo_state(REPO)["releases"]] == ["v1.3.3"]
    writes = [(r.method, r.path) for r in sb.requests[mark:] if r.kind == "api"
              and r.method != "GET" and "/releases" in r.path]
    assert writes == []
    assert data_file(sb, "releases/v1.3.3.json")["tag"] == "v1.3.3"


def test_max_releases_per_day_holds_a_release_back_and_says_so(
    sb: Sandbox, tmp_path: Path
) -> None:
    first, second = _open_two(sb, tmp_path)
    merge(sb, first)
    merge(sb, second)
    config = parse_config(CONFIG + "limits:\n  max_releases_per_day: 1\n")
    env = stage_env(sb, config=config)
    outcomes = run_release(env, ReleaseRequest())
    assert [(o.pr, o.action) for o in outcomes] == [(first, "released"), (second, "waiting")]
    assert set(sb.repo_state(REPO)["tags"]) == {"v1.3.3"}
    # (the comment escapes Markdown: parentheses come with a backslash)
    waiting = [c["body"].replace("\\", "") for c in sb.repo_state(REPO)["comments"]
               if c["issue_number"] == second and "<!-- improve:released -->" in c["body"]]
    assert len(waiting) == 1 and "1 releases in the last 24 hours, at most 1 " \
        "(limits.max_releases_per_day); the next may be released after 2026-11-22 12:30 UTC" \
        in waiting[0]
    # the same day again: still waiting, the comment not re-posted
    mark = len(sb.requests)
    assert [o.action for o in run_release(stage_env(sb, config=config), ReleaseRequest())] == \
        ["waiting"]
    assert [r for r in sb.requests[mark:] if r.kind == "api" and r.method != "GET"] == []
    # a day later the slot is free: released, and the same comment now says so
    later = replace(stage_env(sb, config=config), now=lambda: NOW + timedelta(hours=25))
    assert [(o.pr, o.version) for o in run_release(later, ReleaseRequest())] == [(second, "1.3.4")]
    bodies = [c["body"] for c in sb.repo_state(REPO)["comments"]
              if c["issue_number"] == second and "<!-- improve:released -->" in c["body"]]
    assert len(bodies) == 1 and "Released **v1.3.4**" in bodies[0]


def test_the_entry_tells_what_merged_when_review_changed_it(sb: Sandbox, tmp_path: Path) -> None:
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a", "0.6")
    # a reviewer pushes 0.62 to the branch; the proposal file still says 0.6
    (work / "config/router.yaml").write_text("routing:\n  threshold: 0.62\n")
    run_git(work, "commit", "-q", "-am", "0.62 reads better in review")
    run_git(work, "push", "-q", "origin", "HEAD:refs/heads/improve/prop-a")
    merge(sb, number, method="squash")
    release(sb)
    log = git_bare(sb, "show", "v1.3.3:CHANGELOG.md")
    assert "- config/router.yaml: routing.threshold 0.55 -> 0.62 (as merged; the proposal " \
        "said: routing.threshold 0.55 -> 0.6) — low-confidence" in log.replace("\\", "")
    assert "0.55 -> 0.6 —" not in log
    change = data_file(sb, "releases/v1.3.3.json")["proposal"]["changes"][0]
    assert (change["what"], change["proposed"]) == ("routing.threshold 0.55 -> 0.62",
                                                    "routing.threshold 0.55 -> 0.6")


def test_a_merge_landing_during_the_release_stays_out_of_its_tag(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _open_two(sb, tmp_path)
    merge(sb, first)
    real = Workspace.publish
    raced: list[str] = []

    def publish(self: Workspace, old: str, new: str, tag: str | None) -> None:
        if not raced:  # someone merges the second PR just before the release's push
            raced.append(merge(sb, second))
        real(self, old, new, tag)

    monkeypatch.setattr(Workspace, "publish", publish)
    env = stage_env(sb)
    assert [(o.pr, o.version) for o in run_release(env, ReleaseRequest())] == [(first, "1.3.3")]
    assert "the branch moved" in env.err.getvalue()  # type: ignore[attr-defined]
    # the tag holds the first merge alone: committed on its own merge, off the branch
    assert _diff(sb, "v1.3.3", "main") == PROP_B_RELEASED
    assert git_bare(sb, "rev-parse", "main") == raced[0]
    # the second merge's own run releases it, with both entries on the branch
    assert [(o.pr, o.version) for o in release(sb)] == [(second, "1.3.4")]
    assert _diff(sb, "v1.3.3", "v1.3.4") == PROP_B_RELEASED
    history = parse_history(git_bare(sb, "show", "main:CHANGELOG.md"))
    assert [h.pr for h in history] == [second, first, None]


def test_two_concurrent_releases_end_as_two_versions(sb: Sandbox, tmp_path: Path) -> None:
    a, b = _open_two(sb, tmp_path)
    merge(sb, a)
    merge(sb, b)
    results: dict[str, list[Outcome] | BaseException] = {}

    def run(name: str) -> None:
        try:
            results[name] = run_release(stage_env(sb), ReleaseRequest())
        except BaseException as exc:  # reported below
            results[name] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in ("one", "two")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(isinstance(r, BaseException) for r in results.values()), results
    history = parse_history(git_bare(sb, "show", "main:CHANGELOG.md"))
    assert [(h.version, h.pr) for h in history] == [("1.3.4", b), ("1.3.3", a), ("1.3.2", None)]
    tags = sb.repo_state(REPO)["tags"]
    assert set(tags) == {"v1.3.3", "v1.3.4"}
    subjects = git_bare(sb, "log", "--first-parent", "--format=%s", "main").splitlines()
    # v1.3.3 is committed on a's merge (its tag holds a alone), v1.3.4 on the tip
    assert subjects[:2] == ["chore(release): v1.3.4",
                            f"Merge pull request #{b} from octo/improve/prop-b"]
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}^") == git_bare(sb, "rev-parse", "main~2")
    assert git_bare(sb, "show", "v1.3.4:pyproject.toml").count('version = "1.3.4"') == 1
    released = [c for c in sb.repo_state(REPO)["comments"]
                if "<!-- improve:released -->" in c["body"]]
    assert sorted(c["issue_number"] for c in released) == [a, b]
    assert data_file(sb, "releases/v1.3.4.json")["pr"] == b


def test_a_github_release_a_racing_run_made_first_is_taken_as_made(
    sb: Sandbox, tmp_path: Path
) -> None:
    """Two runs releasing the same tag: the other made the GitHub Release between this run's
    look and its create, which GitHub refuses (422, already_exists). Found by
    test_two_concurrent_releases_end_as_two_versions failing now and then; here the race is
    made certain: the create takes effect and answers GitHub's 422."""
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a")
    merge(sb, number)
    sb.inject_fault("POST", path=r"/releases$", status=422, after=True,
                    body={"message": "Validation Failed",
                          "errors": [{"resource": "Release", "code": "already_exists",
                                      "field": "tag_name"}]})
    assert [o.action for o in release(sb)] == ["released"]
    assert [r["tag_name"] for r in sb.repo_state(REPO)["releases"]] == ["v1.3.3"]


def test_a_rejected_push_is_retried_on_the_new_tip(sb: Sandbox, tmp_path: Path) -> None:
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a")
    merge(sb, number)
    sb.reject_pushes(REPO, times=1)
    env = stage_env(sb)
    outcomes = run_release(env, ReleaseRequest())
    assert [(o.version, o.action) for o in outcomes] == [("1.3.3", "released")]
    assert "fetching and planning again (1/5)" in env.err.getvalue()  # type: ignore[attr-defined]
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}") == git_bare(sb, "rev-parse", "main")


def test_release_mode_pr_opens_a_release_pr_and_tags_when_it_merges(
    sb: Sandbox, tmp_path: Path
) -> None:
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a")
    merge_sha = merge(sb, number)
    config = parse_config("release:\n  mode: pr\n")

    outcomes = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [(o.pr, o.version, o.action) for o in outcomes] == [(number, "1.3.3", "release-pr")]
    state = sb.repo_state(REPO)
    assert state["refs"]["refs/heads/main"] == merge_sha  # nothing pushed to main
    assert state["tags"] == {}
    release_prs = [p for p in state["pulls"] if p["head"] == "improve-release"]
    assert len(release_prs) == 1 and release_prs[0]["title"] == "chore(release): v1.3.3"
    assert "release" in release_prs[0]["labels"]

    # running again while it is open changes nothing
    branch_before = state["refs"]["refs/heads/improve-release"]
    again = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [o.action for o in again] == ["release-pr"]
    state = sb.repo_state(REPO)
    assert state["refs"]["refs/heads/improve-release"] == branch_before
    assert len([p for p in state["pulls"] if p["head"] == "improve-release"]) == 1

    # the release PR merges: the next run tags the release commit and records it
    merge(sb, release_prs[0]["number"])
    tagged = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [(o.pr, o.version, o.action) for o in tagged] == [(number, "1.3.3", "tagged")]
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}") == branch_before
    assert data_file(sb, "releases/v1.3.3.json")["release_commit"] == branch_before
    assert run_release(stage_env(sb, config=config), ReleaseRequest()) == []


@pytest.mark.parametrize("method", ["merge", "squash"])
def test_release_mode_pr_gives_each_merge_its_own_tag(
    sb: Sandbox, tmp_path: Path, method: str
) -> None:
    """Two merges awaiting release in ``release.mode: pr``: the first release pull request is
    committed on the first merge (off the branch), so v1.3.3 holds a alone, even when the
    release pull request is squashed onto a branch that already has b; v1.3.4 then adds b.
    Before, the first release commit was on the tip and v1.3.3 already held b's change."""
    config = parse_config("release:\n  mode: pr\n")
    work = make_clone(sb, tmp_path)
    a = open_improvement(sb, work, "prop-a", "0.60", path="config/a.yaml")
    b = open_improvement(sb, work, "prop-b", "0.61", path="config/b.yaml")
    a_merge = merge(sb, a)
    merge(sb, b)

    def release_pr() -> dict[str, Any]:
        (pr,) = [p for p in sb.repo_state(REPO)["pulls"]
                 if p["head"] == "improve-release" and p["state"] == "open"]
        return pr

    opened = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [(o.pr, o.version, o.action) for o in opened] == [(a, "1.3.3", "release-pr")]
    first_head = sb.repo_state(REPO)["refs"]["refs/heads/improve-release"]
    assert git_bare(sb, "rev-parse", f"{first_head}^") == a_merge  # on a's own merge
    merge(sb, release_pr()["number"], method=method)

    second = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [(o.pr, o.version, o.action) for o in second] == [
        (a, "1.3.3", "tagged"), (b, "1.3.4", "release-pr")]
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}") == first_head
    merge(sb, release_pr()["number"], method=method)
    third = run_release(stage_env(sb, config=config), ReleaseRequest())
    assert [(o.pr, o.version, o.action) for o in third] == [(b, "1.3.4", "tagged")]

    release_files = {"CHANGELOG.md", "pyproject.toml"}
    start = git_bare(sb, "rev-list", "--max-parents=0", "main")
    assert _diff(sb, start, "v1.3.3") == {"config/a.yaml", ".improve/proposals/prop-a.yaml",
                                          *release_files}
    assert _diff(sb, "v1.3.3", "v1.3.4") == {"config/b.yaml", ".improve/proposals/prop-b.yaml",
                                             *release_files}
    history = parse_history(git_bare(sb, "show", "v1.3.4:CHANGELOG.md"))
    assert [(h.version, h.pr) for h in history] == [("1.3.4", b), ("1.3.3", a), ("1.3.2", None)]
    assert [(h.version, h.pr) for h in parse_history(git_bare(sb, "show", "main:CHANGELOG.md"))
            ] == [(h.version, h.pr) for h in history]
    assert run_release(stage_env(sb, config=config), ReleaseRequest()) == []


def test_a_pr_without_a_comparison_is_released_as_not_measured(
    sb: Sandbox, tmp_path: Path
) -> None:
    work = make_clone(sb, tmp_path)
    number = open_improvement(sb, work, "prop-a", compare=False)
    merge(sb, number)
    release(sb)
    log = git_bare(sb, "show", "main:CHANGELOG.md")
    assert "**Improvement**: not measured (the pull request carries no comparison by the bot)" \
        in log


def test_handle_push_as_a_subprocess_in_actions(
    sandbox: Sandbox, tmp_path: Path  # noqa: F811
) -> None:
    """The merge's push through the shipped improve-release workflow, as the sandbox's runner
    runs it (GITHUB_TOKEN only): a token with the job's permissions, the default branch checked
    out, ``improve handle`` in a process of its own."""
    sb = _setup(sandbox, render_workflows(action=SANDBOX_ACTION))
    runner = ActionsRunner(sb, REPO, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        work = make_clone(sb, tmp_path)
        number = open_improvement(sb, work, "prop-a")
        merge_sha = merge(sb, number)
        jobs = runner.run_until_idle()
    finally:
        runner.close()
    (job,) = [j for j in jobs if j.workflow == "improve-release"]
    assert job.conclusion == "success", dump_journal(jobs)
    (step,) = job.bot_steps()
    assert "::group::release of PR #1" in step.out
    assert "released v1.3.3 for PR #1" in step.out
    (summary,) = (tmp_path / "actions" / f"run-{job.run_id}-{job.attempt}").rglob(
        "step_summary.md")
    assert "released **v1.3.3** (PR #1)" in summary.read_text()
    assert git_bare(sb, "rev-parse", "v1.3.3^{commit}") == git_bare(sb, "rev-parse", "main")
    # the job's token (the workflow's permissions) was enough to publish the GitHub Release
    assert [(r["tag_name"], r["author"]) for r in sb.repo_state(REPO)["releases"]] == \
        [("v1.3.3", "github-actions[bot]")]
    # the merged pull_request event that follows finds nothing left to do (no shipped workflow
    # delivers pull_request.closed to the bot: run as a workflow of a user's own would run it)
    checkout = make_clone(sb, tmp_path, "checkout")
    closed = build_event("pull_request", "closed", repo=REPO, number=number, merged=True,
                         merge_commit_sha=merge_sha, base_ref="main")
    closed["repository"]["default_branch"] = "main"
    env2 = actions_env("pull_request", closed, repo=REPO, api_url=sb.api_url,
                       server_url=sb.server_url, token=sb.token, sha=merge_sha,
                       ref="refs/heads/main", workdir=tmp_path / "runner2")
    env2["GITHUB_WORKSPACE"] = str(checkout)
    proc2 = subprocess.run([sys.executable, "-m", "bot", "handle"], env={**os.environ, **env2},
                           capture_output=True, text=True, timeout=120, check=False)
    assert proc2.returncode == 0, proc2.stderr
    assert "nothing to release" in proc2.stdout
