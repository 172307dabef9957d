"""Benchmark of seeing the loop: the dashboard built from a large history (pure core: alerts,
effectiveness, health, charts, Markdown and HTML), and the records read from a data branch with
one ``git cat-file --batch``. Prints one JSON object of metrics on its last line.

    python benchmarks/bench_loop.py core --releases 1000 --runs 200 --rounds 5
    python benchmarks/bench_loop.py read --files 300 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.analytics.alerts import current_alerts, update_alerts  # noqa: E402
from bot.core.analytics.dashboard import dashboard, render_html, render_markdown  # noqa: E402
from bot.core.analytics.effectiveness import effectiveness, release_outcomes  # noqa: E402
from bot.core.analytics.opportunities import find_opportunities  # noqa: E402
from bot.core.analytics.trends import RunSummary  # noqa: E402
from bot.core.config import Config  # noqa: E402
from bot.core.records import MonitorRecord, MonitorRun, ReleaseRecord  # noqa: E402

NOW = datetime(2026, 11, 21, tzinfo=UTC)


def releases(n: int) -> list[ReleaseRecord]:
    out = []
    for i in range(n):
        at = NOW - timedelta(hours=n - i)
        rb = {"version": f"1.{i - 1}.0", "restores": "x", "reason": "r"} if i % 10 == 9 else None
        out.append(ReleaseRecord(
            version=f"1.{i}.0", tag=f"v1.{i}.0", date=at.date().isoformat(), released_at=at,
            pr=i + 1, merge_sha="a" * 40, merged_at=at,
            proposal=None if rb else {"id": f"p{i}", "type": "constant_tune",
                                      "author": f"agent{i % 7}", "title": f"t{i}",
                                      "changes": [{"path": f"c{i % 13}.yaml", "what": "k 1 -> 2"}]},
            rollback=rb, comparison={"decision": "accept", "improvement": "x",
                                     "details": {"suites": [{"metrics": [
                                         {"name": "accuracy", "delta": 0.01}]}]}},
            monitor={"window_days": 7, "until": at + timedelta(days=7), "state": "watching"}))
    return out


def monitors(n: int) -> list[MonitorRecord]:
    return [MonitorRecord(version=f"1.{i}.0", tag=f"v1.{i}.0", pr=i + 1,
                          until=NOW + timedelta(days=1),
                          runs=[MonitorRun(at=NOW - timedelta(hours=j), commit=f"{j:040x}",
                                           worst=-0.01 * j, changes={"s": -0.01 * j})
                                for j in range(4)]) for i in range(n)]


def runs(n: int) -> list[RunSummary]:
    return [RunSummary(at=NOW - timedelta(hours=n - i), commit=f"{i:040x}", source="x",
                       scores={f"suite{k}": 0.8 + 0.001 * ((i * (k + 1)) % 17) for k in range(5)},
                       suites=frozenset(f"suite{k}" for k in range(5)),
                       failed=frozenset({"suite1/t3"} if i % 3 == 0 else set()))
            for i in range(n)]


def core(args: argparse.Namespace) -> dict[str, float]:
    cfg = Config()
    rel, mon, rs = releases(args.releases), monitors(args.monitors), runs(args.runs)
    times, md_sizes = [], []
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        alerts = current_alerts(rel, mon, rs, [], NOW, cfg)
        up = update_alerts({}, alerts, NOW)
        eff = effectiveness(release_outcomes(rel, mon))
        d = dashboard(rel, mon, rs, [], up.active, eff, NOW, cfg)
        md = render_markdown(d, up.state())
        render_html(d)
        find_opportunities(rs, cfg)
        times.append((time.perf_counter() - t0) * 1000)
        md_sizes.append(len(md))
    return {"dashboard_ms": statistics.median(times), "markdown_chars": float(md_sizes[-1])}


def read(args: argparse.Namespace) -> dict[str, float]:
    from bot.adapters.record_reader import read_json_files

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        subprocess.run(["git", "init", "-q", "-b", "improve-data", str(repo)], check=True)
        paths = []
        for i in range(args.files):
            p = repo / "results" / f"{i:040x}.json"
            p.parent.mkdir(exist_ok=True)
            p.write_text(json.dumps({"i": i, "pad": "x" * 2000}))
            paths.append(f"results/{i:040x}.json")
        subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=b", "-c", "user.email=b@b",
                        "commit", "-qm", "r"], check=True)
        batch, single = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            got = read_json_files(repo, "HEAD", paths)
            batch.append((time.perf_counter() - t0) * 1000)
            assert len(got) == args.files
            t0 = time.perf_counter()
            for p in paths[:50]:
                subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{p}"],
                               capture_output=True, check=True)
            single.append((time.perf_counter() - t0) * 1000 * args.files / 50)
    return {"read_batch_ms": statistics.median(batch),
            "read_one_by_one_ms_estimate": statistics.median(single)}


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("core")
    c.add_argument("--releases", type=int, default=1000)
    c.add_argument("--monitors", type=int, default=20)
    c.add_argument("--runs", type=int, default=200)
    c.add_argument("--rounds", type=int, default=5)
    r = sub.add_parser("read")
    r.add_argument("--files", type=int, default=300)
    r.add_argument("--rounds", type=int, default=3)
    for one in (c, r):
        one.add_argument("--smoke", action="store_true", help="smallest size, one round")
    args = p.parse_args()
    if args.smoke and args.what == "core":
        args.releases, args.monitors, args.runs, args.rounds = 20, 2, 5, 1
    elif args.smoke:
        args.files, args.rounds = 10, 1
    metrics = core(args) if args.what == "core" else read(args)
    print(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
