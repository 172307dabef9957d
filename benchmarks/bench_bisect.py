"""Benchmark BISECT: the task runs and minutes a bisection of a confirmed drop costs over a line
of N commits after the release (8, 32 and 128 by default), against measuring every commit.

    python benchmarks/bench_bisect.py [--commits 8,32,128] [--every-up-to 128]

Each size: a fresh real git repository whose benchmark suite has four cheap synthetic tasks
(each prints a score read from ``quality.txt``); a release commit, then N commits that each
touch a file, one of them (at 70% of the line) lowering the quality. The release commit is
measured as the reference, the head as the monitor's run would; then ``bisect_drop`` (the
stage the monitor calls) finds the culprit through the real TEST path in scratch worktrees.
"Every commit" measures each commit of the line through the same path (up to
``--every-up-to`` commits; beyond, it is the mean per measurement times N, said so in the
output). Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.release_git import Workspace  # noqa: E402
from bot.core.config import parse_config  # noqa: E402
from bot.stages.bisect import bisect_drop  # noqa: E402
from tests.helpers.bisect import SUITE, TASKS, make_repo, measure, release_of  # noqa: E402


def one(n: int, every: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-bisect-") as tmp:
        bad = max(1, round(0.7 * n))
        repo, line = make_repo(Path(tmp), n, {bad: 0.60})
        reference = measure(repo, line[0])
        head = measure(repo, line[-1])  # the monitor run's own measurement, reused
        release = release_of(line[0])
        config = parse_config("monitor:\n  bisect_runs: 100000\n  bisect_minutes: 600\n")
        ws = Workspace.local(repo, "main")
        t0 = time.perf_counter()
        finding = bisect_drop(ws, config, "refs/heads/improve-data", release, [release],
                              reference, head, {SUITE}, io.StringIO())
        bisect_s = time.perf_counter() - t0
        b = finding.bisection
        assert (b.state, b.culprit) == ("found", line[bad]), (b.state, b.reason)
        measurements = sum(1 for p in b.probes if not p.reused)
        out: dict[str, Any] = {
            f"bisect_runs_{n}": b.runs, f"bisect_measurements_{n}": measurements,
            f"bisect_minutes_{n}": round(bisect_s / 60, 3),
            f"every_runs_{n}": n * TASKS,  # every commit after the release, once
        }
        if every:
            t0 = time.perf_counter()
            for sha in line[1:]:
                measure(repo, sha)
            out[f"every_minutes_{n}"] = round((time.perf_counter() - t0) / 60, 3)
        else:
            per = bisect_s / max(1, measurements)
            out[f"every_minutes_{n}_estimated"] = round(per * n / 60, 3)
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--commits", default="8,32,128")
    ap.add_argument("--every-up-to", type=int, default=128)
    ap.add_argument("--smoke", action="store_true", help="smallest size: a line of 8 commits")
    args = ap.parse_args()
    if args.smoke:
        args.commits, args.every_up_to = "8", 8
    metrics: dict[str, Any] = {"tasks_per_measurement": TASKS}
    for n in (int(x) for x in args.commits.split(",")):
        row = one(n, n <= args.every_up_to)
        print(json.dumps(row, sort_keys=True), file=sys.stderr, flush=True)
        metrics.update(row)
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
