"""``improve tune --set FILE:KEY --values A,B,C``: measure each value of one key against the
current value and file the best as a ``constant_tune`` proposal only when it wins with
confidence."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

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


def run(args: argparse.Namespace) -> int:
    from bot.adapters.proposal_git import toplevel
    from bot.core.tuner import parse_target, parse_values
    from bot.stages.propose import resolve_base
    from bot.stages.tune import TuneEnv, TuneRequest, run_tune

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
    repo = toplevel(args.repo)
    req = TuneRequest(repo=repo, path=path, key=key, values=values, suites=args.suite,
                      repeat=args.repeat, dry_run=args.dry_run, jobs=args.jobs)
    env = TuneEnv(store=None)
    if not args.dry_run:
        from bot.stages.publish import (
            data_store,
            forge_publisher,
            github_token_warning,
            open_proposals,
            release_records,
            sync_proposal_branches,
        )

        _, _, config = resolve_base(repo)
        if args.forge == "local":
            from bot.adapters.local_forge import LocalForge

            forge: Any = LocalForge(repo)
            pusher = None
        else:
            from bot.adapters.git import Git
            from bot.adapters.github_forge import forge_from_env

            forge = forge_from_env(os.environ)
            pusher = Git(repo, token=os.environ["GITHUB_TOKEN"])
            branch = forge.repo_info().default_branch
            sync_proposal_branches(pusher, branch, args.remote)
        store = data_store(repo, pusher.token if pusher else None, config.data_branch,
                           args.remote if pusher is not None else None)
        notes: list[str] = []
        warning = github_token_warning(os.environ) if pusher is not None else None
        env = TuneEnv(
            store=store,
            publish=forge_publisher(forge, pusher, remote=args.remote, warning=warning,
                                    log=notes),
            open_proposals=lambda: list(open_proposals(forge)),
            releases=lambda: list(release_records(store)))
    outcome = run_tune(req, env)
    for c in outcome.candidates:
        s = next((s for s in c.comparison.suites if s.score_delta is not None), None)
        if s is None:
            print(f"{path}:{key} = {c.value}: {c.comparison.decision} (no score compared)")
            continue
        ci = s.score_delta_ci
        low = f"{ci.low:+.4f}" if ci and ci.low is not None else "?"
        high = f"{ci.high:+.4f}" if ci and ci.high is not None else "?"
        print(f"{path}:{key} = {c.value}: {c.comparison.decision}, {s.id} score "
              f"{s.score_delta:+.4f} [{low}, {high}]")
    for note in outcome.notes:
        print(note)
    if outcome.choice is None:
        print("no value beats the current one with confidence: nothing proposed")
        return 0
    ch = outcome.choice
    if args.dry_run:
        print(f"would propose {key} = {ch.value} ({ch.suite} {ch.delta:+.4f}) (--dry-run)")
        return 0
    if outcome.proposal is not None:
        plan = outcome.proposal.plan
        print(f"proposed {key} = {ch.value} as {plan.id} on {plan.branch}"
              + (f": {outcome.proposal.url}" if outcome.proposal.url else ""))
    return 0
