"""MONITOR end to end on the sandbox: a released improvement whose benchmark later degrades is
warned about after two runs, then reverted through a PR the monitor opens; /approve and the
merge release the rollback with its entry and mark, and the monitor of the rolled-back release
stops. A release that stays healthy through its window is recorded as kept. Asserted on the
sandbox's state, its request log and the data branch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.embed import extract
from bot.core.monitor import rollback_branch
from bot.core.records import monitor_path
from bot.sandbox.events import actions_env, build_event
from bot.stages import pr_evaluation
from bot.stages.monitor import NOTHING_WATCHED
from tests.helpers import sample_repo as sample
from tests.helpers.monitor import TAG, World, world_fixture  # noqa: F401
from tests.helpers.sandbox import run_git, sandbox  # noqa: F401


def released(world: World, external: bool = False) -> int:
    """The improvement (threshold 0.50 -> 0.62) merged and released as v1.3.1; ``external``:
    its change also makes the classifier read the data store outside the repository."""
    number = world.propose_and_merge("prop-threshold", 0.62, external=external)
    (o,) = world.release()
    assert (o.action, o.tag) == ("released", TAG)
    assert world.release_record(TAG).results is not None  # the monitor's reference
    return number


def test_degraded_release_is_warned_then_reverted_and_the_rollback_released(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the release itself causes the drop: its change makes the classifier read a data store
    # outside the repository, which drifts after the release while nothing in the repository
    # that the suite reads changes (innocent commits land meanwhile)
    monkeypatch.setenv("ROUTER_DATA", str(world.store))
    pr = released(world, external=True)
    merge_sha = world.release_record(TAG).merge_sha

    # the data drifts a little after the release: past the warning (3%), short of a rollback
    world.store_drift(0.55)
    world.clock.advance(days=1)
    (o1,) = world.monitor()
    assert o1.action == "measured" and o1.run is not None and o1.run.past_warning
    assert not o1.run.past_rollback
    assert world.comments(pr, "monitor") == []  # one run past the warning is not enough
    rec = world.monitor_record(TAG)
    assert (len(rec.runs), rec.state) == (1, "watching")
    assert rec.runs[0].commit == world.main_sha()

    innocent = world.push_main({"README.md": "# router\n\nNothing the suite reads.\n"}, "docs")
    world.clock.advance(days=1)
    since = len(world.sb.requests)
    (o2,) = world.monitor()
    assert o2.action == "warned"
    (warning,) = world.comments(pr, "monitor")
    assert "2 monitor run(s) in a row" in warning["body"]
    assert sample.SUITE_ID in warning["body"]
    assert world.monitor_record(TAG).state == "warned"
    assert world.monitor_record(TAG).warning_comment == warning["id"]
    # the culprit's PR read for its author (the bisection, once), one comment found and
    # written; the rest is git (clone, data branch)
    assert world.api_since(since) == [("GET", f"/repos/{world.name}/pulls/{pr}"),
                                      ("GET", f"/repos/{world.name}/issues/{pr}/comments"),
                                      ("POST", f"/repos/{world.name}/issues/{pr}/comments")]
    assert world.pulls()[-1]["number"] == pr  # no revert yet
    # the warned drop was bisected: the head (this run's measurement) is worse, the release
    # commit re-measured is worse too: the release's own change is the culprit
    b = world.monitor_record(TAG).bisection
    assert b is not None and (b.state, b.culprit, b.culprit_is_release) == ("found", merge_sha,
                                                                            True)
    assert b.head == innocent and b.commits == 1
    assert (b.culprit_pr, b.culprit_author) == (pr, "alice")
    assert [(p.commit, p.verdict, p.reused) for p in b.probes] == [
        (b.reference, "worse", False), (innocent, "worse", True)]
    assert "this release's own change" in warning["body"]

    # the drift goes on: past the rollback threshold with confidence -> the revert PR
    world.store_drift(0.40)
    world.push_main({"README.md": "# router\n\nStill nothing the suite reads.\n"}, "docs")
    world.clock.advance(days=1)
    (o3,) = world.monitor()
    assert o3.action == "revert-opened" and o3.run is not None and o3.run.past_rollback
    revert = world.pulls()[-1]
    assert revert["number"] == o3.revert_pr
    assert revert["head"] == rollback_branch(TAG) and revert["state"] == "open"
    assert set(revert["labels"]) == {"improvement", "rollback"}
    facts = extract(revert["body"], "rollback")
    assert facts["version"] == "1.3.1" and facts["restores"] == "1.3.0"
    assert facts["proposal_id"] == "prop-threshold"
    assert "the monitor measured" in facts["reason"]
    assert any(sample.SUITE_ID in line and "CI" in line for line in facts["evidence"])
    # with the bisection's evidence: what was measured where
    assert any(line.startswith("bisected 1 commit(s)") and "release's own change" in line
               for line in facts["evidence"])
    assert any(line.startswith(f"{innocent[:7]}: worse") for line in facts["evidence"])
    # the revert is of the improvement's own change: the threshold is back, the release
    # commit (changelog, version) and the proposal file stay
    head = revert["head_sha"]
    rules = world.git_bare("show", f"{head}:{sample.THRESHOLD_PATH}")
    assert "threshold: 0.5 " in rules or "threshold: 0.5\n" in rules
    assert "1.3.1" in world.git_bare("show", f"{head}:pyproject.toml")
    world.git_bare("cat-file", "-e", f"{head}:.improve/proposals/prop-threshold.yaml")
    (warning,) = world.comments(pr, "monitor")  # the same comment, edited
    assert f"#{revert['number']}" in warning["body"]
    rec = world.monitor_record(TAG)
    assert (rec.state, rec.revert_pr, len(rec.runs)) == ("rollback_opened", revert["number"], 3)

    # another run: still one revert PR
    world.clock.advance(hours=6)
    (o4,) = world.monitor()
    assert o4.revert_pr == revert["number"]
    assert [p["number"] for p in world.pulls()] == [pr, revert["number"]]

    # the revert PR is evaluated like any proposal: accepted, but a person must approve it
    run_git(world.checkout, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
    main_sha = world.main_sha()
    payload = build_event("pull_request", "opened", repo=world.name, default_branch="main",
                          number=revert["number"], head_ref=revert["head"], head_sha=head,
                          base_ref="main", base_sha=main_sha, labels=revert["labels"],
                          title=revert["title"])
    pr_evaluation.on_pull_request(world.event("pull_request", payload, sha=head,
                                              ref=f"refs/pull/{revert['number']}/merge"),
                                  world.services())
    gates = [s for s in world.state()["statuses"] if s["sha"] == head
             and s["context"] == "improve/gate"]
    assert (gates[-1]["state"], gates[-1]["description"]) == (
        "pending", "accepted: awaiting /approve")

    # /approve through the real COMMANDS stage, then the merge and the release
    world.say("bob", revert["number"], "/approve", merged=False)
    gates = [s for s in world.state()["statuses"] if s["sha"] == head
             and s["context"] == "improve/gate"]
    assert gates[-1]["state"] == "success" and "approved by @bob" in gates[-1]["description"]
    world.merge(revert["number"])
    world.clock.advance(hours=1)
    (rel,) = world.release()
    assert (rel.action, rel.tag, rel.pr) == ("released", "v1.3.2", revert["number"])
    changelog = world.file_on_main("CHANGELOG.md")
    assert "**Rollback of**: 1.3.1 (restores 1.3.0)" in changelog
    assert "## [1.3.1] - " in changelog and "[ROLLED BACK]" in changelog.split("## [1.3.1]")[1] \
        .splitlines()[0]
    assert "the monitor measured" in changelog.split("## [1.3.1]")[0]
    assert world.release_record("v1.3.2").rollback["version"] == "1.3.1"

    # the next monitor run ends the rolled-back release's monitor, and watches the rollback
    world.clock.advance(hours=1)
    outcomes = {o.tag: o for o in world.monitor()}
    assert outcomes[TAG].action == "rolled-back"
    assert outcomes["v1.3.2"].action == "measured"
    rec = world.monitor_record(TAG)
    assert rec.state == "rolled_back" and "v1.3.2" in (rec.ended_because or "")
    assert len(rec.runs) == 4 and rec.ended_at == world.clock.now
    assert world.release_record(TAG).monitor.state == "rolled_back"

    world.clock.advance(hours=6)
    outcomes = {o.tag: o for o in world.monitor()}
    assert TAG not in outcomes and "v1.3.2" in outcomes
    assert len(world.monitor_record(TAG).runs) == 4  # stopped


def test_healthy_release_is_recorded_as_kept_when_its_window_closes(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pr = released(world)
    world.push_main({"README.md": "# router\n\nNothing the suite reads.\n"}, "docs")

    # the scheduled workflow, as a subprocess: `python -m bot handle` on a schedule event
    main_sha = world.main_sha()
    run_git(world.checkout, "fetch", "-q", "origin")
    run_git(world.checkout, "checkout", "-q", "--detach", main_sha)
    env = actions_env("schedule", build_event("schedule"), repo=world.name,
                      api_url=world.sb.api_url, server_url=world.sb.server_url,
                      token=world.sb.token, sha=main_sha, ref="refs/heads/main",
                      workdir=tmp_path / "runner")
    env["GITHUB_WORKSPACE"] = str(world.checkout)
    proc = subprocess.run([sys.executable, "-m", "bot", "handle"], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert f"improve monitor: {TAG}: measured" in proc.stdout
    rec = world.monitor_record(TAG)
    assert rec.state == "watching" and len(rec.runs) == 1
    (run,) = rec.runs
    assert run.commit == main_sha and not run.past_warning
    assert run.changes[sample.SUITE_ID] == pytest.approx(0.0)
    assert f"**{TAG}**: measured" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert world.comments(pr, "monitor") == []
    # the head's results are stored on the data branch beside the monitor record
    assert world.data(f"results/{main_sha}.json")["commit"] == main_sha

    # a run inside the window, then one after it closes: kept
    world.clock.advance(days=3)
    assert world.scheduled() == 0
    assert len(world.monitor_record(TAG).runs) == 2
    world.clock.advance(days=5)
    since = len(world.sb.requests)
    assert world.scheduled() == 0
    rec = world.monitor_record(TAG)
    assert rec.state == "kept" and len(rec.runs) == 2 and "window closed" in (
        rec.ended_because or "")
    assert world.release_record(TAG).monitor.state == "kept"
    # deciding "kept" takes no API call but reading the configuration
    assert [p for _, p in world.api_since(since)] == [f"/repos/{world.name}/contents/"
                                                      ".github/improve.yml"]
    assert world.comments(pr) and world.comments(pr, "monitor") == []

    # nothing is watched any more
    world.out.truncate(0)
    assert world.scheduled() == 0
    assert NOTHING_WATCHED in world.out.getvalue()
    assert world.git_bare("log", "-1", "--format=%s", "improve-data").startswith("monitor:")
    assert monitor_path(TAG) in world.git_bare("ls-tree", "-r", "--name-only", "improve-data")


def test_a_suite_deleted_after_the_release_is_noted_not_a_crash(world: World) -> None:
    released(world)
    run_git(world.work, "fetch", "-q", "origin")
    run_git(world.work, "checkout", "-q", "-B", "main", "origin/main")
    run_git(world.work, "rm", "-q", f"benchmarks/{sample.SUITE_ID}.yaml")
    run_git(world.work, "commit", "-q", "-m", "drop the suite")
    run_git(world.work, "push", "-q", "origin", "HEAD:refs/heads/main")
    world.clock.advance(days=1)
    (o,) = world.monitor()
    assert o.action == "skipped" and "none of the suites" in o.detail
    (run,) = world.monitor_record(TAG).runs
    assert run.note == o.detail and not run.past_warning and run.commit == world.main_sha()


def test_a_rerun_counts_once_and_damaged_records_are_named_and_left_alone(
        world: World) -> None:
    """A re-run of the same scheduled run (GITHUB_RUN_ID kept, the attempt counted up) adds no
    measurement; a truncated record and one for a tag that does not exist are named, left
    untouched, start nothing, and the run ends with exit 6 after measuring the others."""
    from bot.errors import EXIT_BAD_STATE, DamagedState
    from bot.stages.monitor import MonitorRequest, run_monitor

    released(world)
    world.clock.advance(days=1)
    env = replace(world.env(), run_id=4242, run_attempt=1)
    run_monitor(env, MonitorRequest())
    (again,) = run_monitor(replace(env, run_attempt=2), MonitorRequest())
    assert "measured already by this run" in again.detail
    (run,) = world.monitor_record(TAG).runs
    assert (run.run_id, run.run_attempt) == (4242, 1)

    good = world.git_bare("show", f"improve-data:releases/{TAG}.json")
    run_git(world.work, "fetch", "-q", "origin", "improve-data")
    run_git(world.work, "checkout", "-q", "-B", "data", "FETCH_HEAD")
    (world.work / "releases").mkdir(exist_ok=True)
    (world.work / "releases" / "v9.9.9.json").write_text(good.replace(TAG, "v9.9.9"))
    (world.work / "monitors" / f"{TAG}.json").write_text('{"kind": "monitor", "ver')
    run_git(world.work, "add", "-A")
    run_git(world.work, "commit", "-q", "-m", "damage")
    run_git(world.work, "push", "-q", "origin", "HEAD:refs/heads/improve-data")
    world.clock.advance(days=1)
    with pytest.raises(DamagedState) as info:
        run_monitor(world.env(), MonitorRequest())
    assert info.value.exit_code == EXIT_BAD_STATE == 6
    assert f"monitors/{TAG}.json" in str(info.value) and "releases/v9.9.9.json" in str(info.value)
    err = world.err.getvalue()
    assert "releases/v9.9.9.json: names tag v9.9.9, which does not exist" in err
    assert f"monitors/{TAG}.json: does not parse as JSON" in err
    # left untouched: the damaged monitor record was not rewritten, no monitor for v9.9.9
    assert world.git_bare("show", f"improve-data:monitors/{TAG}.json") == \
        '{"kind": "monitor", "ver'
    assert "monitors/v9.9.9.json" not in world.git_bare("ls-tree", "-r", "--name-only",
                                                        "improve-data")
    assert world.scheduled() == EXIT_BAD_STATE


def test_a_record_naming_a_pull_request_that_does_not_exist_starts_nothing(
        world: World) -> None:
    """A release record for a tag that exists but a pull request that does not: named on
    stderr, no monitor record started from it, exit 6; the good release is still measured."""
    from bot.errors import EXIT_BAD_STATE, DamagedState
    from bot.stages.monitor import MonitorRequest, run_monitor

    released(world)
    good = json.loads(world.git_bare("show", f"improve-data:releases/{TAG}.json"))
    run_git(world.work, "fetch", "-q", "origin", "improve-data")
    run_git(world.work, "checkout", "-q", "-B", "data", "FETCH_HEAD")
    (world.work / "releases" / "v9.9.8.json").write_text(json.dumps(
        {**good, "tag": "v9.9.8", "version": "9.9.8", "pr": 999}))
    run_git(world.work, "add", "-A")
    run_git(world.work, "commit", "-q", "-m", "a record naming no PR")
    run_git(world.work, "push", "-q", "origin", "HEAD:refs/heads/improve-data")
    run_git(world.work, "fetch", "-q", "origin", "main")
    run_git(world.work, "tag", "v9.9.8", "FETCH_HEAD")
    run_git(world.work, "push", "-q", "origin", "v9.9.8")
    world.clock.advance(days=1)
    with pytest.raises(DamagedState) as info:
        run_monitor(world.env(), MonitorRequest())
    assert info.value.exit_code == EXIT_BAD_STATE
    assert "releases/v9.9.8.json" in str(info.value)
    assert "releases/v9.9.8.json: names PR #999, which does not exist" in world.err.getvalue()
    names = world.git_bare("ls-tree", "-r", "--name-only", "improve-data").split()
    assert "monitors/v9.9.8.json" not in names and f"monitors/{TAG}.json" in names
