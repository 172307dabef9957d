"""``improve handle``: what a workflow step runs. Reads the event Actions gives the step and
dispatches it to the stages.

The composition root: the one module that knows every stage. Each stage module has its own
``Router`` (``bot.core.router``) and imports no other stage; ``STAGES`` here says which stage
handles which event, and ``bot_router`` composes their routers.

Only the stages that handle the event are imported (a test checks ``STAGES`` against their
registrations): an event the bot ignores must not pay for scipy and every stage, since the
workflows deliver more events than the bot acts on.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.adapters.event import Event
    from bot.core.router import Router
    from bot.stages.context import StageContext

# the stage modules in the order their handlers run, and the events each handles; the monitor
# before the dashboard: the dashboard then shows this run's monitor records
STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("pr_evaluation", frozenset({"pull_request", "workflow_run", "push", "merge_group"})),
    ("release", frozenset({"push", "pull_request"})),
    ("comment_commands", frozenset({"issue_comment"})),
    ("issue_proposals", frozenset({"issue_comment"})),
    ("monitor", frozenset({"schedule", "workflow_dispatch"})),
    ("sweep", frozenset({"schedule", "workflow_dispatch"})),
    ("dashboard", frozenset({"schedule", "workflow_dispatch"})),
)


def bot_router(event_name: str | None = None) -> Router[Event, StageContext]:
    """The stages' routers, composed: those that handle ``event_name``, or all of them. A new
    stage adds its module to STAGES."""
    from bot.core.router import Router

    modules = [importlib.import_module(f"bot.stages.{name}") for name, events in STAGES
               if event_name is None or event_name in events]
    return Router(*(m.router for m in modules))


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
        help="workflow_run half: read results written by the pull_request half (untrusted); "
        "a folder holds one file per shard, merged before comparing",
    )
    p.add_argument(
        "--shard",
        metavar="K/N",
        help="pull_request half in a matrix job (test.shards): measure the K-th of N shares "
        "of the suites' tasks",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the stage loads when the command runs, not when the CLI starts
    from bot.adapters.event import read_event

    event = read_event(os.environ)
    router = bot_router(event.name)
    if not router.handlers(event):
        # said here, before the stage context loads: an ignored event imports no stage
        print(f"improve: nothing to do for {event.label}")
        return 0
    from bot.commands.evaluate import parse_shard
    from bot.stages.context import context_for_event

    return router.dispatch(event, context_for_event(
        event, local=args.forge == "local", results_out=args.results_out,
        results_in=args.results_in, shard=parse_shard(args.shard) if args.shard else None))
