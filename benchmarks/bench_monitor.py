"""Benchmark MONITOR against the sandbox: one scheduled run with N releases in their window
(20 by default), its wall time, its REST calls and git requests, and how many times it ran the
suites (once, whatever N is).

    python benchmarks/bench_monitor.py [--releases N] [--rounds R] [--smoke]

Each round: a fresh sandbox repository (the sample classifier), its suite measured once as every
release's reference, N release records on the data branch (each with its own pull request to
comment on), then the scheduled handler (``improve handle`` on ``schedule``, the monitor part):
a healthy run; after the data drifts (past the warning for every release), a first run, the run
that writes the N warning comments, and a run that edits them. Prints one JSON object of metrics
(medians over the rounds) on its last line. The suite runs are counted from what the monitor
prints (one "Evaluating <commit>" line per measurement): nothing of the bot is patched.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.progress import PlainProgress  # noqa: E402
from bot.core.records import release_path, results_path  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from bot.stages.evaluate import EvaluateRequest, evaluate  # noqa: E402
from tests.helpers import sample_repo as sample  # noqa: E402
from tests.helpers.monitor import make_world  # noqa: E402
from tests.helpers.sandbox import run_git  # noqa: E402


def _records(world: Any, n: int, reference: str, sha: str) -> dict[str, Any]:
    now = world.clock.now
    out: dict[str, Any] = {}
    for i in range(1, n + 1):
        # the pull request each release names (the monitor comments on it; a record naming
        # one that does not exist is damaged): a branch of one empty commit on main
        branch = f"improvement-{i}"
        commit = run_git(world.checkout, "commit-tree", "HEAD^{tree}", "-p", "HEAD",
                         "-m", f"improvement {i}").stdout.strip()
        run_git(world.checkout, "push", "-q", "origin", f"{commit}:refs/heads/{branch}")
        issue = world.forge().create_pull(title=f"improvement {i}", body="stand-in PR",
                                          head=branch, base="main")
        tag = f"v1.3.{i}"
        out[release_path(tag)] = {
            "kind": "release", "version": f"1.3.{i}", "tag": tag, "previous": f"1.3.{i - 1}",
            "date": now.date().isoformat(), "released_at": (now - timedelta(hours=n - i))
            .isoformat(), "pr": issue.number, "merge_sha": sha, "merged_at": now.isoformat(),
            "monitor": {"window_days": 7, "until": (now + timedelta(days=7)).isoformat(),
                        "state": "watching"},
            "proposal": {"id": f"prop-{i}"}, "rollback": None, "release_commit": sha,
            "results": reference,
        }
    return out


def _tag_releases(world: Any, n: int, sha: str) -> None:
    """The tags the records name: the monitor reports a record of a tag that does not exist as
    damaged, and watches nothing from it."""
    for i in range(1, n + 1):
        run_git(world.checkout, "tag", f"v1.3.{i}", sha)
    run_git(world.checkout, "push", "-q", "origin", "--tags")


def one_round(tmp: Path, n: int) -> dict[str, float]:
    sb = Sandbox.start()
    try:
        world = make_world(sb, tmp)
        world.clock.now = datetime.now(UTC)
        # the released state: the threshold at the data's boundary, as the improvement set it
        rules = world.file_on_main(sample.THRESHOLD_PATH)
        world.push_main({sample.THRESHOLD_PATH: rules.replace("0.5", "0.62")}, "release")
        run_git(world.checkout, "pull", "-q", "origin", "main")
        sha = world.main_sha()
        # the reference: the suite measured once on main, shared by every record
        ref = evaluate(EvaluateRequest(repo=world.checkout, ref=sha),
                       PlainProgress(io.StringIO()))
        from bot.adapters.datastore import DataStore
        from bot.adapters.git import Git

        store = DataStore(Git(world.checkout, token=sb.token), "improve-data")
        files = _records(world, n, results_path(sha), sha)
        files[results_path(sha)] = json.loads(ref.model_dump_json())
        store.write(files, "bench: release records")
        _tag_releases(world, n, sha)

        def timed() -> tuple[float, int, int, int]:
            mark = len(sb.requests)
            printed = len(world.err.getvalue())
            t0 = time.perf_counter()
            assert world.scheduled() == 0, world.err.getvalue()[-2000:]
            ms = (time.perf_counter() - t0) * 1000
            git = sum(1 for r in sb.requests[mark:] if r.kind == "git")
            measured = sum(1 for line in world.err.getvalue()[printed:].splitlines()
                           if line.startswith("Evaluating "))
            return ms, sb.api_calls(mark), git, measured

        healthy_ms, healthy_calls, healthy_git, evaluations = timed()
        world.drift(0.55)
        world.clock.advance(hours=6)
        _, first_calls, _, _ = timed()
        world.clock.advance(hours=6)
        warn_ms, warn_calls, _, _ = timed()
        world.clock.advance(hours=6)
        _, edit_calls, _, _ = timed()
        comments = sum(1 for c in world.state()["comments"]
                       if c["body"].startswith("<!-- improve:monitor -->"))
        assert comments == n, (comments, world.out.getvalue(), world.err.getvalue()[-2000:])
        world.close()
        return {"monitor_ms": healthy_ms, "api_calls_healthy": healthy_calls,
                "git_requests_healthy": healthy_git, "evaluations_per_run": evaluations,
                "api_calls_first_drop": first_calls, "warn_run_ms": warn_ms,
                "api_calls_warning_run": warn_calls, "api_calls_edit_run": edit_calls,
                "violations": len(sb.violations)}
    finally:
        sb.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--releases", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="smallest size: 1 release, 1 round")
    args = ap.parse_args()
    if args.smoke:
        args.releases, args.rounds = 1, 1
    rows = []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
            rows.append(one_round(Path(tmp) / f"r{i}", args.releases))
    metrics = {k: round(statistics.median(r[k] for r in rows), 1) for k in rows[0]}
    metrics["releases"] = args.releases
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
