"""``improve handle``: what a workflow step runs. Reads the event Actions gives the step and
dispatches it to the stages (``bot/stages/router.py`` lists which event goes where)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "handle",
        help="handle the GitHub Actions event of this step (pull_request, issue_comment, ...)",
        description="Read GITHUB_EVENT_NAME / GITHUB_EVENT_PATH and run the stage for the event.",
    )
    p.add_argument("--forge", choices=["github", "local"], default="github")
    p.add_argument(
        "--results-out",
        type=Path,
        metavar="FILE",
        help="pull_request half: evaluate with no token and write the results here",
    )
    p.add_argument(
        "--results-in",
        type=Path,
        metavar="FILE",
        help="workflow_run half: read results written by the pull_request half (untrusted)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the stage loads when the command runs, not when the CLI starts
    from bot.adapters.event import read_event
    from bot.stages.router import bot_router

    event = read_event(os.environ)
    router = bot_router(event.name)
    if not router.handlers(event):
        # said here, before the stage context loads: an ignored event imports no stage
        print(f"improve: nothing to do for {event.label}")
        return 0
    from bot.stages.context import github_services, local_services

    options = {"results_out": args.results_out, "results_in": args.results_in}
    make = local_services if args.forge == "local" else github_services
    return router.dispatch(event, make(event, options=options))
