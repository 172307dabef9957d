"""``improve compare BASE.json CAND.json``: the COMPARE stage on two results files."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="compare candidate results with baseline results and decide",
        description="Compare two results files (baseline, candidate) and decide: accept "
        "(exit 0), reject or inconclusive (exit 1). Bad input exits 2.",
    )
    p.add_argument("base", metavar="BASE.json", help="results of the baseline commit")
    p.add_argument("cand", metavar="CAND.json", help="results of the candidate commit")
    p.add_argument("--format", choices=["md", "json"], default="md",
                   help="Markdown report (default) or the JSON facts")
    p.add_argument("-o", "--output", metavar="FILE", help="write the report here, not stdout")
    p.add_argument("--config", metavar="FILE",
                   help="configuration file (default: .github/improve.yml if present)")
    p.add_argument("--type", dest="proposal_type", metavar="TYPE",
                   help="the proposal's type, for the approval tier")
    p.add_argument("--risk", choices=["low", "medium", "high"],
                   help="the proposal's risk, for the approval tier")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    # imported here: the stage pulls in numpy and scipy, which every other command would pay for
    from bot.stages import compare as stage

    return stage.run(args.base, args.cand, fmt=args.format, output=args.output,
                     config_path=args.config, proposal_type=args.proposal_type, risk=args.risk)
