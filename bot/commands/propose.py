"""``improve propose FILE``: validate a proposal, commit it on ``improve/<id>`` and (next)
push it and open its pull request."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem
from bot.stages.propose import propose, unified_diff

NOT_WIRED = "publishing through --forge {forge} is not wired yet: use --dry-run to preview, " \
    "or --no-push to commit the branch locally"
NO_FILE = "no such file"
NOT_TEXT = "not UTF-8 text"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "propose",
        help="turn a proposal file into the branch improve/<id> and its pull request",
        description="Validate the proposal (every problem at once), apply its changes to the "
        "default branch's tip in memory, check the limits, and commit them with "
        ".improve/proposals/<id>.yaml on the branch improve/<id>, without touching your "
        "working tree. Running it again with the same proposal changes nothing.",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the proposal (YAML)")
    p.add_argument(
        "--forge", choices=["github", "local"], default="github",
        help="where the branch is pushed and the pull request opened (default: github)",
    )
    p.add_argument(
        "--dry-run", action="store_true",
        help="print the diff and the pull request's body; write nothing",
    )
    p.add_argument(
        "--no-push", action="store_true",
        help="commit the branch in the local repository only; no push, no pull request",
    )
    p.add_argument(
        "--repo", default=".", type=Path, help="the repository (default: the current directory)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (args.dry_run or args.no_push):
        raise InputError(NOT_WIRED.format(forge=args.forge))
    name = str(args.file)
    try:
        text = args.file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, NO_FILE)]) from None
    except UnicodeDecodeError:
        raise InputError([Problem(name, NOT_TEXT)]) from None
    except OSError as exc:
        raise InputError([Problem(name, exc.strerror or str(exc))]) from None
    outcome = propose(args.repo, text, name, dry_run=args.dry_run)
    plan = outcome.plan
    out = sys.stdout
    if outcome.status == "dry-run":
        out.write(unified_diff(plan, args.repo))
        out.write(f"\n--- pull request: {plan.title} (into {plan.base_branch}, "
                  f"from {plan.branch}, label improvement) ---\n\n")
        out.write(plan.body)
        return 0
    if outcome.status == "unchanged":
        print(f"{plan.branch} already holds proposal {plan.id} at {outcome.commit}: "
              "nothing changed", file=out)
        return 0
    print(f"created {plan.branch} at {outcome.commit} from {plan.base_branch} "
          f"({len(plan.applied.files)} file(s) changed, tier: {plan.tier})", file=out)
    if args.no_push:
        print("not pushed (--no-push); no pull request opened", file=out)
    return 0
