"""``improve status``: the dashboard in a terminal (or as JSON); writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.commands._loop import add_forge_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="show the loop: proposals, monitors, releases, alerts, trends, health",
        description="Read the records on the data branch and the open proposals, and print "
        "what the dashboard issue shows: the health line, alerts, proposals and their state, "
        "monitors, recent releases and rollbacks, metric trends and track records.",
    )
    add_forge_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.core.analytics.dashboard import dashboard_json, render_text
    from bot.stages.context import context_for_args
    from bot.stages.dashboard import build

    d = build(context_for_args(args, checkout=True))
    if args.json:
        print(json.dumps(dashboard_json(d), indent=2, sort_keys=True))
    else:
        sys.stdout.write(render_text(d))
    return 0
