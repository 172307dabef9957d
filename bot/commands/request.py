"""``improve request``: file an improvement request (an issue labelled improvement-request, the
same as the issue form), with its evidence, for a person or an agent to turn into a proposal."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from bot.commands._loop import add_forge_options
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


def file_improvement_request(args: argparse.Namespace, title: str, evidence: str,
                             what: str = "", target: str | None = None,
                             author: str | None = None) -> tuple[Any, bool]:
    """Check and file one request with the command's forge options: (issue, created). The CLI
    and the MCP server's ``request_improvement`` tool both run exactly this."""
    from bot.stages.context import context_for_args
    from bot.stages.dashboard import file_request

    title = " ".join(title.split())
    problems = []
    if not title:
        problems.append(Problem("--title", BLANK))
    elif len(title) > TITLE_MAX:
        problems.append(Problem("--title", f"is {len(title)} characters; at most {TITLE_MAX}"))
    if not evidence.strip():
        problems.append(Problem("--evidence", BLANK))
    if problems:
        raise InputError(problems)
    env = context_for_args(args, checkout=True)
    author = author or os.environ.get("GITHUB_ACTOR") or "unknown"
    return file_request(env.forge, title=title, what=what or title, evidence=evidence,
                        author=author, target=target)


def run(args: argparse.Namespace) -> int:
    issue, created = file_improvement_request(args, args.title, _evidence(args.evidence),
                                              args.what, args.target, args.author)
    word = "filed" if created else "already open:"
    print(f"{word} improvement request #{issue.number} {issue.url}".rstrip())
    return 0
