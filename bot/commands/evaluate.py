"""``improve evaluate``: the TEST stage from the command line."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem


def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", text.strip())
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise InputError(f"--shard: {text!r} is not K/N with 1 <= K <= N (for example 2/4)")
    return int(m.group(1)), int(m.group(2))


def register(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="run the benchmark and regression suites on one commit",
        description="Run the suites in benchmarks/ and regressions/ on a commit, in a scratch "
        "git worktree (your working tree is untouched), and write a results file.",
    )
    p.add_argument("--ref", default="HEAD", help="the commit to evaluate (default HEAD)")
    p.add_argument(
        "--suite", action="append", default=[], metavar="ID", help="only this suite (repeatable)"
    )
    p.add_argument(
        "--changed-from",
        metavar="REV",
        help="only suites whose targets match paths changed since REV",
    )
    p.add_argument(
        "--repeat", type=int, metavar="N", help="samples per task (overrides the suites)"
    )
    p.add_argument(
        "--jobs", type=int, default=0, metavar="N", help="tasks in parallel (default: cores)"
    )
    p.add_argument(
        "--shard", metavar="K/N", help="run the K-th of N deterministic shards of the tasks"
    )
    p.add_argument("--repo", default=".", help="the repository (default: the current directory)")
    p.add_argument(
        "-o", "--output", default="results.json", help="results file (default results.json)"
    )
    p.set_defaults(func=run)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # same clean-up as Ctrl-C: kill the tasks, remove the worktree


def run(args: argparse.Namespace) -> int:
    # the stage loads when the command runs, not when the CLI starts
    from bot.adapters import actions
    from bot.adapters.progress import make_progress
    from bot.core.evaluation import summary_markdown
    from bot.core.results import CONTRACT_FAILURES
    from bot.stages.evaluate import EvaluateRequest, evaluate, write_results

    if args.repeat is not None and args.repeat < 1:
        raise InputError("--repeat: must be at least 1")
    if args.jobs < 0:
        raise InputError("--jobs: must be 0 (the number of cores) or more")
    req = EvaluateRequest(
        repo=Path(args.repo),
        ref=args.ref,
        suites=args.suite,
        changed_from=args.changed_from,
        repeat=args.repeat,
        jobs=args.jobs,
        shard=parse_shard(args.shard) if args.shard else None,
    )
    signal.signal(signal.SIGTERM, _sigterm)
    results = evaluate(req, make_progress())
    out = Path(args.output)
    write_results(results, out)
    actions.append_summary(summary_markdown(results))
    actions.set_output("results", str(out))
    n_tasks = sum(len(s.tasks) for s in results.suites)
    print(f"{out}: {len(results.suites)} suite(s), {n_tasks} task(s) on {results.commit[:12]}")
    broken = [
        Problem(s.path, t.reason or "failed", field=f"task {t.id}")
        for s, t in results.failed_tasks()
        if any(x.failure in CONTRACT_FAILURES for x in t.samples)
    ]
    if broken:
        # the run finished and its results are written; but a suite needs fixing
        raise InputError(broken)
    if not results.suites:
        print("no suite was selected (no suite targets the changed paths)", file=sys.stderr)
    return 0
