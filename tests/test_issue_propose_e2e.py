"""``/propose`` on an issue, end to end through the shipped improve-commands workflow on the
sandbox's Actions runner: people file issues carrying a proposal (as the request form renders
its Proposal field) and comment; the workflows do the rest. A reader's /propose is refused as
any command is; a bad proposal is answered with its field and the issue's line; a maintainer's
/propose opens the pull request, links it from the issue, and the merge closes the issue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.policy import REFUSE_PERMISSION
from bot.demo import sample
from bot.demo.engine import World
from bot.demo.story import failed_jobs
from bot.sandbox.actions_runner import dump_journal
from tests.helpers.sandbox import call

BAD = sample.GERMAN.replace("risk: medium", "risk: extreme")


def form_body(proposal: str) -> str:
    """The issue body GitHub writes from the improvement-request form."""
    return ("### What should improve\n\nLet the bot answer German tickets.\n\n"
            "### Evidence\n\n```text\nGerman tickets wait 3x longer than English ones.\n```\n\n"
            f"### Target\n\n{sample.LANGUAGES}\n\n### Proposal type\n\nconfig_change\n\n"
            f"### Proposal\n\n```yaml\n{proposal}```\n")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World.start(tmp_path_factory.mktemp("issue-propose") / "world", app=True)
    try:
        yield w
    finally:
        w.stop()


def file_issue(world: World, login: str, title: str, body: str) -> int:
    forge = world._forge(login)
    try:
        return forge.create_issue(title=title, body=body).number
    finally:
        forge.close()


def bot_replies(world: World, number: int) -> list[str]:
    return [c["body"] for c in world.state()["comments"]
            if c["issue_number"] == number and c["user"] == world.bot_login]


def reactions(world: World, comment: dict[str, Any]) -> list[str]:
    found = next(c for c in world.state()["comments"] if c["id"] == comment["id"])
    return [r["content"] for r in found["reactions"]]


def issue(world: World, number: int) -> dict[str, Any]:
    return next(i for i in world.state()["issues"] if i["number"] == number)


def test_propose_from_an_issue(world: World) -> None:
    good = file_issue(world, sample.READER, "Improve: answer German tickets",
                      form_body(sample.GERMAN))

    # a reader may file the issue, but not propose it
    asked, jobs = world.comment(sample.READER, good, "/propose")
    assert not failed_jobs(jobs), dump_journal(jobs)
    ran = [j.workflow for j in jobs if j.conclusion == "success"]
    assert ran == ["improve-commands"], dump_journal(jobs)
    assert world.state()["pulls"] == []
    assert "confused" in reactions(world, asked)
    (refusal,) = bot_replies(world, good)
    needed = REFUSE_PERMISSION.format(needed="write or maintain or admin", has="read")
    assert f"❌ /propose: {needed}" in refusal, refusal

    # a bad proposal: the reply names the field and the issue's line; nothing is pushed
    bad = file_issue(world, sample.READER, "Improve: German, badly", form_body(BAD))
    asked, jobs = world.comment(sample.MAINTAINER, bad, "/propose")
    assert not failed_jobs(jobs), dump_journal(jobs)
    assert world.state()["pulls"] == []
    assert "confused" in reactions(world, asked)
    (problems,) = bot_replies(world, bad)
    line = form_body(BAD).split("\n").index("risk: extreme") + 1
    assert f"line {line}, `risk`:" in problems, problems

    # a maintainer proposes it: the pull request opens, is linked from the issue and tested
    asked, jobs = world.comment(sample.MAINTAINER, good, "/propose")
    assert not failed_jobs(jobs), dump_journal(jobs)
    pr = world.pull_by_head("improve/prop-german")
    assert f"Closes #{good}." in pr["body"]
    assert "+1" in reactions(world, asked)
    linked = f"✅ /propose: proposed as #{pr['number']} (`improve/prop-german`)"
    assert any(linked in r for r in bot_replies(world, good)), bot_replies(world, good)
    assert any(j.workflow == "improve-report" for j in jobs), dump_journal(jobs)
    assert issue(world, good)["state"] == "open"

    # the merge closes the issue
    _, jobs = world.comment(sample.MAINTAINER, pr["number"], "/approve")
    assert not failed_jobs(jobs), dump_journal(jobs)
    assert world.pull(pr["number"])["merged"], dump_journal(jobs)
    assert issue(world, good)["state"] == "closed"
    assert issue(world, bad)["state"] == "open"
    assert world.sb.violations == []


# -- the improve-propose workflow (workflow_dispatch) and the tuner's schedule ------------------

def dispatch(world: World, login: str, inputs: dict[str, str]) -> tuple[int, Any]:
    """``login`` runs improve-propose ("Run workflow", or the API as an agent does)."""
    status, _, body = call(world.sb, "POST", f"/repos/{world.repo}/actions/workflows/"
                           "improve-propose.yml/dispatches",
                           {"ref": "main", "inputs": inputs}, token=world.tokens[login])
    return status, body


def test_the_dispatch_workflow_proposes(world: World) -> None:
    assert dispatch(world, sample.READER, {"proposal": sample.TUNE})[0] == 403
    status, body = dispatch(world, sample.MAINTAINER, {"proposal": sample.TUNE, "x": "1"})
    assert status == 422 and "Unexpected inputs provided: ['x']" in body["message"]
    assert world.settle() == []

    status, _ = dispatch(world, sample.MAINTAINER, {"proposal": sample.TUNE})
    assert status == 204
    jobs = world.settle()
    assert not failed_jobs(jobs), dump_journal(jobs)
    (propose,) = [j for j in jobs if j.workflow == "improve-propose"]
    assert propose.conclusion == "success"
    assert [s.argv for s in propose.bot_steps()] == [["propose", "--from-env"]]
    pr = world.pull_by_head("improve/prop-threshold-060")
    assert "improvement" in pr["labels"]
    # opened with the App's token: the suites ran and the comparison was posted
    assert any(j.workflow == "improve-report" for j in jobs), dump_journal(jobs)
    assert world.gate(pr["head_sha"]) is not None

    # a bad proposal fails the run with the CLI's message: the field and the line
    status, _ = dispatch(world, sample.MAINTAINER,
                         {"proposal": sample.LOWER.replace("risk: low", "risk: extreme")})
    assert status == 204
    jobs = world.settle()
    (bad,) = [j for j in jobs if j.workflow == "improve-propose"]
    assert bad.conclusion == "failure"
    assert "inputs.proposal:4: risk:" in bad.bot_steps()[0].err

    # the tuner's schedule does nothing until its repository variables are set (the agent's
    # IMPROVE_AGENT included)
    mark = len(world.runner.journal)
    (tune,) = world.runner.schedule("41 3 * * *")
    world.settle()
    assert tune.workflow.name == "improve-tune"
    jobs = world.runner.journal[mark:]
    assert sorted((j.job, j.conclusion) for j in jobs) == [
        ("improve agent", "skipped"), ("improve tune", "skipped")]
    assert world.sb.violations == []
