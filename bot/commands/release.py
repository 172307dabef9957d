"""``improve release``: release every merged improvement pull request not yet released (or one,
with ``--pr``), in merge order. ``improve handle`` runs the same stage on a push to the default
branch and on a merged pull request."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

NEEDS_ENV = "is not set; --forge github needs it (or use --forge local in a plain repository)"


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
    p.add_argument("--forge", choices=["github", "local"], default="github",
                   help="github (GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_API_URL, "
                   "GITHUB_SERVER_URL) or local: the repository itself is the forge")
    p.add_argument("--pr", type=int, metavar="N", help="release only pull request N")
    p.add_argument("--repo", default=".", type=Path,
                   help="--forge local: the repository (default: the current directory)")
    p.add_argument("--no-measure", action="store_true",
                   help="do not run the suites the merge touched on the release commit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the stage (and PyGithub) load only when the command runs: every command's start-up stays
    # as light as the CLI itself
    from bot.adapters import actions
    from bot.adapters.release_git import Workspace
    from bot.core.config import CONFIG_PATH, parse_config
    from bot.core.forge import Forge
    from bot.stages.context import _now
    from bot.stages.release import Env, ReleaseRequest, run_release

    if args.pr is not None and args.pr < 1:
        raise InputError([Problem("--pr", "must be a pull request number (1 or more)")])
    forge: Forge
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        repo = args.repo.resolve()
        forge = LocalForge(repo)

        def open_ws(branch: str) -> Workspace:
            return Workspace.local(repo, branch)
    else:
        from bot.adapters.github_forge import GitHubForge

        env = os.environ
        missing = [v for v in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not env.get(v)]
        if missing:
            raise InputError([Problem(v, NEEDS_ENV) for v in missing])
        full_name, token = env["GITHUB_REPOSITORY"], env["GITHUB_TOKEN"]
        forge = GitHubForge(full_name, token,
                            api_url=env.get("GITHUB_API_URL") or "https://api.github.com")
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")

        def open_ws(branch: str) -> Workspace:
            return Workspace.clone(f"{server}/{full_name}.git", branch, token=token)

    branch = forge.repo_info().default_branch
    config = parse_config(forge.read_file(CONFIG_PATH, ref=branch),
                          f"{CONFIG_PATH} (on {branch})")
    stage_env = Env(forge=forge, config=config, open_workspace=open_ws, now=_now,
                    default_branch=branch, in_actions=actions.in_actions())
    run_release(stage_env, ReleaseRequest(dry_run=args.dry_run, only_pr=args.pr,
                                          measure=not args.no_measure))
    return 0
