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
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.progress import PlainProgress  # noqa: E402
from bot.adapters.release_git import Workspace  # noqa: E402
from bot.core.config import parse_config  # noqa: E402
from bot.core.records import ReleaseRecord  # noqa: E402
from bot.stages.bisect import bisect_drop  # noqa: E402
from bot.stages.evaluate import EvaluateRequest, evaluate  # noqa: E402

TASKS = 4
SUITE = "synthetic"
SUITE_YAML = f"""\
id: {SUITE}
targets: ["quality.txt", "score.py"]
repeat: 1
timeout: 60
metrics:
  - {{name: score, direction: higher}}
tasks:
""" + "".join(f"  - {{id: t{i}, run: python score.py {i}}}\n" for i in range(TASKS))
SCORE_PY = """\
import json, sys
from pathlib import Path
q = float(Path("quality.txt").read_text())
print(json.dumps({"score": q - 0.01 * int(sys.argv[1])}))
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(root: Path, n: int, bad: int) -> tuple[Path, list[str]]:
    """The release commit then ``n`` commits; commit ``bad`` (1-based) lowers the quality."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "bench")
    git(repo, "config", "user.email", "bench@example.com")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / f"{SUITE}.yaml").write_text(SUITE_YAML)
    (repo / "score.py").write_text(SCORE_PY)
    (repo / "quality.txt").write_text("0.90\n")
    (repo / "notes.txt").write_text("0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1.3.1")
    line = [git(repo, "rev-parse", "HEAD")]
    for i in range(1, n + 1):
        if i == bad:
            (repo / "quality.txt").write_text("0.60\n")
        (repo / "notes.txt").write_text(f"{i}\n")
        git(repo, "commit", "-q", "-am", f"change {i}")
        line.append(git(repo, "rev-parse", "HEAD"))
    return repo, line


def measure(repo: Path, sha: str) -> Any:
    return evaluate(EvaluateRequest(repo=repo, ref=sha, suites=[SUITE]),
                    PlainProgress(io.StringIO()))


def one(n: int, every: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-bisect-") as tmp:
        bad = max(1, round(0.7 * n))
        repo, line = make_repo(Path(tmp), n, bad)
        reference = measure(repo, line[0])
        head = measure(repo, line[-1])  # the monitor run's own measurement, reused
        now = datetime.now(UTC)
        release = ReleaseRecord.model_validate({
            "version": "1.3.1", "tag": "v1.3.1", "date": now.date().isoformat(),
            "released_at": now, "pr": 1, "merge_sha": line[0], "merged_at": now,
            "monitor": {"window_days": 7, "until": now + timedelta(days=7)},
            "release_commit": line[0], "results": f"results/{line[0]}.json"})
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
    args = ap.parse_args()
    metrics: dict[str, Any] = {"tasks_per_measurement": TASKS}
    for n in (int(x) for x in args.commits.split(",")):
        row = one(n, n <= args.every_up_to)
        print(json.dumps(row, sort_keys=True), file=sys.stderr, flush=True)
        metrics.update(row)
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
