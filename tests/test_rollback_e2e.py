"""ROLLBACK end to end on the sandbox: ``/rollback`` through the real COMMANDS stage (refused for
a read-only user; a writer's opens the revert PR once however often the event is delivered; a
second request points at it; a rollback of a rollback is refused), and ``improve rollback``
(a squashed improvement reverted; a conflicting revert reported with its files, nothing
pushed). Asserted on the sandbox's state, its request log and git."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.core.embed import extract
from bot.core.monitor import NO_RELEASE_TAG, ROLLBACK_OF_ROLLBACK, rollback_branch
from bot.core.policy import REFUSE_PERMISSION
from bot.core.render import md_escape
from tests.helpers import sample_repo as sample
from tests.helpers.monitor import TAG, World, world_fixture  # noqa: F401
from tests.helpers.sandbox import sandbox  # noqa: F401


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for key, value in {"GITHUB_REPOSITORY": world.name, "GITHUB_TOKEN": world.sb.token,
                       "GITHUB_API_URL": world.sb.api_url,
                       "GITHUB_SERVER_URL": world.sb.server_url,
                       "GIT_TERMINAL_PROMPT": "0"}.items():
        monkeypatch.setenv(key, value)
    return world


def pulls_created(world: World, since: int = 0) -> int:
    return sum(1 for m, p in world.api_since(since) if (m, p) == ("POST",
                                                                  f"/repos/{world.name}/pulls"))


def reply(world: World, number: int, comment_id: int) -> str:
    found = [c["body"] for c in world.comments(number, "reply")
             if f"improve-key {comment_id} " in c["body"]]
    assert len(found) == 1, found
    return found[0]


def test_rollback_command_permission_idempotence_and_no_rollback_of_a_rollback(
    world: World,
) -> None:
    pr = world.propose_and_merge("prop-threshold", 0.62)
    world.release()
    since = len(world.sb.requests)

    # a read-only user: refused, nothing opened
    c = world.say("rita", pr, "/rollback it got worse")
    assert world.reactions(c.id) == ["confused", "eyes"]
    why = REFUSE_PERMISSION.format(needed="write or maintain or admin", has="read")
    assert md_escape(why) in reply(world, pr, c.id)
    assert [p["number"] for p in world.pulls()] == [pr]

    # a writer: one revert PR, however often the event is delivered
    c = world.say("bob", pr, "/rollback accuracy fell on the new data", times=3)
    assert world.reactions(c.id) == ["+1", "eyes"]
    assert pulls_created(world, since) == 1
    revert = world.pulls()[-1]
    assert revert["head"] == rollback_branch(TAG)
    assert set(revert["labels"]) == {"improvement", "rollback"}
    assert f"#{revert['number']}" in reply(world, pr, c.id)
    facts = extract(revert["body"], "rollback")
    assert facts == {"version": "1.3.1", "restores": "1.3.0",
                     "reason": "accuracy fell on the new data", "evidence": [],
                     "proposal_id": "prop-threshold"}
    assert md_escape("@bob") in revert["body"]  # named, not pinged

    # asking again (a new comment) points at the open one
    c2 = world.say("alice", pr, "/rollback")
    assert world.reactions(c2.id) == ["+1", "eyes"]
    assert "already open" in reply(world, pr, c2.id)
    assert pulls_created(world, since) == 1

    # merged and released: the rollback itself is not rolled back
    world.merge(revert["number"])
    (rel,) = world.release()
    assert rel.tag == "v1.3.2"
    # on the Releases page: the rollback says what it rolled back; the rolled-back release's
    # notes gain the changelog's mark
    pages = {r["tag_name"]: r for r in world.sb.repo_state(world.name)["releases"]}
    assert "**Rollback of**: 1.3.1 (restores 1.3.0)" in pages["v1.3.2"]["body"]
    assert pages["v1.3.1"]["name"] == "v1.3.1 [ROLLED BACK]"
    heading = pages["v1.3.1"]["body"].splitlines()[0]
    assert heading.startswith("## [1.3.1]") and heading.endswith("[ROLLED BACK]")
    assert pages["v1.3.1"]["body"].rstrip().endswith("Rolled back by v1.3.2.")
    c3 = world.say("bob", revert["number"], "/rollback")
    assert world.reactions(c3.id) == ["confused", "eyes"]
    refused = ROLLBACK_OF_ROLLBACK.format(tag="v1.3.2", of="1.3.1")
    assert md_escape(refused) in reply(world, revert["number"], c3.id)
    assert pulls_created(world, since) == 1
    # and the rolled-back release cannot be rolled back twice
    c4 = world.say("bob", pr, "/rollback")
    assert "rolled back already by v1.3.2" in reply(world, pr, c4.id)
    assert pulls_created(world, since) == 1


def test_rollback_cli_reverts_a_squashed_improvement(cli_env: World,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    world = cli_env
    world.propose_and_merge("prop-threshold", 0.62, method="squash")
    world.release()
    assert main(["rollback", "1.3.1", "--reason", "drift"]) == 0
    assert "opened the revert pull request" in capsys.readouterr().out
    revert = world.pulls()[-1]
    rules = world.git_bare("show", f"{revert['head_sha']}:{sample.THRESHOLD_PATH}")
    assert f"threshold: {sample.START}" in rules
    # one commit on top of main: the revert, with its trailer
    parent = world.git_bare("rev-parse", f"{revert['head_sha']}^")
    assert parent == world.main_sha()
    message = world.git_bare("log", "-1", "--format=%B", revert["head_sha"])
    assert "Improve-Rollback-Of: 1.3.1" in message and "drift" in message

    # again: exit 0, the same PR
    assert main(["rollback", "v1.3.1"]) == 0
    assert "already open" in capsys.readouterr().out
    assert len(world.pulls()) == 2
    # an unknown release is bad input
    assert main(["rollback", "v9.9.9"]) == 2
    assert NO_RELEASE_TAG.format(tag="v9.9.9") in capsys.readouterr().err


def test_conflicting_revert_is_reported_with_its_files_and_pushes_nothing(
    cli_env: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = cli_env
    # the release reads a data store outside the repository, so that the drop below is its
    # own (the monitor's bisection blames it, see tests/test_monitor_e2e.py)
    monkeypatch.setenv("ROUTER_DATA", str(world.store))
    pr = world.propose_and_merge("prop-threshold", 0.62, external=True)
    world.release()
    # a later change to the same line: the revert cannot apply cleanly
    rules = world.file_on_main(sample.THRESHOLD_PATH)
    world.push_main({sample.THRESHOLD_PATH: rules.replace("0.62", "0.64")}, "hand-tuned")
    refs_before = world.state()["refs"]
    since = len(world.sb.requests)

    assert main(["rollback", TAG, "--reason", "drift"]) == 1
    err = capsys.readouterr().err
    assert "conflicts with later changes" in err and sample.THRESHOLD_PATH in err
    (comment,) = world.comments(pr, "rollback")
    assert f"`{md_escape(sample.THRESHOLD_PATH)}`" in comment["body"]
    assert "Nothing was pushed" in comment["body"]
    assert world.state()["refs"] == refs_before
    assert f"refs/heads/{rollback_branch(TAG)}" not in world.state()["refs"]
    assert world.git_pushes_since(since) == []
    assert pulls_created(world, since) == 0 and len(world.pulls()) == 1

    # the monitor past its rollback threshold meets the same conflict: reported, no push
    world.store_drift(0.40)
    world.clock.advance(days=1)
    since = len(world.sb.requests)
    (o,) = world.monitor()
    assert o.action == "conflict" and o.revert_pr is None
    assert pulls_created(world, since) == 0
    assert f"refs/heads/{rollback_branch(TAG)}" not in world.state()["refs"]
    rec = world.monitor_record(TAG)
    assert rec.revert_pr is None and "conflicts" in (rec.runs[-1].note or "")
