"""Target globs as suites write them, with one documented semantics: git's own (wildmatch, as
in ``.gitignore``), anchored at the repository's root. Paths are repository-relative, ``/``.

- ``*`` matches any run of characters within one path segment, ``?`` one character (never
  ``/``); ``**`` as a whole segment matches zero or more whole segments (``**/x``, ``a/**/b``,
  ``a/**``); ``**`` inside a segment (``a**b``, ``**.py``) is ``*``: it never crosses a ``/``.
- ``[abc]``, ``[a-z]``, ``[!a]`` / ``[^a]``: one character of (not of) the class, never ``/``;
  a ``]`` first in the class is literal. ``\\`` makes the next character literal.
- A pattern naming a directory covers everything below it (``config`` matches ``config/x``);
  with a trailing ``/`` (``config/``) only what is below it, not a file named ``config``.
- Refused when the suite is read (``check_glob``), with the reason: an empty pattern or path
  segment, a ``..`` segment, an unterminated class, a range backwards, a ``\\`` at the end.

``tests/test_globs.py`` checks this against pathspec's ``GitIgnoreSpec`` on a table.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


class GlobError(ValueError):
    """A pattern that cannot be a target; the message says why."""


def _class(seg: str, i: int) -> tuple[str, int]:
    """The regex of the class starting at ``seg[i] == "["`` and the index after it."""
    j = i + 1
    negate = j < len(seg) and seg[j] in "!^"
    if negate:
        j += 1
    items: list[str] = []
    first = True
    while True:
        if j >= len(seg):
            raise GlobError(f"unterminated character class at {seg[i:]!r}")
        c = seg[j]
        if c == "]" and not first:
            j += 1
            break
        first = False
        if c == "\\":
            if j + 1 >= len(seg):
                raise GlobError("a '\\' ends the pattern")
            c = seg[j + 1]
            j += 1
        lo = c
        j += 1
        if j + 1 < len(seg) and seg[j] == "-" and seg[j + 1] != "]":
            hi = seg[j + 1]
            j += 2
            if hi == "\\":
                if j >= len(seg):
                    raise GlobError("a '\\' ends the pattern")
                hi = seg[j]
                j += 1
            if ord(hi) < ord(lo):
                raise GlobError(f"character range {lo}-{hi} runs backwards")
            items.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            items.append(re.escape(lo))
    body = "".join(items)
    # a class never matches "/": a path separator is not a character of a name
    return (f"[^/{body}]" if negate else f"(?:(?!/)[{body}])"), j


def _segment(seg: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(seg):
        c = seg[i]
        if c == "\\":
            if i + 1 >= len(seg):
                raise GlobError("a '\\' ends the pattern")
            out.append(re.escape(seg[i + 1]))
            i += 2
        elif c == "*":
            while i < len(seg) and seg[i] == "*":
                i += 1
            out.append("[^/]*")  # "**" inside a segment is "*": it never crosses a "/"
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            rx, i = _class(seg, i)
            out.append(rx)
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """The pattern as an anchored regex; GlobError (with the reason) when it is not a target."""
    if not pattern.strip():
        raise GlobError("an empty pattern")
    # a trailing "/" names a directory: what is below it, not a file of that name (as in git)
    below = "/.*" if pattern.rstrip().endswith("/") else "(?:/.*)?"
    parts = pattern.strip("/").split("/")
    out = "^"
    for i, seg in enumerate(parts):
        last = i == len(parts) - 1
        if seg == "":
            raise GlobError("an empty path segment ('//')")
        if seg == "..":
            raise GlobError("a '..' segment: targets are paths inside the repository")
        if seg == "**":
            out += ".*" if last else "(?:[^/]*/)*"
            continue
        out += _segment(seg) + ("" if last else "/")
    # a pattern naming a directory covers everything below it
    try:
        return re.compile(out + below + "$", re.DOTALL)
    except re.error as exc:  # not expected after the checks above; still a reason, not a crash
        raise GlobError(str(exc)) from None


def check_glob(pattern: str) -> str | None:
    """Why ``pattern`` cannot be a target, or None when it can."""
    try:
        compile_glob(pattern)
    except GlobError as exc:
        return str(exc)
    return None


def match(path: str, pattern: str) -> bool:
    if path.startswith("./"):
        path = path[2:]
    return compile_glob(pattern).match(path) is not None


def match_any(path: str, patterns: Iterable[str]) -> bool:
    return any(match(path, p) for p in patterns)
