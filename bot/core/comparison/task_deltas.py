"""Which tasks a score regression comes from (pure): the suite's interval says that the score
dropped, these say where, so a reader of a rejection sees the task ids (a matrix task's
``clf[dataset=news,fold=0]`` names the data and the fold) without opening the results."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.comparison import stats
from bot.core.comparison.models import TaskDelta

WORSE_TASKS_SHOWN = 10  # a comment lists this many; the rest are counted


def worse_tasks(ids: Sequence[str], base: Sequence[float], cand: Sequence[float],
                sign: float, tolerance: float) -> tuple[list[TaskDelta], int]:
    """The tasks whose own delta (candidate - baseline, ``sign`` 1 for higher-is-better, -1
    for lower) is worse than ``tolerance``, worst first (ties by id), at most
    WORSE_TASKS_SHOWN; and how many more there are."""
    pairs = [(tid, float(b), float(c)) for tid, b, c in zip(ids, base, cand, strict=True)]
    # ranked on the rounded delta: a mean over more repeats may differ in its last bits, and
    # the order (ties by id) must not depend on how many repeats a task happened to get
    # (and compared so: a delta shown as -0.05 is not past a tolerance of 0.05)
    ranked = [(stats.sig_round(sign * (c - b)) or 0.0, tid, b, c) for tid, b, c in pairs]
    worse = sorted(r for r in ranked if r[0] < -tolerance)
    shown = [TaskDelta(id=tid, base=stats.sig_round(b), cand=stats.sig_round(c),
                       delta=stats.sig_round(c - b))
             for _, tid, b, c in worse[:WORSE_TASKS_SHOWN]]
    return shown, max(0, len(worse) - WORSE_TASKS_SHOWN)
