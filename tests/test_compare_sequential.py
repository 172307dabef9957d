"""Sequential evaluation: more runs only where the verdict is unsettled, error rates split over
the looks, and the same samples always giving the same rounds."""

from __future__ import annotations

import numpy as np
import pytest

from bot.core.config import CompareConfig
from bot.core.results import Results, Sample
from bot.core.sequential import (
    SequentialConfig,
    look_confidence,
    plan_more,
    run_sequential,
    settleable,
)
from tests.helpers.compare import CAND_SHA, bench, results, task

CFG = CompareConfig(tolerance={"default": 0.01}, resamples=1000)
SEQ = SequentialConfig(max_looks=4, max_repeats=20)


class World:
    """A suite of ``n`` tasks whose candidate is ``effect`` better, runs with Gaussian noise;
    task 0 is ``loud`` times noisier than the rest. Draws more runs on request, seeded."""

    def __init__(self, effect: float, seed: int, n: int = 10, noise: float = 0.05,
                 loud: float = 1.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.levels = self.rng.uniform(0.6, 0.9, n)
        self.effect, self.noise = effect, noise
        self.scale = np.ones(n)
        self.scale[0] = loud
        self.asked: list[dict[tuple[str, str], int]] = []

    def runs(self, side: str, i: int, k: int) -> list[float]:
        shift = self.effect if side == "cand" else 0.0
        return list(self.levels[i] + shift + self.rng.normal(0, self.noise * self.scale[i], k))

    def first(self, repeat: int = 3) -> tuple[Results, Results]:
        n = len(self.levels)
        b = [task(f"t{i}", {"accuracy": self.runs("base", i, repeat)}) for i in range(n)]
        c = [task(f"t{i}", {"accuracy": self.runs("cand", i, repeat)}) for i in range(n)]
        return (results([bench("s", b, repeat=repeat)]),
                results([bench("s", c, repeat=repeat)], commit=CAND_SHA, ref="x"))

    def more(self, plan: dict[tuple[str, str], int]) -> tuple[dict, dict]:
        self.asked.append(dict(plan))
        out: tuple[dict, dict] = ({}, {})
        for (sid, tid), k in sorted(plan.items()):
            i = int(tid[1:])
            for side, extra in zip(("base", "cand"), out, strict=True):
                extra[(sid, tid)] = [Sample(status="ok", metrics={"accuracy": v}, duration_s=0.0)
                                     for v in self.runs(side, i, k)]
        return out


def test_a_clear_change_stops_at_the_first_look() -> None:
    world = World(effect=0.15, seed=1)
    base, cand = world.first()
    out = run_sequential(base, cand, CFG, SEQ, world.more)
    assert out.comparison.decision == "accept"
    assert [r.look for r in out.rounds] == [1]
    assert world.asked == []
    assert out.runs == 2 * 10 * 3


def test_a_close_change_spends_more_runs_and_settles() -> None:
    # twice the tolerance at 5% noise on 10 tasks x 3: unsettled at first
    world = World(effect=0.02, seed=4)
    base, cand = world.first()
    out = run_sequential(base, cand, CFG, SEQ, world.more)
    assert out.rounds[0].decision == "inconclusive"
    assert len(out.rounds) > 1 and world.asked
    assert out.runs > 2 * 10 * 3
    assert out.comparison.decision == "accept"
    # a later look spends its share of the error rate: half of it over the three later looks
    assert out.comparison.settings.confidence == pytest.approx(1 - 0.05 / 6)


def test_the_noisiest_task_gets_the_runs() -> None:
    world = World(effect=0.02, seed=4, loud=8.0)
    base, cand = world.first()
    first = run_sequential(base, cand, CFG, SequentialConfig(max_looks=1), world.more)
    assert settleable(first.comparison)
    plan = plan_more(first.comparison, base, cand, SEQ)
    assert ("s", "t0") in plan and len(plan) < 10


def test_the_same_samples_give_the_same_rounds() -> None:
    outs = []
    for _ in range(2):
        world = World(effect=0.02, seed=4)
        base, cand = world.first()
        out = run_sequential(base, cand, CFG, SEQ, world.more)
        outs.append((out.rounds, out.comparison.model_dump_json(), world.asked))
    assert outs[0] == outs[1]


def test_the_budget_ends_the_rounds() -> None:
    world = World(effect=0.0, seed=2, noise=0.2)
    base, cand = world.first()
    out = run_sequential(base, cand, CFG, SequentialConfig(max_looks=10, max_repeats=6),
                         world.more)
    # 3 runs a side, doubled once: the cap of 6 holds, and the rounds end long before 10
    assert 2 <= len(out.rounds) < 10
    assert out.comparison.decision == "inconclusive"
    assert max(len(t.samples) for t in out.cand.suites[0].tasks) == 6
    assert all(k == 3 for plan in world.asked for k in plan.values())


def test_a_person_blocker_is_not_sent_for_more_runs() -> None:
    world = World(effect=0.02, seed=4)
    base, cand = world.first()
    moved = cand.model_copy(update={"suites": [
        cand.suites[0].model_copy(update={"definition_hash": "sha256:other"})]})
    out = run_sequential(base, moved, CFG, SEQ, world.more)
    assert [r.look for r in out.rounds] == [1] and world.asked == []


def test_looks_split_the_error_rate() -> None:
    assert look_confidence(CFG, 1).confidence == 0.95
    # half at the first look, the rest evenly: the sum over the looks is the error rate
    spent = [1 - look_confidence(CFG, 5, k).confidence for k in range(1, 6)]
    assert spent[0] == pytest.approx(0.025) and spent[1] == pytest.approx(0.025 / 4)
    assert sum(spent) == pytest.approx(0.05)


def test_the_time_budget_ends_the_rounds() -> None:
    world = World(effect=0.02, seed=4)
    base, cand = world.first()  # 60 runs of 0.1 s: 6 s spent
    seq = SequentialConfig(max_looks=4, max_repeats=20, max_seconds=6.5)
    out = run_sequential(base, cand, CFG, seq, world.more)
    assert [r.look for r in out.rounds] == [1] and world.asked == []
    assert SequentialConfig.of(CFG).max_seconds == CFG.max_minutes * 60


def test_a_suite_of_few_tasks_is_not_sent_for_more_runs() -> None:
    # five tasks: a bootstrap over five is too narrow at the later looks' levels
    world = World(effect=0.02, seed=4, n=5)
    base, cand = world.first()
    out = run_sequential(base, cand, CFG, SEQ, world.more)
    assert out.rounds[0].decision == "inconclusive"
    assert [r.look for r in out.rounds] == [1] and world.asked == []
