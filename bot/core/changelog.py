"""CHANGELOG.md, text in and text out: find the release sections, write a release's entry, insert
it above the newest release, mark a release rolled back, and read the history back.

The rest of the file is never rewritten: an insertion adds one contiguous run of text and nothing
else (line endings, a byte-order mark, trailing spaces and link references all stay). When the
file cannot be read with confidence (a version heading that is not SemVer, release headings in
two styles, versions out of order), it is refused with the line that confused it.

Headings understood (levels 1 and 2, ATX or setext; ``###`` and deeper belong to an entry's body):

- Keep a Changelog: ``## [1.2.3] - 2026-01-01``, ``## [Unreleased]``, link references at the end
- release-please / conventional-changelog: ``## [1.2.3](https://…/compare/…) (2026-01-01)``
- ``## 1.2.3 (2026-01-01)``, ``## v1.2.3``, ``1.2.3\\n-----``

A new entry's heading follows the style of the newest release already in the file (so the file
stays consistent and readable next time); in a file with none it is the design's
``## [X.Y.Z] - DATE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from bot.core.versioning import Version, is_valid
from bot.errors import InputError, Problem

ROLLED_BACK = "ROLLED BACK"
DEFAULT_FILE = "CHANGELOG.md"

# candidates for interesting lines, found by one C-speed scan instead of a Python loop over a
# 100,000-line file: ATX headings of level 1-2, code fences, setext underlines
_CANDIDATE = re.compile(
    r"^\ufeff? {0,3}(?:(?P<atx>#{1,2})(?=[ \t\r\n]|$)|(?P<fence>`{3,}|~{3,})"
    r"|(?P<setext>=+|-{2,})[ \t]*\r?$)",
    re.M,
)
_ATX_CLOSE = re.compile(r"(?:[ \t]+#+)?[ \t]*\r?$")
_LINK_REF = re.compile(r" {0,3}\[[^\]]+\]:[ \t]*\S")
_LOOKS_VERSION = re.compile(r"\[?[vV]?[0-9]")
_LOOKS_UNRELEASED = re.compile(r"\[?unreleased\b", re.I)
_VERSION_HEAD = re.compile(
    r"(?P<open>\[)?(?P<v>[vV])?(?P<ver>[0-9][0-9A-Za-z.+-]*)(?(open)\])"
    r"(?P<link>\([^()\s]*\))?(?P<rest>.*)"
)
_DATE = re.compile(r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9])")
_FLAG = re.compile(r"\[([A-Z][A-Z ]*[A-Z])\]")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Heading:
    line: int  # 1-based line of the heading's text
    start: int  # offset where the heading's first line starts
    end: int  # offset just after the heading (after its underline, for setext)
    text: str  # the heading's text, without markers
    text_end: int  # offset where the text ends (before an ATX closing sequence or blanks)
    syntax: Literal["atx", "setext"]
    level: int


@dataclass(frozen=True)
class Section:
    kind: Literal["release", "unreleased"]
    heading: Heading
    start: int
    end: int
    start_line: int
    end_line: int  # last line of the section, inclusive
    version: str | None = None
    date: str | None = None
    flags: tuple[str, ...] = ()
    bracketed: bool = False
    v_prefix: bool = False
    paren_date: bool = False

    @property
    def style(self) -> tuple[str, int, bool]:
        return (self.heading.syntax, self.heading.level, self.bracketed)

    @property
    def rolled_back(self) -> bool:
        return ROLLED_BACK in self.flags


@dataclass(frozen=True)
class Changelog:
    text: str
    file: str
    newline: str
    unreleased: Section | None
    releases: list[Section]
    links_start: int  # where the link references at the bottom begin (len(text) if none)

    def release(self, version: str) -> Section | None:
        want = Version.parse(version)
        return next((s for s in self.releases if Version.parse(s.version or "") == want), None)


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


def _line_bounds(text: str, start: int) -> tuple[int, int]:
    """(start, end) of the line beginning at ``start``; end excludes the line break."""
    end = text.find("\n", start)
    if end < 0:
        end = len(text)
    return start, end


def _blank(s: str) -> bool:
    return not s.strip(" \t\r\n\ufeff")


def _headings(text: str) -> list[Heading]:
    """Level 1-2 headings outside code fences, in order."""
    out: list[Heading] = []
    fence: str | None = None
    last_off, last_line = 0, 1
    bom = 1 if text.startswith("\ufeff") else 0
    for m in _CANDIDATE.finditer(text):
        start = m.start()
        last_line += text.count("\n", last_off, start)
        last_off = start
        # a heading on the first line starts after the byte-order mark, so that an entry
        # inserted above it lands after the mark too
        start = max(start, bom)
        _, end = _line_bounds(text, start)
        if m.group("fence"):
            marker = m.group("fence")
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence) \
                    and _blank(text[m.end():end]):
                fence = None
            continue
        if fence is not None:
            continue
        line_end = end + 1 if end < len(text) else end
        if m.group("atx"):
            body_start = m.end("atx")
            raw = text[body_start:end]
            close = _ATX_CLOSE.search(raw)
            content_end = body_start + (close.start() if close else len(raw))
            lead = len(raw) - len(raw.lstrip(" \t"))
            content = text[body_start + lead:content_end] if content_end > body_start else ""
            out.append(Heading(last_line, start, line_end, content,
                               max(content_end, body_start), "atx", len(m.group("atx"))))
            continue
        # a setext underline: the line above is the heading's text when it is a lone paragraph
        # line (blank or a heading above it); a thematic break after a blank line is not one
        if start == 0:
            continue
        prev_end = start - 1
        prev_start = text.rfind("\n", 0, prev_end) + 1
        prev = text[prev_start:prev_end].rstrip("\r")
        if _blank(prev) or re.match(r"\ufeff? {0,3}(?:[#>*+|]|-[ \t]|[0-9]+[.)][ \t])",
                                    prev) or out and out[-1].end > prev_start:
            continue
        if prev_start > 0:
            pp_end = prev_start - 1
            pp_start = text.rfind("\n", 0, pp_end) + 1
            pp = text[pp_start:pp_end]
            if not _blank(pp) and not (out and out[-1].end > pp_start):
                continue
        content = prev.strip(" \t\ufeff")
        content_end = prev_start + len(prev.rstrip(" \t"))
        level = 1 if m.group("setext")[0] == "=" else 2
        out.append(Heading(last_line - 1, max(prev_start, bom), line_end, content, content_end,
                           "setext", level))
    return out


def _links_start(text: str) -> int:
    """Start of the trailing block of link reference definitions (``[1.2.3]: https://…``)."""
    pos = len(text)
    first_link = len(text)
    while pos > 0:
        line_start = text.rfind("\n", 0, pos - 1) + 1 if pos > 0 else 0
        line = text[line_start:pos].rstrip("\r\n")
        if _LINK_REF.match(line):
            first_link = line_start
        elif not _blank(line):
            break
        pos = line_start
    return first_link


def parse_changelog(text: str, file: str = DEFAULT_FILE) -> Changelog:
    """The release sections of a changelog, or an InputError naming the line that confused it."""
    heads = _headings(text)
    links_start = _links_start(text)
    marks: list[tuple[Heading, dict]] = []
    for h in heads:
        if _LOOKS_UNRELEASED.match(h.text):
            marks.append((h, {"kind": "unreleased"}))
            continue
        if not _LOOKS_VERSION.match(h.text):
            continue
        m = _VERSION_HEAD.fullmatch(h.text)
        if m is None or not is_valid(m.group("ver")):
            raise _refuse(file, h.line, f"cannot read the version in the heading {h.text!r}: "
                          "not a SemVer 2.0 version (MAJOR.MINOR.PATCH)")
        rest = m.group("rest")
        date = _DATE.search(rest)
        marks.append((h, {
            "kind": "release",
            "version": m.group("ver"),
            "date": date.group(1) if date else None,
            "flags": tuple(_FLAG.findall(rest)),
            "bracketed": m.group("open") is not None,
            "v_prefix": m.group("v") is not None,
            "paren_date": rest.lstrip().startswith("("),
        }))

    sections: list[Section] = []
    for i, (h, info) in enumerate(marks):
        end = marks[i + 1][0].start if i + 1 < len(marks) else max(links_start, h.end)
        end_line = h.line + text.count("\n", h.start, max(end - 1, h.start))
        sections.append(Section(heading=h, start=h.start, end=end, start_line=h.line,
                                end_line=end_line, **info))

    unreleased: Section | None = None
    releases: list[Section] = []
    seen: dict[Version, Section] = {}
    for s in sections:
        if s.kind == "unreleased":
            if unreleased is not None:
                raise _refuse(file, s.start_line, "a second Unreleased section (the first is at "
                              f"line {unreleased.start_line})")
            if releases:
                raise _refuse(file, s.start_line, "the Unreleased section comes after release "
                              f"{releases[0].version} (line {releases[0].start_line}); it "
                              "belongs above the newest release")
            unreleased = s
            continue
        assert s.version is not None
        v = Version.parse(s.version)
        if releases:
            first = releases[0]
            if s.style != first.style:
                raise _refuse(file, s.start_line, f"the heading {s.heading.text!r} is written in "
                              f"another style than the release heading at line "
                              f"{first.start_line} ({first.heading.text!r}); use one style")
            if v in seen:
                raise _refuse(file, s.start_line, f"version {s.version} appears twice (also at "
                              f"line {seen[v].start_line})")
            if v > Version.parse(first.version or ""):
                raise _refuse(file, s.start_line, f"version {s.version} is newer than the first "
                              f"release {first.version} (line {first.start_line}); the file must "
                              "list the newest release first")
        seen[v] = s
        releases.append(s)
    return Changelog(text, file, newline_of(text), unreleased, releases, links_start)


# ---------------------------------------------------------------- writing an entry


def one_line(value: object) -> str:
    """Untrusted text as one line: a line break inside a rationale could otherwise forge a
    release heading that the next run would believe."""
    s = _LINE_BREAKS.sub(" ", str(value))
    s = _CONTROL.sub("", s)
    return re.sub(r"[ \t]{2,}", " ", s).strip()


def render_entry(entry: ReleaseEntry) -> str:
    """The entry in the design's format, LF line endings, ending with one line break."""
    from bot.core.render import render  # Jinja2 only when writing: `improve history` stays light

    def opt(v: str | None) -> str | None:
        return one_line(v) if v else None

    text = render(
        "changelog_entry.md.j2",
        version=one_line(entry.version),
        date=one_line(entry.date),
        proposal_id=opt(entry.proposal_id),
        pr=entry.pr,
        improvement=opt(entry.improvement),
        changes=[ChangeNote(one_line(c.path), one_line(c.what), one_line(c.why))
                 for c in entry.changes],
        metrics=[one_line(m) for m in entry.metrics],
        rollback_of=opt(entry.rollback_of),
        restores=opt(entry.restores),
        reason=opt(entry.reason),
        evidence=[one_line(e) for e in entry.evidence],
    )
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.rstrip("\n") + "\n"


def _heading_like(example: Section | None, version: str, date: str) -> list[str]:
    """The new entry's heading lines, in the style of the newest release already there."""
    if example is None:
        return [f"## [{version}] - {date}"]
    shown = ("v" if example.v_prefix else "") + version
    if example.bracketed:
        shown = f"[{shown}]"
    shown += f" ({date})" if example.paren_date else f" - {date}"
    h = example.heading
    if h.syntax == "setext":
        return [shown, ("=" if h.level == 1 else "-") * len(shown)]
    return ["#" * h.level + " " + shown]


@dataclass(frozen=True)
class Insertion:
    offset: int
    chunk: str


def plan_insertion(text: str | None, entry: ReleaseEntry, file: str = DEFAULT_FILE) -> Insertion:
    """Where the entry goes and exactly what is inserted there (the only change to the file)."""
    body = render_entry(entry)
    if text is None or _blank(text.replace("\n", "")):
        from bot.core.render import render

        nl = newline_of(text or "")
        chunk = render("changelog_header.md.j2") + body
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

    lines = body.split("\n")
    lines[:1] = _heading_like(newest, str(new), entry.date)
    body = "\n".join(lines)
    if newest is not None:
        offset = newest.start
    elif log.unreleased is not None:
        offset = log.unreleased.end
    else:
        offset = log.links_start
    nl = log.newline
    before = text[:offset]
    if _blank(before.replace("\n", "")):
        prefix = ""
    elif not before.endswith("\n"):
        prefix = "\n\n"
    else:
        last_line_start = before.rfind("\n", 0, len(before) - 1) + 1
        prefix = "" if _blank(before[last_line_start:]) else "\n"
    suffix = "\n" if offset < len(text) else ""
    return Insertion(offset, (prefix + body + suffix).replace("\n", nl))


def insert_entry(text: str | None, entry: ReleaseEntry, file: str = DEFAULT_FILE) -> str:
    """The changelog with the entry inserted above the newest release (below ``[Unreleased]``);
    a missing or empty file becomes a short header and the entry."""
    ins = plan_insertion(text, entry, file)
    base = text or ""
    return base[:ins.offset] + ins.chunk + base[ins.offset:]


def mark_rolled_back(text: str, version: str, file: str = DEFAULT_FILE) -> str:
    """The release's heading gains `` [ROLLED BACK]``; marking it twice changes nothing."""
    log = parse_changelog(text, file)
    section = log.release(version)
    if section is None:
        raise _refuse(file, None, f"has no entry for version {version} to mark rolled back")
    if section.rolled_back:
        return text
    at = section.heading.text_end
    return text[:at] + f" [{ROLLED_BACK}]" + text[at:]


# ---------------------------------------------------------------- reading the history back

_PROPOSAL = re.compile(r"^\*\*Proposal\*\*:[ \t]*(\S+)(?:[ \t]+\(#([0-9]+)\))?", re.M)
_PULL = re.compile(r"^\*\*Pull request\*\*:[ \t]*#([0-9]+)", re.M)
_IMPROVEMENT = re.compile(r"^\*\*Improvement\*\*:[ \t]*(.*?)[ \t]*\r?$", re.M)
_ROLLBACK_OF = re.compile(
    r"^\*\*Rollback of\*\*:[ \t]*([^\s(]+)(?:[ \t]+\(restores[ \t]+([^\s)]+)\))?", re.M
)
_REASON = re.compile(r"^\*\*Reason\*\*:[ \t]*(.*?)[ \t]*\r?$", re.M)
_METRICS = re.compile(r"^\*\*Metrics\*\*:[ \t]*\r?\n((?:[-*][ \t]+.*(?:\n|$))+)", re.M)


def parse_history(text: str, file: str = DEFAULT_FILE) -> list[HistoryEntry]:
    """Every release in the changelog, newest first, with what the bot's entries say about it
    (entries written by hand simply have fewer fields)."""
    log = parse_changelog(text, file)
    out: list[HistoryEntry] = []
    for s in log.releases:
        body = text[s.heading.end:s.end]
        prop = _PROPOSAL.search(body)
        pull = _PULL.search(body)
        imp = _IMPROVEMENT.search(body)
        rb = _ROLLBACK_OF.search(body)
        reason = _REASON.search(body)
        met = _METRICS.search(body)
        pr = prop.group(2) if prop and prop.group(2) else (pull.group(1) if pull else None)
        metrics = [ln.rstrip("\r")[2:].strip() for ln in met.group(1).splitlines()] if met else []
        out.append(HistoryEntry(
            version=s.version or "",
            line=s.start_line,
            date=s.date,
            proposal_id=prop.group(1) if prop else None,
            pr=int(pr) if pr else None,
            improvement=imp.group(1) if imp else None,
            metrics=metrics,
            rolled_back=s.rolled_back,
            rollback_of=rb.group(1) if rb else None,
            restores=rb.group(2) if rb else None,
            reason=reason.group(1) if reason else None,
            flags=s.flags,
        ))
    return out
