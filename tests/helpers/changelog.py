"""Checks the changelog tests share: what an insertion changed in the file, told from the texts
before and after alone (never from the plan that produced them, which would agree with itself)."""

from __future__ import annotations

import re


def removed_one_run(new: str, original: str) -> bool:
    """True when ``new`` is ``original`` with one contiguous run of text inserted."""
    k = len(new) - len(original)
    p = 0
    while p < len(original) and new[p] == original[p]:
        p += 1
    return k >= 0 and new[:p] == original[:p] and new[p + k:] == original[p:]


_UNRELEASED_LINK = re.compile(r"^ {0,3}\[unreleased\]:[^\n]*", re.M | re.I)


def only_entry_and_links(new: str, original: str, old: str, version: str) -> bool:
    """True when ``new`` is ``original`` with the entry of ``version`` inserted as one run, plus
    at most the new version's link definition (one whole line, ``[1.4.0]: url``) and the
    ``[unreleased]`` link moved from the newest release ``old`` to ``version``: nothing else
    changed."""
    rest = re.sub(r"^\[v?" + re.escape(version) + r"\]: \S+\r?\n", "", new, count=1, flags=re.M)
    before = _UNRELEASED_LINK.search(original)
    if before is not None:
        after = _UNRELEASED_LINK.search(rest)
        if after is None or after.group(0) not in (before.group(0),
                                                    before.group(0).replace(old, version)):
            return False
        rest = rest[:after.start()] + before.group(0) + rest[after.end():]
    return removed_one_run(rest, original)
