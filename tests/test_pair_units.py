"""The pure steps of a pull request's evaluation (bot.core.evaluation): each shard's share of
both sides' units, and a sequential round's more runs."""

from __future__ import annotations

import pytest

from bot.core.evaluation import Unit, more_units, pair_share


def _units(*keys: tuple[str, str]) -> list[Unit]:
    return [Unit(sid, tid, 0) for sid, tid in keys]


def test_the_shares_keep_each_task_whole_and_cover_both_sides_once() -> None:
    # a task only the head has (a new one) still lands in exactly one share
    units = {"base": _units(("s", "a"), ("s", "b"), ("t", "c")),
             "head": _units(("s", "a"), ("s", "b"), ("t", "c"), ("t", "new"))}
    shares = [pair_share(units, (k, 3)) for k in (1, 2, 3)]
    for side in ("base", "head"):
        got = sorted(u for share in shares for u in share[side])
        assert got == sorted(units[side])
    for share in shares:
        base_keys = {(u.suite_id, u.task_id) for u in share["base"]}
        head_keys = {(u.suite_id, u.task_id) for u in share["head"]}
        assert base_keys <= head_keys  # a task's base never without its head


@pytest.mark.parametrize(
    ("plan", "counts", "base", "head"),
    [
        # runs carry on each side's own numbering
        ({("s", "a"): 2}, {"base": {("s", "a"): 3}, "head": {("s", "a"): 1}},
         [Unit("s", "a", 3), Unit("s", "a", 4)], [Unit("s", "a", 1), Unit("s", "a", 2)]),
        # a tool's entries are more runs of the task that ran the tool: the largest ask wins
        ({("s", "t/x"): 1, ("s", "t/y"): 2}, {"base": {}, "head": {("s", "t"): 1}},
         [Unit("s", "t", 0), Unit("s", "t", 1)], [Unit("s", "t", 1), Unit("s", "t", 2)]),
        ({}, {"base": {("s", "a"): 1}, "head": {}}, [], []),
    ],
)
def test_a_round_of_more_runs(plan: dict, counts: dict, base: list, head: list) -> None:
    before = {side: dict(c) for side, c in counts.items()}
    extra, after = more_units(plan, counts)
    assert extra == {"base": base, "head": head}
    assert counts == before  # the counts given are not changed
    for side in ("base", "head"):
        for u in extra[side]:
            assert after[side][(u.suite_id, u.task_id)] >= u.repeat + 1
