"""Runner throughput, measured on whole `improve evaluate` processes.

- parallel_ratio: wall time of N CPU-bound tasks (about --seconds each) with --jobs 2, over the
  same with --jobs 1. On a 2-core machine the ideal is 0.5.
- overhead_ms_per_task: what the runner adds per task, from M trivial tasks: (evaluate of M
  tasks - evaluate of 1 task) / (M - 1), minus the command's own cost run directly.

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout under test


# the task's loop; calibrate() times exactly this function
BUSY_DEF = "def f(n):\n    x = 0\n    for i in range(n):\n        x += i * i\n"
BUSY = BUSY_DEF + "f({loops})\nprint('{{\"x\": 1}}')"


def calibrate(seconds: float) -> int:
    scope: dict = {}
    exec(BUSY_DEF, scope)  # noqa: S102 - our own constant
    n = 200_000
    while True:
        t0 = time.perf_counter()
        scope["f"](n)
        dt = time.perf_counter() - t0
        if dt > 0.05:
            return int(n * seconds / dt)
        n *= 2


def make_repo(root: Path, tasks: int, loops: int, trivial: int) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (root / "benchmarks").mkdir()
    cpu = {
        "id": "cpu",
        "repeat": 1,
        "timeout": 120,
        "metrics": [{"name": "x"}],
        "tasks": [
            {
                "id": f"t{i:03d}",
                "run": [
                    "python",
                    "-c",
                    BUSY.format(loops=loops),
                ],
            }
            for i in range(tasks)
        ],
    }
    triv = {
        "id": "trivial",
        "repeat": 1,
        "metrics": [{"name": "x"}],
        "tasks": [{"id": f"t{i:03d}", "run": ["printf", '{"x": 1}\\n']} for i in range(trivial)],
    }
    one = {**triv, "id": "one", "tasks": triv["tasks"][:1]}
    for name, doc in (("cpu", cpu), ("trivial", triv), ("one", one)):
        (root / "benchmarks" / f"{name}.yaml").write_text(json.dumps(doc))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, env=env)
    subprocess.run(["git", "commit", "-qm", "bench"], cwd=root, check=True, env=env)


def timed_evaluate(root: Path, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "evaluate", *args, "-o", str(root / "out.json")],
        cwd=root,
        check=True,
        capture_output=True,
        env=env,
    )
    return time.perf_counter() - t0


def direct_cost(n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run(["printf", '{"x": 1}\\n'], capture_output=True, check=True)
    return (time.perf_counter() - t0) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=0.25)
    ap.add_argument("--trivial", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1, help="measurements per figure (median)")
    ap.add_argument("--smoke", action="store_true",
                    help="smallest size: 2 short cpu tasks, 5 trivial ones")
    a = ap.parse_args()
    if a.smoke:
        a.tasks, a.seconds, a.trivial, a.rounds = 2, 0.02, 5, 1
    with tempfile.TemporaryDirectory(prefix="improve-bench-") as tmp:
        root = Path(tmp)
        make_repo(root, a.tasks, calibrate(a.seconds), a.trivial)
        serial, parallel, many, one = [], [], [], []
        for _ in range(a.rounds):
            serial.append(timed_evaluate(root, "--suite", "cpu", "--jobs", "1"))
            parallel.append(timed_evaluate(root, "--suite", "cpu", "--jobs", "2"))
            many.append(timed_evaluate(root, "--suite", "trivial", "--jobs", "1"))
            one.append(timed_evaluate(root, "--suite", "one", "--jobs", "1"))
        cmd = direct_cost(50)
    s, p = statistics.median(serial), statistics.median(parallel)
    per_task = (statistics.median(many) - statistics.median(one)) / (a.trivial - 1)
    print(
        json.dumps(
            {
                "parallel_ratio": round(p / s, 4),
                "serial_s": round(s, 3),
                "parallel_s": round(p, 3),
                "overhead_ms_per_task": round(1000 * (per_task - cmd), 2),
                "command_ms": round(1000 * cmd, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
