"""Regenerate tests/data/changelogs/: real changelogs of public projects, byte for byte (the first
N lines of large ones, so the copy is a prefix of the original), their licences, and
PROVENANCE.md. The tests in tests/test_changelog_real.py insert entries into them.

Each file is read from a git repository at a fixed commit: a local clone given with
``--git-dir owner/name=PATH`` (a bare one is fine), else fetched (that one commit, depth 1) from
https://github.com/owner/name. Run from the repository root:

    python scripts/vendor_changelogs.py [--git-dir owner/name=PATH ...]
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "tests" / "data" / "changelogs"


@dataclass(frozen=True)
class Source:
    name: str  # the file's name under tests/data/changelogs/
    repo: str
    commit: str
    path: str
    licence: str  # the licence file's path in the repository
    lines: int | None  # keep the first N lines (None: the whole file)
    why: str


SOURCES = [
    Source("commitlint-cli.CHANGELOG.md", "conventional-changelog/commitlint",
           "1fd1be00701ab48c9baa964e3b8c0c36a451ccc4", "@commitlint/cli/CHANGELOG.md",
           "license.md", None,
           "conventional-changelog's angular preset (lerna): minor releases `#`, patches `##`; "
           "deep history from 2017 in another style, with `<a name>` anchors and a version "
           "written twice"),
    Source("vite.CHANGELOG.md", "vitejs/vite", "a98c8d95d552c6fa98ab66fb810f5b39ad5abf49",
           "packages/vite/CHANGELOG.md", "LICENSE", 142,
           "patch releases headed `## <small>[8.2.2](compare-url) (date)</small>`"),
    Source("pip.NEWS.rst", "pypa/pip", "6d309205789d368b2749d93fd6193d584811efd5", "NEWS.rst",
           "LICENSE.txt", 175,
           "towncrier, reStructuredText, `.. towncrier release notes start`; `26.2` is not "
           "SemVer (second release)"),
    Source("PowerShellGet.CHANGELOG.md", "PowerShell/PowerShellGet",
           "a2dac8e74603f7c9eec4a54c5e23459531751b0d", "CHANGELOG.md", "LICENSE", None,
           "release headings at level 3 (`### 3.0.23-beta23`), CRLF line endings"),
    Source("python-semantic-release.CHANGELOG.rst", "python-semantic-release/"
           "python-semantic-release", "c74aa3b99de6d9c721f8bd6d2abfa142298b94c9",
           "CHANGELOG.rst", "LICENSE", 144,
           "reStructuredText with a `.. _changelog-vX:` label above each release and an "
           "overlined document title"),
    Source("keep-a-changelog.CHANGELOG.md", "olivierlacan/keep-a-changelog",
           "e7c7c23e369d8936b7042d91a5c0d046f6ae03fd", "CHANGELOG.md", "LICENSE", None,
           "Keep a Changelog itself: empty `[Unreleased]`, reference links, `[unreleased]` "
           "compare link"),
]


def git_show(git_dir: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"],
                          check=True, capture_output=True).stdout


def fetch(repo: str, commit: str, into: Path) -> Path:
    git_dir = into / repo.replace("/", "+")
    subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True)
    subprocess.run(["git", f"--git-dir={git_dir}", "fetch", "-q", "--depth", "1",
                    f"https://github.com/{repo}", commit], check=True)
    return git_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git-dir", action="append", default=[], metavar="OWNER/NAME=PATH")
    args = ap.parse_args()
    given = dict(item.split("=", 1) for item in args.git_dir)
    (TARGET / "LICENSES").mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in SOURCES:
            git_dir = Path(given[s.repo]) if s.repo in given else fetch(s.repo, s.commit,
                                                                        Path(tmp))
            data = git_show(git_dir, s.commit, s.path)
            if s.lines is not None:
                data = b"".join(data.splitlines(keepends=True)[:s.lines])
            (TARGET / s.name).write_bytes(data)
            licence = TARGET / "LICENSES" / f"{s.repo.replace('/', '+')}.txt"
            licence.write_bytes(git_show(git_dir, s.commit, s.licence))
            kept = "whole file" if s.lines is None else f"first {s.lines} lines"
            rows.append(f"| `{s.name}` | [{s.repo}](https://github.com/{s.repo}) | "
                        f"`{s.commit[:12]}` | `{s.path}` ({kept}) | "
                        f"`{hashlib.sha256(data).hexdigest()[:16]}` | MIT, "
                        f"`LICENSES/{licence.name}` | {s.why} |")
    (TARGET / "PROVENANCE.md").write_text(
        "# Real changelogs, byte for byte\n\n"
        "Written by `scripts/vendor_changelogs.py` (run it to regenerate; the table below is "
        "its output). Each file is the named file of a public repository at the given commit, "
        "unchanged, or its first N lines (a prefix, so every byte kept is the original's). "
        "All are MIT-licensed; each project's licence is in `LICENSES/`.\n\n"
        "| file | project | commit | path (kept) | sha256 (first 16) | licence | what it "
        "exercises |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n",
        encoding="utf-8")
    print(f"wrote {len(rows)} changelogs to {TARGET.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
