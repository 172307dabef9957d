"""``improve sandbox serve``: run the local GitHub stand-in for trying the bot by hand."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

SEED_HELP = (
    "seed repositories from DIR: each DIR/OWNER/NAME/ folder becomes the repository OWNER/NAME; "
    "a folder that is a git repository keeps its history, branches and tags (its checked-out "
    "branch is the default), any other folder's files become one initial commit on main"
)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sandbox",
        help="a local stand-in for GitHub (REST API, git over HTTP, fault injection)",
        description="The sandbox answers GitHub's REST API under /api/v3 and git over HTTP "
        "for bare repositories it keeps in a temporary folder, on 127.0.0.1. Admin routes under "
        "/_sandbox/ seed repositories and users, inject faults and read the request log.",
    )
    sub = p.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = sub.add_parser("serve", help="serve until interrupted; prints the URLs and a token")
    serve.add_argument("--seed", metavar="DIR", type=Path, help=SEED_HELP)
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--user", action="append", default=[], metavar="LOGIN[:ROLE]",
                       help="add a user (role read|triage|write|maintain|admin, default write) "
                       "and print its token; repeatable")
    serve.add_argument("--no-validate", action="store_true",
                       help="do not check requests and responses against GitHub's description")
    serve.set_defaults(func=_serve)

    def _usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=_usage)


def seed_repos(seed: Path) -> dict[str, dict[str, bytes] | Path]:
    """The repositories a seed folder describes: ``{"owner/name": {path: bytes}}``, or the
    folder itself when it is a git repository (imported with its history, never flattened)."""
    if not seed.is_dir():
        raise InputError([Problem(str(seed), "not a directory", field="--seed")])
    repos: dict[str, dict[str, bytes] | Path] = {}
    for owner in sorted(p for p in seed.iterdir() if p.is_dir()):
        for name in sorted(p for p in owner.iterdir() if p.is_dir()):
            bare = (name / "HEAD").is_file() and (name / "objects").is_dir()
            if (name / ".git").exists() or bare:
                repos[f"{owner.name}/{name.name}"] = name
                continue
            files = {
                f.relative_to(name).as_posix(): f.read_bytes()
                for f in sorted(name.rglob("*"))
                if f.is_file() and ".git" not in f.relative_to(name).parts
            }
            if files:
                repos[f"{owner.name}/{name.name}"] = files
    if not repos:
        raise InputError([Problem(str(seed), "no OWNER/NAME/ folders with files in it",
                                  field="--seed")])
    return repos


def _serve(args: argparse.Namespace) -> int:
    from bot.sandbox import Sandbox

    users = []
    for spec in args.user:
        login, _, role = spec.partition(":")
        role = role or "write"
        if role not in ("read", "triage", "write", "maintain", "admin") or not login:
            raise InputError([Problem("--user", f"{spec!r}: expected LOGIN[:ROLE] with ROLE one "
                                      "of read, triage, write, maintain, admin")])
        users.append((login, role))
    repos = seed_repos(args.seed) if args.seed else {}
    try:
        sb = Sandbox.start(validate=not args.no_validate, port=args.port)
    except OSError as exc:
        raise InputError([Problem("--port", f"cannot listen on port {args.port}: {exc}")]) from None
    try:
        for full_name, source in repos.items():
            if isinstance(source, Path):
                sb.import_repo(full_name, source)
            else:
                sb.create_repo(full_name, dict(source))
        print(f"API URL:    {sb.api_url}", flush=True)
        print(f"server URL: {sb.server_url}", flush=True)
        print(f"token:      {sb.token}  (github-actions[bot], write on every repository)",
              flush=True)
        for login, role in users:
            print(f"user:       {login} ({role}) token {sb.add_user(login, role)}", flush=True)
        for full_name in repos:
            print(f"git URL:    {sb.git_url(full_name)}", flush=True)
        print(f"admin:      {sb.server_url}/_sandbox/info  (POST /_sandbox/repos to add one)",
              flush=True)
        print("serving; press Ctrl-C to stop", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    return 0
