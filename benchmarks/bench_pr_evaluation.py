"""GitHub API calls per event kind, measured through the shipped workflow files: the demo's story
(bot/demo/story.py) plays on the sandbox, the sandbox's workflow runner runs every job the
workflows start (with tokens carrying each job's permissions), and the sandbox's request log
counts the REST calls each job made (jobs run one at a time, so every call logged while a job
ran is its own). Nothing is patched: this is what a repository set up by ``improve init``
costs.

Kinds: an evaluation (the improve-report job of a pull request), a command (an improve-commands
job that ran a command), a release (an improve-release job on a push that released), a
scheduled run (the improve-monitor job). Goals (last round's figures): 8 per evaluation, 6 per
command, 4 per release.

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.demo.engine import World  # noqa: E402
from bot.demo.story import STEPS  # noqa: E402
from bot.sandbox.actions_runner import JobRecord  # noqa: E402


def kind(job: JobRecord) -> str | None:
    if job.conclusion in ("skipped", "cancelled") or not job.bot_steps():
        return None
    return {"improve-report": "evaluation", "improve-commands": "command",
            "improve-release": "release", "improve-monitor": "schedule",
            "improve-test": "test"}.get(job.workflow)


def released(job: JobRecord) -> bool:
    return any("released v" in s.out for s in job.bot_steps())


def measure(setup: str, steps: int | None = None) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="bench-calls-"))
    start = time.perf_counter()
    world = World.start(root / "world", app=setup == "app")
    try:
        for step in STEPS[:steps]:  # the story (bot/demo/story.py), or its first steps
            step(world)
        journal = list(world.runner.journal)
        mark = len(world.sb.requests)
    finally:
        world.stop()
    seconds = time.perf_counter() - start
    by_kind: dict[str, list[int]] = {}
    for job in journal:
        k = kind(job)
        if k is not None:
            by_kind.setdefault(k, []).append(job.api_calls)
    # a release job that released something (not the one on the release commit's own push)
    releasing = [j.api_calls for j in journal if kind(j) == "release" and released(j)]
    out: dict[str, float] = {"requests_total": mark, "story_s": round(seconds, 2)}
    for k, calls in sorted(by_kind.items()):
        out[f"calls_{k}_max"] = max(calls)
        out[f"calls_{k}_mean"] = round(sum(calls) / len(calls), 2)
        out[f"jobs_{k}"] = len(calls)
    if releasing:
        out["calls_releasing_max"] = max(releasing)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", choices=["app", "github-token"], default="app")
    p.add_argument("--steps", type=int, default=None, help="the story's first N steps")
    p.add_argument("--smoke", action="store_true", help="smallest size: the story's first step")
    args = p.parse_args(argv)
    if args.smoke:
        args.steps = 1
    print(json.dumps(measure(args.setup, args.steps), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
