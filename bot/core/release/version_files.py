"""Reading and rewriting the version in the files that carry it, in place.

Only the version's characters change: line endings, quotes, indentation, comments and every other
key stay byte for byte. The file kind comes from its name (``pyproject.toml``: ``[project].version``
only; ``package.json``: the top-level ``"version"`` only; ``VERSION``: the whole file); any other
file needs ``pattern``, a regular expression whose group 1 is the version.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.core.config import VersionFile
from bot.core.release import pep440
from bot.core.release.pep440 import Pep440Version
from bot.core.release.versioning import Version, is_valid
from bot.errors import InputError, Problem


@dataclass(frozen=True)
class Span:
    """Where a version sits in a file: character offsets and the 1-based line."""

    start: int
    end: int
    line: int


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _fail(path: str, message: str, line: int | None = None, field: str | None = None) -> InputError:
    return InputError([Problem(path, message, line, field)])


def kind_of(path: str, pattern: str | None = None) -> str:
    """``pattern`` when one is given, else the kind the file name implies."""
    if pattern is not None:
        return "pattern"
    name = PurePosixPath(path).name
    if name == "pyproject.toml":
        return "pyproject"
    if name == "package.json":
        return "package.json"
    if name in ("VERSION", "VERSION.txt"):
        return "plain"
    raise _fail(path, "no pattern given and the file is not pyproject.toml, package.json or "
                "VERSION; add `pattern:` (a regex whose group 1 is the version)",
                field="release.version_files")


# ---------------------------------------------------------------- pyproject.toml

_TABLE = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\r\n]*?)[ \t]*\]\]?[ \t]*(?:#[^\r\n]*)?\r?$", re.M)
_VERSION_KEY = re.compile(
    r"""^[ \t]*(?:version|"version"|'version')[ \t]*=[ \t]*"""
    r"""(?:"([^"\\\r\n]*)"|'([^'\r\n]*)')[ \t]*(?:\#[^\r\n]*)?\r?$""",
    re.M,
)


def _pyproject_spans(path: str, text: str) -> list[Span]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(path, f"not valid TOML: {exc}") from None
    project = data.get("project")
    if not isinstance(project, dict):
        raise _fail(path, "has no [project] table", field="project.version")
    if "version" not in project:
        if "version" in project.get("dynamic", []):
            raise _fail(path, "[project].version is dynamic; list the file that holds it in "
                        "release.version_files with a pattern", field="project.version")
        raise _fail(path, "[project] has no version", field="project.version")
    # find the [project] table's lines, then the one `version = "..."` in them; the TOML parser
    # above says what the value must be, so a look-alike inside a multi-line string is caught
    headers = list(_TABLE.finditer(text))
    spans: list[Span] = []
    for i, h in enumerate(headers):
        if h.group(0).lstrip().startswith("[[") or h.group(1).strip() != "project":
            continue
        end = headers[i + 1].start() if i + 1 < len(headers) else len(text)
        for m in _VERSION_KEY.finditer(text, h.end(), end):
            g = 1 if m.group(1) is not None else 2
            if m.group(g) == project["version"]:
                spans.append(Span(m.start(g), m.end(g), _line_of(text, m.start(g))))
    if len(spans) != 1:
        raise _fail(path, "cannot find [project].version as one plain `version = \"...\"` line "
                    "in the [project] table", field="project.version")
    return spans


# ---------------------------------------------------------------- package.json

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)


def _package_json_spans(path: str, text: str) -> list[Span]:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        raise _fail(path, f"not valid JSON: {exc.msg}", exc.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise _fail(path, "has no top-level \"version\" string", field="version")
    # walk the tokens, tracking depth, to find the "version" key of the top-level object only
    depth = 0
    i = 0
    expect_key = False
    spans: list[Span] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == '"':
            m = _JSON_STRING.match(text, i)
            assert m is not None  # json.loads accepted the text, so strings are closed
            if depth == 1 and expect_key and json.loads(m.group(0)) == "version":
                j = m.end()
                while text[j] in " \t\r\n:":
                    j += 1
                v = _JSON_STRING.match(text, j)
                if v is not None:
                    spans.append(Span(v.start() + 1, v.end() - 1, _line_of(text, v.start())))
            expect_key = False
            i = m.end()
            continue
        if c in "{[":
            depth += 1
            expect_key = c == "{"
        elif c in "}]":
            depth -= 1
        elif c == ",":
            expect_key = True
        i += 1
    if len(spans) != 1 or text[spans[0].start:spans[0].end] != data["version"]:
        # an escaped or duplicated "version" would be rewritten unsafely: refuse instead
        raise _fail(path, "cannot find one plain top-level \"version\" string", field="version")
    return spans


# ---------------------------------------------------------------- VERSION and patterns

_PLAIN = re.compile(r"\A\ufeff?\s*(\S+)\s*\Z")


def _plain_spans(path: str, text: str) -> list[Span]:
    m = _PLAIN.match(text)
    if m is None:
        raise _fail(path, "must hold the version alone (one word, optional surrounding blanks)")
    return [Span(m.start(1), m.end(1), _line_of(text, m.start(1)))]


def _pattern_spans(path: str, text: str, pattern: str) -> list[Span]:
    try:
        rx = re.compile(pattern, re.M)
    except re.error as exc:
        raise _fail(path, f"pattern is not a valid regular expression: {exc}",
                    field="release.version_files.pattern") from None
    if rx.groups < 1:
        raise _fail(path, "pattern needs a group: group 1 is the version",
                    field="release.version_files.pattern")
    spans = [Span(m.start(1), m.end(1), _line_of(text, m.start(1)))
             for m in rx.finditer(text) if m.group(1) is not None]
    if not spans:
        raise _fail(path, f"pattern {pattern!r} matches nothing",
                    field="release.version_files.pattern")
    found = {text[s.start:s.end] for s in spans}
    if len(found) > 1:
        raise _fail(path, f"pattern {pattern!r} finds different versions: "
                    + ", ".join(sorted(found)), spans[0].line)
    return spans


def version_spans(path: str, text: str, pattern: str | None = None) -> list[Span]:
    """Where the version is in the file (every place, for a pattern matching more than once)."""
    kind = kind_of(path, pattern)
    if kind == "pyproject":
        return _pyproject_spans(path, text)
    if kind == "package.json":
        return _package_json_spans(path, text)
    if kind == "plain":
        return _plain_spans(path, text)
    assert pattern is not None
    return _pattern_spans(path, text, pattern)


# files Python's packaging tools read, whose versions follow PEP 440 (a module's
# ``__version__`` and setup.py's ``version=`` included: improve init finds versions there)
_PYTHON_FILES = ("pyproject.toml", "setup.cfg")


def _python_file(path: str) -> bool:
    p = PurePosixPath(path)
    return p.name in _PYTHON_FILES or p.suffix == ".py"


def scheme_of(path: str, value: str, scheme: str = "auto") -> str:
    """``semver`` or ``pep440``. ``auto`` keeps SemVer whenever the text is valid SemVer (the two
    bump a plain ``1.2.3`` alike, and SemVer spellings such as ``1.0.0-rc.1`` keep theirs) and
    reads a Python project's file (pyproject.toml, setup.cfg, a ``.py`` file) as PEP 440
    otherwise."""
    if scheme != "auto":
        return scheme
    if _python_file(path) and not is_valid(value):
        return "pep440"
    return "semver"


def read_version(path: str, text: str, pattern: str | None = None,
                 scheme: str = "auto") -> Version | Pep440Version:
    """The version the file declares, in its scheme; an error naming the file and line when it
    is not a valid version of that scheme."""
    span = version_spans(path, text, pattern)[0]
    value = text[span.start:span.end]
    if scheme_of(path, value, scheme) == "pep440":
        if not pep440.is_valid(value):
            raise _fail(path, f"version {value!r} is not a PEP 440 version", span.line)
        return Pep440Version.parse(value)
    if not is_valid(value):
        hint = (" (set `scheme: pep440` for a Python version)" if pep440.is_valid(value)
                else "")
        raise _fail(path, f"version {value!r} is not a SemVer 2.0 version{hint}", span.line)
    return Version.parse(value)


def write_version(path: str, text: str, new: Version | Pep440Version | str,
                  pattern: str | None = None) -> str:
    """The file's text with its version replaced by ``new``; nothing else changes."""
    out = text
    for span in sorted(version_spans(path, text, pattern), key=lambda s: s.start, reverse=True):
        out = out[:span.start] + str(new) + out[span.end:]
    return out


def read_versions(files: Mapping[str, str],
                  specs: Sequence[VersionFile]) -> Version | Pep440Version | None:
    """The one version the configured files agree on, or None when no file is configured.

    ``files`` maps each configured path to its text; a configured file that is missing is an
    error (a typo in the configuration must not silently skip the file).
    """
    found: list[tuple[str, Version | Pep440Version]] = []
    problems: list[Problem] = []
    for spec in specs:
        if spec.path not in files:
            problems.append(Problem(spec.path, "is listed in release.version_files but does "
                                    "not exist", field="release.version_files"))
            continue
        try:
            found.append((spec.path, read_version(spec.path, files[spec.path], spec.pattern,
                                                   spec.scheme)))
        except InputError as exc:
            problems.extend(exc.problems or [Problem(spec.path, str(exc))])
    if problems:
        raise InputError(problems)
    if not found:
        return None
    first_path, first = found[0]
    for p, v in found[1:]:
        # build metadata counts here: the files must say exactly the same thing
        if str(v) != str(first):
            raise _fail(p, f"says version {v} but {first_path} says {first}; make them agree "
                        "before releasing", field="release.version_files")
    return first


def write_versions(
    files: Mapping[str, str], specs: Sequence[VersionFile], new: Version | Pep440Version | str
) -> dict[str, str]:
    """New texts for every configured version file (only those whose text changes)."""
    out: dict[str, str] = {}
    for spec in specs:
        new_text = write_version(spec.path, files[spec.path], new, spec.pattern)
        if new_text != files[spec.path]:
            out[spec.path] = new_text
    return out
