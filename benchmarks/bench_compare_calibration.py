"""Calibration of COMPARE on simulated suites with known true effects, shape by shape.

Each trial draws a baseline and a candidate for one suite of a given *shape* and a given true
effect, runs this bot's ``compare_results`` on them, and counts the decision. Shapes:

scores (tolerance 0.01 by default; task levels uniform in [0.55, 0.9]):
  gaussian      20 tasks x 5 repeats, Gaussian noise of sd 0.05 per run
  student_t3    the same with Student t (3 degrees of freedom) noise, scaled to sd 0.05
  outlier_task  gaussian, but one task's runs are ten times noisier
  pass_fail     20 x 5, each run passes (1) or fails (0) with the task's level as probability
  small         5 tasks x 3 repeats, gaussian
  tiny          3 tasks x 3 repeats, gaussian (small suites are judged by Student's t)
  wide          200 tasks x 1 repeat, gaussian
timings (floor 10%; log-normal runs, task levels 10-1000 ms):
  lognormal30   20 x 5, 30% coefficient of variation
  spikes        lognormal30 plus 5% of runs three times slower (a noisy neighbour)
  drift         lognormal30, and the runner 8% slower from halfway through the first look on,
                base and head interleaved as the TEST stage runs them (the same seeded
                order, bot.core.evaluation.interleave): the step falls on both sides alike.
                (Before, this shape put the whole candidate side 8% slower, which only a
                baseline from another runner could do: timings are never reused so.)

Scenarios per shape, each a true effect. Scores: ``boundary`` (effect = -tolerance, the
worst change the gate may accept: an accept is a false accept), ``none`` (no change: a reject
is a false reject; inconclusive counted), ``better`` (+2 x tolerance: an accept is power),
``worse`` (-3 x tolerance: a reject is power). Timings: ``boundary`` (1.15x slower, past the
10% floor: an accept is a false accept), ``none`` (no change, except the drift shape's
offset), ``better`` (1.3x faster: an accept is power), ``worse`` (1.3x slower: a reject is
power). ``power`` is the mean of the two.

Methods: ``fixed`` (one comparison at the suite's repeats) and ``sequential``
(:func:`bot.core.comparison.sequential.run_sequential`: more repeats for an unsettled
verdict, looks at group-sequential boundaries). Runs are task runs over both sides.

Runs to reach the same error rates (``runs_ratio``), honestly: the fixed method has to choose
its repeats before it sees the data, the same for every scenario. For each shape the benchmark
finds R*, the fewest repeats (on the sequential method's own schedule: the suite's repeats
times 1, 2, ..., max_looks, by bisection, inconclusive falling as repeats grow) at which the
fixed method's inconclusive rate on no change is at most the sequential method's. Its false
accepts at R* are measured too (``fixed_at_r_false_accept``): the fixed method at R* has the
full confidence at its one look, so its error rates are no better than the sequential
method's. The ratio is the sequential method's mean runs over the scenarios where a verdict can
settle (``none``, ``better``, ``worse``; every trial counted, an inconclusive one at all the
runs it spent) over the fixed method's 2 x tasks x R*. ``runs_ratio_none`` is the same on no
change alone, the hardest to settle. The ``boundary`` scenario is left out of the ratio: its
truth sits on the tolerance, so no amount of runs settles it for either method (it measures
false accepts); its runs are reported as ``runs_boundary``. When even the largest fixed size
stays more inconclusive than the sequential method, R* is reported as None and the ratio is
taken against that largest size (an overstatement of the sequential method's cost).

Prints one JSON object of metrics on its last line (per shape and method: false_accept,
false_reject, power, inconclusive_none, runs_mean; per shape the runs ratio). ``--smoke`` is
the smallest size, for CI.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.comparison.sequential import SequentialConfig, run_sequential  # noqa: E402
from bot.core.config import CompareConfig  # noqa: E402
from bot.core.evaluation import Unit, interleave  # noqa: E402
from bot.core.results import Environment, Results, Sample, SuiteResult, TaskResult  # noqa: E402
from bot.core.suites import Metric  # noqa: E402

ENV = Environment(python="3", implementation="CPython", platform="sim", machine="sim",
                  cpu_count=1, improve="sim")
SCORE = Metric(name="accuracy", direction="higher", kind="score")
TIMING = Metric(name="ms", direction="lower", kind="timing")


@dataclass(frozen=True)
class Shape:
    name: str
    kind: str  # "score" or "timing"
    tasks: int
    repeats: int
    # noise for (the given tasks' indices, runs), shape (tasks, runs)
    noise: Callable[[np.random.Generator, np.ndarray, int], np.ndarray]
    # timings: the runner's slowdown (log) from halfway through the first look on; base and
    # head run interleaved as the TEST stage runs them (bot.core.evaluation.interleave)
    step: float = 0.0
    spikes: float = 0.0  # timings: fraction of runs three times slower
    pass_fail: bool = False


Noise = Callable[[np.random.Generator, np.ndarray, int], np.ndarray]


def _gauss(sd: float) -> Noise:
    return lambda rng, tasks, r: rng.normal(0, sd, (tasks.size, r))


def _t3(sd: float) -> Noise:
    return lambda rng, tasks, r: rng.standard_t(3, (tasks.size, r)) * sd / np.sqrt(3.0)


def _outlier(sd: float) -> Noise:
    def draw(rng: np.random.Generator, tasks: np.ndarray, r: int) -> np.ndarray:
        x = rng.normal(0, sd, (tasks.size, r))
        # task 0 is the loud one, whichever tasks this draw is for (a later look asks for a
        # few tasks only)
        x[tasks == 0] *= 10.0
        return x
    return draw


def _lognormal(cv: float) -> Noise:
    s = float(np.sqrt(np.log1p(cv * cv)))
    return lambda rng, tasks, r: rng.normal(0, s, (tasks.size, r))


def shapes(noise: float) -> list[Shape]:
    return [
        Shape("gaussian", "score", 20, 5, _gauss(noise)),
        Shape("student_t3", "score", 20, 5, _t3(noise)),
        Shape("outlier_task", "score", 20, 5, _outlier(noise)),
        Shape("pass_fail", "score", 20, 5, _gauss(0.0), pass_fail=True),
        Shape("small", "score", 5, 3, _gauss(noise)),
        Shape("tiny", "score", 3, 3, _gauss(noise)),
        Shape("wide", "score", 200, 1, _gauss(noise)),
        Shape("lognormal30", "timing", 20, 5, _lognormal(0.3)),
        Shape("spikes", "timing", 20, 5, _lognormal(0.3), spikes=0.05),
        Shape("drift", "timing", 20, 5, _lognormal(0.3), step=float(np.log(1.08))),
    ]


class Source:
    """One trial's world: the true per-task levels and effect; draws runs on demand, so that
    the sequential method can ask for more of the same tasks."""

    def __init__(self, shape: Shape, effect: float, rng: np.random.Generator) -> None:
        self.shape, self.effect, self.rng = shape, effect, rng
        if shape.kind == "score":
            self.levels = rng.uniform(0.55, 0.9, size=shape.tasks)
        else:
            self.levels = np.log(rng.uniform(10.0, 1000.0, size=shape.tasks))
        # runs so far per task and side, and over the job (the runner's clock)
        self.have = np.zeros(shape.tasks, dtype=int)
        self.clock = 0
        self.rounds = 0

    def batch(self, runs: dict[int, int]) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
        """``runs[i]`` more runs of task i on each side. With a runner step, the runs happen in
        the TEST stage's interleaved order (a fresh seed a round, as it does) and those after
        the step are slower, on whichever side they fall."""
        tasks = np.array(sorted(runs))
        out: tuple[dict[int, np.ndarray], dict[int, np.ndarray]] = ({}, {})
        for side, got in zip(("base", "cand"), out, strict=True):
            for k in sorted(set(runs.values())):
                idx = np.array([i for i in tasks if runs[i] == k])
                for i, row in zip(idx, self.draw(side, idx, k), strict=True):
                    got[int(i)] = row
        if self.shape.step:
            self._runner_step(runs, out)
        for i, k in runs.items():
            self.have[i] += k
        self.rounds += 1
        return out

    def _runner_step(self, runs: dict[int, int],
                     out: tuple[dict[int, np.ndarray], dict[int, np.ndarray]]) -> None:
        units = [Unit("sim", str(i), int(self.have[i]) + r)
                 for i, k in sorted(runs.items()) for r in range(k)]
        order = interleave(units, units, seed=self.rounds)
        switch = self.shape.tasks * self.shape.repeats  # half the first look's runs
        for pos, (side, u) in enumerate(order):
            if self.clock + pos >= switch:
                row = out[0 if side == "base" else 1][int(u.task_id)]
                row[u.repeat - int(self.have[int(u.task_id)])] *= float(np.exp(self.shape.step))
        self.clock += len(order)

    def draw(self, side: str, tasks: np.ndarray, runs: int) -> np.ndarray:
        sh = self.shape
        lv = self.levels[tasks][:, None]
        if sh.kind == "score":
            p = lv + (self.effect if side == "cand" else 0.0)
            if sh.pass_fail:
                return (self.rng.random((tasks.size, runs)) < p).astype(float)
            return p + sh.noise(self.rng, tasks, runs)
        shift = self.effect if side == "cand" else 0.0
        logs = lv + shift + sh.noise(self.rng, tasks, runs)
        if sh.spikes:
            logs = logs + np.log(3.0) * (self.rng.random((tasks.size, runs)) < sh.spikes)
        return np.exp(logs)


def results_of(values: list[list[float]], metric: Metric, commit: str) -> Results:
    tasks = [
        TaskResult(id=f"t{i:03d}", status="ok", samples=[
            Sample(status="ok", metrics={metric.name: float(v)}, duration_s=0.0) for v in row])
        for i, row in enumerate(values)
    ]
    suite = SuiteResult(id="sim", kind="benchmark", path="benchmarks/sim.yaml",
                        definition_hash="sha256:sim", targets=["**"],
                        repeat=max(len(r) for r in values), metrics=[metric], tasks=tasks)
    return Results(commit=commit * 40, ref="sim", created_at="", environment=ENV, suites=[suite])


def sequential(src: Source, config: CompareConfig, seq: SequentialConfig) -> tuple[str, int]:
    sh = src.shape
    metric = SCORE if sh.kind == "score" else TIMING
    first_b, first_c = src.batch({i: sh.repeats for i in range(sh.tasks)})
    b = [first_b[i].tolist() for i in range(sh.tasks)]
    c = [first_c[i].tolist() for i in range(sh.tasks)]

    def more(plan: dict[tuple[str, str], int]) -> tuple[dict, dict]:
        drawn = src.batch({int(tid[1:]): runs for (_, tid), runs in plan.items()})
        return tuple({("sim", f"t{i:03d}"): [
            Sample(status="ok", metrics={metric.name: float(v)}, duration_s=0.0) for v in row]
            for i, row in side.items()} for side in drawn)  # type: ignore[return-value]

    outcome = run_sequential(results_of(b, metric, "a"), results_of(c, metric, "b"), config,
                             seq, more)
    return outcome.comparison.decision, outcome.runs


SCENARIOS = ("boundary", "none", "better", "worse")
# where a verdict can settle: the runs ratio is over these
SETTLEABLE = ("none", "better", "worse")


def effect_for(shape: Shape, scenario: str, tolerance: float) -> float:
    if shape.kind == "score":
        return {"boundary": -tolerance, "none": 0.0, "better": 2 * tolerance,
                "worse": -3 * tolerance}[scenario]
    return float(np.log({"boundary": 1.15, "none": 1.0, "better": 1 / 1.3,
                         "worse": 1.3}[scenario]))


def trials(shape: Shape, scenario: str, method: SequentialConfig, config: CompareConfig,
           args: argparse.Namespace, salt: int = 0) -> tuple[dict[str, int], float]:
    """``args.trials`` trials of one scenario: the decisions counted, and the mean runs."""
    counts = {"accept": 0, "reject": 0, "inconclusive": 0}
    runs = 0
    # the same draws for every method: seeded by shape and scenario only (and ``salt``)
    key = [args.seed, SCENARIOS.index(scenario), len(shape.name), ord(shape.name[0]),
           ord(shape.name[-1]), salt]
    rng = np.random.default_rng(key)
    for _ in range(args.trials):
        src = Source(shape, effect_for(shape, scenario, args.tolerance), rng)
        decision, used = sequential(src, config, method)
        counts[decision] += 1
        runs += used
    return counts, runs / args.trials


def row_of(shape: Shape, counts: dict[str, dict[str, int]], runs: dict[str, float],
           n: int) -> dict[str, float | int | None]:
    return {
        "false_accept": counts["boundary"]["accept"] / n,
        "false_reject": counts["none"]["reject"] / n,
        "inconclusive_none": counts["none"]["inconclusive"] / n,
        "inconclusive_all": sum(c["inconclusive"] for c in counts.values()) / (len(counts) * n),
        "power": (counts["better"]["accept"] + counts["worse"]["reject"]) / (2 * n),
        "runs_mean": float(np.mean([runs[sc] for sc in SETTLEABLE])),
        "runs_none": runs["none"],
        "runs_boundary": runs["boundary"],
        "fixed_runs": 2 * shape.tasks * shape.repeats,
    }


def equal_error(shape: Shape, seq_row: dict, config: CompareConfig, max_looks: int,
                max_repeats: int, args: argparse.Namespace,
                fixed_row: dict | None = None) -> dict[str, float | int | None]:
    """R*, the fewest repeats at which one look is at most as inconclusive on no change as the
    sequential method, and the runs ratio against it (see the module's docstring). The
    suite's own repeats are judged on the fixed method's row (``fixed_row``, the very draws
    the sequential method had): when the sequential method stays at one look (runs too noisy
    for the budget), it is the fixed method, and R* is the suite's repeats."""
    one_look = SequentialConfig(max_looks=1)
    sizes = sorted({min(shape.repeats * m, max_repeats) for m in range(1, max_looks + 1)})
    target = seq_row["inconclusive_none"]
    cache: dict[int, float] = {}
    if fixed_row is not None:
        cache[shape.repeats] = fixed_row["inconclusive_none"]

    def inconclusive(r: int) -> float:
        if r not in cache:
            counts, _ = trials(replace(shape, repeats=r), "none", one_look, config, args, salt=1)
            cache[r] = counts["inconclusive"] / args.trials
        return cache[r]

    lo, hi = 0, len(sizes) - 1
    if inconclusive(sizes[0]) <= target:
        found: int | None = sizes[0]
    elif inconclusive(sizes[hi]) > target:
        found = None
    else:
        while lo < hi:  # the first size at or under the target
            mid = (lo + hi) // 2
            if inconclusive(sizes[mid]) <= target:
                hi = mid
            else:
                lo = mid + 1
        found = sizes[lo]
    r_star = found if found is not None else sizes[-1]
    fixed_runs = 2 * shape.tasks * r_star
    counts, _ = trials(replace(shape, repeats=r_star), "boundary", one_look, config, args, salt=1)
    return {
        "fixed_repeats_needed": found,
        "fixed_at_r_inconclusive_none": inconclusive(r_star),
        "fixed_at_r_false_accept": counts["accept"] / args.trials,
        "runs_ratio": seq_row["runs_mean"] / fixed_runs,
        "runs_ratio_none": seq_row["runs_none"] / fixed_runs,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--noise", type=float, default=0.05)
    p.add_argument("--tolerance", type=float, default=0.01)
    p.add_argument("--trials", type=int, default=200, help="trials per shape and scenario")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--resamples", type=int, default=2000)
    p.add_argument("--shapes", default="", help="comma-separated shape names (default: all)")
    p.add_argument("--methods", default="fixed,sequential")
    p.add_argument("--repeats", type=int, default=0,
                   help="repeats per task for every shape (default: each shape's own)")
    p.add_argument("--max-looks", type=int, default=CompareConfig().max_looks)
    p.add_argument("--max-repeats", type=int, default=CompareConfig().max_repeats)
    p.add_argument("--no-futility", action="store_true",
                   help="sequential: no futility stop (every unsettled look gets more runs)")
    p.add_argument("--no-ratio", action="store_true",
                   help="skip the search for the fixed repeats that match the error rates")
    p.add_argument("--smoke", action="store_true", help="smallest size: 2 trials, 2 shapes")
    p.add_argument("--markdown", type=Path, default=None,
                   help="also write the per-shape table as Markdown to this file")
    args = p.parse_args()
    if args.smoke:
        args.trials, args.resamples = 2, 200
        args.shapes = args.shapes or "gaussian,lognormal30"
    config = CompareConfig(tolerance={"default": args.tolerance}, resamples=args.resamples,
                           max_looks=args.max_looks, max_repeats=args.max_repeats)
    # the project's sequential settings, without the time budget (simulated runs take none)
    seq = SequentialConfig(max_looks=config.max_looks, max_repeats=config.max_repeats,
                           futility=not args.no_futility)
    one_look = SequentialConfig(max_looks=1)
    chosen = [s for s in shapes(args.noise)
              if not args.shapes or s.name in args.shapes.split(",")]
    if args.repeats:
        chosen = [replace(s, repeats=args.repeats) for s in chosen]
    methods = args.methods.split(",")
    started = time.perf_counter()
    out: dict[str, dict] = {}
    for shape in chosen:
        for method in methods:
            counts: dict[str, dict[str, int]] = {}
            runs: dict[str, float] = {}
            for scenario in SCENARIOS:
                # fixed: one look, at the full confidence, on the suite's own repeats
                counts[scenario], runs[scenario] = trials(
                    shape, scenario, one_look if method == "fixed" else seq, config, args)
            row = row_of(shape, counts, runs, args.trials)
            if method == "sequential" and not args.no_ratio:
                row |= equal_error(shape, row, config, args.max_looks, args.max_repeats, args,
                                   out.get(f"{shape.name}/fixed"))
            out[f"{shape.name}/{method}"] = row
            print(f"{shape.name:13s} {method:10s} " + " ".join(
                f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                file=sys.stderr, flush=True)
    if args.markdown is not None:
        args.markdown.write_text(markdown_table(out, args), encoding="utf-8")
    print(json.dumps(summary(out, methods) | {
        "shapes": out, "trials": args.trials, "noise": args.noise,
        "tolerance": args.tolerance, "seconds": round(time.perf_counter() - started, 3)},
        sort_keys=True))


def markdown_table(rows: dict[str, dict], args: argparse.Namespace) -> str:
    """One line per shape and method: false accepts, false rejects, power, inconclusive on no
    change, mean runs (both sides) over the settleable scenarios, and for the sequential method
    the fixed repeats R* that match its inconclusive rate and its runs against them."""
    def pct(x: float) -> str:
        return f"{100 * x:.0f}%"

    lines = [f"Calibration, {args.trials} trials a scenario, seed {args.seed}, noise "
             f"{args.noise}, tolerance {args.tolerance}:", "",
             "| shape | method | false accept | false reject | power | inconclusive (no change) "
             "| mean runs | fixed R* | runs / fixed at R* |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key, r in rows.items():
        shape, method = key.split("/")
        r_star = r.get("fixed_repeats_needed", "")
        ratio = f"{r['runs_ratio']:.2f}" if "runs_ratio" in r else ""
        if method == "sequential" and "runs_ratio" in r and r_star is None:
            r_star, ratio = f">{args.max_repeats}", f"<{ratio}"
        lines.append(f"| {shape} | {method} | {pct(r['false_accept'])} | "
                     f"{pct(r['false_reject'])} | {pct(r['power'])} | "
                     f"{pct(r['inconclusive_none'])} | {r['runs_mean']:.0f} | "
                     f"{'' if r_star is None else r_star} | {ratio} |")
    return "\n".join(lines) + "\n"


def summary(rows: dict[str, dict], methods: list[str]) -> dict[str, float]:
    """The suite's metrics: for the project's method (sequential when it ran, else fixed) the
    worst false accept and false reject over the shapes, the mean power, the inconclusive rate
    on no change at the project's setting (gaussian 20 x 5), and its runs ratio at equal error
    rates there and at worst over the shapes; the fixed method's worst rates beside them."""
    main = "sequential" if "sequential" in methods else "fixed"
    mine = {k.split("/")[0]: v for k, v in rows.items() if k.endswith("/" + main)}
    fixed = {k.split("/")[0]: v for k, v in rows.items() if k.endswith("/fixed")}
    out: dict[str, float] = {
        "false_accept_rate": max(r["false_accept"] for r in mine.values()),
        "false_reject_rate": max(r["false_reject"] for r in mine.values()),
        "power": float(np.mean([r["power"] for r in mine.values()])),
    }
    project = mine.get("gaussian")
    if project is not None:
        out["inconclusive_rate_none"] = project["inconclusive_none"]
        if "runs_ratio" in project:
            out["runs_ratio"] = project["runs_ratio"]
    ratios = [r["runs_ratio"] for r in mine.values() if "runs_ratio" in r]
    if ratios:
        out["runs_ratio_worst"] = max(ratios)
        out.setdefault("runs_ratio", float(np.mean(ratios)))
    if fixed:
        out["fixed_false_accept_rate"] = max(r["false_accept"] for r in fixed.values())
        out["fixed_false_reject_rate"] = max(r["false_reject"] for r in fixed.values())
        out["fixed_inconclusive_rate_none"] = fixed.get("gaussian", {}).get(
            "inconclusive_none", float("nan"))
    return out


if __name__ == "__main__":
    main()
