"""``improve report --html FILE``: the dashboard as a self-contained page (inline SVG charts,
no script, nothing loaded from the network)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.commands._loop import add_forge_options
from bot.errors import InputError, Problem


def register(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write the dashboard as an HTML page with its charts",
        description="Write what the dashboard issue shows as one self-contained HTML file: "
        "the charts are inline SVG, so the page needs no network.",
    )
    p.add_argument("--html", required=True, type=Path, metavar="FILE", help="the page to write")
    add_forge_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.core.analytics.dashboard import render_html
    from bot.stages.context import context_for_args
    from bot.stages.dashboard import build

    page = render_html(build(context_for_args(args, checkout=True)))
    try:
        args.html.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InputError([Problem(str(args.html), exc.strerror or str(exc))]) from None
    print(f"wrote {args.html}")
    return 0
