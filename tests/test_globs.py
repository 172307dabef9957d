"""Target globs: one documented semantics (bot/core/globs.py), checked against a well-kept
library's on a table, and bad patterns refused when the suite is read (exit 2, file and line).

The reference is pathspec's ``GitIgnoreSpec``: git's own wildmatch, the rules of ``.gitignore``
that users already know, in a small, maintained, pure-Python library. Targets are anchored at
the repository's root, so each pattern is given to pathspec with a leading ``/`` (in a
``.gitignore`` a pattern without a slash would match at any depth)."""

from __future__ import annotations

import functools
import itertools
import os
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pathspec
import pytest

from bot.core.globs import check_glob, match

PATTERNS = [
    "**", "*", "?", "*.py", "src/*.py", "src/**", "src/**/*.py", "**/test_*.py", "**/c",
    "a**b", "**.py", "a/**/b", "[]a].txt", "[!a].txt", "[^a].txt", "[a-c]?.md", "d[a-z]r/*",
    "config", "config/", "x/\\*.md", "*/*", ".github/*.yml", "a/*/b", "[[]x", "a-b/[0-9]*",
]
PATHS = [
    "a.py", "src/x.py", "src/sub/x.py", "src/a/b/c.py", "tests/test_x.py", "test_y.py", "aXb",
    "aX/Yb", "a/b", "a/x/y/b", "a/q/b", "].txt", "a.txt", "b.txt", "b1.md", "a/b.md", "config",
    "config/x.yaml", "config.yaml", "x/*.md", "x/a.md", "dir/f", "d/r/f", ".env", "c", "q/c",
    "q/c/d", ".github/improve.yml", "[x", "a-b/7up", "a-b/x7",
]


@functools.cache
def _spec(pattern: str) -> pathspec.GitIgnoreSpec:
    with warnings.catch_warnings():  # its regex for "[[]x" draws a FutureWarning from re
        warnings.simplefilter("ignore", FutureWarning)
        return pathspec.GitIgnoreSpec.from_lines(["/" + pattern.lstrip("/")])


def reference(path: str, pattern: str) -> bool:
    return _spec(pattern).match_file(path)


def test_the_matching_agrees_with_git_s_wildmatch_on_a_table() -> None:
    differ = [(p, f, match(f, p)) for p, f in itertools.product(PATTERNS, PATHS)
              if match(f, p) != reference(f, p)]
    assert differ == []


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("aX/Yb", "a**b", False),  # "**" inside a segment never crosses a directory
        ("aXYb", "a**b", True),
        ("sub/x.py", "**.py", False),
        ("a/b", "a/**/b", True),  # "/**/" is zero or more directories
        ("].txt", "[]a].txt", True),  # "]" first in a class is literal
        ("/", "[!a]", False),  # a class never matches "/"
        ("config", "config/", False),  # a trailing "/" names what is below a directory
    ],
)
def test_the_documented_cases(path: str, pattern: str, expected: bool) -> None:
    assert match(path, pattern) is expected


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("", "an empty pattern"),
        ("  ", "an empty pattern"),
        ("a//b", "an empty path segment"),
        ("../x", "a '..' segment"),
        ("a/../b", "a '..' segment"),
        ("[abc", "unterminated character class"),
        ("x[", "unterminated character class"),
        ("[]", "unterminated character class"),
        ("[z-a].txt", "character range z-a runs backwards"),
        ("a\\", "a '\\' ends the pattern"),
    ],
)
def test_patterns_that_cannot_be_targets_say_why(pattern: str, why: str) -> None:
    reason = check_glob(pattern)
    assert reason is not None and why in reason


def test_a_bad_target_stops_the_suite_when_it_is_read(make_repo: Callable[..., Path]) -> None:
    """`[abc` used to pass validate and crash `evaluate --changed-from` with a traceback."""
    repo = make_repo({"benchmarks/a.yaml": "id: a\ntargets:\n  - src/**\n  - '[abc'\n"
                      "metrics: [{name: x}]\ntasks: [{id: t, run: 'true'}]\n",
                      "src/x.py": "x = 1\n"})
    env = {**os.environ}
    for args in (["validate"], ["evaluate", "--changed-from", "HEAD", "-o", "o.json"]):
        proc = subprocess.run([sys.executable, "-m", "bot", *args], cwd=repo,
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "benchmarks/a.yaml:4: targets[1]:" in proc.stderr
        assert "unterminated character class" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert not (repo / "o.json").exists()
