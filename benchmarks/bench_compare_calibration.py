"""Calibration of COMPARE on simulated suites with known true effects.

For each trial a baseline and a candidate are drawn: ``--tasks`` tasks with levels uniform in
[0.55, 0.9], ``--repeats`` samples per task and side with Gaussian noise of ``--noise`` (an
absolute standard deviation on a 0-1 score), and a true effect added to every candidate sample.
Two scenarios, side by side and with the same draws for both methods:

* a true regression exactly at the tolerance (effect = -tolerance): an accept is a false accept;
* a true improvement of twice the tolerance (effect = +2 x tolerance): an accept is power.

Methods: this bot's ``compare_results`` (decision == "accept"), and the naive rule "accept when
the mean delta is not negative". Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.compare import compare_results  # noqa: E402
from bot.core.config import CompareConfig  # noqa: E402
from bot.core.results import Environment, Results, Sample, SuiteResult, TaskResult  # noqa: E402
from bot.core.suites import Metric  # noqa: E402

ENV = Environment(python="3", implementation="CPython", platform="sim", machine="sim",
                  cpu_count=1, improve="sim")
METRIC = Metric(name="accuracy", direction="higher", kind="score")


def _results(values: np.ndarray, commit: str) -> Results:
    tasks = [
        TaskResult(id=f"t{i:03d}", status="ok", samples=[
            Sample(status="ok", metrics={"accuracy": float(v)}, duration_s=0.0) for v in row])
        for i, row in enumerate(values)
    ]
    suite = SuiteResult(id="sim", kind="benchmark", path="benchmarks/sim.yaml",
                        definition_hash="sha256:sim", targets=["**"], repeat=values.shape[1],
                        metrics=[METRIC], tasks=tasks)
    return Results(commit=commit * 40, ref="sim", created_at="", environment=ENV, suites=[suite])


def trial(rng: np.random.Generator, args: argparse.Namespace, effect: float,
          config: CompareConfig) -> tuple[bool, bool, str]:
    levels = rng.uniform(0.55, 0.9, size=args.tasks)[:, None]
    base = levels + rng.normal(0, args.noise, (args.tasks, args.repeats))
    cand = levels + effect + rng.normal(0, args.noise, (args.tasks, args.repeats))
    naive = float(np.mean(cand.mean(axis=1) - base.mean(axis=1))) >= 0
    decision = compare_results(_results(base, "a"), _results(cand, "b"), config).decision
    return decision == "accept", naive, decision


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--noise", type=float, default=0.05)
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--trials", type=int, default=500, help="trials per scenario")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resamples", type=int, default=CompareConfig().resamples)
    args = p.parse_args()
    config = CompareConfig(tolerance={"default": args.tolerance}, resamples=args.resamples)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    out: dict[str, float | int] = {}
    for label, effect in (("regression", -args.tolerance), ("improvement", 2 * args.tolerance)):
        ours = naive = inconclusive = 0
        for _ in range(args.trials):
            a, n, decision = trial(rng, args, effect, config)
            ours += a
            naive += n
            inconclusive += decision == "inconclusive"
        key, naive_key = (("false_accept_rate", "naive_false_accept_rate") if label == "regression"
                          else ("power", "naive_power"))
        out[key] = ours / args.trials
        out[naive_key] = naive / args.trials
        out[f"inconclusive_rate_{label}"] = inconclusive / args.trials
    out.update(trials=args.trials, tasks=args.tasks, repeats=args.repeats, noise=args.noise,
               tolerance=args.tolerance, seconds=round(time.perf_counter() - started, 3))
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
