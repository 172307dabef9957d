"""``improve release``: release every merged improvement pull request not yet released (or one,
with ``--pr``), in merge order. ``improve handle`` runs the same stage on a push to the default
branch and on a merged pull request."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._stage_env import add_forge_options
from bot.errors import InputError, Problem


def register(sub: Any) -> None:
    p = sub.add_parser(
        "release",
        help="release merged improvements: version, changelog entry, commit, tag, record",
        description="Release every merged improvement pull request that is not released yet, "
        "in merge order: the next version from the proposal's type, the version files and "
        "CHANGELOG.md rewritten in place, the commit 'chore(release): vX.Y.Z', an annotated "
        "tag, the release record on the data branch and a 'Released' comment. Running it "
        "again changes nothing.",
    )
    p.add_argument("--dry-run", action="store_true",
                   help="print each release's version, entry and files; write nothing")
    add_forge_options(p)
    p.add_argument("--pr", type=int, metavar="N", help="release only pull request N")
    p.add_argument("--no-measure", action="store_true",
                   help="do not run the suites the merge touched on the release commit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.stages.context import context_for_args

    # the stage (and PyGithub) load only when the command runs: every command's start-up stays
    # as light as the CLI itself
    from bot.stages.release import ReleaseRequest, run_release

    if args.pr is not None and args.pr < 1:
        raise InputError([Problem("--pr", "must be a pull request number (1 or more)")])
    run_release(context_for_args(args), ReleaseRequest(dry_run=args.dry_run, only_pr=args.pr,
                                                measure=not args.no_measure))
    return 0
