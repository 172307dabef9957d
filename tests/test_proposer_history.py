"""What the history says about a new proposal: the proposer's track record and any resemblance
to a rolled-back change in its PR body, and the tier (the proposer's record when a rule asks for
one; the auto tier paused while the rollback-rate alert stands)."""

from __future__ import annotations

from pathlib import Path

from bot.core.analytics.proposer import proposer_context
from bot.core.config import Config, parse_config
from tests.helpers.loop import NOW, release
from tests.test_propose_stage import _propose, repo  # noqa: F401 - the fixture

CHANGE = [("config/router.yaml", "routing.threshold 0.55 -> 0.62")]


def _ctx(releases: list, config: Config | None = None, author: str = "tuner"):  # type: ignore[no-untyped-def]
    return proposer_context(
        ptype="constant_tune",
        risk="low",
        author=author,
        changes=CHANGE,
        releases=releases,
        monitors=[],
        config=config or Config(),
        now=NOW,
    )


def test_a_clean_history_leaves_the_auto_tier_and_says_so() -> None:
    ctx = _ctx([release("1.0.1", 3), release("1.0.2", 2, path="other.yaml")])
    assert ctx.tier == "auto" and not ctx.paused and ctx.warnings == []
    assert len(ctx.track) == 1 and "tuner" in ctx.track[0] and "2" in ctx.track[0]


def test_a_rolled_back_twin_warns_and_a_high_rollback_rate_pauses_the_auto_tier() -> None:
    history = [release("1.0.1", 3), release("1.0.2", 1, rollback_of="1.0.1")]
    ctx = _ctx(history)
    # 1 of 1 proposals released in 30 days was rolled back: over 30%
    assert ctx.paused and ctx.tier == "person"
    assert len(ctx.warnings) == 1 and "v1.0.1" in ctx.warnings[0]
    assert "routing.threshold" in ctx.warnings[0]


def test_a_rule_that_asks_for_a_record_needs_one() -> None:
    config = parse_config("approval:\n  auto:\n    - {type: constant_tune, min_merged: 2}\n")
    assert _ctx([], config).tier == "person"  # a newcomer
    assert _ctx([release("1.0.1", 20), release("1.0.2", 19, path="b.yaml")], config).tier == "auto"
    assert (
        _ctx(
            [release("1.0.1", 20), release("1.0.2", 19, path="b.yaml")],
            config,
            author="someone-else",
        ).tier
        == "person"
    )


def test_propose_puts_the_history_in_the_pr_body(repo: Path) -> None:  # noqa: F811
    history = ([release("1.0.1", 3), release("1.0.2", 1, rollback_of="1.0.1")], [])
    outcome = _propose(repo, dry_run=True, history=history)
    body = outcome.plan.body
    assert outcome.plan.tier == "person"
    assert "### Resembles a change that was rolled back" in body and "v1.0.1" in body
    assert "### Track record" in body and "tuner" in body
    assert "the auto tier is paused while the rollback-rate alert stands" in body
    plain = _propose(repo, dry_run=True).plan
    assert plain.tier == "auto" and "### Track record" not in plain.body
