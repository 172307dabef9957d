"""``improve request``: file an improvement request (an issue labelled improvement-request, the
same as the issue form), with its evidence, for a person or an agent to turn into a proposal."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.commands._loop import add_forge_options, loop_env
from bot.errors import InputError, Problem

BLANK = "must not be empty"
TITLE_MAX = 200


def register(sub: Any) -> None:
    p = sub.add_parser(
        "request",
        help="file an improvement request issue with its evidence",
        description="Open an issue labelled improvement-request (what the issue form in "
        ".github/ISSUE_TEMPLATE/improvement-request.yml files). Filing the same title again "
        "while the request is open changes nothing.",
    )
    p.add_argument("--title", required=True, help="what should improve, in one line")
    p.add_argument("--evidence", required=True,
                   help="the evidence: text, or @FILE to read it from a file")
    p.add_argument("--what", default="", help="more detail (default: the title)")
    p.add_argument("--target", help="the file or suite it is about")
    p.add_argument("--author", help="who asks (default: $GITHUB_ACTOR or 'unknown')")
    add_forge_options(p)
    p.set_defaults(func=run)


def _evidence(value: str) -> str:
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"cannot read the evidence: {exc}",
                                  field="--evidence")]) from None


def run(args: argparse.Namespace) -> int:
    from bot.stages.dashboard import file_request

    title = " ".join(args.title.split())
    problems = []
    if not title:
        problems.append(Problem("--title", BLANK))
    elif len(title) > TITLE_MAX:
        problems.append(Problem("--title", f"is {len(title)} characters; at most {TITLE_MAX}"))
    evidence = _evidence(args.evidence)
    if not evidence.strip():
        problems.append(Problem("--evidence", BLANK))
    if problems:
        raise InputError(problems)
    env = loop_env(args)
    author = args.author or os.environ.get("GITHUB_ACTOR") or "unknown"
    issue, created = file_request(env.forge, title=title, what=args.what or title,
                                  evidence=evidence, author=author, target=args.target)
    word = "filed" if created else "already open:"
    print(f"{word} improvement request #{issue.number} {issue.url}".rstrip())
    return 0
