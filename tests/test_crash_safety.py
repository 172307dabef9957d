"""Crash and retry safety (DESIGN.md "Crash and retry safety"): writes whose answer is lost are
adopted, not repeated; damaged records are named, never read; an interrupted command is
finished; and the harness (tests/helpers/crash_harness.py) replays the whole story with a
seeded sample of SIGKILLs, lost answers and re-runs, and compares the whole state after every
step with a fault-free run's. The full sweep is benchmarks/bench_crash.py."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.datastore import DataStore
from bot.adapters.git import Git
from bot.adapters.github_forge import GitHubForge
from bot.adapters.http_retry import RetryPolicy
from bot.core.comment_commands import parse_commands
from bot.core.config import ApprovalConfig
from bot.core.policy import (
    CommandContext,
    PrState,
    decide_comment,
    record_verdict,
    resume_comment,
)
from bot.core.records import sort_records
from bot.sandbox import Sandbox
from tests.helpers.forge_github import forge_sandbox, new_repo

__all__ = ["forge_sandbox"]


@pytest.fixture
def sb(forge_sandbox: Sandbox) -> Iterator[Sandbox]:
    seen = len(forge_sandbox.violations)
    yield forge_sandbox
    forge_sandbox.clear_faults()
    assert forge_sandbox.violations[seen:] == []


def forge_on(sb: Sandbox, name: str | None = None) -> GitHubForge:
    # no real waiting between the tries: the test is about what is done, not when
    policy = RetryPolicy(max_wait=5.0, sleep=lambda _s: None)
    return GitHubForge(name or new_repo(sb), sb.token, api_url=sb.api_url, policy=policy)


def _bodies(sb: Sandbox, name: str, number: int) -> list[str]:
    return [c["body"] for c in sb.repo_state(name)["comments"] if c["issue_number"] == number]


# --- the sandbox's new faults ---------------------------------------------------------------


def test_apply_then_fail_takes_effect_and_answers_502(sb: Sandbox) -> None:
    from tests.helpers.sandbox import call

    name = new_repo(sb)
    sb.inject_fault("WRITE", path="/issues$", status=502, after=True)
    status, _, _ = call(sb, "POST", f"/repos/{name}/issues", {"title": "t"})
    assert status == 502
    assert [i["title"] for i in sb.repo_state(name)["issues"]] == ["t"]  # it happened


def test_every_nth_write_faults(sb: Sandbox) -> None:
    from tests.helpers.sandbox import call

    name = new_repo(sb)
    sb.inject_fault("WRITE", status=502, times=100, after=True, every=3)
    got = [call(sb, "POST", f"/repos/{name}/issues", {"title": f"t{i}"})[0] for i in range(6)]
    assert got == [201, 201, 502, 201, 201, 502]
    assert call(sb, "GET", f"/repos/{name}/issues")[0] == 200  # reads are not writes
    assert len(sb.repo_state(name)["issues"]) == 6


@pytest.mark.parametrize("after", [True, False])
def test_kill_at_write_kills_the_process_group(sb: Sandbox, after: bool) -> None:
    name = new_repo(sb)
    script = (
        "import http.client, json, sys, time\n"
        "host, port, path, token = sys.argv[1:]\n"
        "for i in range(3):\n"
        "    c = http.client.HTTPConnection(host, int(port), timeout=10)\n"
        "    c.request('POST', path, json.dumps({'title': f't{i}'}),\n"
        "              {'Authorization': 'token ' + token, 'Content-Type': 'application/json'})\n"
        "    c.getresponse().read()\n"
        "time.sleep(30)\n"
    )
    host_port = sb.api_url.split("//", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    proc = subprocess.Popen(["python", "-c", script, host, port,
                             f"/api/v3/repos/{name}/issues", sb.token], start_new_session=True)
    sb.kill_at_write(proc.pid, 2, after=after)
    assert proc.wait(timeout=20) == -signal.SIGKILL
    assert sb.kill_fired()
    # killed at the second write: after it, two issues; before it, one
    assert len(sb.repo_state(name)["issues"]) == (2 if after else 1)


# --- writes whose answer was lost -------------------------------------------------------------


def test_a_comment_whose_answer_was_lost_is_adopted_not_posted_twice(sb: Sandbox) -> None:
    forge = forge_on(sb)
    name = forge.full_name
    number = forge.create_issue(title="a", body="b").number
    sb.inject_fault("POST", path=r"/issues/\d+/comments$", status=502, after=True)
    made = forge.create_comment(number, "<!-- improve:compare -->\nhello")
    assert _bodies(sb, name, number) == ["<!-- improve:compare -->\nhello"]
    assert made.body.endswith("hello") and made.id > 0
    assert forge.calls.by_operation.get("create_comment_adopted") == 1


def test_a_lost_comment_is_posted_again(sb: Sandbox) -> None:
    forge = forge_on(sb)
    number = forge.create_issue(title="a", body="b").number
    sb.inject_fault("POST", path=r"/issues/\d+/comments$", status=502)  # not applied
    forge.create_comment(number, "once")
    assert _bodies(sb, forge.full_name, number) == ["once"]


def test_a_pull_request_whose_answer_was_lost_is_found_by_its_branch(sb: Sandbox,
                                                                     tmp_path: Path) -> None:
    forge = forge_on(sb)
    work = Git.clone(sb.git_url(forge.full_name), tmp_path / "w")
    work.run("checkout", "-q", "-b", "topic")
    work.commit_files({"x.txt": "x\n"}, "x")
    work.push("topic:refs/heads/topic")
    sb.inject_fault("POST", path=r"/pulls$", status=502, after=True)
    pr = forge.create_pull(title="t", body="b", head="topic", base="main", labels=["rollback"])
    pulls = sb.repo_state(forge.full_name)["pulls"]
    assert [(p["number"], p["labels"]) for p in pulls] == [(pr.number, ["rollback"])]


def test_an_issue_and_a_label_whose_answers_were_lost(sb: Sandbox) -> None:
    forge = forge_on(sb)
    sb.inject_fault("POST", path=r"/issues$", status=502, after=True)
    sb.inject_fault("POST", path=r"/issues/\d+/labels$", status=502, after=True)
    issue = forge.create_issue(title="dash", body="<!-- improve:dashboard -->", labels=["x"])
    issues = sb.repo_state(forge.full_name)["issues"]
    assert [(i["number"], i["labels"]) for i in issues] == [(issue.number, ["x"])]


def test_a_merge_whose_answer_was_lost_is_adopted(sb: Sandbox, tmp_path: Path) -> None:
    forge = forge_on(sb)
    work = Git.clone(sb.git_url(forge.full_name), tmp_path / "w")
    work.run("checkout", "-q", "-b", "topic")
    work.commit_files({"x.txt": "x\n"}, "x")
    work.push("topic:refs/heads/topic")
    pr = forge.create_pull(title="t", body="b", head="topic", base="main")
    sb.inject_fault("PUT", path=r"/merge$", status=502, times=1, after=True)
    result = forge.merge_pull(pr.number, sha=pr.head_sha)
    assert result.merged and result.sha == forge.get_pull(pr.number).merge_commit_sha


def test_a_culprit_issue_left_unlabelled_by_a_kill_is_adopted(sb: Sandbox) -> None:
    from bot.core.analytics import opportunities as opp
    from bot.core.forge import ForgeError
    from bot.core.records import Bisection, ReleaseRecord
    from bot.stages.bisect import file_culprit_issue

    forge = forge_on(sb)
    b = Bisection(state="found", reason="r", reference="a" * 40, head="c" * 40, commits=2,
                  suites=["s"], culprit="d" * 40, step={"s": (-0.2, -0.3, -0.1)})
    release = ReleaseRecord.model_validate({**RELEASE, "tag": "v1.0.1"})
    # the issue is created, its labelling (a second request) never gets through: the run dies
    sb.inject_fault("POST", path=r"/issues/\d+/labels$", status=500, times=1000)
    with pytest.raises(ForgeError):
        file_culprit_issue(forge, b, release)
    sb.clear_faults()
    assert [i["labels"] for i in sb.repo_state(forge.full_name)["issues"]] == [[]]
    number = file_culprit_issue(forge, b, release)  # the re-run
    issues = sb.repo_state(forge.full_name)["issues"]
    assert [(i["number"], i["labels"]) for i in issues] == [(number, [opp.LABEL])]
    assert file_culprit_issue(forge, b, release) == number


# --- damaged records ----------------------------------------------------------------------------

RELEASE = {"kind": "release", "version": "1.0.1", "tag": "v1.0.1", "date": "2026-11-30",
           "released_at": "2026-11-30T10:00:00Z", "pr": 1, "merge_sha": "a" * 40,
           "merged_at": "2026-11-30T09:00:00Z",
           "monitor": {"window_days": 7, "until": "2026-12-07T10:00:00Z"}}


@pytest.mark.parametrize(
    ("path", "blob", "tags", "why"),
    [
        ("releases/v1.0.1.json", json.dumps(RELEASE), ["v1.0.1"], None),
        ("releases/v1.0.1.json", json.dumps(RELEASE)[:40], ["v1.0.1"], "does not parse as JSON"),
        ("releases/v1.0.1.json", json.dumps({**RELEASE, "schema": 9}), ["v1.0.1"],
         "has schema version 9; this bot reads up to 1"),
        ("releases/v1.0.1.json", json.dumps({**RELEASE, "pr": "x"}), ["v1.0.1"],
         "is not a release record (pr: "),
        ("releases/v1.0.1.json", json.dumps(RELEASE), ["v1.0.0"],
         "names tag v1.0.1, which does not exist"),
        ("releases/v2.json", json.dumps(RELEASE), None, "names tag v1.0.1, not its own path's"),
        ("monitors/v1.0.1.json", json.dumps({"version": "1.0.1", "tag": "v1.0.1", "pr": 1,
                                             "until": "2026-12-07T10:00:00Z"}), None, None),
    ],
)
def test_damaged_records_are_named_and_not_read(path: str, blob: str, tags: list[str] | None,
                                                why: str | None) -> None:
    found = sort_records({path: blob}, tags)
    if why is None:
        assert found.damaged == [] and len(found.releases) + len(found.monitors) == 1
    else:
        assert found.releases == [] and found.monitors == {}
        assert len(found.damaged) == 1
        assert found.damaged[0].startswith(f"{path}: ") and why in found.damaged[0]
        assert found.damaged[0].endswith("left untouched, nothing is started from it")


def test_records_written_carry_the_schema_version() -> None:
    from bot.core.records import MonitorRecord

    rec = MonitorRecord(version="1", tag="v1", pr=1, until=datetime(2026, 1, 1, tzinfo=UTC))
    assert json.loads(rec.model_dump_json())["schema"] == 1


# --- an interrupted command ---------------------------------------------------------------------


def _ctx(head: str = "b" * 40) -> CommandContext:
    return CommandContext(comment_id=77, actor="maint", permission="maintain", pr_author="dev",
                          pr_status="open", head_sha=head,
                          now=datetime(2026, 11, 30, tzinfo=UTC))


def test_an_approve_recorded_but_not_finished_is_finished() -> None:
    config = ApprovalConfig(automerge=True)
    commands = parse_commands("/approve")
    state = record_verdict(PrState(), "b" * 40, "accept", "person")
    first = decide_comment(commands, _ctx(), state, config, record_handled=False)
    assert first.gate is not None and first.state_changed
    # the state comment was written; the run died before the gate, the merge and the reaction
    again = decide_comment(commands, _ctx(), first.state, config, record_handled=False)
    assert again.outcomes == () and again.gate is None  # what a re-run decided before
    resumed = resume_comment(commands, _ctx(), first.state, config)
    assert resumed.gate == first.gate and resumed.gate.state == "success"
    assert resumed.merge_sha == first.merge_sha == "b" * 40
    assert resumed.reactions == ("+1",) and resumed.reply is None


def test_a_refusal_replied_but_not_finished_gets_its_reaction_only() -> None:
    config = ApprovalConfig()
    commands = parse_commands("/approve")
    ctx = _ctx().model_copy(update={"permission": "read"})
    first = decide_comment(commands, ctx, PrState(), config, record_handled=False)
    assert first.reply is not None and "confused" in first.reactions
    resumed = resume_comment(commands, ctx, PrState(), config, replied={"77"})
    assert resumed.reply is None and resumed.reactions == first.reactions


@pytest.mark.parametrize("replied", [False, True])
def test_a_mixed_comment_resumed_keeps_its_refusal(replied: bool) -> None:
    # "/approve" is allowed and moves the gate; "/rollback" is refused on an open PR. The state
    # comment was written; the run died before the reply (replied=False) or after it, before
    # the reactions (replied=True).
    config = ApprovalConfig(automerge=True)
    commands = parse_commands("/approve\n/rollback")
    state = record_verdict(PrState(), "b" * 40, "accept", "person")
    first = decide_comment(commands, _ctx(), state, config, record_handled=False)
    assert first.reactions == ("+1", "confused") and first.reply is not None
    assert first.state_changed and first.gate is not None
    resumed = resume_comment(commands, _ctx(), first.state, config,
                             replied={"77"} if replied else ())
    assert resumed.reactions == first.reactions
    assert resumed.reply == (None if replied else first.reply)
    assert resumed.gate == first.gate and resumed.merge_sha == first.merge_sha
    assert resumed.state == first.state and not resumed.state_changed
    assert [o.ok for o in resumed.outcomes] == [True, False]


# --- the data branch is never deleted by a refresh ------------------------------------------


def test_a_refresh_without_a_remote_data_branch_keeps_the_local_one(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin")], check=True)
    subprocess.run(["git", "clone", "-q", str(tmp_path / "origin"), str(tmp_path / "work")],
                   check=True, capture_output=True)
    work = Git(tmp_path / "work")
    work.commit_files({"a.txt": "a\n"}, "first")
    store = DataStore(work, "improve-data", remote=None)
    store.write({"releases/v1.json": {"x": 1}}, "record")
    tip = work.rev_parse("refs/heads/improve-data")
    kept = DataStore(work, "improve-data", remote="origin")
    kept.refresh()  # origin has no improve-data branch
    assert work.rev_parse("refs/heads/improve-data") == tip
    assert kept.read("releases/v1.json") == {"x": 1}


# --- the harness: the whole story, a seeded sample of faults ----------------------------------

SEED = int(os.environ.get("IMPROVE_CRASH_SEED", "15"))
# steps killed per story part (the sweep in benchmarks/bench_crash.py tries every kill point)
PER_PART = int(os.environ.get("IMPROVE_CRASH_PER_PART", "1"))
# the story's steps by part, as the fault-free run plays them (checked below): the sample is
# drawn before that run, which plays alongside the faulted one
STORY_PARTS = {1: range(1, 4), 2: range(4, 9), 3: range(9, 11), 4: range(11, 19)}


def _sample(seed: int, per_part: int) -> tuple[dict[int, tuple[int, bool]], set[int]]:
    """Kill points, ``per_part`` steps of each story part (at its first or second write, after
    or before it), and one step of each part to run twice with the same run id and attempt."""
    rng = random.Random(seed)
    kills: dict[int, tuple[int, bool]] = {}
    reruns: set[int] = set()
    for steps in STORY_PARTS.values():
        for number in rng.sample(list(steps), per_part):
            kills[number] = (rng.randint(1, 2), rng.random() < 0.3)
        reruns.add(rng.choice([n for n in steps if n not in kills]))
    return kills, reruns


@pytest.mark.timeout(900)
def test_the_story_converges_after_kills_lost_answers_and_reruns(tmp_path: Path) -> None:
    """The whole story (auto tier, approval, rejection, the monitor's warning and rollback),
    every step's state compared with a fault-free run's: seeded kills in every part, each
    re-run as GitHub's "re-run job"; one write in three answering 502 after taking effect; a
    step of each part run twice with the same run id and attempt. The fault-free run plays at
    the same time (its own sandbox), so the test costs about one faulted story."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import crash_harness as ch

    kills, reruns = _sample(SEED, PER_PART)
    plan = ch.Plan(kill_points=kills, lost_every=3, rerun=True, rerun_steps=reruns, seed=SEED)
    with ThreadPoolExecutor(2) as pool:
        played_base = pool.submit(ch.play, tmp_path / "base")
        played = pool.submit(ch.play, tmp_path / "w", plan)
        (base, base_failure), (world, failure) = played_base.result(), played.result()
    try:
        assert base_failure is None, base_failure
        assert base.step_parts == [p for p, steps in STORY_PARTS.items() for _ in steps], \
            "the story's steps changed: update STORY_PARTS"
        assert failure is None, failure
        world.judge(base.fingerprints)
        report = [f"{o.step} {o.argv} [{o.fault}] attempts={o.attempts}: {o.diff}"
                  for o in world.outcomes if not o.converged]
        assert report == [], "\n".join(report)
        assert len(world.outcomes) == len(base.fingerprints)
        killed = {world.step_parts[o.step - 1] for o in world.outcomes if o.killed}
        assert killed == set(STORY_PARTS), f"parts no kill reached: {set(STORY_PARTS) - killed}"
        assert world.fingerprints == base.fingerprints
    finally:
        ch.stop(base)
        ch.stop(world)


@pytest.mark.timeout(600)
def test_an_approve_killed_after_its_merge_does_not_measure_again(tmp_path: Path) -> None:
    """Found by the sweep (kill after write 4): maya's ``/approve`` (step 7) killed right after
    its merge took effect. Its re-run saw ``main`` moved (by that very merge), asked for a new
    measurement and set the gate pending on a merged PR; now it sees the PR merged and stops."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import crash_harness as ch

    plan = ch.Plan(kill_points={7: (4, False)})
    with ThreadPoolExecutor(2) as pool:
        played_base = pool.submit(ch.play, tmp_path / "base", None, None, 2)
        played = pool.submit(ch.play, tmp_path / "w", plan, None, 2)
        (base, base_failure), (world, failure) = played_base.result(), played.result()
    try:
        assert base_failure is None and failure is None, (base_failure, failure)
        world.judge(base.fingerprints)
        killed = [o.step for o in world.outcomes if o.killed]
        assert killed == [7], f"the kill point was not reached (killed: {killed})"
        report = [f"{o.step} {o.argv}: {o.diff}" for o in world.outcomes if not o.converged]
        assert report == [], "\n".join(report)
    finally:
        ch.stop(base)
        ch.stop(world)
