"""Benchmark COMMIT's text work: inserting an entry into a 10,000-entry (~5 MB) changelog
(goal <= 100 ms) and ``improve history`` over 10,000 releases as a whole process (goal <= 1 s).

    python benchmarks/bench_changelog.py insert  [--entries N] [--rounds R]
    python benchmarks/bench_changelog.py history [--entries N] [--rounds R]

Prints one JSON object of metrics (medians over the rounds) on its last line.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.release.changelog import ReleaseEntry, insert_entry  # noqa: E402
from bot.core.release.history import build_history  # noqa: E402

ENTRY = """\
## [{v}] - 2026-{m:02d}-{d:02d}

**Proposal**: prop-2026{m:02d}{d:02d}-router-threshold-{i} (#{pr})
**Improvement**: accuracy +0.031 [+0.012, +0.050], no regression

**Changes**:
- config/router.yaml: routing.threshold 0.55 -> 0.62 — low-confidence routes caused most misroutes
- skills/search/SKILL.md: "Search once." -> "Search, then verify." — fewer unverified answers

**Metrics**:
- accuracy: 0.842 -> 0.873 (+3.7%)
- latency_ms: 41.0 -> 40.2 (-2.0%)
- cost_usd: 0.0131 -> 0.0129 (-1.5%)

"""


def versions(n: int) -> list[str]:
    """n distinct versions, newest first."""
    return [f"{1 + i // 10000}.{(i // 100) % 100}.{i % 100}" for i in range(n)][::-1]


def make_changelog(n: int) -> str:
    parts = ["# Changelog\n\nAll notable changes to this project are documented in this file.\n\n"
             "## [Unreleased]\n\n"]
    for i, v in enumerate(versions(n)):
        parts.append(ENTRY.format(v=v, m=1 + i % 12, d=1 + i % 28, i=i, pr=n - i))
    parts.append("".join(f"[{v}]: https://github.com/o/r/releases/tag/v{v}\n"
                         for v in versions(n)))
    return "".join(parts)


def bench_insert(n: int, rounds: int) -> dict:
    text = make_changelog(n)
    entry = ReleaseEntry(version="9.0.0", date="2026-11-21", proposal_id="prop-new", pr=n + 1,
                         improvement="accuracy +0.010", metrics=("accuracy: 0.1 -> 0.2",))
    insert_entry(text, entry)  # warm up: template compilation, regexes
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        new = insert_entry(text, entry)
        times.append((time.perf_counter() - t0) * 1000)
    assert len(new) > len(text)
    return {"insert_ms": round(statistics.median(times), 2), "entries": n,
            "changelog_bytes": len(text.encode())}


DIRECT = """
import argparse, sys
from bot.commands import history
p = argparse.ArgumentParser()
history.register(p.add_subparsers())
a = p.parse_args(["history", "--json", "--repo", sys.argv[1]])
sys.exit(history.run(a))
"""


def make_repo(root: Path, n: int) -> None:
    """A repository with n release commits, each tagged, through one git fast-import."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    lines = []
    for i, v in enumerate(reversed(versions(n))):
        msg = f"chore(release): v{v}\n\nImprove-Release: {v}\nImprove-PR: {i + 1}\n"
        data = f"{v}\n"
        lines.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"committer Bench <bench@example.com> {1700000000 + i} +0000\n"
            f"data {len(msg.encode())}\n{msg}\n"
            f"M 644 inline VERSION\ndata {len(data)}\n{data}\n"
        )
        lines.append(f"reset refs/tags/v{v}\nfrom :{i + 1}\n\n")
    subprocess.run(["git", "fast-import", "--quiet"], cwd=root, input="".join(lines).encode(),
                   check=True)
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)
    # a clone has its tags packed; 10,000 loose ref files would measure the file system
    subprocess.run(["git", "pack-refs", "--all"], cwd=root, check=True)
    (root / "CHANGELOG.md").write_text(make_changelog(n), encoding="utf-8")


def bench_history(n: int, rounds: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        make_repo(repo, n)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "bot", "history", "--json", "--repo", str(repo)]
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            times.append((time.perf_counter() - t0) * 1000)
        releases = json.loads(proc.stdout)["releases"]
        assert len(releases) == n, len(releases)
        # the same command in a process that imports only it: `improve`'s parser imports every
        # command module, so the figure above includes what other commands import at start-up
        direct = [sys.executable, "-c", DIRECT, str(repo)]
        direct_times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            proc = subprocess.run(direct, env=env, capture_output=True, text=True, check=True)
            direct_times.append((time.perf_counter() - t0) * 1000)
        assert len(json.loads(proc.stdout)["releases"]) == n
        # the same work in-process, without interpreter start-up and imports
        from bot.adapters.tags import list_tags

        text = (repo / "CHANGELOG.md").read_text(encoding="utf-8")
        t0 = time.perf_counter()
        build_history(text, list_tags(repo))
        in_process = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "--version"], env=env, check=True,
                       capture_output=True)
        startup = (time.perf_counter() - t0) * 1000
    return {"history_ms": round(statistics.median(times), 1),
            "history_command_only_ms": round(statistics.median(direct_times), 1),
            "releases": n,
            "history_in_process_ms": round(in_process, 1), "cli_startup_ms": round(startup, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["insert", "history"])
    ap.add_argument("--entries", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="smallest size: 20 entries, 1 round")
    args = ap.parse_args()
    if args.smoke:
        args.entries, args.rounds = 20, 1
    if args.what == "insert":
        result = bench_insert(args.entries, args.rounds)
    else:
        result = bench_history(args.entries, args.rounds)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
