"""The entry point: parse arguments, run one command, turn errors into one message and exit code.

Each command lives in its own module under ``bot/commands/`` and exposes ``register(subparsers)``;
the module list below is the table of contents of what the bot can do.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from bot import __version__
from bot.errors import EXIT_INTERRUPTED, report


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="improve",
        description="A git-native bot that turns a repository's self-improvement into a "
        "disciplined loop: propose, test, compare, approve, release, monitor, roll back.",
    )
    parser.add_argument("--version", action="version", version=f"improve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import bot.commands as commands_pkg

    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bot.commands.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"improve {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        message, code = report(f"improve {args.command}", exc)
        print(message, file=sys.stderr)
        return code
