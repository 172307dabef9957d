"""Which tasks a score regression comes from (bot/core/comparison/task_deltas.py): a table."""

from __future__ import annotations

import pytest

from bot.core.comparison.task_deltas import WORSE_TASKS_SHOWN, worse_tasks

IDS = ["clf[dataset=news,fold=0]", "clf[dataset=news,fold=1]", "clf[dataset=forum,fold=0]"]


@pytest.mark.parametrize(("base", "cand", "sign", "tolerance", "named"), [
    # higher is better: the drops past the tolerance, worst first
    ([0.9, 0.8, 0.7], [0.6, 0.8, 0.6], 1.0, 0.0, [(IDS[0], -0.3), (IDS[2], -0.1)]),
    # within the tolerance: none
    ([0.9, 0.8, 0.7], [0.85, 0.8, 0.7], 1.0, 0.05, []),
    # lower is better (an error rate): a rise is worse
    ([0.1, 0.2, 0.3], [0.1, 0.25, 0.3], -1.0, 0.0, [(IDS[1], 0.05)]),
    # equal drops (after rounding: a mean over 3 repeats differs in its last bits): by id
    ([0.875, 0.9, 0.5], [0.65, 0.675, 0.5], 1.0, 0.0, [(IDS[0], -0.225), (IDS[1], -0.225)]),
    ([0.9, 0.875, 0.7], [0.675, 0.65, 0.475], 1.0, 0.0,
     [(IDS[2], -0.225), (IDS[0], -0.225), (IDS[1], -0.225)]),
])
def test_worse_tasks(base: list[float], cand: list[float], sign: float, tolerance: float,
                     named: list[tuple[str, float]]) -> None:
    shown, more = worse_tasks(IDS, base, cand, sign, tolerance)
    assert [(t.id, t.delta) for t in shown] == [(i, pytest.approx(d)) for i, d in named]
    assert more == 0


def test_a_long_list_is_cut_and_counted() -> None:
    ids = [f"t{i:02d}" for i in range(WORSE_TASKS_SHOWN + 3)]
    shown, more = worse_tasks(ids, [1.0] * len(ids), [0.5] * len(ids), 1.0, 0.0)
    assert [t.id for t in shown] == ids[:WORSE_TASKS_SHOWN] and more == 3
