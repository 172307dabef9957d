"""Benchmark ``improve demo``: the whole story's wall time, and per step, with the REST calls and
git requests it made on the sandbox. Prints one JSON object of metrics on its last line."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.demo import story  # noqa: E402
from bot.demo.engine import World  # noqa: E402


def one_round(root: Path, steps: int | None = None) -> dict[str, float]:
    t0 = time.perf_counter()
    world = World.start(root)
    out: dict[str, float] = {"setup_ms": (time.perf_counter() - t0) * 1000}
    try:
        for fn in story.STEPS[:steps]:
            t = time.perf_counter()
            step = fn(world)
            out[f"step{step.number}_ms"] = (time.perf_counter() - t) * 1000
        out["demo_ms"] = (time.perf_counter() - t0) * 1000
        out["api_calls"] = world.sb.api_calls(0)
        out["git_requests"] = sum(1 for r in world.sb.requests if r.kind == "git")
        out["violations"] = len(world.sb.violations)
    finally:
        world.stop()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=None, help="the story's first N steps")
    parser.add_argument("--smoke", action="store_true",
                        help="smallest size: one round of the story's first step")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.steps = 1, 1
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        rows = [one_round(Path(tmp) / f"r{i}", args.steps) for i in range(args.rounds)]
    print(json.dumps({k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
