"""``improve rollback vX.Y.Z [--reason TEXT]``: open the revert pull request of a release (the
same as ``/rollback`` on its pull request), or point at the one already open."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._stage_env import add_forge_options
from bot.errors import GateError, InputError, Problem


def register(sub: Any) -> None:
    p = sub.add_parser(
        "rollback",
        help="open the revert pull request of a release",
        description="Revert the improvement a release shipped (its merge commit against the "
        "first parent, or its squashed commit; never the release commit) on branch "
        "improve/rollback-<tag>, and open a pull request labelled improvement and rollback "
        "with the reason and the monitor's evidence. It is evaluated like any proposal and "
        "needs /approve; its merge is released as a patch version. Asking again points at the "
        "open pull request. A revert that conflicts is reported with the files; nothing is "
        "pushed. A rollback is not rolled back: propose the change again.",
    )
    p.add_argument("tag", help="the release, as its tag (v1.4.0) or its version (1.4.0)")
    p.add_argument("--reason", default="", help="why (shown in the PR and the changelog)")
    p.add_argument("--dry-run", action="store_true", help="check and revert locally; push nothing")
    add_forge_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.core.release.versioning import Version, tag_name
    from bot.stages.context import context_for_args
    from bot.stages.rollback import rollback_release

    env = context_for_args(args)
    tag = str(args.tag).strip()
    prefix = env.config.release.tag_prefix
    if not tag.startswith(prefix):
        try:
            tag = tag_name(str(Version.parse(tag)), prefix)
        except Exception:  # noqa: BLE001 - whatever the parser raises, the input is wrong
            raise InputError([Problem("tag", f"{args.tag!r} is not a release tag or version")]) \
                from None
    reason = args.reason or "requested with improve rollback"
    result = rollback_release(env, tag=tag, reason=reason, dry_run=args.dry_run)
    if result.status == "unknown":
        raise InputError([Problem("tag", result.message)])
    if not result.ok:
        raise GateError(result.message)
    print(f"improve rollback: {result.message}")
    return 0
