"""The repository's tags, with the release each one marks, through one ``git for-each-ref``.

A tiny adapter on purpose: one subprocess, whatever the number of tags (10,000 tags are read in
one call), and nothing but plain values out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.core.history import TagRef
from bot.errors import InputError

_FIELDS = [
    "%(refname:short)",
    "%(objectname)",
    "%(*objectname)",
    "%(creatordate:short)",
    # trailers of the tag message (annotated tags) and of the tagged commit; parsed here
    # because `key=` filtering is not honoured by for-each-ref in every git version
    "%(contents:trailers:only,unfold,separator=%x1F)",
    "%(*contents:trailers:only,unfold,separator=%x1F)",
]
FORMAT = "%00".join(_FIELDS) + "%00"
NOT_A_REPO = "not a git repository"


def _trailers(*blocks: str) -> dict[str, str]:
    """The first value of each trailer key; the tag's own trailers win over its commit's."""
    found: dict[str, str] = {}
    for block in blocks:
        for item in block.split("\x1f"):
            key, sep, value = item.partition(":")
            if sep and key.strip() and key.strip() not in found:
                found[key.strip()] = value.strip()
    return found


def list_tags(repo: Path | str = ".") -> list[TagRef]:
    """Every tag of the repository; none when ``repo`` is not a git repository (the history of
    a changelog alone is still worth showing)."""
    proc = subprocess.run(
        ["git", "for-each-ref", f"--format={FORMAT}", "refs/tags"],
        cwd=repo, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        if NOT_A_REPO in proc.stderr:
            return []
        raise InputError(f"git for-each-ref refs/tags failed in {repo}: "
                         f"{proc.stderr.strip() or proc.returncode}")
    tags: list[TagRef] = []
    for line in proc.stdout.splitlines():
        parts = line.split("\0")
        if len(parts) < len(_FIELDS):
            continue
        name, obj, deref, date, own, of_commit = parts[:len(_FIELDS)]
        trailers = _trailers(own, of_commit)
        pr = trailers.get("Improve-PR", "")
        tags.append(TagRef(
            name=name,
            commit=deref or obj,  # an annotated tag's commit, not the tag object
            date=date or None,
            pr=int(pr) if pr.isdigit() else None,
            release=trailers.get("Improve-Release") or None,
        ))
    return tags
