"""The whole loop through the repository's own workflow files, on the sandbox: people act (file
a proposal, comment, push, merge, the clock reaching the schedule) and the sandbox's workflow
runner runs what the workflows say, with tokens that carry their job's permissions. Each test
asserts on the sandbox's state.

One world per module (App token setup, the demo's sample repository, PRIVATE: every read needs
its permission) is shared by the tests in file order, each a phase of one story: five commands
at once; /rollback; the scheduled run's dashboard and rollback-rate alert; the paused auto tier;
a release the monitor never displaces; and no 403 anywhere. (The demo's first steps and a data
refresh set the scene.) Another world shows /retest after the suites' data changed.
tests/test_demo.py plays the demo's whole story in the GITHUB_TOKEN-only setup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.analytics.dashboard import alert_state
from bot.core.embed import extract
from bot.core.render import find_marker
from bot.demo import sample
from bot.demo.engine import World
from bot.demo.story import failed_jobs, step_approval, step_auto
from bot.sandbox.actions_runner import dump_journal
from bot.stages.pr_evaluation import SKIP_NO_RESULTS_IN, SKIP_NOT_PR_RUN

MONITOR_CRON = "17 */6 * * *"  # improve-monitor.yml's schedule
# what a bot step prints when the workflow handed it an event or arguments it has no use for
USELESS = ("nothing to do", "not a proposal", SKIP_NO_RESULTS_IN, SKIP_NOT_PR_RUN)


def bot_outputs(world: World) -> list[tuple[str, str]]:
    return [(r.by, r.out + r.err) for r in world.runs if r.by and "/" in r.by]


def assert_no_useless_step(world: World) -> None:
    """A workflow that passes the bot an event or arguments it does nothing with wastes a
    runner and hides a wiring mistake: every bot step must have had work to do."""
    for by, out in bot_outputs(world):
        for needle in USELESS:
            assert needle not in out, f"{by}: {needle!r}\n{out[-1500:]}"


def no_forbidden(world: World) -> list[str]:
    return [f"{r.method} {r.path} by {r.user}: {r.status}" for r in world.sb.requests
            if r.status == 403 and r.kind != "admin"]


def comments_on(world: World, number: int) -> list[dict[str, Any]]:
    return [c for c in world.state()["comments"] if c["issue_number"] == number]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World.start(tmp_path_factory.mktemp("loop") / "world", app=True, private=True)
    try:
        step_auto(w)  # PR #1 released as v1.0.1
        step_approval(w)  # PR #2 approved, released as v1.1.0
        # the German tickets drift a lot: v1.1.0 now hurts, its revert helps
        _, jobs = w.push_files(sample.drift_files("week2"), "Refresh the German tickets",
                               sample.MAINTAINER)
        assert not failed_jobs(jobs), dump_journal(jobs)
        yield w
    finally:
        w.stop()


def test_five_comments_in_quick_succession_are_all_answered(world: World) -> None:
    number = 1
    bodies = ["/help", "/hold", "/unhold", "/help", "/approve"]
    posted = [world.comment(sample.MAINTAINER, number, b, settle=False)[0] for b in bodies]
    jobs = world.settle()
    assert not failed_jobs(jobs), dump_journal(jobs)
    ran = [j for j in jobs if j.workflow == "improve-commands" and j.conclusion == "success"]
    assert len(ran) >= len(bodies), dump_journal(jobs)
    cancelled = [j for j in jobs if j.workflow == "improve-commands"
                 and j.conclusion == "cancelled"]
    assert cancelled == []
    by_id = {c["id"]: c for c in comments_on(world, number)}
    for c in posted:
        reactions = [r["content"] for r in by_id[c["id"]]["reactions"]]
        assert "eyes" in reactions and ({"+1", "confused"} & set(reactions)), (c, reactions)
    assert_no_useless_step(world)


def test_rollback_by_command_is_evaluated_and_released_after_approve(world: World) -> None:
    before = set(world.state()["tags"])
    _, jobs = world.comment(sample.MAINTAINER, 2, "/rollback the German tickets drifted")
    assert not failed_jobs(jobs), dump_journal(jobs)
    revert = next(p for p in world.state()["pulls"] if p["head"].startswith("improve/rollback-"))
    # opened with the App's token: GitHub runs the test workflow; the labels came after opened
    tested = [j for j in jobs if j.workflow == "improve-test" and j.conclusion == "success"]
    assert tested and any(j.workflow == "improve-report" for j in jobs), dump_journal(jobs)
    assert any(find_marker(c["body"]) == "compare" for c in comments_on(world, revert["number"]))
    gate = [s for s in world.state()["statuses"]
            if s["sha"] == revert["head_sha"] and s["context"] == "improve/gate"]
    # evaluated: a verdict, not the "no results" error the unlabelled opened event caused
    assert gate and gate[-1]["state"] != "error", gate
    if not world.pull(revert["number"])["merged"]:
        _, jobs = world.comment(sample.MAINTAINER, revert["number"], "/approve")
        assert not failed_jobs(jobs), dump_journal(jobs)
    assert world.pull(revert["number"])["merged"]
    new = sorted(set(world.state()["tags"]) - before)
    assert new == ["v1.1.1"], dump_journal(jobs)
    assert any(j.workflow == "improve-release" and j.conclusion == "success" for j in jobs)


def test_the_schedule_keeps_the_dashboard_and_raises_the_rollback_rate_alert(
    world: World
) -> None:
    jobs = world.schedule()
    assert not failed_jobs(jobs), dump_journal(jobs)
    issues = [i for i in world.state()["issues"] if "improve-dashboard" in i["labels"]]
    assert len(issues) == 1
    first = issues[0]
    assert "rollback rate 50%" in first["body"]
    assert "rollback_rate" in alert_state(first["body"])  # what pauses the auto tier
    mark = len(world.sb.requests)
    jobs = world.schedule()
    assert not failed_jobs(jobs), dump_journal(jobs)
    (again,) = [i for i in world.state()["issues"] if "improve-dashboard" in i["labels"]]
    assert again["number"] == first["number"]  # edited, never a second issue
    edits = [r for r in world.sb.requests[mark:]
             if r.method == "PATCH" and r.path.endswith(f"/issues/{first['number']}")]
    assert edits and all(r.status == 200 for r in edits)


def test_the_next_auto_tier_proposal_waits_for_a_person(world: World) -> None:
    text = sample.TUNE.replace("prop-threshold-060", "prop-threshold-060-again").replace(
        "value: 0.6}", "value: 0.62}")
    run, jobs = world.propose(text, "again")
    assert run.code == 0 and not failed_jobs(jobs), dump_journal(jobs)
    pr = world.pull_by_head("improve/prop-threshold-060-again")
    assert not pr["merged"]
    gate = [s for s in world.state()["statuses"]
            if s["sha"] == pr["head_sha"] and s["context"] == "improve/gate"][-1]
    assert gate["state"] != "success", gate
    compare = next(c["body"] for c in comments_on(world, pr["number"])
                   if find_marker(c["body"]) == "compare")
    assert extract(compare, "comparison")["approval"]["tier"] == "person"
    assert "auto tier is paused" in compare


def test_a_release_is_never_displaced_by_a_monitor_run(world: World) -> None:
    pr = world.pull_by_head("improve/prop-threshold-060-again")
    before = set(world.state()["tags"])
    forge = world._forge(sample.MAINTAINER)
    try:  # a maintainer merges by hand; the clock ticks twice before the release job starts
        forge.merge_pull(pr["number"], sha=pr["head_sha"])
    finally:
        forge.close()
    runner = world.runner
    (first,) = runner.schedule(MONITOR_CRON)  # the monitor's clock, not the tuner's
    runner.pump()  # the merge's push: its release run waits for the group
    (release,) = [r for r in runner.runs.values() if r.workflow.name == "improve-release"
                  and r.state == "pending"]
    # a newer pending run: GitHub cancels the pending release
    (second,) = runner.schedule(MONITOR_CRON)
    assert release.conclusion == "cancelled"
    jobs = world.settle()
    assert not failed_jobs(jobs), dump_journal(jobs)
    # (the release commit's own push may in turn replace the pending second run, as on GitHub)
    assert first.conclusion == "success" and second.conclusion in ("success", "cancelled")
    assert sorted(set(world.state()["tags"]) - before) == ["v1.1.2"]


def test_the_private_repository_ran_the_loop_with_no_403_and_no_useless_step(
    world: World
) -> None:
    assert no_forbidden(world) == []
    assert world.sb.violations == []
    assert_no_useless_step(world)
    assert {j.workflow for j in world.runner.journal if j.conclusion == "success"} == {
        "improve-test", "improve-report", "improve-commands", "improve-release",
        "improve-monitor"}


# -- /retest after the suites' data changed ---------------------------------------------------

SCORE = '''\
"""Accuracy of a knob against a target read from outside the repository (a dataset that is
refreshed in place, as a downloaded benchmark set is)."""
import json, os, sys
from pathlib import Path
knob = float(Path("knob.yaml").read_text().split(":")[1])
target = json.loads(Path(os.environ["SUITE_DATA"]).read_text())["target"]
task = int(sys.argv[1])
print(json.dumps({"accuracy": round(1 - abs(knob - target) - task * 0.001, 4)}))
'''


def retest_files() -> dict[str, str]:
    tasks = "".join(f"  - {{id: t{i}, run: python score.py {i}}}\n" for i in range(8))
    return {
        "README.md": "# knob\n", "VERSION": "1.0.0\n", "knob.yaml": "knob: 0.5\n",
        "CHANGELOG.md": "# Changelog\n\n## [1.0.0] - 2026-11-01\n\nFirst.\n",
        "score.py": SCORE,
        "benchmarks/knob.yaml": ("id: knob\ntargets: [\"knob.yaml\"]\nrepeat: 1\ntimeout: 30\n"
                                 "metrics:\n  - {name: accuracy, direction: higher}\n"
                                 f"tasks:\n{tasks}"),
        ".github/improve.yml": ("default_branch: main\napproval:\n  automerge: false\n"
                                "release:\n  version_files: [{path: VERSION}]\n"),
    }


KNOB = """id: prop-knob
title: Turn the knob to 0.6
type: constant_tune
risk: medium
rationale: The target moved.
predicted_improvement: {metric: accuracy, delta: 0.1}
author: tuner
changes:
  - path: knob.yaml
    set: {key: knob, value: 0.6}
    rationale: closer to the target
"""


def test_retest_after_the_suites_data_changed_posts_the_new_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "suite-data.json"
    data.write_text(json.dumps({"target": 0.5}))
    monkeypatch.setenv("SUITE_DATA", str(data))
    w = World.start(tmp_path / "world", app=True, files=retest_files())
    try:
        run, jobs = w.propose(KNOB, "knob")
        assert run.code == 0, run.err
        pr = w.pull_by_head("improve/prop-knob")

        def comparison() -> dict[str, Any]:
            body = next(c["body"] for c in comments_on(w, pr["number"])
                        if find_marker(c["body"]) == "compare")
            data = extract(body, "comparison")
            assert isinstance(data, dict)
            return data

        assert comparison()["decision"] == "reject", dump_journal(jobs)
        data.write_text(json.dumps({"target": 0.7}))  # the dataset is refreshed
        _, jobs = w.comment(sample.MAINTAINER, pr["number"], "/retest")
        assert not failed_jobs(jobs), dump_journal(jobs)
        retested = [j for j in jobs if j.workflow == "improve-test"]
        assert [j.attempt for j in retested] == [2], dump_journal(jobs)
        assert comparison()["decision"] == "accept", dump_journal(jobs)
        (compare,) = [c for c in comments_on(w, pr["number"])
                      if find_marker(c["body"]) == "compare"]  # edited in place
        assert no_forbidden(w) == []
    finally:
        w.stop()
