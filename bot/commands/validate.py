"""``improve validate``: check the configuration, every suite and the given proposal files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.errors import InputError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check the configuration, every suite and any proposal files given",
        description="Check .github/improve.yml, every suite in benchmarks/ and regressions/ "
        "(and the files and commands they name), and the proposal files given. Prints every "
        "problem, not only the first; exit 2 when there is one.",
    )
    p.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="proposal files to check too"
    )
    p.add_argument(
        "--repo", default=".", type=Path, help="the repository (default: the current directory)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the stage loads when the command runs, not when the CLI starts
    from bot.adapters.actions import command, in_actions
    from bot.stages.validate import validate_tree

    report = validate_tree(args.repo, args.paths)
    for w in report.warnings:
        if in_actions():
            where = f" (field {w.field})" if w.field else ""
            command("warning", w.message + where, file=w.file, line=w.line,
                    title="improve validate")
        else:
            print(f"warning: {w}", file=sys.stderr)
    if report.problems:
        if in_actions():
            # one annotation per problem: GitHub shows each on the file's line in the PR's diff
            for p in report.problems:
                where = f" (field {p.field})" if p.field else ""
                command("error", p.message + where, file=p.file, line=p.line,
                        title="improve validate")
        raise InputError(report.problems)
    print("ok: " + "; ".join(report.checked), file=sys.stdout)
    return 0
