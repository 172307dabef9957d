"""The comment commands end to end: the sandbox's state and request log after each event."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.monitor import NO_RELEASE_PR
from bot.core.policy import MERGE_STALE, REFUSE_AUTHOR, REFUSE_PERMISSION
from bot.core.render import md_escape
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from bot.stages.pr_state import RETEST_NO_RUN, publish_verdict
from tests.helpers.commands import BOT, CONFIG, PrWorld, make_world, module_sandbox
from tests.helpers.sandbox import push_change

__all__ = ["module_sandbox"]

GOAL = 6  # API calls per command event


@pytest.fixture
def world(module_sandbox: Sandbox, tmp_path: Path) -> Iterator[PrWorld]:
    seen = len(module_sandbox.violations)
    w = make_world(module_sandbox, tmp_path)
    yield w
    w.close()
    assert module_sandbox.violations[seen:] == []


def compared(w: PrWorld, verdict: str = "accept", tier: str = "person") -> None:
    """What REPORT does once the comparison of the head is in."""
    publish_verdict(w.services(), w.number, w.head, verdict, tier)  # type: ignore[arg-type]


def test_reader_approve_is_refused_and_the_gate_does_not_move(world: PrWorld) -> None:
    compared(world)
    before = [s for s in world.state()["statuses"] if s["context"] == "improve/gate"]
    c, calls = world.say("rita", "/approve")
    assert world.reactions(c.id) == ["confused", "eyes"]
    reply = world.bot_comments()[-1]
    assert REFUSE_PERMISSION.format(needed="write or maintain or admin", has="read") in reply
    assert [s for s in world.state()["statuses"] if s["context"] == "improve/gate"] == before
    assert world.gate() == ("pending", "accepted: awaiting /approve")
    assert calls <= 4  # eyes, permission, reply, confused: no state needed to refuse


def test_writer_approves_the_head_and_a_push_voids_it(world: PrWorld) -> None:
    compared(world)
    approved = world.head
    c, calls = world.say("bob", "/approve")
    assert world.gate() == ("success", f"accepted, approved by @bob for {approved[:7]}")
    assert world.reactions(c.id) == ["+1", "eyes"]
    assert calls <= GOAL
    log = [(r.method, r.path.split("/")[-1]) for r in world.sb.requests[-calls:]]
    assert ("GET", "permission") in log and ("POST", approved) in log
    # a push: the new head has no green gate, and its comparison finds the approval stale
    new = world.push({"config/router.yaml": "threshold: 0.7\n"})
    assert world.gate(new) is None
    compared(world)
    assert world.gate(new) == ("pending",
                               f"accepted: approval of {approved[:7]} voided by a push; "
                               "awaiting /approve")
    assert world.gate(approved)[0] == "success"  # type: ignore[index]  # its own commit only


PROPOSAL = """\
id: p1
title: Raise the threshold
type: constant_tune
risk: medium
rationale: fewer misroutes
predicted_improvement: {metric: accuracy, delta: 0.02}
author: bob
changes:
  - path: config/router.yaml
    set: {key: threshold, value: 0.6}
"""


def test_the_proposal_s_author_cannot_approve_it(world: PrWorld) -> None:
    """The bot opens every proposal's PR, so GitHub's author says little: the proposal's own
    ``author`` (here bob, with write access) is an author too."""
    world.push({".improve/proposals/p1.yaml": PROPOSAL})
    compared(world)
    c, calls = world.say("bob", "/approve")
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert REFUSE_AUTHOR in world.bot_comments()[-1]
    assert world.gate() == ("pending", "accepted: awaiting /approve")
    assert calls <= GOAL  # the authors were recorded with the verdict: no extra call
    c, _ = world.say("mo", "/approve")
    assert world.gate() == ("success", f"accepted, approved by @mo for {world.head[:7]}")


@pytest.mark.parametrize("compare_first", [True, False])
def test_whoever_pushed_commits_cannot_approve(world: PrWorld, compare_first: bool) -> None:
    """bob pushes a commit to alice's pull request: bob is an author of what would merge,
    whether the head was compared before the /approve or not."""
    email = world.sb.state.user("bob").email  # type: ignore[union-attr]
    bob = {**os.environ, "GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": email,
           "GIT_COMMITTER_NAME": "Bob", "GIT_COMMITTER_EMAIL": email}
    (world.work / "config/router.yaml").write_text("threshold: 0.65\n")
    subprocess.run(["git", "commit", "-qam", "bob's tweak"], cwd=world.work, check=True, env=bob)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:refs/heads/improve/p1"],
                   cwd=world.work, check=True)
    world.head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=world.work, check=True,
                                capture_output=True, text=True).stdout.strip()
    if compare_first:
        compared(world)
    c, _ = world.say("bob", "/approve")
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert REFUSE_AUTHOR in world.bot_comments()[-1]
    assert world.gate() != ("success", f"accepted, approved by @bob for {world.head[:7]}")


def test_the_author_cannot_approve_their_own_pull_request(world: PrWorld) -> None:
    compared(world)
    c, _ = world.say("alice", "/approve")
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert REFUSE_AUTHOR in world.bot_comments()[-1]
    assert world.gate() == ("pending", "accepted: awaiting /approve")


@pytest.mark.parametrize("body", ["> /approve", "please /approve", "```\n/approve\n```",
                                  "\u200b/approve"])
def test_quoted_or_inline_commands_do_nothing(world: PrWorld, body: str) -> None:
    compared(world)
    before = world.bot_comments()
    c, calls = world.say("bob", body)
    assert (calls, world.reactions(c.id), world.bot_comments()) == (0, [], before)
    assert world.gate() == ("pending", "accepted: awaiting /approve")


@pytest.mark.parametrize(("login", "body"), [("bob", "/approve"), ("rita", "/approve"),
                                             ("bob", "/help"), ("bob", "/hold wait")])
def test_a_redelivered_event_changes_nothing(world: PrWorld, login: str, body: str) -> None:
    compared(world)
    c, _ = world.say(login, body)
    after_first = (world.state()["comments"], world.state()["statuses"])
    since = len(world.sb.requests)
    assert world.handle(world.event(c)) == 0
    assert (world.state()["comments"], world.state()["statuses"]) == after_first
    # eyes answered 200 (already there), the result reaction shows the handling finished
    assert world.sb.api_calls(since) == 2
    assert "handled already" in world.out.getvalue()


def test_hold_keeps_the_gate_pending_whatever_the_numbers_say(world: PrWorld) -> None:
    compared(world)
    world.say("bob", "/approve")
    _, calls = world.say("mo", "/hold the data is late")
    assert world.gate() == ("pending", "held by @mo: the data is late")
    assert calls <= GOAL
    compared(world, "accept", "auto")  # a fresh comparison, auto tier: still held
    assert world.gate() == ("pending", "held by @mo: the data is late")
    c, calls = world.say("bob", "/unhold")
    assert world.gate() == ("success", "accepted (auto tier)")
    assert world.reactions(c.id) == ["+1", "eyes"] and calls <= GOAL


def test_configuration_changed_in_the_pull_request_has_no_effect(world: PrWorld) -> None:
    # the PR widens the approvers to everyone who can read; the default branch's file rules
    widened = "approval:\n  approvers: [read, triage, write, maintain, admin]\n  automerge: true\n"
    world.push({".github/improve.yml": widened})
    compared(world)
    c, calls = world.say("rita", "/approve")
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert world.gate() == ("pending", "accepted: awaiting /approve")
    assert not any("/contents/" in r.path for r in world.sb.requests[-calls:])


def test_the_configuration_comes_from_the_api_without_a_checkout(world: PrWorld,
                                                                 tmp_path: Path) -> None:
    compared(world)
    world.checkout = tmp_path / "empty"
    world.checkout.mkdir()
    c, calls = world.say("bob", "/approve")
    log = [r for r in world.sb.requests[-calls:] if "/contents/" in r.path]
    assert [r.query for r in log] == ["ref=main"]
    assert world.gate()[0] == "success"  # type: ignore[index]


def test_hostile_comments_reach_no_shell_and_come_back_escaped(world: PrWorld,
                                                               tmp_path: Path) -> None:
    compared(world)
    marker = tmp_path / "pwned"
    hostile = ("@octo/admins @bob \u202eevil\u200b <script>x</script> "
               f"$(touch {marker}) `touch {marker}` ; touch {marker}")
    padding = "\n" + ("x" * 79 + "\n") * 800  # a 64 KB comment
    c, _ = world.say("rita", f"/hold {hostile}{padding}"[:65536])
    assert not marker.exists()
    reply = world.bot_comments()[-1]
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert "@octo/admins" not in reply and "@bob" not in reply and "@\u2060octo/admins" in reply
    assert "\u202e" not in reply and "U\\+202E" in reply and "<script>" not in reply
    assert len(reply) < 2000
    # from an approver the reason lands in the status and the state comment, inert there too
    world.say("bob", f"/hold {hostile}")
    assert not marker.exists()
    state, desc = world.gate()  # type: ignore[misc]
    assert state == "pending" and "\u202e" not in desc and len(desc) <= 140
    body = next(b for b in world.bot_comments() if "improve:state" in b)
    assert "@octo/admins" not in body and "\u202e" not in body and "<script>" not in body


def test_an_approval_expires(world: PrWorld) -> None:
    compared(world)
    world.say("bob", "/approve")
    assert world.gate()[0] == "success"  # type: ignore[index]
    world.clock.advance(days=8)
    compared(world)  # any later evaluation of the gate, e.g. after /retest
    assert world.gate() == ("pending", "accepted: approval by @bob expired; awaiting /approve")


def test_retest_reruns_the_test_workflow_for_the_head(world: PrWorld) -> None:
    compared(world, "inconclusive")
    c, calls = world.say("bob", "/retest")
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert RETEST_NO_RUN.format(workflow="improve-test.yml", sha=world.head[:7]).replace(
        "(", "\\(").replace(")", "\\)") in world.bot_comments()[-1]
    run = world.sb.add_workflow_run(world.repo, head_sha=world.head, head_branch="improve/p1",
                                    conclusion="failure", pull_requests=[world.number])
    c, calls = world.say("bob", "/retest")
    runs = {r["id"]: r for r in world.sb.workflow_runs(world.repo)}
    assert (runs[run]["run_attempt"], runs[run]["status"]) == (2, "queued")
    assert world.reactions(c.id) == ["+1", "eyes"] and calls <= GOAL


def test_help_answers_anyone(world: PrWorld) -> None:
    c, calls = world.say("rita", "/help")  # read permission: /help only
    assert "| `/approve` |" in world.bot_comments()[-1]
    assert world.reactions(c.id) == ["+1", "eyes"] and calls == 3


def test_rollback_of_a_pr_never_released_is_refused(world: PrWorld) -> None:
    # the full /rollback story is in tests/test_rollback_e2e.py
    c, _ = world.say("bob", "/rollback accuracy fell", issue_state="closed", merged=True)
    assert world.reactions(c.id) == ["confused", "eyes"]
    assert md_escape(NO_RELEASE_PR.format(pr=world.number)) in world.bot_comments()[-1]


@pytest.mark.parametrize("facts", [{"action": "edited"}, {"action": "deleted"},
                                   {"is_pull_request": False},
                                   {"sender_type": "Bot", "login": "renovate[bot]"}])
def test_ignored_comments_cost_nothing(world: PrWorld, facts: dict[str, object]) -> None:
    c = world.comment("bob", "/approve")
    login = facts.pop("login", None)
    since = len(world.sb.requests)
    assert world.handle(world.event(c, login=login, **facts)) == 0  # type: ignore[arg-type]
    assert world.sb.api_calls(since) == 0 and world.reactions(c.id) == []
    assert "comment ignored" in world.out.getvalue()


def _automerge_world(sb: Sandbox, tmp_path: Path) -> PrWorld:
    return make_world(sb, tmp_path, "approval:\n  automerge: true\n")


def test_automerge_merges_the_approved_sha(module_sandbox: Sandbox, tmp_path: Path) -> None:
    w = _automerge_world(module_sandbox, tmp_path)
    compared(w)
    w.say("bob", "/approve")
    pr = next(p for p in w.state()["pulls"] if p["number"] == w.number)
    assert pr["merged"] and pr["merged_by"] == BOT
    merges = [r for r in w.sb.requests if r.path.endswith("/merge") and r.method == "PUT"]
    assert [r.status for r in merges] == [200]
    w.close()


def test_automerge_409_says_the_approval_went_stale(module_sandbox: Sandbox,
                                                    tmp_path: Path) -> None:
    w = _automerge_world(module_sandbox, tmp_path)
    compared(w)
    approved = w.head
    # a push lands while its comparison is still running: the gate stands on the compared head
    push_change(w.work, "improve/p1", {"x.txt": "late\n"}, "late", new_branch=False)
    w.say("bob", "/approve")
    pr = next(p for p in w.state()["pulls"] if p["number"] == w.number)
    assert not pr["merged"]
    assert MERGE_STALE.format(sha=f"`{approved[:7]}`") in w.bot_comments()[-1]
    w.close()


def test_handle_runs_as_actions_runs_it(module_sandbox: Sandbox, tmp_path: Path) -> None:
    """/approve through the shipped improve-commands workflow, as the sandbox's runner runs
    it (GITHUB_TOKEN only): the job's if:, its token with the job's permissions, the default
    branch checked out, ``improve handle`` in a process of its own."""
    seen = len(module_sandbox.violations)
    world = make_world(module_sandbox, tmp_path, extra=render_workflows(action=SANDBOX_ACTION))
    runner = ActionsRunner(module_sandbox, world.repo, tmp_path / "actions",
                           bot_action=SANDBOX_ACTION)
    try:
        runner.run_until_idle()  # the pull request's own test and report
        compared(world)
        c = world.comment("bob", "/approve")
        jobs = runner.run_until_idle()
        # (compared()'s comment, made with the sandbox's own token, starts the workflow too;
        # the job's if: skips a bot's comment)
        (job,) = [j for j in jobs if j.workflow == "improve-commands"
                  and j.conclusion != "skipped"]
        assert job.conclusion == "success", dump_journal(jobs)
        (step,) = job.bot_steps()
        assert world.gate() == ("success", f"accepted, approved by @bob for {world.head[:7]}")
        assert world.reactions(c.id) == ["+1", "eyes"]
        assert "::stop-commands::" in step.out
        assert runner.runs[job.run_id].payload["comment"]["id"] == c.id
        assert module_sandbox.violations[seen:] == []
    finally:
        runner.close()
        world.close()


def _review_requests(w: PrWorld) -> list[str]:
    return [r.path for r in w.sb.requests if r.kind == "api" and r.method == "POST"
            and r.path.endswith(f"/repos/{w.repo}/pulls/{w.number}/requested_reviewers")]


def test_a_waiting_proposal_asks_its_code_owners_once(module_sandbox: Sandbox,
                                                      tmp_path: Path) -> None:
    """CODEOWNERS on the base branch, last match wins: bob owns config/; the proposal waits for
    /approve, so bob is asked, once, however often it is compared again; the dashboard says
    whom it waits on."""
    from bot.stages.dashboard import open_proposals

    owners = "# owners\n*       @mo\n/config/ @bob @alice  # alice is the PR's author\n"
    w = make_world(module_sandbox, tmp_path, extra={".github/CODEOWNERS": owners})
    try:
        compared(w, "accept", "auto")  # the auto tier waits on nobody
        assert w.state()["pulls"][0]["requested_reviewers"] == []
        compared(w)
        assert w.state()["pulls"][0]["requested_reviewers"] == ["bob"]
        assert "Review asked of: " in next(b for b in w.bot_comments()
                                            if "improve:state" in b)
        compared(w, "inconclusive")
        w.push({"config/router.yaml": "threshold: 0.7\n"})
        compared(w)
        assert len(_review_requests(w)) == 1
        w.forge("alice").add_labels(w.number, ["improvement"])
        (view,) = open_proposals(w.forge())
        assert (view.state, view.waits_on) == ("awaiting approval", "@bob")
    finally:
        w.close()


def test_configured_reviewers_are_asked_and_one_github_refuses_is_left_out(
        module_sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = CONFIG + "  reviewers: [mo, '@octo/core', rita]\n"
    w = make_world(module_sandbox, tmp_path, config=config,
                   extra={"CODEOWNERS": "* @bob\n"})  # configured reviewers come first
    try:
        compared(w, "inconclusive")
        assert w.state()["pulls"][0]["requested_reviewers"] == ["mo", "rita"]
        # the team is unknown here: GitHub refuses the whole request, so each is asked alone
        assert len(_review_requests(w)) == 4
        assert f"GitHub would not ask @octo/core to review #{w.number}" in capsys.readouterr().err
    finally:
        w.close()
