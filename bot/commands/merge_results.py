"""``improve merge-results``: join the results of ``--shard`` runs into one file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem


def register(sub: Any) -> None:
    p = sub.add_parser(
        "merge-results",
        help="merge the results files of sharded evaluate runs",
        description="Merge results files written by `improve evaluate --shard K/N` (one commit) "
        "into the file an unsharded run would have written, apart from timings.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="RESULTS.json")
    p.add_argument("-o", "--output", required=True, type=Path)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the stage loads when the command runs, not when the CLI starts
    from bot.core.evaluation import merge_results
    from bot.core.results import parse_results
    from bot.stages.evaluate import write_results

    parts = []
    for path in args.inputs:
        if not path.is_file():
            raise InputError([Problem(str(path), "no such file")])
        parts.append(parse_results(path.read_text(), str(path)))
    merged = merge_results(parts, [str(p) for p in args.inputs])
    write_results(merged, args.output)
    print(f"{args.output}: merged {len(parts)} file(s), {len(merged.suites)} suite(s)")
    return 0
