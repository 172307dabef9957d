"""Benchmark COMMIT against the sandbox: wall time and REST calls of ``run_release`` for one
merged improvement, and for a run that finds nothing to do (the second run, and every run the
release commit's own push starts).

    python benchmarks/bench_release.py [--rounds R]

Each round: a fresh sandbox repository, one improvement PR opened and merged, then the release
(bare clone, plan, commit, tag, atomic push, record, comment) with measuring off, then again.
Prints one JSON object of metrics (medians over the rounds) on its last line.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox import Sandbox  # noqa: E402
from bot.stages.release import ReleaseRequest, run_release  # noqa: E402
from tests.helpers.release import (  # noqa: E402
    REPO,
    make_clone,
    merge,
    open_improvement,
    setup_repo,
    stage_env,
)
from tests.helpers.sandbox import call  # noqa: E402


def one_round(tmp: Path) -> dict[str, float]:
    sb = Sandbox.start()
    try:
        setup_repo(sb)
        call(sb, "POST", f"/repos/{REPO}/labels",
             {"name": "improvement", "color": "ededed", "description": "improvement"})
        number = open_improvement(sb, make_clone(sb, tmp), "prop-bench")
        merge(sb, number)
        mark = len(sb.requests)
        t0 = time.perf_counter()
        done = run_release(stage_env(sb, out=io.StringIO()), ReleaseRequest(measure=False))
        release_ms = (time.perf_counter() - t0) * 1000
        assert [o.action for o in done] == ["released"], done
        calls = sb.api_calls(mark)
        git_requests = sum(1 for r in sb.requests[mark:] if r.kind == "git")
        mark = len(sb.requests)
        t0 = time.perf_counter()
        assert run_release(stage_env(sb, out=io.StringIO()), ReleaseRequest()) == []
        noop_ms = (time.perf_counter() - t0) * 1000
        return {"release_ms": release_ms, "api_calls_per_release": calls,
                "git_requests_per_release": git_requests, "noop_ms": noop_ms,
                "noop_api_calls": sb.api_calls(mark), "violations": len(sb.violations)}
    finally:
        sb.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="smallest size: one round")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        for i in range(args.rounds):
            work = Path(tmp) / f"r{i}"
            work.mkdir()
            rows.append(one_round(work))
    out = {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
