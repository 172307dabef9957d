"""Speed of COMPARE: ``--tasks`` tasks x 3 metrics (two scores, one timing) x ``--repeats``
repeats per side, with the default 10,000 bootstrap resamples.

Measures, as medians over ``--rounds``: parsing both results files from JSON, the comparison
itself (``compare_results``), rendering the Markdown report, and the whole ``improve compare``
stage from files to report. Prints one JSON object of metrics (seconds) on its last line.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.comparison.compare import (  # noqa: E402
    compare_results,
    render_comparison_markdown,
)
from bot.core.config import CompareConfig  # noqa: E402
from bot.core.results import (  # noqa: E402
    Environment,
    Results,
    Sample,
    SuiteResult,
    TaskResult,
    parse_results,  # noqa: E402
)
from bot.core.suites import Metric  # noqa: E402
from bot.stages import compare as stage  # noqa: E402

ENV = Environment(python="3", implementation="CPython", platform="bench", machine="bench",
                  cpu_count=1, improve="bench")
METRICS = [Metric(name="accuracy", weight=2), Metric(name="f1"),
           Metric(name="latency_ms", direction="lower", kind="timing")]


def make(rng: np.random.Generator, tasks: int, repeats: int, shift: float, commit: str) -> str:
    acc = rng.uniform(0.5, 0.9, tasks)[:, None] + shift + rng.normal(0, 0.05, (tasks, repeats))
    f1 = rng.uniform(0.4, 0.8, tasks)[:, None] + shift + rng.normal(0, 0.05, (tasks, repeats))
    lat = rng.uniform(20, 200, tasks)[:, None] * rng.lognormal(0, 0.1, (tasks, repeats))
    out = [
        TaskResult(id=f"t{i:05d}", status="ok", samples=[
            Sample(status="ok", duration_s=0.01,
                   metrics={"accuracy": float(acc[i, r]), "f1": float(f1[i, r]),
                            "latency_ms": float(lat[i, r])})
            for r in range(repeats)])
        for i in range(tasks)
    ]
    suite = SuiteResult(id="speed", kind="benchmark", path="benchmarks/speed.yaml",
                        definition_hash="sha256:speed", targets=["**"], repeat=repeats,
                        metrics=METRICS, tasks=out)
    return Results(commit=commit * 40, ref="bench", created_at="", environment=ENV,
                   suites=[suite]).model_dump_json()


def timed(fn: object, rounds: int) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tasks", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--smoke", action="store_true", help="smallest size: 50 tasks, 1 round")
    args = p.parse_args()
    if args.smoke:
        args.tasks, args.repeats, args.rounds = 50, 2, 1
    rng = np.random.default_rng(1)
    base_text = make(rng, args.tasks, args.repeats, 0.0, "a")
    cand_text = make(rng, args.tasks, args.repeats, 0.002, "b")
    config = CompareConfig()
    parse_s, parsed = timed(lambda: (parse_results(base_text, "base.json"),
                                     parse_results(cand_text, "cand.json")), args.rounds)
    base, cand = parsed  # type: ignore[misc]
    compare_s, comparison = timed(lambda: compare_results(base, cand, config), args.rounds)
    render_s, _ = timed(lambda: render_comparison_markdown(comparison), args.rounds)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "base.json").write_text(base_text)
        (root / "cand.json").write_text(cand_text)
        stage_s, _ = timed(lambda: stage.run("base.json", "cand.json", cwd=root,
                                             stdout=io.StringIO()), args.rounds)
    print(json.dumps({"parse_s": round(parse_s, 4), "compare_s": round(compare_s, 4),
                      "render_s": round(render_s, 4), "stage_s": round(stage_s, 4),
                      "tasks": args.tasks, "repeats": args.repeats, "metrics": len(METRICS)},
                     sort_keys=True))


if __name__ == "__main__":
    main()
