"""``improve dashboard``: refresh the dashboard issue (created once, then edited in place),
announce alerts raised or cleared, and file the opportunities the history shows."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._loop import add_forge_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "dashboard",
        help="refresh the dashboard issue, its alerts and the opportunity issues",
        description="What the scheduled run does: the dashboard issue (label "
        "improve-dashboard) is created once and edited in place; an alert raised or cleared "
        "since the last refresh gets one comment; each recurring failure or drifting suite "
        "not filed before becomes an issue labelled improve-opportunity.",
    )
    add_forge_options(p)
    p.add_argument("--no-opportunities", action="store_true",
                   help="refresh the dashboard only")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.stages.context import context_for_args
    from bot.stages.dashboard import gather, refresh_dashboard, scheduled

    env = context_for_args(args, checkout=True)
    if args.no_opportunities:
        refresh_dashboard(env, gather(env))
    else:
        scheduled(env)
    return 0
