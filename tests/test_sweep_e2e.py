"""The scheduled sweep on the sandbox: gates that only time changes, and rejected proposals
left open. Nothing else re-evaluates a gate when no one pushes or comments."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.adapters.event import Event
from bot.core.config import Config
from bot.sandbox import Sandbox
from bot.sandbox.events import build_event
from bot.stages import sweep
from bot.stages.pr_state import publish_verdict
from tests.helpers.commands import PrWorld, make_world, module_sandbox

__all__ = ["module_sandbox"]


@pytest.fixture
def world(module_sandbox: Sandbox, tmp_path: Path) -> Iterator[PrWorld]:
    w = make_world(module_sandbox, tmp_path)
    w.forge().add_labels(w.number, ["improvement"])
    yield w
    w.close()


def compared(w: PrWorld, verdict: str = "accept") -> None:
    publish_verdict(w.services(), w.number, w.head, verdict, "person")  # type: ignore[arg-type]


def gates(w: PrWorld) -> list[tuple[str, str]]:
    return [(s["state"], s["description"]) for s in w.state()["statuses"]
            if s["sha"] == w.head and s["context"] == "improve/gate"]


def run_sweep(w: PrWorld) -> str:
    """The sweep as the scheduled run's handler runs it."""
    payload = build_event("schedule", None)
    event = Event("schedule", payload, w.repo, api_url=w.sb.api_url, token=w.sb.token,
                  workspace=w.checkout)
    services = replace(w.services(), out=io.StringIO())
    assert sweep.router.dispatch(event, services) == 0
    return services.out.getvalue()


def test_an_expired_approval_turns_the_gate_pending_once(world: PrWorld) -> None:
    compared(world)
    world.say("bob", "/approve")
    assert gates(world)[-1][0] == "success"
    assert run_sweep(world) == ""  # within the timeout: nothing to do
    world.clock.advance(days=8)
    out = run_sweep(world)
    expired = ("pending", "accepted: approval by @bob expired; awaiting /approve")
    assert gates(world)[-1] == expired and f"#{world.number}" in out
    count = len(gates(world))
    since = len(world.sb.requests)
    assert run_sweep(world) == ""  # once: the head already says so
    assert len(gates(world)) == count
    assert all(r.method == "GET" for r in world.sb.requests[since:])


def test_a_proposal_waiting_past_the_timeout_says_so_once(world: PrWorld) -> None:
    compared(world)
    assert gates(world)[-1] == ("pending", "accepted: awaiting /approve")
    world.clock.advance(days=9)
    run_sweep(world)
    assert gates(world)[-1] == ("pending",
                                "accepted 9 days ago and not approved since; /retest or /approve")
    count = len(gates(world))
    run_sweep(world)
    assert len(gates(world)) == count
    # approving still works, and turns it green
    world.say("bob", "/approve")
    assert gates(world)[-1][0] == "success"


def test_a_rejected_proposal_left_open_is_closed_with_a_comment(world: PrWorld) -> None:
    compared(world, "reject")
    world.clock.advance(days=13)
    run_sweep(world)
    assert world.forge().get_pull(world.number).state == "open"
    world.clock.advance(days=2)
    out = run_sweep(world)
    assert world.forge().get_pull(world.number).state == "closed"
    closing = [b for b in world.bot_comments() if "improve:closed-rejected" in b]
    assert len(closing) == 1 and "rejected this proposal's head" in closing[0]
    assert "closed" in out
    assert run_sweep(world) == ""  # closed: no longer swept


def test_closing_rejected_proposals_can_be_turned_off(world: PrWorld, tmp_path: Path) -> None:
    compared(world, "reject")
    world.clock.advance(days=400)
    config = Config.model_validate({"proposals": {"close_rejected_days": 0}})
    out = io.StringIO()
    assert sweep.sweep_proposals(world.forge(), config, world.clock(), out) == []
    assert world.forge().get_pull(world.number).state == "open"
