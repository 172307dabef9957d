"""The repository's tags, with the release each one marks, through one ``git for-each-ref``.

A tiny adapter on purpose: one subprocess, whatever the number of tags (10,000 tags are read in
one call), and nothing but plain values out.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.core.release.history import TagRef
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


def start_list_tags(repo: Path | str = ".") -> Callable[[], list[TagRef]]:
    """Start ``git for-each-ref`` and return a function that waits for it and returns the tags,
    so the caller can parse the changelog meanwhile (the output goes to a temporary file, not a
    pipe, so git never waits for the reader)."""
    out = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish(), after git is done
    try:
        proc = subprocess.Popen(
            ["git", "for-each-ref", f"--format={FORMAT}", "refs/tags"],
            cwd=repo, stdout=out, stderr=subprocess.PIPE,
        )
    except OSError as exc:
        out.close()
        raise InputError(f"cannot run git in {repo}: {exc}") from None

    def finish() -> list[TagRef]:
        with out:
            _, err_bytes = proc.communicate()
            err = err_bytes.decode("utf-8", "replace")
            if proc.returncode != 0:
                if NOT_A_REPO in err:
                    return []
                raise InputError(f"git for-each-ref refs/tags failed in {repo}: "
                                 f"{err.strip() or proc.returncode}")
            out.seek(0)
            return _parse(out.read().decode("utf-8", "replace"))

    return finish


def list_tags(repo: Path | str = ".") -> list[TagRef]:
    """Every tag of the repository; none when ``repo`` is not a git repository (the history of
    a changelog alone is still worth showing)."""
    return start_list_tags(repo)()


def _parse(stdout: str) -> list[TagRef]:
    tags: list[TagRef] = []
    for line in stdout.splitlines():
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
