"""``improve mcp``: the loop as a Model Context Protocol server, for coding agents.

The server (bot/commands/_mcp_server.py) and the ``mcp`` SDK load only when this command runs:
every other command, ``improve handle`` first, starts without them."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._loop import add_forge_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "mcp",
        help="serve the loop to an agent over the Model Context Protocol (stdio)",
        description="Run a Model Context Protocol server on stdin/stdout that gives an agent the "
        "loop as tools (validate_proposal, propose, status, history, comparison, "
        "opportunities, request_improvement, track_record) and as resources (the changelog, "
        "the configuration, the proposals). Each tool runs what the matching command runs, "
        "with the same checks, limits and messages; proposing for real needs GITHUB_TOKEN in "
        "the server's environment (--forge github), as `improve propose` does.",
    )
    add_forge_options(p)
    p.add_argument("--transport", choices=["stdio"], default="stdio",
                   help="how the agent talks to the server (default and only: stdio)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.commands._mcp_server import serve

    serve(args)
    return 0
