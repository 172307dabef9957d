"""The changelog, text in and text out: find the release sections, write a release's entry in the
file's own format, insert it above the newest release, mark a release rolled back, and read the
history back.

Nothing else in the file is rewritten: an insertion adds the entry as one contiguous run of text,
plus, where the file uses them, the new version's link definition and the ``[unreleased]``
compare link moved to the new version (line endings, a byte-order mark, trailing spaces and every
other byte stay). A file is refused, naming the line, only when the newest release cannot be
placed with confidence: the first version heading is not SemVer, a release is newer than the
first one (an oldest-first file), a version appears twice, or two releases of the same kind are
headed in two styles.

Markdown (any other file name than ``*.rst``), headings ATX or setext:

- Keep a Changelog: ``## [1.2.3] - 2026-01-01``, ``## [Unreleased]``, link definitions at the end
- release-please / conventional-changelog: ``## [1.2.3](https://…/compare/…) (2026-01-01)``;
  the angular preset heads minor and major releases ``#`` and patches ``##``; vite wraps patches
  in ``<small>…</small>``; old conventional-changelog puts ``<a name="1.2.3"></a>`` above each
- ``## 1.2.3 (2026-01-01)``, ``## v1.2.3``, ``### 1.2.3`` (PowerShellGet), ``1.2.3\\n-----``

reStructuredText (``*.rst``): towncrier's ``NEWS.rst`` (``1.2.3 (2026-01-01)`` underlined, below
``.. towncrier release notes start``), python-semantic-release's (a ``.. _changelog-v1.2.3:``
label above each release); the entry is written in reStructuredText.

A new heading is written like the newest release of the same kind (a patch like the newest patch,
a minor or major release like the newest of those; else like the newest release), so the file
stays consistent and readable next time; in a file with none it is the design's
``## [X.Y.Z] - DATE``. Version headings further down that are not SemVer (``0.9``) only end the
section above them: only the newest release decides where the entry goes.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from bot.core.release.versioning import SEMVER_PATTERN, Version, precedence_key
from bot.errors import InputError, Problem

ROLLED_BACK = "ROLLED BACK"
DEFAULT_FILE = "CHANGELOG.md"
Format = Literal["md", "rst"]

# candidates for interesting lines, found by one C-speed scan instead of a Python loop over a
# 100,000-line file: ATX headings, code fences, setext underlines
# the scan runs over "\n" + text: a pattern starting with a literal lets the regex engine jump
# from line break to line break (2-3x faster than ^ with re.M on a 5 MB file); an ATX heading's
# text is captured in the same pass (its closing #s and trailing blanks are cut off after)
_CANDIDATE = re.compile(
    r"\n\ufeff? {0,3}(?:(?P<atx>#{1,6})(?:[ \t]+(?P<text>[^\r\n]*))?\r?$"
    r"|(?P<fence>`{3,}|~{3,})|(?P<setext>=+|-{2,})[ \t]*\r?$)",
    re.M,
)
_LINK_LINE = re.compile(r"^ {0,3}\[[^\]\n]+\]:[ \t]*\S", re.M)
# a line with something on it that is not a link reference definition
_CONTENT_LINE = re.compile(r"^(?! {0,3}\[[^\]\n]+\]:[ \t]*\S)[ \t\r]*[^\s][^\n]*", re.M)
_LOOKS_VERSION = re.compile(r"\[?[vV]?[0-9]")
# one match classifies a heading: Unreleased, or a release with its SemVer version's parts
_HEAD = re.compile(
    r"(?P<unreleased>\[?(?i:unreleased)\b)|(?P<open>\[)?(?P<v>[vV])?(?P<ver>"
    + SEMVER_PATTERN + r")(?![0-9A-Za-z.+-])(?(open)\])(?:\((?P<link>[^()\s]*)\))?(?P<rest>.*)"
)
# inline HTML around a heading's text: vite's <small>, an anchor in the heading itself
_WRAP_OPEN = re.compile(r"(?:<(?:small|sub|sup|b|strong)>|<a [^<>]*>[ \t]*</a>)[ \t]*")
_WRAP_CLOSE = re.compile(r"[ \t]*</(?:small|sub|sup|b|strong)>$")
# a line attached above a release heading: an anchor (Markdown) or a label (reStructuredText)
_MD_ANCHOR = re.compile(r" {0,3}<a (?:name|id)=\"[^\"\n]*\">[ \t]*</a>[ \t]*")
_RST_LABEL = re.compile(r"\.\. _[^:\n`]+:[ \t]*")
_TOWNCRIER = re.compile(r"^(?:\.\. |<!-- ?)towncrier release notes start[^\n]*\n?", re.M)
_DATE = re.compile(r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9])")
_FLAG = re.compile(r"\[([A-Z][A-Z ]*[A-Z])\]")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# reStructuredText section adornment: one punctuation character repeated
_RST_ADORN = re.compile(r"\n([!-/:-@\[-`{-~])\1*[ \t]*\r?$", re.M)


def format_of(file: str) -> Format:
    """reStructuredText for ``*.rst``/``*.rest`` files, else Markdown."""
    return "rst" if file.lower().endswith((".rst", ".rest")) else "md"


# Heading and Section are NamedTuples: immutable like the dataclasses around them, and cheap to
# build 10,000 of (a 5 MB changelog is parsed within the 100 ms budget)
class Heading(NamedTuple):
    line: int  # 1-based line of the heading's text
    start: int  # offset where the heading's first line starts (its overline, in rst)
    end: int  # offset just after the heading (after its underline, for setext/rst)
    text: str  # the heading's text, without markers or wrapping HTML
    text_end: int  # offset where the text ends (before a closing sequence, blanks or </small>)
    syntax: Literal["atx", "setext", "rst"]
    level: int
    wrap: tuple[str, str] = ("", "")  # HTML around the text: ("<small>", "</small>")
    adorn: str = ""  # rst: the adornment character; "=" + "over" when overlined
    under: int = -1  # rst/setext: offset where the underline starts
    over: int = -1  # rst: offset where the overline starts, -1 when there is none


class Section(NamedTuple):
    kind: Literal["release", "unreleased"]
    heading: Heading
    start: int  # where the section starts: its heading, or the anchor/label lines above it
    end: int
    start_line: int
    end_line: int  # last line of the section, inclusive
    version: str | None = None
    date: str | None = None
    flags: tuple[str, ...] = ()
    bracketed: bool = False
    v_prefix: bool = False
    paren_date: bool = False
    link: str | None = None  # the inline link of ``[1.2.3](url)``
    anchor: str | None = None  # ``<a name="1.2.3"></a>`` or ``.. _changelog-v1.2.3:``

    @property
    def rolled_back(self) -> bool:
        return ROLLED_BACK in self.flags


class LinkDef(NamedTuple):
    label: str
    start: int  # the line's start
    end: int  # after the line's break
    url: str
    url_start: int
    url_end: int


@dataclass(frozen=True)
class Changelog:
    text: str
    file: str
    newline: str
    unreleased: Section | None
    releases: list[Section]
    links_start: int  # where the link references at the bottom begin (len(text) if none)
    # precedence key (bot.core.release.versioning.precedence_key) -> section
    by_key: dict[tuple, Section] = field(default_factory=dict, repr=False)
    fmt: Format = "md"
    # where an entry goes in a file with no release yet: after towncrier's start marker
    marker_end: int | None = None

    def release(self, version: str) -> Section | None:
        return self.by_key.get(Version.parse(version).key)


@dataclass(frozen=True)
class ChangeNote:
    """One line of **Changes**: ``path: what — why``."""

    path: str
    what: str = ""
    why: str = ""


@dataclass(frozen=True)
class ReleaseEntry:
    version: str
    date: str  # YYYY-MM-DD
    proposal_id: str | None = None
    pr: int | None = None
    improvement: str | None = None
    changes: tuple[ChangeNote, ...] = ()
    metrics: tuple[str, ...] = ()
    # a rollback: the version rolled back, the version whose content it restores, why, evidence
    rollback_of: str | None = None
    restores: str | None = None
    reason: str | None = None
    evidence: tuple[str, ...] = ()
    title: str | None = None  # the proposal's title, the entry's first line


@dataclass(frozen=True)
class HistoryEntry:
    version: str
    line: int
    date: str | None = None
    proposal_id: str | None = None
    pr: int | None = None
    improvement: str | None = None
    metrics: list[str] = field(default_factory=list)
    rolled_back: bool = False
    rollback_of: str | None = None
    restores: str | None = None
    reason: str | None = None
    flags: tuple[str, ...] = ()


def _refuse(file: str, line: int | None, message: str) -> InputError:
    return InputError([Problem(file, message, line)])


def newline_of(text: str) -> str:
    """The file's line ending, from its first line break (LF when it has none)."""
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


_NOT_BLANK = re.compile(r"[^ \t\r\n\ufeff]")


def _blank(s: str) -> bool:
    # a search stops at the first visible character: no copy of a 5 MB text
    return _NOT_BLANK.search(s) is None


def _width(s: str) -> int:
    """Columns the text takes, as docutils counts them for a title's underline."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else
               0 if unicodedata.combining(c) else 1 for c in s)


def _without_closing(title: str) -> str:
    """An ATX heading's text without trailing blanks and its optional closing sequence of #s
    (which needs a blank before it: ``## C#`` keeps its #)."""
    t = title.rstrip(" \t")
    bare = t.rstrip("#")
    if len(bare) < len(t) and (not bare or bare[-1] in " \t"):
        t = bare.rstrip(" \t")
    return t


def _unwrap(title: str) -> tuple[str, int, tuple[str, str]]:
    """The heading's text without wrapping HTML (``<small>…</small>``): the text, how many
    characters were cut off at its end, and the wrapper."""
    if "<" not in title:
        return title, 0, ("", "")
    m = _WRAP_OPEN.match(title)
    c = _WRAP_CLOSE.search(title)
    if m is None or m.end() == len(title):
        return title, 0, ("", "")
    inner = title[m.end():c.start() if c else len(title)]
    cut = len(title) - (c.start() if c else len(title))
    return inner, cut, (m.group(0), c.group(0) if c else "")


def _atx_heading(m: re.Match[str], start: int, line: int, n: int) -> Heading:
    """The ATX heading (``## 1.2.3``) a candidate matched, starting at ``start`` in the text."""
    end = m.end() - 1  # the line break after the heading, in text's offsets
    title = m.group("text") or ""
    title_end = m.end("text") - 1 if title else m.end("atx") - 1
    if title and title[-1] in " \t#":
        cut = _without_closing(title)
        title_end -= len(title) - len(cut)
        title = cut
    title, cut_len, wrap = _unwrap(title)
    return Heading(line, start, end + 1 if end < n else end, title, title_end - cut_len, "atx",
                   len(m.group("atx")), wrap)


def _setext_heading(text: str, m: re.Match[str], start: int, end: int, line: int, bom: int,
                    last: Heading | None) -> Heading | None:
    """The setext heading an underline at ``start`` makes, or None: the line above is the
    heading's text when it is a lone paragraph line (blank or a heading above it); a thematic
    break after a blank line is not one. ``last`` is the heading found before."""
    if start <= bom:
        return None
    prev_end = start - 1
    prev_start = text.rfind("\n", 0, prev_end) + 1
    prev = text[prev_start:prev_end].rstrip("\r")
    if _blank(prev) or re.match(r"\ufeff? {0,3}(?:[#>*+|]|-[ \t]|[0-9]+[.)][ \t])",
                                prev) or last and last.end > prev_start:
        return None
    if prev_start > 0:
        pp_end = prev_start - 1
        pp_start = text.rfind("\n", 0, pp_end) + 1
        pp = text[pp_start:pp_end]
        if not _blank(pp) and not (last and last.end > pp_start):
            return None
    content = prev.strip(" \t\ufeff")
    content_end = prev_start + len(prev.rstrip(" \t"))
    level = 1 if m.group("setext")[0] == "=" else 2
    content, cut_len, wrap = _unwrap(content)
    return Heading(line - 1, max(prev_start, bom), end + 1 if end < len(text) else end,
                   content, content_end - cut_len, "setext", level, wrap, under=start)


def _md_headings(text: str) -> list[Heading]:
    """Markdown headings outside code fences, in order."""
    out: list[Heading] = []
    fence: str | None = None
    last_off, last_line = 0, 1
    bom = 1 if text.startswith("\ufeff") else 0
    n = len(text)
    for m in _CANDIDATE.finditer("\n" + text):
        # offsets in text are one less than in the scanned string; m.start() is the "\n" before
        start = m.start()
        last_line += text.count("\n", last_off, start)
        last_off = start
        # a heading on the first line starts after the byte-order mark, so that an entry
        # inserted above it lands after the mark too
        start = max(start, bom)
        atx = m.group("atx")
        if fence is None and atx:
            out.append(_atx_heading(m, start, last_line, n))
            continue
        marker = m.group("fence")
        end = text.find("\n", start)
        if end < 0:
            end = n
        if marker:
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) \
                    and _blank(text[m.end() - 1:end]):
                fence = None
            continue
        if fence is not None or atx:
            continue
        h = _setext_heading(text, m, start, end, last_line, bom, out[-1] if out else None)
        if h is not None:
            out.append(h)
    return out


def _rst_headings(text: str) -> list[Heading]:
    """reStructuredText section titles, in order: a line of text at the left margin underlined
    (and perhaps overlined) with one repeated punctuation character; levels in the order the
    styles first appear, as docutils numbers them."""
    out: list[Heading] = []
    styles: dict[str, int] = {}
    last_off, last_line = 0, 1
    bom = 1 if text.startswith("\ufeff") else 0
    n = len(text)
    for m in _RST_ADORN.finditer("\n" + text):
        under = m.start()  # the underline's start in text
        if under <= bom:
            continue
        prev_end = under - 1
        prev_start = text.rfind("\n", 0, prev_end) + 1
        title_line = text[prev_start:prev_end].rstrip("\r")
        title = title_line.lstrip("\ufeff")
        if _blank(title) or title[0] in " \t" or (out and out[-1].end > prev_start):
            continue
        char = m.group(1)
        adorn = m.group(0)[1:].rstrip("\r \t")
        if title.rstrip(" \t") == char * len(title.rstrip(" \t")):
            continue  # an overline-like line above: the underline of a title further up
        # the line above the title: blank or the start (underline only), or the overline
        over = -1
        if prev_start > 0:
            pp_end = prev_start - 1
            pp_start = text.rfind("\n", 0, pp_end) + 1
            pp = text[pp_start:pp_end].rstrip("\r").lstrip("\ufeff")
            if pp.rstrip(" \t") == adorn:
                over = pp_start
            elif not _blank(pp) and not (out and out[-1].end > pp_start):
                continue
        content = title.rstrip(" \t")
        if len(adorn) < _width(content) and len(adorn) < 4:
            continue  # docutils reads a short underline under a long line as text
        end = text.find("\n", under)
        end = n if end < 0 else end + 1
        key = char + ("over" if over >= 0 else "")
        level = styles.setdefault(key, len(styles) + 1)
        first = over if over >= 0 else prev_start
        last_line += text.count("\n", last_off, prev_start)
        last_off = prev_start
        out.append(Heading(last_line, max(first, bom), end, content,
                           prev_start + len(title_line) - len(title_line.lstrip("\ufeff"))
                           + len(content), "rst", level, adorn=key, under=under, over=over))
    return out


def _attached_above(text: str, start: int, fmt: Format) -> tuple[int, str | None]:
    """Where the anchor (Markdown) or label (reStructuredText) lines right above a heading start,
    and the nearest one's text; (start, None) when there are none."""
    pattern = _RST_LABEL if fmt == "rst" else _MD_ANCHOR
    first, nearest = start, None
    pos = start
    while pos > 0:
        line_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[line_start:pos].rstrip("\r\n")
        if _blank(line):
            pos = line_start
            continue
        if pattern.fullmatch(line.lstrip("\ufeff")) is None:
            break
        nearest = nearest or line.strip(" \t\ufeff")
        first = pos = line_start
    if first == 0 and text.startswith("\ufeff"):
        first = 1  # an entry inserted above goes after the byte-order mark
    return first, nearest


def _links_start(text: str, after: int) -> int:
    """Start of the trailing block of link reference definitions (``[1.2.3]: https://…``) that
    follows offset ``after`` (the last heading), or len(text) when there is none."""
    last_content = after
    for m in _CONTENT_LINE.finditer(text, after):
        last_content = m.end()
    link = _LINK_LINE.search(text, last_content)
    return link.start() if link else len(text)


def _kind(patch: int) -> str:
    """A patch release, or a minor/major one (by its patch number): the angular preset heads
    them differently."""
    return "minor" if patch == 0 else "patch"


def _refuse_unreadable(file: str, headings: list[Heading], max_level: int) -> None:
    for h in headings:
        if h.level <= max_level:
            raise _refuse(file, h.line, f"cannot read the version in the heading {h.text!r}: "
                          "not a SemVer 2.0 version (MAJOR.MINOR.PATCH)")


def _section_marks(heads: list[Heading], file: str
                   ) -> list[tuple[Heading, re.Match[str] | None]]:
    """The headings that bound the sections: Unreleased and the releases (with their match), and
    old non-SemVer versions at the releases' level (None: a boundary only). The newest release
    fixes that level: a version deeper than one below it is inside an entry's body."""
    first_level = 0
    marks: list[tuple[Heading, re.Match[str] | None]] = []
    # a version that is not SemVer above the newest release could be the newest release: it is
    # refused once the release headings' level is known, unless it is deeper (an entry's body)
    unreadable: list[Heading] = []
    for h in heads:
        m = _HEAD.match(h.text)
        if m is None:
            if _LOOKS_VERSION.match(h.text):
                if first_level == 0:
                    unreadable.append(h)
                elif h.level <= first_level + 1:
                    # an old version below the newest release: it ends the section above
                    marks.append((h, None))
            continue
        if m.group("ver") and first_level == 0:
            first_level = h.level
            _refuse_unreadable(file, unreadable, first_level + 1)
        elif m.group("ver") and h.level > first_level + 1:
            continue  # a version deep inside an entry's body (### 1.2.3 under ## 2.0.0)
        marks.append((h, m))
    if first_level == 0:
        _refuse_unreadable(file, unreadable, 2)
    return marks


def _release_section(h: Heading, m: re.Match[str], start: tuple[int, str | None], end: int,
                     line: int) -> tuple[Section, tuple]:
    """A release heading's section (from where it starts, with its anchor, to ``end``) and its
    version's precedence key."""
    ver, major, minor, patch, pre, opened, v_prefix, rest, link = m.group(
        "ver", "major", "minor", "patch", "pre", "open", "v", "rest", "link")
    date = _DATE.search(rest) if rest else None
    key = (int(major), int(minor), int(patch), (1,)) if pre is None else precedence_key(
        int(major), int(minor), int(patch), tuple(pre.split(".")))
    return Section("release", h, start[0], end, h.line, line, ver,
                   date.group(1) if date else None,
                   tuple(_FLAG.findall(rest)) if "[" in rest else (),
                   opened is not None, v_prefix is not None,
                   rest.lstrip().startswith("(") if rest else False,
                   link, start[1]), key


def _check_unreleased(s: Section, unreleased: Section | None, first: Section | None,
                      file: str) -> None:
    """Refuses a second Unreleased section, and one below a release."""
    if unreleased is not None:
        raise _refuse(file, s.start_line, "a second Unreleased section (the first is at "
                      f"line {unreleased.start_line})")
    if first is not None:
        raise _refuse(file, s.start_line, "the Unreleased section comes after release "
                      f"{first.version} (line {first.start_line}); it "
                      "belongs above the newest release")


def _written_before(s: Section, key: tuple, first: Section, first_key: tuple,
                    seen: dict[tuple, Section], file: str) -> bool:
    """Whether an older release was already listed (the newer copy stands for it); refuses one
    as new as the first release or newer: the file lists the newest first."""
    if key == first_key:
        raise _refuse(file, s.start_line, f"version {s.version} appears twice (also at "
                      f"line {first.start_line})")
    if key in seen:
        return True
    if key > first_key:
        raise _refuse(file, s.start_line, f"version {s.version} is newer than the first "
                      f"release {first.version} (line {first.start_line}); the file must "
                      "list the newest release first")
    return False


def _check_style(s: Section, kind: str, style_of: dict[str, tuple[Section, tuple]],
                 kinds_seen: dict[str, int], file: str) -> None:
    """The two newest releases of a kind (patch, or minor/major) must agree on how a heading of
    that kind looks (else which would the new heading copy?); older ones may differ: a project
    that changed tools keeps its old history as it was. Counts the release in."""
    h = s.heading
    seen_kind = kinds_seen.get(kind, 0)
    if seen_kind < 2:
        style = (h.syntax, h.level, s.bracketed, h.adorn)
        if seen_kind == 1 and style_of[kind][1] != style:
            example = style_of[kind][0]
            raise _refuse(file, s.start_line, f"the heading {h.text!r} is written in "
                          f"another style than the release heading at line "
                          f"{example.start_line} ({example.heading.text!r}); use one style")
        style_of.setdefault(kind, (s, style))
    kinds_seen[kind] = seen_kind + 1


def parse_changelog(text: str, file: str = DEFAULT_FILE) -> Changelog:
    """The release sections of a changelog, or an InputError naming the line that confused it."""
    fmt = format_of(file)
    heads = _rst_headings(text) if fmt == "rst" else _md_headings(text)
    links_start = len(text) if fmt == "rst" else _links_start(text, heads[-1].end if heads
                                                              else 0)
    marks = _section_marks(heads, file)
    # anchors and labels are rare: a file without any skips looking above each heading
    attached = (".. _" if fmt == "rst" else "<a ") in text
    starts = [_attached_above(text, h.start, fmt) if attached and h.start > 0 else (h.start, None)
              for h, _ in marks]
    unreleased: Section | None = None
    releases: list[Section] = []
    seen: dict[tuple, Section] = {}
    first: Section | None = None
    first_key: tuple = ()
    style_of: dict[str, tuple[Section, tuple]] = {}
    kinds_seen: dict[str, int] = {}
    line, line_off = 1, 0
    for i, (h, m) in enumerate(marks):
        end = starts[i + 1][0] if i + 1 < len(marks) else max(links_start, h.end)
        # the last line of the section, counted incrementally (one pass over the text)
        last = end - 1 if end > h.start else h.start
        line += text.count("\n", line_off, last)
        line_off = last
        if m is None:
            continue  # an old non-SemVer version: a boundary only, in no list callers read
        if m.group("unreleased"):
            s = Section("unreleased", h, starts[i][0], end, h.line, line)
            _check_unreleased(s, unreleased, first, file)
            unreleased = s
            continue
        s, key = _release_section(h, m, starts[i], end, line)
        if first is None:
            first, first_key = s, key
        elif _written_before(s, key, first, first_key, seen, file):
            continue
        _check_style(s, _kind(key[2]), style_of, kinds_seen, file)
        seen[key] = s
        releases.append(s)
    marker = _TOWNCRIER.search(text) if "towncrier" in text else None
    return Changelog(text, file, newline_of(text), unreleased, releases, links_start, seen, fmt,
                     marker.end() if marker else None)


# ---------------------------------------------------------------- writing an entry


def one_line(value: object) -> str:
    """Untrusted text as one line: a line break inside a rationale could otherwise forge a
    release heading that the next run would believe."""
    s = _LINE_BREAKS.sub(" ", str(value))
    s = _CONTROL.sub("", s)
    return re.sub(r"[ \t]{2,}", " ", s).strip()


# reStructuredText inline markup a value could start by accident (an unclosed ``*`` is a warning,
# and docs builds that treat warnings as errors fail): escaped with a backslash
_RST_INLINE = re.compile(r"([\\*`|])|_(?=[^0-9A-Za-z]|$)")


def rst_inline(text: str) -> str:
    return _RST_INLINE.sub(lambda m: "\\" + m.group(0), text)


def _unescape(text: str) -> str:
    """Backslash escapes undone: reStructuredText's and Markdown's are alike (``\\*`` is ``*``)."""
    return re.sub(r"\\(.)", r"\1", text)


def _untrusted(text: str, fmt: Format) -> str:
    """A person's or an agent's words (a title, a /rollback reason) as inert text on one line: in
    Markdown escaped as the bot's replies are (no HTML, link, mention); in reStructuredText no
    inline markup, and no mention either."""
    from bot.core.render import md_escape

    if fmt == "md":
        return md_escape(text)
    s = md_escape(text, 500).replace("@\u2060", "@")  # md_escape's invisibles and cut
    s = _unescape(s)  # ... but not its Markdown escapes
    return rst_inline(s).replace("@", "@\u2060")


def _paragraph(text: str, fmt: Format) -> str:
    """A one-line paragraph (the title) that cannot start a heading, list, quote, directive or
    link definition, and in reStructuredText cannot end in a literal-block marker."""
    if fmt == "rst":
        if text.endswith("::"):
            text = text[:-1] + "\\:"
        if text and not text[0].isalnum() and text[0] != "\\" \
                or re.match(r"\(?[0-9A-Za-z#]{1,4}[.)][ \t]", text):
            text = "\\" + text
        return text
    if text and text[0] in "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~":
        return "\\" + text
    return re.sub(r"^([0-9]+)([.)])", r"\1\\\2", text)


class Field(NamedTuple):
    label: str
    value: str
    untrusted: bool = False  # a person's words: escaped, not merely kept on one line


def _fields(entry: ReleaseEntry) -> list[Field]:
    """The entry's one-line fields, in the design's order."""
    out = []
    if entry.rollback_of:
        rb = one_line(entry.rollback_of)
        out.append(Field("Rollback of", rb + (f" (restores {one_line(entry.restores)})"
                                              if entry.restores else "")))
    if entry.proposal_id:
        out.append(Field("Proposal", one_line(entry.proposal_id)
                         + (f" (#{entry.pr})" if entry.pr else "")))
    elif entry.pr:
        out.append(Field("Pull request", f"#{entry.pr}"))
    if entry.reason:
        out.append(Field("Reason", one_line(entry.reason), untrusted=True))
    if entry.improvement:
        out.append(Field("Improvement", one_line(entry.improvement)))
    return out


def _design_heading(version: str, date: str) -> list[str]:
    return [f"## [{version}] - {date}"]


def render_entry(entry: ReleaseEntry, fmt: Format = "md",
                 heading: list[str] | None = None) -> str:
    """The entry, LF line endings, ending with one line break: in Markdown the design's format
    (its field lines joined by hard line breaks, so they show as lines on GitHub), in
    reStructuredText the same facts as a line block and lists. ``heading`` replaces the design's
    ``## [X.Y.Z] - DATE`` (the file's own style, see ``plan_insertion``)."""
    from bot.core.render import render  # Jinja2 only when writing: `improve history` stays light

    esc = rst_inline if fmt == "rst" else _md_value
    version, date = one_line(entry.version), one_line(entry.date)
    lines = heading or (_rst_heading(f"{version} ({date})", "=", False) if fmt == "rst"
                        else _design_heading(version, date))
    text = render(
        f"changelog_entry.{fmt}.j2",
        heading="\n".join(lines),
        title=_paragraph(_untrusted(one_line(entry.title), fmt), fmt)
        if entry.title and one_line(entry.title) else None,
        fields=[Field(f.label, _untrusted(f.value, fmt) if f.untrusted else esc(f.value))
                for f in _fields(entry)],
        changes=[_change_line(c, esc) for c in entry.changes],
        metrics=[esc(one_line(m)) for m in entry.metrics],
        evidence=[esc(one_line(e)) for e in entry.evidence],
    )
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip("\n") + "\n"


def _md_value(value: str) -> str:
    # a field line ends in a hard line break (a backslash); a value ending in a backslash itself
    # would escape it, so a space keeps them apart
    return value + " " if value.endswith("\\") else value


def _change_line(c: ChangeNote, esc: Callable[[str], str]) -> str:
    path, what, why = one_line(c.path), one_line(c.what), one_line(c.why)
    return esc(path + (": " + what if what else "") + (" — " + why if why else ""))


def _rst_heading(text: str, adorn: str, over: bool) -> list[str]:
    line = adorn * max(_width(text), 1)
    return [line, text, line] if over else [text, line]


_VERSION_CHARS = "0-9A-Za-z.+-"


def _swap_version(s: str, old: str, new: str) -> str | None:
    """``s`` with the last mention of version ``old`` (as a whole version) replaced by ``new``;
    None when it does not mention it."""
    found = None
    for m in re.finditer(r"(?<![0-9.])" + re.escape(old) + rf"(?![{_VERSION_CHARS}]*[0-9])", s):
        found = m
    if found is None:
        return None
    return s[:found.start()] + new + s[found.end():]


def next_compare_url(url: str, old: str, new: str) -> str | None:
    """The link for version ``new`` made from the newest release's (version ``old``):
    ``…/compare/v1.3.1...v1.3.2`` becomes ``…/compare/v1.3.2...v1.4.0``, ``…/tag/v1.3.2``
    becomes ``…/tag/v1.4.0``; None when the link does not name ``old``."""
    m = re.search(r"([^/.][^/]*?)(\.{2,3})([^/]*)$", url)
    if m and _swap_version(m.group(3), old, new) is not None and ".." not in m.group(1):
        right = m.group(3)
        return url[:m.start()] + right + m.group(2) + str(_swap_version(right, old, new))
    # the first release links to its tag on GitHub or GitLab; the next one to the comparison
    m = re.search(r"/(?:-/)?(releases/tag|tags)/([^/]+)$", url)
    if m and (tag := _swap_version(m.group(2), old, new)) is not None:
        return url[:m.start(1)] + f"compare/{m.group(2)}...{tag}"
    return _swap_version(url, old, new)


def _example(log: Changelog, version: Version) -> Section | None:
    """The release whose heading the new one copies: the newest of the same kind, else the
    newest."""
    if not log.releases:
        return None
    kind = _kind(version.patch)
    return next((s for s in log.releases if _kind(Version.parse(s.version or "").patch) == kind),
                log.releases[0])


def _heading_like(log: Changelog, example: Section | None, version: str,
                  date: str) -> list[str]:
    """The new entry's heading lines, in the style of the release ``example``."""
    if example is None:
        if log.fmt == "rst":
            return _rst_heading(f"{version} ({date})", "=", False)
        return _design_heading(version, date)
    shown = ("v" if example.v_prefix else "") + version
    if example.bracketed:
        shown = f"[{shown}]"
        if example.link is not None:
            newest = log.releases[0]
            url = next_compare_url(newest.link or example.link, newest.version or "", version)
            if url is not None:
                shown += f"({url})"
    shown += f" ({date})" if example.paren_date else f" - {date}"
    h = example.heading
    if h.syntax == "rst":
        return _rst_heading(shown, h.adorn[0], h.adorn.endswith("over"))
    shown = h.wrap[0] + shown + h.wrap[1]
    if h.syntax == "setext":
        return [shown, ("=" if h.level == 1 else "-") * len(shown)]
    return ["#" * h.level + " " + shown]


def _anchor_like(log: Changelog, version: str) -> str | None:
    """``<a name="1.4.0"></a>`` / ``.. _changelog-v1.4.0:`` when the newest release has one."""
    newest = log.releases[0] if log.releases else None
    if newest is None or newest.anchor is None:
        return None
    return _swap_version(newest.anchor, newest.version or "", version)


class Edit(NamedTuple):
    """Replace ``text[start:end]`` with ``new`` (an insertion when start == end)."""

    start: int
    end: int
    new: str


@dataclass(frozen=True)
class Insertion:
    """The entry (``chunk`` at ``offset``) and the link definitions that go with it: every change
    the release makes to the file."""

    offset: int
    chunk: str
    links: tuple[Edit, ...] = ()

    def apply(self, text: str | None) -> str:
        base = text or ""
        parts, at = [], 0
        # the entry before a link definition inserted at the same offset (an empty file's)
        for e in sorted([Edit(self.offset, self.offset, self.chunk), *self.links],
                        key=lambda e: (e.start, e.end)):
            parts += [base[at:e.start], e.new]
            at = e.end
        parts.append(base[at:])
        return "".join(parts)


def _link_edits(log: Changelog, version: str) -> tuple[Edit, ...]:
    """A Markdown file whose release headings are reference links (``## [1.3.2] - …`` with
    ``[1.3.2]: https://…``) gets ``[1.4.0]: https://…/compare/v1.3.2...v1.4.0`` above the newest
    release's definition, and its ``[unreleased]: …/compare/v1.3.2...HEAD`` moves to 1.4.0."""
    newest = log.releases[0] if log.releases else None
    if log.fmt != "md" or newest is None or not newest.bracketed or newest.link is not None:
        return ()
    text, nl = log.text, log.newline
    label = ("v" if newest.v_prefix else "") + (newest.version or "")
    # the two definitions that matter, found directly (a 10,000-line block is not walked)
    defs: dict[str, LinkDef] = {}
    for key in (label.lower(), "unreleased"):
        m = re.compile(r"^ {0,3}\[(?P<label>[ \t]*" + re.escape(key) + r"[ \t]*)\]:[ \t]*"
                       r"(?P<url><[^>\n]*>|[^\s]+)", re.M | re.I).search(text, log.links_start)
        if m is not None:
            end = text.find("\n", m.end())
            defs[key] = LinkDef(m.group("label"), m.start(), len(text) if end < 0 else end + 1,
                                m.group("url"), m.start("url"), m.end("url"))
    out = []
    own = defs.get(label.lower())
    if own is not None:
        url = next_compare_url(own.url, newest.version or "", version)
        if url is not None:
            new_label = ("v" if newest.v_prefix else "") + version
            line = text[own.start:own.url_start].replace(own.label, new_label, 1) + url
            out.append(Edit(own.start, own.start, line + nl))
    unrel = defs.get("unreleased")
    if unrel is not None:
        moved = _swap_version(unrel.url, newest.version or "", version)
        if moved is not None:
            out.append(Edit(unrel.url_start, unrel.url_end, moved))
    return tuple(out)


def plan_insertion(text: str | None, entry: ReleaseEntry, file: str = DEFAULT_FILE) -> Insertion:
    """Where the entry goes and exactly what is written there (the only changes to the file)."""
    fmt = format_of(file)
    if text is None or _blank(text):
        from bot.core.render import render

        nl = newline_of(text or "")
        body = render_entry(entry, fmt)
        chunk = body if fmt == "rst" else render("changelog_header.md.j2") + body
        return Insertion(len(text or ""), chunk.replace("\n", nl))

    log = parse_changelog(text, file)
    new = Version.parse(entry.version)
    if (same := log.release(entry.version)) is not None:
        raise _refuse(file, same.start_line, f"version {entry.version} is already in the "
                      "changelog; a released version is never written twice")
    newest = log.releases[0] if log.releases else None
    if newest is not None and new < Version.parse(newest.version or ""):
        raise _refuse(file, newest.start_line, f"the newest release in the changelog is "
                      f"{newest.version}, newer than {entry.version}")

    version = str(new)
    heading = _heading_like(log, _example(log, new), version, one_line(entry.date))
    body = render_entry(entry, fmt, heading)
    anchor = _anchor_like(log, version)
    if anchor is not None:
        body = anchor + "\n\n" + body
    if newest is not None:
        offset = newest.start
    elif log.unreleased is not None:
        offset = log.unreleased.end
    elif log.marker_end is not None:
        offset = log.marker_end
    else:
        offset = log.links_start
    nl = log.newline
    before = text[:offset]
    if _blank(before):
        prefix = ""
    elif not before.endswith("\n"):
        prefix = "\n\n"
    else:
        last_line_start = before.rfind("\n", 0, len(before) - 1) + 1
        prefix = "" if _blank(before[last_line_start:]) else "\n"
    suffix = "\n" if offset < len(text) else ""
    return Insertion(offset, (prefix + body + suffix).replace("\n", nl),
                     _link_edits(log, version))


def insert_entry(text: str | None, entry: ReleaseEntry, file: str = DEFAULT_FILE) -> str:
    """The changelog with the entry inserted above the newest release (below ``[Unreleased]``),
    in the file's own format; a missing or empty file becomes a short header and the entry."""
    return plan_insertion(text, entry, file).apply(text)


def mark_rolled_back(text: str, version: str, file: str = DEFAULT_FILE) -> str:
    """The release's heading gains `` [ROLLED BACK]``; marking it twice changes nothing. A
    reStructuredText title's underline (and overline) grow with it, as docutils requires."""
    log = parse_changelog(text, file)
    section = log.release(version)
    if section is None:
        raise _refuse(file, None, f"has no entry for version {version} to mark rolled back")
    if section.rolled_back:
        return text
    h = section.heading
    mark = f" [{ROLLED_BACK}]"
    edits = [Edit(h.text_end, h.text_end, mark)]
    if h.syntax == "rst":
        line_end = text.find("\n", h.under)
        line_end = len(text) if line_end < 0 else line_end
        old = text[h.under:line_end].rstrip("\r \t")
        need = _width(h.text + mark) - len(old)
        if need > 0:
            under_end = h.under + len(old)
            edits.append(Edit(under_end, under_end, old[0] * need))
            if h.over >= 0:
                edits.append(Edit(h.over + len(old), h.over + len(old), old[0] * need))
    for e in sorted(edits, reverse=True):
        text = text[:e.start] + e.new + text[e.end:]
    return text


# ---------------------------------------------------------------- reading the history back

# the bot's own field lines, found in one pass over the whole text (a literal "\n" prefix keeps
# it fast) and assigned to their sections in order; "| " starts them in reStructuredText
_FIELD = re.compile(
    r"\n(?:\| )?\*\*(?P<key>Proposal|Pull request|Improvement|Rollback of|Reason|Metrics)\*\*:"
    r"[ \t]*(?P<value>[^\r\n]*)"  # trailing blanks are cut in Python: a lazy match is 2x slower
)
_PROPOSAL = re.compile(r"(\S+)(?:[ \t]+\(#([0-9]+)\))?")
_PULL = re.compile(r"#([0-9]+)")
_ROLLBACK_OF = re.compile(r"([^\s(]+)(?:[ \t]+\(restores[ \t]+([^\s)]+)\))?")
_LIST = re.compile(r"(?:\r?\n(?=\r?\n[-*]))?(?:\r?\n[-*][ \t]+[^\r\n]*)+")


def _section_fields(log: Changelog, clean: Callable[[str], str]
                    ) -> list[dict[str, tuple[str, int]]]:
    """The bot's field lines of each release section (``**Proposal**: ...``): the field's value
    and where its line ends, the first of each field in a section."""
    releases = log.releases
    fields: list[dict[str, tuple[str, int]]] = [{} for _ in releases]
    starts = [r.heading.end for r in releases]
    ends = [r.end for r in releases]
    for m in _FIELD.finditer("\n" + log.text):
        pos = m.start()  # the line's offset in text
        i = bisect_right(starts, pos) - 1
        if i < 0 or pos >= ends[i]:
            continue  # above the first release, or in a section that is not a release
        key, value = m.group("key", "value")
        # the first of each field in a section wins; m.end() - 1 is where the line ends in text
        if key not in fields[i]:
            fields[i][key] = (clean(value.rstrip(" \t")), m.end() - 1)
    return fields


def _history_entry(log: Changelog, s: Section, f: dict[str, tuple[str, int]],
                   clean: Callable[[str], str]) -> HistoryEntry:
    """What a release section's fields say: its proposal and pull request, what it rolled back,
    its metrics (the list under **Metrics**)."""
    pr: str | None = None
    proposal_id = None
    if "Proposal" in f:
        pm = _PROPOSAL.match(f["Proposal"][0])
        if pm:
            proposal_id, pr = pm.group(1), pm.group(2)
    if pr is None and "Pull request" in f:
        pl = _PULL.match(f["Pull request"][0])
        pr = pl.group(1) if pl else None
    rollback_of = restores = None
    if "Rollback of" in f:
        rm = _ROLLBACK_OF.match(f["Rollback of"][0])
        if rm:
            rollback_of, restores = rm.group(1), rm.group(2)
    metrics: list[str] = []
    if "Metrics" in f:
        lm = _LIST.match(log.text, f["Metrics"][1])
        if lm:
            metrics = [clean(ln.strip()[2:].strip()) if log.fmt == "rst"
                       else ln.strip()[2:].strip()
                       for ln in lm.group(0).splitlines() if ln.strip()]
    return HistoryEntry(
        version=s.version or "",
        line=s.start_line,
        date=s.date,
        proposal_id=proposal_id,
        pr=int(pr) if pr else None,
        improvement=f["Improvement"][0] if "Improvement" in f else None,
        metrics=metrics,
        rolled_back=s.rolled_back,
        rollback_of=rollback_of,
        restores=restores,
        reason=f["Reason"][0] if "Reason" in f else None,
        flags=s.flags,
    )


def parse_history(text: str, file: str = DEFAULT_FILE) -> list[HistoryEntry]:
    """Every release in the changelog, newest first, with what the bot's entries say about it
    (entries written by hand simply have fewer fields)."""
    log = parse_changelog(text, file)
    if log.fmt == "rst":
        def clean(v: str) -> str:
            return _unescape(v)
    else:
        def clean(v: str) -> str:
            # a field line's hard line break (a trailing backslash) is not part of the value
            return v[:-1].rstrip(" \t") if v.endswith("\\") else v
    fields = _section_fields(log, clean)
    return [_history_entry(log, s, f, clean)
            for s, f in zip(log.releases, fields, strict=True)]
