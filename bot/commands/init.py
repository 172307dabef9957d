"""``improve init``: install the bot in an existing repository (configuration, workflows, an
example benchmark and regression suite), never overwriting what is there."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import InputError, Problem

if TYPE_CHECKING:
    from bot.adapters.git import Git

NO_DIR = "no such directory"
NOT_A_REPO = "is not inside a git repository (run git init first, or pass --dir)"
# what the workflows do without the GitHub App (README, "Use a GitHub App token")
TOKEN_SETUP = (
    "the workflows use a GitHub App token when the variable IMPROVE_APP_ID and the secret "
    "IMPROVE_APP_PRIVATE_KEY are set; without them they use GITHUB_TOKEN, whose merges start no "
    "release workflow (the scheduled improve-monitor run releases them) and whose pull requests "
    "start no test until a person pushes to them or re-opens them (see the README: Use a GitHub "
    "App token)"
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "init",
        help="install the bot in a repository: configuration, workflows, example suites",
        description="Write .github/improve.yml (every key at its default, with what it means), "
        "the improve-*.yml workflows and an example benchmark and regression suite into the "
        "repository. Existing files are never overwritten: they are listed as skipped.",
    )
    p.add_argument("--dir", default=".", type=Path, metavar="PATH",
                   help="a directory inside the repository (default: the current directory)")
    p.add_argument("--action", metavar="OWNER/REPO@SHA",
                   help="what the workflows run: the improve action pinned to a full commit SHA "
                   "(default: a placeholder to replace)")
    p.add_argument("--default-branch", metavar="BRANCH",
                   help="the branch releases go to (default: origin's, else the current one)")
    p.set_defaults(func=run)


def _default_branch(git: Any) -> str:
    from bot.adapters.git import GitError

    try:
        return str(git.run("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
                   ).removeprefix("origin/")
    except GitError:
        return git.current_branch() or "main"


def run(args: argparse.Namespace) -> int:
    from bot import __version__
    from bot.core.config import read_config
    from bot.core.init_files import (
        PLACEHOLDER_ACTION,
        REPLACE_ACTION,
        SKIPPED,
        WROTE,
        init_files,
        plan_init,
        version_file_for,
    )

    git, root = _repository(args.dir)
    action = args.action or PLACEHOLDER_ACTION
    branch = args.default_branch or _default_branch(git)
    read = _reader(root)
    version_file = version_file_for(read)
    # a configuration already there sets the test workflow's matrix (test.shards) and its
    # setup cache's key (setup.cache)
    existing = read_config(read)
    files = init_files(default_branch=branch, action=action, version=f"v{__version__}",
                       version_file=version_file, shards=existing.test.shards,
                       setup_cache=existing.setup.cache)
    plan = plan_init(files, (p for p in files if (root / p).exists() or (root / p).is_symlink()))
    for rel, text in plan.write.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": a file appearing meanwhile is still never overwritten
        with target.open("x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        print(WROTE.format(path=rel))
    for rel in plan.skipped:
        print(SKIPPED.format(path=rel))
    if any(p.startswith(".github/workflows/") for p in plan.write):
        if action == PLACEHOLDER_ACTION:
            print("note: " + REPLACE_ACTION.format(action=action), file=sys.stderr)
        print("note: " + TOKEN_SETUP, file=sys.stderr)
    print(f"next: improve validate --repo {root}, then commit and push the files")
    return 0


def _repository(where: Path) -> tuple[Git, Path]:
    """The repository ``--dir`` is in, and its top (.github belongs there, whichever folder
    init was run from); bad input naming ``--dir`` when there is none."""
    from bot.adapters.git import Git, GitError

    if not where.is_dir():
        raise InputError([Problem(f"--dir {where}", NO_DIR)])
    top = next((d for d in (where.resolve(), *where.resolve().parents)
                if (d / ".git").exists()), None)
    try:
        if top is None:
            raise GitError("no .git")
        git = Git(top)
        return git, Path(git.run("rev-parse", "--show-toplevel"))
    except GitError:
        raise InputError([Problem(f"--dir {where}", NOT_A_REPO)]) from None


def _reader(root: Path) -> Callable[[str], str | None]:
    """A file of the working tree as text; None when it is not a readable regular file."""
    def read(rel: str) -> str | None:
        path = root / rel
        if not path.is_file() or path.is_symlink():
            return None
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return read
