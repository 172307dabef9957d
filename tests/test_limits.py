"""The limits on proposing, as a table of situations and the refusals they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.config import AlertsConfig, Config, LimitsConfig
from bot.core.limits import CooldownRelease, OpenProposal, check_limits, release_slots

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _open(n: int, targets: list[str] | None = None) -> list[OpenProposal]:
    return [OpenProposal(id=f"p{i}", targets=targets or [f"f{i}"], number=i) for i in range(n)]


def _release(hours_ago: float, paths: list[str]) -> CooldownRelease:
    return CooldownRelease(version="1.4.0", released_at=NOW - timedelta(hours=hours_ago),
                         paths=paths)


@pytest.mark.parametrize(
    ("opened", "releases", "merged", "depends", "config", "expected"),
    [
        ([], [], [], [], Config(), []),
        (_open(2), [], [], [], Config(), []),
        (_open(3), [], [], [], Config(),
         ["max_open: 3 proposals are open already; at most 3 may be open (limits.max_open)"]),
        (_open(1, ["config/router.yaml"]), [], [], [], Config(),
         ["target: 'config/router.yaml' is already the target of the open proposal p0 (#0); "
          "one open proposal per target path (limits.one_per_target)"]),
        (_open(1, ["config/router.yaml"]), [], [], [],
         Config(limits=LimitsConfig(one_per_target=False)), []),
        ([], [_release(2, ["config/router.yaml"])], [], [], Config(),
         ["cooldown: 'config/router.yaml' was released in 1.4.0 at 2026-11-21 10:00 UTC; the "
          "next proposal on it may come after 2026-11-21 16:00 UTC (limits.cooldown_hours = 6)"]),
        ([], [_release(7, ["config/router.yaml"])], [], [], Config(), []),
        ([], [_release(2, ["other.md"])], [], [], Config(), []),
        ([], [_release(2, ["config/router.yaml"])], [], [],
         Config(limits=LimitsConfig(cooldown_hours=0)), []),
        ([], [], ["prop-a"], ["prop-a", "prop-b"], Config(),
         ["depends_on: depends on 'prop-b', which is not merged yet"]),
        (_open(2), [], [], [],
         Config(limits=LimitsConfig(max_open=10), alerts=AlertsConfig(max_waiting=2)),
         ["waiting: 2 proposals are waiting; at most 2 (alerts.max_waiting)"]),
        # its own open proposal (same id) never counts against a proposal
        ([OpenProposal(id="me", targets=["config/router.yaml"])] + _open(2), [], [], [],
         Config(), []),
    ],
)
def test_check_limits(
    opened: list[OpenProposal],
    releases: list[CooldownRelease],
    merged: list[str],
    depends: list[str],
    config: Config,
    expected: list[str],
) -> None:
    refusals = check_limits(
        "me", ["config/router.yaml", "notes.md"], depends, opened, releases, merged, NOW, config
    )
    assert [f"{r.code}: {r.message}" for r in refusals] == expected


def test_every_refusal_at_once() -> None:
    refusals = check_limits(
        "me", ["f0"], ["prop-x"], _open(3), [_release(1, ["f0"])], [], NOW, Config()
    )
    assert [r.code for r in refusals] == ["max_open", "target", "cooldown", "depends_on"]


def test_the_cooldown_view_of_a_data_branch_release_record() -> None:
    from bot.core.limits import cooldown_view
    from tests.helpers.loop import release

    full = release("1.2.0", 1, path="config/router.yaml", pid="prop-x").model_dump(mode="json")
    view = cooldown_view(full)
    assert view is not None
    assert (view.version, view.paths, view.proposal) == ("1.2.0", ["config/router.yaml"], "prop-x")
    rollback = release("1.2.1", 1, rollback_of="1.2.0").model_dump(mode="json")
    assert cooldown_view(rollback).paths == []  # type: ignore[union-attr]
    # a record that does not say when is not a release the cooldown can count
    assert cooldown_view({"version": "1.0.0"}) is None and cooldown_view([]) is None


def _ago(*hours: float) -> list[datetime]:
    return [NOW - timedelta(hours=h) for h in hours]


@pytest.mark.parametrize(
    ("released", "limit", "free", "opens"),
    [
        ([], 1, 1, None),
        (_ago(1), 2, 1, None),
        (_ago(1), 1, 0, "2026-11-22 11:00 UTC"),
        (_ago(25), 1, 1, None),  # out of the window
        (_ago(24), 1, 1, None),  # exactly 24 hours: the slot is free again
        (_ago(3, 5, 1), 2, 0, "2026-11-22 09:00 UTC"),  # two must leave: the second oldest
        (_ago(-1), 1, 1, None),  # a record from the future is not in the last 24 hours
    ],
)
def test_release_slots(released: list[datetime], limit: int, free: int,
                       opens: str | None) -> None:
    slots = release_slots(released, NOW, limit)
    assert slots.free == free
    if opens is None:
        assert slots.opens_at is None and slots.reason == ""
    else:
        assert slots.reason == (f"{len(released)} releases in the last 24 hours, at most {limit} "
                                f"(limits.max_releases_per_day); the next may be released "
                                f"after {opens}")
