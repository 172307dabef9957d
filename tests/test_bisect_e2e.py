"""BISECT end to end on the sandbox: a release, then an innocent commit, then a merged pull
request that breaks the scoring, then another innocent commit. The monitor's drop is past the
rollback threshold, but the bisection names the breaking merge: the release is not reverted, an
opportunity issue names the culprit (its PR, its author, the numbers), and the warning comment
on the release's PR says it is not to blame. (The release that causes its own drop, and is
reverted with the bisection's evidence, is in tests/test_monitor_e2e.py.)"""

from __future__ import annotations

from bot.adapters.git import Git
from bot.core.analytics.opportunities import LABEL
from bot.core.config import parse_config
from bot.core.render import md_escape
from bot.stages.bisect import culprit_key
from bot.stages.context import StageContext
from bot.stages.dashboard import refresh_dashboard
from tests.helpers import sample_repo as sample
from tests.helpers.monitor import TAG, World, world_fixture  # noqa: F401
from tests.helpers.sandbox import run_git, sandbox  # noqa: F401


def merged_pr(world: World, login: str, branch: str, path: str, old: str, new: str,
              title: str) -> tuple[int, str]:
    """``login`` opens a pull request changing ``path`` and it is merged (a merge commit)."""
    run_git(world.work, "fetch", "-q", "origin")
    run_git(world.work, "checkout", "-q", "-B", branch, "origin/main")
    f = world.work / path
    text = f.read_text()
    assert old in text
    f.write_text(text.replace(old, new))
    run_git(world.work, "commit", "-q", "-am", title)
    run_git(world.work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    pr = world.forge(login).create_pull(title=title, body="a refactor", head=branch,
                                        base="main")
    return pr.number, world.merge(pr.number)


def test_a_later_commit_that_breaks_the_scoring_is_named_and_the_release_is_kept(
    world: World,
) -> None:
    pr = world.propose_and_merge("prop-threshold", 0.62)
    (o,) = world.release()
    assert o.action == "released"
    reference = world.release_record(TAG).release_commit
    innocent = world.push_main({"README.md": "# router\n\nNothing the suite reads.\n"}, "docs")
    breaking_pr, culprit = merged_pr(
        world, "bob", "refactor-scoring", "classifier/classify.py",
        'case["score"] >= t', 'case["score"] >= t * 0.5', "Simplify the scoring")
    later = world.push_main({"README.md": "# router\n\nStill nothing the suite reads.\n"},
                            "docs again")

    world.clock.advance(days=1)
    (o1,) = world.monitor()
    assert o1.run is not None and o1.run.past_rollback  # a large, confident drop
    assert o1.action == "measured" and o1.revert_pr is None
    # no revert of the release: only the release's and the breaking change's PRs exist
    assert [p["number"] for p in world.pulls()] == [pr, breaking_pr]

    rec = world.monitor_record(TAG)
    b = rec.bisection
    assert b is not None and b.state == "found"
    assert (b.culprit, b.culprit_is_release, b.culprit_pr, b.culprit_author) == (
        culprit, False, breaking_pr, "bob")
    assert (b.reference, b.head, b.commits) == (reference, later, 3)
    # the head is this run's measurement; bisecting [release, innocent, merge, later] measures
    # the innocent commit (unchanged) and the merge (worse), and nothing else
    assert [(p.commit, p.verdict, p.reused) for p in b.probes] == [
        (innocent, "same", False), (culprit, "worse", False), (later, "worse", True)]
    assert b.runs == 2 * len(sample.SPLITS)
    (change, low, high) = b.step[sample.SUITE_ID]
    assert change is not None and high is not None and high < 0  # the step is a real drop
    assert (b.good, b.bad) == (innocent, culprit)
    # the measurements it made are stored by commit, for the next bisection to reuse
    assert world.data(f"results/{innocent}.json")["commit"] == innocent
    assert world.data(f"results/{culprit}.json")["commit"] == culprit
    assert any("lowered" in (r.note or "") or "does not blame" in (r.note or "")
               for r in rec.runs)

    # the opportunity issue names the culprit, its PR and author, with the numbers
    issues = [i for i in world.state()["issues"] if LABEL in i["labels"]]
    (issue,) = issues
    assert issue["number"] == b.issue
    assert culprit[:7] in issue["title"] and sample.SUITE_ID in issue["title"]
    assert f"PR #{breaking_pr}" in issue["body"] and "bob" in issue["body"]
    assert f"{TAG} is not to blame" in issue["body"]
    assert f"{innocent[:7]}: same" in issue["body"] and f"{culprit[:7]}: worse" in issue["body"]
    assert culprit_key(culprit) in issue["body"]

    # the release's PR is told it is not to blame (in the monitor's one comment)
    (warning,) = world.comments(pr, "monitor")
    assert f"**{TAG} is not to blame**" in warning["body"]
    assert culprit[:12] in warning["body"] and f"#{b.issue}" in warning["body"]

    # the dashboard's monitors show the finding
    forge = world.forge()
    env = StageContext(make_forge=lambda: forge, preset_config=parse_config(sample.CONFIG),
                       git_given=Git(world.checkout, token=world.sb.token), remote_name="origin",
                       branch="main", now=world.clock)
    refresh_dashboard(env)
    (dashboard,) = [i for i in world.state()["issues"] if "improve-dashboard" in i["labels"]]
    assert md_escape(f"bisected: {culprit[:7]} (PR #{breaking_pr}, @bob), not this release; "
                     f"issue #{b.issue}") in dashboard["body"]

    # the next run keeps the finding: no second bisection, issue, or revert
    world.clock.advance(days=1)
    (o2,) = world.monitor()
    assert o2.action == "warned" and o2.revert_pr is None
    assert world.monitor_record(TAG).bisection == b
    assert len([i for i in world.state()["issues"] if LABEL in i["labels"]]) == 1
    assert [p["number"] for p in world.pulls()] == [pr, breaking_pr]


def test_when_the_culprit_is_another_improvements_merge_the_issue_points_at_its_rollback(
    world: World,
) -> None:
    pr = world.propose_and_merge("prop-threshold", 0.62)
    (o,) = world.release()
    assert o.tag == TAG
    # a second improvement whose change (besides its proposal) breaks the scoring
    second = world.propose_and_merge("prop-faster", 0.62, also={
        "classifier/classify.py": ('case["score"] >= t', 'case["score"] >= t * 0.5')})
    (o2,) = world.release()
    assert o2.tag == "v1.3.2"
    merge2 = world.release_record("v1.3.2").merge_sha

    world.clock.advance(days=1)
    outcomes = {o.tag: o for o in world.monitor()}
    # v1.3.2 measures as it did at release (its reference already had the break)
    assert outcomes["v1.3.2"].run is not None and not outcomes["v1.3.2"].run.past_warning
    assert outcomes[TAG].run is not None and outcomes[TAG].run.past_rollback
    b = world.monitor_record(TAG).bisection
    assert b is not None and (b.state, b.culprit, b.culprit_release, b.culprit_pr) == (
        "found", merge2, "v1.3.2", second)
    # nothing is reverted automatically: v1.3.1 is not to blame, v1.3.2's monitor saw no drop
    assert [p["number"] for p in world.pulls()] == [pr, second]
    (issue,) = [i for i in world.state()["issues"] if LABEL in i["labels"]]
    assert "merge of the improvement **v1.3.2**" in issue["body"]
    assert f"`/rollback` on PR #{second}" in issue["body"]
    assert f"instead of the revert of {TAG}" in issue["body"]
