"""``improve monitor``: re-measure every release still in its monitor window on the default
branch's head, warn on a sustained drop, open the revert pull request past the rollback
threshold, record every run on the data branch. ``improve handle`` runs the same stage for
``schedule`` and ``workflow_dispatch``."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._stage_env import add_forge_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "monitor",
        help="re-measure releases in their window; warn, open revert PRs, record the runs",
        description="For each release still in its window: run the suites measured at release "
        "on the default branch's head (once for all releases), compare with the release's own "
        "measurement, warn on the release's pull request after monitor.warn_runs runs past "
        "monitor.warn_drop, bisect a warned drop to the commit that caused it "
        "(monitor.bisect_runs, monitor.bisect_minutes), open the revert pull request past "
        "monitor.rollback_drop with confidence only when the release is that commit (it still "
        "needs /approve; another culprit gets an opportunity issue), and record the run in "
        "monitors/<tag>.json. A "
        "closed window records the release as kept; a rollback's release ends its monitor.",
    )
    add_forge_options(p)
    p.add_argument("--dry-run", action="store_true",
                   help="measure and decide, print what would happen; write nothing "
                        "(no bisection)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.stages.context import context_for_args
    from bot.stages.monitor import MonitorRequest, run_monitor
    from bot.stages.sweep import sweep_proposals

    env = context_for_args(args)
    run_monitor(env, MonitorRequest(dry_run=args.dry_run))
    # nothing else re-evaluates a gate that only time changes: expired approvals, proposals
    # waiting past the approval timeout, rejected ones left open
    sweep_proposals(env.forge, env.config, env.now(), env.out, dry_run=args.dry_run)
    return 0
