"""``improve tune --set FILE:KEY --values A,B,C``: measure each value of one key against the
current value and file the best as a ``constant_tune`` proposal only when it wins with
confidence."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.errors import InputError, Problem

if TYPE_CHECKING:
    from bot.stages.tune import TuneOutcome, TuneRequest

ENV_SET = "IMPROVE_TUNE_SET"
ENV_VALUES = "IMPROVE_TUNE_VALUES"
REQUIRED = "is required"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tune",
        help="measure values of one constant and propose the best when it truly wins",
        description="For each value, commit it on top of the default branch (no branch, your "
        "working tree untouched), run the suites that target the file (or --suite) on it and "
        "on the current value, and compare. The best value is filed as a constant_tune "
        "proposal through PROPOSE (every limit applies) only when its comparison accepts and "
        "a suite's score improves with a confidence interval above zero. At most "
        "limits.max_tune_cycles_per_day cycles run in 24 hours (counted on the data branch).",
    )
    p.add_argument("--set", dest="target", metavar="FILE:KEY",
                   help="the key to tune, e.g. config/router.yaml:routing.threshold")
    p.add_argument("--values", metavar="A,B,C", help="the values to try")
    p.add_argument("--from-env", action="store_true",
                   help=f"read --set and --values from ${ENV_SET} and ${ENV_VALUES} (the "
                   "scheduled improve-tune workflow passes its repository variables so)")
    p.add_argument("--suite", action="append", default=[], metavar="ID",
                   help="a suite to measure with (repeatable; default: those targeting FILE)")
    p.add_argument("--repeat", type=int, metavar="N", help="samples per task and side")
    p.add_argument("--jobs", type=int, default=0, help="tasks in parallel (default: cores)")
    p.add_argument("--dry-run", action="store_true",
                   help="measure and print the comparison; record and propose nothing")
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="where a winning proposal is published (github: GITHUB_REPOSITORY, "
                   "GITHUB_TOKEN; local: the repository itself)")
    p.add_argument("--repo", default=".", type=Path, help="the repository (default: .)")
    p.add_argument("--remote", default="origin", help="the git remote (default: origin)")
    p.set_defaults(func=run)


def _request(args: argparse.Namespace) -> TuneRequest:
    """The cycle the options ask for; bad input naming the option."""
    from bot.adapters.proposal_git import toplevel
    from bot.core.tuner import parse_target, parse_values
    from bot.stages.tune import TuneRequest

    if args.from_env:
        args.target = args.target or os.environ.get(ENV_SET, "").strip() or None
        args.values = args.values or os.environ.get(ENV_VALUES, "").strip() or None
    missing = [Problem(name, REQUIRED) for name, value in
               (("--set", args.target), ("--values", args.values)) if not value]
    if missing:
        raise InputError(missing)
    path, key = parse_target(args.target)
    values = parse_values(args.values)
    if args.repeat is not None and args.repeat < 1:
        raise InputError([Problem("--repeat", "must be 1 or more")])
    return TuneRequest(repo=toplevel(args.repo), path=path, key=key, values=values,
                       suites=args.suite, repeat=args.repeat, dry_run=args.dry_run,
                       jobs=args.jobs)


def run(args: argparse.Namespace) -> int:
    from bot.stages.context import context_for_args
    from bot.stages.publish import github_token_warning
    from bot.stages.tune import measure, run_tune

    req = _request(args)
    if args.dry_run:
        outcome = measure(req, sys.stderr)
    else:
        ctx = context_for_args(argparse.Namespace(repo=req.repo, forge=args.forge),
                               checkout=True)
        github = args.forge == "github"
        if github:
            ctx = replace(ctx, remote_name=args.remote)
        outcome = run_tune(req, ctx, warning=github_token_warning(os.environ) if github
                           else None)
    _report(outcome, req, sys.stdout)
    return 0


def _report(outcome: TuneOutcome, req: TuneRequest, out: TextIO) -> None:
    """Each value's verdict and score change, the notes, and what was proposed."""
    path, key = req.path, req.key
    for c in outcome.candidates:
        s = next((s for s in c.comparison.suites if s.score_delta is not None), None)
        if s is None:
            print(f"{path}:{key} = {c.value}: {c.comparison.decision} (no score compared)",
                  file=out)
            continue
        ci = s.score_delta_ci
        low = f"{ci.low:+.4f}" if ci and ci.low is not None else "?"
        high = f"{ci.high:+.4f}" if ci and ci.high is not None else "?"
        print(f"{path}:{key} = {c.value}: {c.comparison.decision}, {s.id} score "
              f"{s.score_delta:+.4f} [{low}, {high}]", file=out)
    for note in outcome.notes:
        print(note, file=out)
    ch = outcome.choice
    if ch is None:
        print("no value beats the current one with confidence: nothing proposed", file=out)
    elif req.dry_run:
        print(f"would propose {key} = {ch.value} ({ch.suite} {ch.delta:+.4f}) (--dry-run)",
              file=out)
    elif outcome.proposal is not None:
        plan = outcome.proposal.plan
        print(f"proposed {key} = {ch.value} as {plan.id} on {plan.branch}"
              + (f": {outcome.proposal.url}" if outcome.proposal.url else ""), file=out)
