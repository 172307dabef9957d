"""``improve demo``: the whole loop on the sandbox, offline, through the repository's own workflow
files and the bot's real GitHub code path: propose, compare, auto tier, /approve (refused, then
given), reject, release, monitor, rollback. People act; the workflows do the rest. Prints a
transcript naming the workflow and job behind each line, then the resulting CHANGELOG.md."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

INTRO = ("improve demo: {repo} on a local GitHub stand-in (no network, no account), {setup}. "
         "People propose, comment, push and wait for the schedule; everything else is done by "
         "the workflows improve init writes, run as GitHub Actions runs them.")
SETUPS = {"app": "with the GitHub App token setup",
          "github-token": "with GITHUB_TOKEN only (no GitHub App)"}
KEPT = ("kept in {root}: sandbox/ (the stand-in's bare repositories), sandbox-state.json (its "
        "final state), actions/ (the Actions runner's job workspaces and logs), people/ (each "
        "person's clone), proposals/ (the proposal files people wrote)")
WROTE_HTML = "wrote {file}: open it in a browser"
NOT_EMPTY = "exists and is not empty (the demo keeps its files in a new or empty directory)"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="play the whole loop on a local GitHub stand-in, offline, and print what happened",
        description="Start the sandbox, seed a sample repository (a ticket router with labelled "
        "data and suites), and play the story: people propose, comment and push, and the "
        "workflows improve init writes run on the sandbox's Actions runner: an auto-tier tune "
        "released as a patch; a riskier change approved by a maintainer (a read-only user's "
        "/approve refused) and released as a minor; a regression rejected; data drift, the "
        "monitor's warning, the revert pull request and the rollback release.",
    )
    p.add_argument("--keep", type=Path, metavar="DIR",
                   help="keep the sandbox's repositories and state, the runner's job workspaces, "
                   "the people's clones and the proposals in DIR")
    p.add_argument("--setup", choices=sorted(SETUPS), default="app",
                   help="app: the workflows mint a GitHub App token (the README's setup); "
                   "github-token: no App, the jobs' GITHUB_TOKEN only (default: app)")
    p.add_argument("--html", type=Path, metavar="FILE",
                   help="write a page with the pull requests, their comments and the metric "
                   "history")
    p.set_defaults(func=run)


def print_step(step: Any, elapsed: float) -> None:
    print(f"\n{step.number}. {step.title}  [{elapsed:.1f} s]")
    for line in step.lines:
        by = f"  [{line.by}]" if line.by else ""
        print(f"   {line.what:<9} {line.text}{by}")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    from bot.demo import sample
    from bot.demo.engine import World
    from bot.demo.history import changelog, metric_history
    from bot.demo.story import play

    keep: Path | None = args.keep
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise InputError([Problem(f"--keep {keep}", NOT_EMPTY)])
    if args.html is not None and not args.html.parent.is_dir():
        raise InputError([Problem(f"--html {args.html}", "its directory does not exist")])
    root = keep.resolve() if keep is not None else Path(tempfile.mkdtemp(prefix="improve-demo-"))
    start = time.monotonic()
    print(INTRO.format(repo=sample.FULL_NAME, setup=SETUPS[args.setup]))
    world = World.start(root, app=args.setup == "app")
    try:
        steps = play(world, lambda s: print_step(s, time.monotonic() - start))
        text = changelog(world)
        print(f"\n--- CHANGELOG.md on main ---\n\n{text}")
        if args.html is not None:
            from bot.demo.page import page

            args.html.write_text(page(steps, world.state(), text, metric_history(world)),
                                 encoding="utf-8")
            print(WROTE_HTML.format(file=args.html))
        print(f"done in {time.monotonic() - start:.1f} s")
        if keep is not None:
            print(KEPT.format(root=root))
    finally:
        world.stop(keep=keep is not None)
    return 0
