"""A green gate that survives main moving on, end to end on the sandbox: two proposals that each
improve the classifier but together overshoot. One merges; the other, approved later, is not
merged on its old comparison: the bot asks for the TEST run again, which measures the head
merged into main as it is now, and the combination's regression keeps it out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.event import Event
from bot.adapters.github_forge import GitHubForge
from bot.cli import main
from bot.commands.handle import bot_router
from bot.core.embed import extract
from bot.core.policy import QUEUE_REJECTED
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from bot.sandbox.events import actions_env, build_event
from bot.stages.context import context_for_event
from bot.stages.pr_state import REEVALUATING_STATUS
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import run_git, sandbox  # noqa: F401 - the fixture
from tests.test_pr_evaluation_e2e import bot_comments, gate, handle, pr_env

NAME = sample.FULL_NAME
OFFSET_PATH = "classifier/offset.yaml"
# the classifier with a second knob: the threshold it applies is threshold + offset
CLASSIFIER = sample.CLASSIFIER.replace(
    "    t = threshold()\n",
    "    t = threshold() + float((ROOT / 'offset.yaml').read_text().split(':')[1])\n")
CONFIG = sample.CONFIG + "approval:\n  automerge: true\n"


def _proposal(pid: str, path: str, key: str, value: float, risk: str) -> str:
    return (f"id: {pid}\ntitle: Move the boundary with {key}\ntype: constant_tune\n"
            f"risk: {risk}\nrationale: Most misclassified cases sit just under the boundary.\n"
            "predicted_improvement: {metric: accuracy, delta: 0.05}\nauthor: tuner\n"
            f"changes:\n  - path: {path}\n    set: {{key: {key}, value: {value}}}\n"
            "    rationale: towards the data's boundary\n")


@pytest.fixture
def sb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:  # noqa: F811
    files = {**sample.files(), "classifier/classify.py": CLASSIFIER, OFFSET_PATH: "offset: 0.0\n",
             ".github/improve.yml": CONFIG}
    sandbox.create_repo(NAME, files)
    monkeypatch.setenv("GITHUB_TOKEN", sandbox.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", NAME)
    monkeypatch.setenv("GITHUB_API_URL", sandbox.api_url)
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    return sandbox


def _propose(sb: Sandbox, tmp_path: Path, pid: str, text: str) -> tuple[Path, dict[str, Any]]:
    work = tmp_path / pid
    run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
    file = tmp_path / f"{pid}.yaml"
    file.write_text(text)
    assert main(["propose", str(file), "--repo", str(work)]) == 0
    return work, next(p for p in sb.repo_state(NAME)["pulls"] if p["head"] == f"improve/{pid}")


def _pull(sb: Sandbox, number: int) -> dict[str, Any]:
    return next(p for p in sb.repo_state(NAME)["pulls"] if p["number"] == number)


def test_a_stale_green_pr_is_measured_again_and_not_merged_when_the_combination_regresses(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # each alone moves the boundary to 0.62; together they overshoot to 0.74
    assert sample.accuracy(0.62) > max(sample.accuracy(0.50), sample.accuracy(0.74))
    # B: the offset, medium risk (a person approves it); A: the threshold, the auto tier
    work_b, pr_b = _propose(sb, tmp_path, "prop-offset",
                            _proposal("prop-offset", OFFSET_PATH, "offset", 0.12, "medium"))
    assert handle(pr_env(sb, tmp_path, work_b, "opened", pr_b), monkeypatch) == 0
    assert gate(sb, pr_b["head_sha"])[-1][0] == "pending"  # accepted, awaiting /approve
    main_before = sb.repo_state(NAME)["refs"]["refs/heads/main"]

    work_a, pr_a = _propose(sb, tmp_path, "prop-threshold",
                            _proposal("prop-threshold", sample.THRESHOLD_PATH, "threshold",
                                      0.62, "low"))
    assert handle(pr_env(sb, tmp_path, work_a, "opened", pr_a), monkeypatch) == 0
    assert _pull(sb, pr_a["number"])["merged"]  # its base had not moved: merged at once
    main_after = sb.repo_state(NAME)["refs"]["refs/heads/main"]
    assert main_after != main_before

    # a person approves B: its gate turns green, but main moved since B was measured
    run = sb.add_workflow_run(NAME, head_sha=pr_b["head_sha"], head_branch="improve/prop-offset",
                              pull_requests=[pr_b["number"]])
    bob = sb.add_user("bob", "write", repos=[NAME])
    status, _, comment = _call_as(sb, bob, pr_b["number"], "/approve")
    assert status == 201
    checkout = tmp_path / "checkout"
    run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(checkout))
    payload = build_event("issue_comment", "created", repo=NAME, number=pr_b["number"],
                          body="/approve", comment_id=comment["id"], sender="bob",
                          pr_author="tuner", default_branch="main")
    event = Event("issue_comment", payload, NAME, api_url=sb.api_url, server_url=sb.server_url,
                  token=sb.token, sha=main_after, ref="refs/heads/main", workspace=checkout)
    services = context_for_event(
        event, make_forge=lambda: GitHubForge(NAME, sb.token, api_url=sb.api_url))
    before = len(gate(sb, pr_b["head_sha"]))
    since = len(sb.requests)
    assert bot_router().dispatch(event, services) == 0
    assert sb.api_calls(since) <= 12
    # never green for a moment: a person could merge the stale combination meanwhile
    assert [st for st, _ in gate(sb, pr_b["head_sha"])[before:]] == ["pending"]
    assert not _pull(sb, pr_b["number"])["merged"]
    assert gate(sb, pr_b["head_sha"])[-1] == ("pending",
                                              REEVALUATING_STATUS.format(branch="main"))
    (note,) = bot_comments(sb, "reevaluating")
    assert f"`{main_before[:12]}` → `{main_after[:12]}`" in note["body"]
    runs = {r["id"]: r for r in sb.workflow_runs(NAME)}
    assert runs[run]["run_attempt"] == 2  # TEST runs again, with its own read-only token

    # the re-run: the same event (its base is where main was), main as it is now in the
    # checkout (fetch-depth: 0 brings every branch)
    env = pr_env(sb, tmp_path, work_b, "opened", pr_b)
    event_file = Path(env["GITHUB_EVENT_PATH"])
    first = json.loads(event_file.read_text())
    first["pull_request"]["base"]["sha"] = main_before
    event_file.write_text(json.dumps(first))
    env["GITHUB_RUN_ATTEMPT"] = "2"
    assert handle(env, monkeypatch) == 1  # the gate says no
    assert not _pull(sb, pr_b["number"])["merged"]
    assert gate(sb, pr_b["head_sha"])[-1][0] == "failure"
    (compared,) = [c for c in bot_comments(sb, "compare") if c["issue_number"] == pr_b["number"]]
    data = extract(compared["body"], "comparison")
    assert data["decision"] == "reject"
    assert data["base"]["commit"] == main_after
    merged = data["cand"]["commit"]
    parents = run_git(work_b, "rev-list", "--parents", "-n", "1", merged).stdout.split()[1:]
    assert parents == [main_after, pr_b["head_sha"]]


def _call_as(sb: Sandbox, token: str, number: int, body: str) -> tuple[int, Any, Any]:
    from tests.helpers.sandbox import call

    return call(sb, "POST", f"/repos/{NAME}/issues/{number}/comments", {"body": body},
                token=token)


def test_a_merge_group_gets_a_gate_on_the_queues_commit(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-job shape (the bot measures the queue's commit itself, with a token): no shipped
    workflow runs it, so its event is built here; the shipped two-job shape runs through the
    workflows on the runner in the next test."""
    work, pr_b = _propose(sb, tmp_path, "prop-offset",
                          _proposal("prop-offset", OFFSET_PATH, "offset", 0.12, "low"))
    # meanwhile main got the threshold change by another route
    run_git(work, "checkout", "-q", "-B", "direct", "origin/main")
    rules = work / sample.THRESHOLD_PATH
    rules.write_text(rules.read_text().replace("0.5", "0.62"))
    run_git(work, "commit", "-q", "-am", "threshold 0.62")
    run_git(work, "push", "-q", sb.git_url(NAME), "HEAD:refs/heads/main")
    base = run_git(work, "rev-parse", "HEAD").stdout.strip()
    # GitHub's queue merges the head into the branch's tip on a branch of its own
    run_git(work, "merge", "-q", "--no-ff", "-m", "queue", pr_b["head_sha"])
    queued = run_git(work, "rev-parse", "HEAD").stdout.strip()
    branch = f"gh-readonly-queue/main/pr-{pr_b['number']}-{pr_b['head_sha']}"
    run_git(work, "push", "-q", sb.git_url(NAME), f"HEAD:refs/heads/{branch}")
    payload = build_event("merge_group", "checks_requested", repo=NAME, head_sha=queued,
                          base_sha=base, number=pr_b["number"], pr_head_sha=pr_b["head_sha"],
                          default_branch="main")
    env = actions_env("merge_group", payload, repo=NAME, api_url=sb.api_url,
                      server_url=sb.server_url, token=sb.token, sha=queued,
                      ref=f"refs/heads/{branch}", workdir=tmp_path / "runner-queue")
    env["GITHUB_WORKSPACE"] = str(work)
    assert handle(env, monkeypatch) == 1  # the gate says no
    # the queue's commit gets the gate; the pull request's own head keeps its own
    assert gate(sb, queued) == [("failure", QUEUE_REJECTED)]
    assert gate(sb, pr_b["head_sha"]) == []


def test_the_merge_queue_runs_the_shipped_workflows_and_drops_the_combination_that_regresses(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    # a repository set up by improve init (its workflows), without automerge: a person merges
    # through the merge queue, which requires improve/gate
    sb = sandbox
    files = {**sample.files(), "classifier/classify.py": CLASSIFIER,
             OFFSET_PATH: "offset: 0.0\n", **render_workflows(action=SANDBOX_ACTION)}
    sb.create_repo(NAME, files)
    for key, value in {"GITHUB_TOKEN": sb.token, "GITHUB_REPOSITORY": NAME,
                       "GITHUB_API_URL": sb.api_url, "GIT_TERMINAL_PROMPT": "0"}.items():
        monkeypatch.setenv(key, value)
    runner = ActionsRunner(sb, NAME, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        work, pr_b = _propose(sb, tmp_path, "prop-offset",
                              _proposal("prop-offset", OFFSET_PATH, "offset", 0.12, "low"))
        jobs = runner.run_until_idle()
        assert all(j.conclusion == "success" for j in jobs), dump_journal(jobs)
        assert gate(sb, pr_b["head_sha"])[-1][0] == "success"  # alone, B helps
        # meanwhile main got the threshold change by another route
        run_git(work, "checkout", "-q", "-B", "direct", "origin/main")
        rules = work / sample.THRESHOLD_PATH
        rules.write_text(rules.read_text().replace("0.5", "0.62"))
        run_git(work, "commit", "-q", "-am", "threshold 0.62")
        run_git(work, "push", "-q", sb.git_url(NAME), "HEAD:refs/heads/main")
        main_now = sb.repo_state(NAME)["refs"]["refs/heads/main"]
        runner.run_until_idle()
        # a person adds B to the queue: GitHub merges B's head into main's tip on the queue's
        # branch and asks for checks there; the shipped workflows measure that commit
        maya = sb.add_user("maya", "write", repos=[NAME])
        assert maya
        queued = sb.enqueue(NAME, pr_b["number"], "maya")
        jobs = runner.run_until_idle()
        ran = [(j.workflow, j.event, j.conclusion) for j in jobs]
        assert ("improve-test", "merge_group", "success") in ran, dump_journal(jobs)
        assert ("improve-report", "workflow_run", "failure") in ran, dump_journal(jobs)
        # the combination overshoots: the queue's commit gets a failing gate, the queue drops
        # B, main does not move, and B's own head keeps its gate
        assert gate(sb, queued) == [("failure", QUEUE_REJECTED)]
        assert sb.merge_queue(NAME) == []
        state = sb.repo_state(NAME)
        assert state["refs"]["refs/heads/main"] == main_now
        assert not any(r.startswith("refs/heads/gh-readonly-queue/") for r in state["refs"])
        assert not _pull(sb, pr_b["number"])["merged"]
        assert gate(sb, pr_b["head_sha"])[-1][0] == "success"
    finally:
        runner.close()
