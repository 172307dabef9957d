"""``improve history``: the releases, from CHANGELOG.md, the tags and the release records."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem

NOT_JSON = "not a JSON object: {reason}"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "history",
        help="list the releases: versions, dates, proposals, metrics, rollbacks",
        description="List the releases, newest first, joined from the changelog, the tags and "
        "(with --records) the release records of the data branch.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object: {\"releases\": [...]}")
    p.add_argument("--limit", type=int, metavar="N", help="only the newest N releases")
    p.add_argument("--changelog", metavar="PATH",
                   help="the changelog (default: release.changelog of the configuration)")
    p.add_argument("--records", metavar="DIR", type=Path,
                   help="a directory of release record JSON files (from the data branch)")
    p.add_argument("--repo", default=".", type=Path,
                   help="the repository (default: the current directory)")
    p.set_defaults(func=run)


def _read_records(directory: Path) -> list[dict]:
    if not directory.is_dir():
        raise InputError([Problem(str(directory), "no such directory")])
    out: list[dict] = []
    for path in sorted(directory.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError([Problem(str(path), NOT_JSON.format(reason=exc))]) from None
        if not isinstance(data, dict):
            raise InputError([Problem(str(path), NOT_JSON.format(reason="a JSON "
                                      f"{type(data).__name__}"))])
        out.append(data)
    return out


def run(args: argparse.Namespace) -> int:
    # imported here, as the other commands do: `improve handle` loads every command's module
    from bot.adapters.tags import start_list_tags
    from bot.core.release.history import build_history, format_history, history_json
    from bot.stages.context import NO_FILE, local_config, read_input_text

    if args.limit is not None and args.limit < 0:
        raise InputError("--limit: must be 0 or more")
    repo: Path = args.repo
    tags = start_list_tags(repo)  # git reads the tags while the changelog is parsed
    config = local_config(repo)[0]
    changelog_path = Path(args.changelog) if args.changelog else repo / config.release.changelog
    changelog: str | None = None
    if changelog_path.is_file():
        # utf-8, not utf-8-sig: a byte-order mark is part of the text the parser expects
        changelog = read_input_text(changelog_path)
    elif args.changelog:
        raise InputError([Problem(str(changelog_path), NO_FILE)])
    records = _read_records(args.records) if args.records else []
    rows = build_history(changelog, tags, records,
                         tag_prefix=config.release.tag_prefix, file=str(changelog_path),
                         limit=args.limit)
    sys.stdout.write(history_json(rows) + "\n" if args.json else format_history(rows))
    return 0
