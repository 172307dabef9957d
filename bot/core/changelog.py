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
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from bot.core.versioning import SEMVER_PATTERN, Version, precedence_key
from bot.errors import InputError, Problem

ROLLED_BACK = "ROLLED BACK"
DEFAULT_FILE = "CHANGELOG.md"

# candidates for interesting lines, found by one C-speed scan instead of a Python loop over a
# 100,000-line file: ATX headings of level 1-2, code fences, setext underlines
# the scan runs over "\n" + text: a pattern starting with a literal lets the regex engine jump
# from line break to line break (2-3x faster than ^ with re.M on a 5 MB file); an ATX heading's
# text is captured in the same pass (its closing #s and trailing blanks are cut off after)
_CANDIDATE = re.compile(
    r"\n\ufeff? {0,3}(?:(?P<atx>#{1,2})(?:[ \t]+(?P<text>[^\r\n]*))?\r?$"
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
    + SEMVER_PATTERN + r")(?![0-9A-Za-z.+-])(?(open)\])(?P<link>\([^()\s]*\))?(?P<rest>.*)"
)
_DATE = re.compile(r"(?<![0-9])([0-9]{4}-[0-9]{2}-[0-9]{2})(?![0-9])")
_FLAG = re.compile(r"\[([A-Z][A-Z ]*[A-Z])\]")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


# Heading and Section are NamedTuples: immutable like the dataclasses around them, and cheap to
# build 10,000 of (a 5 MB changelog is parsed within the 100 ms budget)
class Heading(NamedTuple):
    line: int  # 1-based line of the heading's text
    start: int  # offset where the heading's first line starts
    end: int  # offset just after the heading (after its underline, for setext)
    text: str  # the heading's text, without markers
    text_end: int  # offset where the text ends (before an ATX closing sequence or blanks)
    syntax: Literal["atx", "setext"]
    level: int


class Section(NamedTuple):
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
    # precedence key (bot.core.versioning.precedence_key) -> section
    by_key: dict[tuple, Section] = field(default_factory=dict, repr=False)

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


_NOT_BLANK = re.compile(r"[^ \t\r\n\ufeff]")


def _blank(s: str) -> bool:
    # a search stops at the first visible character: no copy of a 5 MB text
    return _NOT_BLANK.search(s) is None


def _without_closing(title: str) -> str:
    """An ATX heading's text without trailing blanks and its optional closing sequence of #s
    (which needs a blank before it: ``## C#`` keeps its #)."""
    t = title.rstrip(" \t")
    bare = t.rstrip("#")
    if len(bare) < len(t) and (not bare or bare[-1] in " \t"):
        t = bare.rstrip(" \t")
    return t


def _headings(text: str) -> list[Heading]:
    """Level 1-2 headings outside code fences, in order."""
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
            end = m.end() - 1  # the line break after the heading, in text's offsets
            title = m.group("text") or ""
            title_end = m.end("text") - 1 if title else m.end("atx") - 1
            if title and title[-1] in " \t#":
                cut = _without_closing(title)
                title_end -= len(title) - len(cut)
                title = cut
            out.append(Heading(last_line, start, end + 1 if end < n else end, title,
                               title_end, "atx", len(atx)))
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
        # a setext underline: the line above is the heading's text when it is a lone paragraph
        # line (blank or a heading above it); a thematic break after a blank line is not one
        if start <= bom:
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
        out.append(Heading(last_line - 1, max(prev_start, bom), end + 1 if end < n else end,
                           content, content_end, "setext", level))
    return out


def _links_start(text: str, after: int) -> int:
    """Start of the trailing block of link reference definitions (``[1.2.3]: https://…``) that
    follows offset ``after`` (the last heading), or len(text) when there is none."""
    last_content = after
    for m in _CONTENT_LINE.finditer(text, after):
        last_content = m.end()
    link = _LINK_LINE.search(text, last_content)
    return link.start() if link else len(text)


def parse_changelog(text: str, file: str = DEFAULT_FILE) -> Changelog:
    """The release sections of a changelog, or an InputError naming the line that confused it."""
    heads = _headings(text)
    links_start = _links_start(text, heads[-1].end if heads else 0)
    unreleased: Section | None = None
    releases: list[Section] = []
    seen: dict[tuple, Section] = {}
    first: Section | None = None
    first_key: tuple = ()
    marks = []
    for h in heads:
        m = _HEAD.match(h.text)
        if m is None:
            if _LOOKS_VERSION.match(h.text):
                raise _refuse(file, h.line, f"cannot read the version in the heading "
                              f"{h.text!r}: not a SemVer 2.0 version (MAJOR.MINOR.PATCH)")
            continue
        marks.append((h, m))
    line, line_off = 1, 0
    first_style: tuple = ()
    for i, (h, m) in enumerate(marks):
        end = marks[i + 1][0].start if i + 1 < len(marks) else max(links_start, h.end)
        # the last line of the section, counted incrementally (one pass over the text)
        last = end - 1 if end > h.start else h.start
        line += text.count("\n", line_off, last)
        line_off = last
        unrel, ver, major, minor, patch, pre, opened, v_prefix, rest = m.group(
            "unreleased", "ver", "major", "minor", "patch", "pre", "open", "v", "rest")
        if unrel:
            s = Section("unreleased", h, h.start, end, h.line, line)
            if unreleased is not None:
                raise _refuse(file, s.start_line, "a second Unreleased section (the first is at "
                              f"line {unreleased.start_line})")
            if first is not None:
                raise _refuse(file, s.start_line, "the Unreleased section comes after release "
                              f"{first.version} (line {first.start_line}); it "
                              "belongs above the newest release")
            unreleased = s
            continue
        date = _DATE.search(rest) if rest else None
        key = (int(major), int(minor), int(patch), (1,)) if pre is None else precedence_key(
            int(major), int(minor), int(patch), tuple(pre.split(".")))
        s = Section("release", h, h.start, end, h.line, line, ver,
                    date.group(1) if date else None,
                    tuple(_FLAG.findall(rest)) if "[" in rest else (),
                    opened is not None, v_prefix is not None,
                    rest.lstrip().startswith("(") if rest else False)
        if first is None:
            first, first_key = s, key
            first_style = (h.syntax, h.level, opened is not None)
        else:
            if (h.syntax, h.level, opened is not None) != first_style:
                raise _refuse(file, s.start_line, f"the heading {h.text!r} is written in "
                              f"another style than the release heading at line "
                              f"{first.start_line} ({first.heading.text!r}); use one style")
            if key in seen:
                raise _refuse(file, s.start_line, f"version {s.version} appears twice (also at "
                              f"line {seen[key].start_line})")
            if key > first_key:
                raise _refuse(file, s.start_line, f"version {s.version} is newer than the first "
                              f"release {first.version} (line {first.start_line}); the file must "
                              "list the newest release first")
        seen[key] = s
        releases.append(s)
    return Changelog(text, file, newline_of(text), unreleased, releases, links_start, seen)


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
    if text is None or _blank(text):
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
    if _blank(before):
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

# the bot's own field lines, found in one pass over the whole text (a literal "\n**" prefix
# keeps it fast) and assigned to their sections in order
_FIELD = re.compile(
    r"\n\*\*(?P<key>Proposal|Pull request|Improvement|Rollback of|Reason|Metrics)\*\*:"
    r"[ \t]*(?P<value>[^\r\n]*)"  # trailing blanks are cut in Python: a lazy match is 2x slower
)
_PROPOSAL = re.compile(r"(\S+)(?:[ \t]+\(#([0-9]+)\))?")
_PULL = re.compile(r"#([0-9]+)")
_ROLLBACK_OF = re.compile(r"([^\s(]+)(?:[ \t]+\(restores[ \t]+([^\s)]+)\))?")
_LIST = re.compile(r"(?:\r?\n[-*][ \t]+[^\r\n]*)+")


def parse_history(text: str, file: str = DEFAULT_FILE) -> list[HistoryEntry]:
    """Every release in the changelog, newest first, with what the bot's entries say about it
    (entries written by hand simply have fewer fields)."""
    log = parse_changelog(text, file)
    releases = log.releases
    fields: list[dict[str, tuple[str, int]]] = [{} for _ in releases]
    starts = [r.heading.end for r in releases]
    ends = [r.end for r in releases]
    for m in _FIELD.finditer("\n" + text):
        pos = m.start()  # the line's offset in text
        i = bisect_right(starts, pos) - 1
        if i < 0 or pos >= ends[i]:
            continue  # above the first release, or in a section that is not a release
        key, value = m.group("key", "value")
        # the first of each field in a section wins; m.end() - 1 is where the line ends in text
        if key not in fields[i]:
            fields[i][key] = (value.rstrip(" \t"), m.end() - 1)
    out: list[HistoryEntry] = []
    for s, f in zip(releases, fields, strict=True):
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
            lm = _LIST.match(text, f["Metrics"][1])
            if lm:
                metrics = [ln.strip()[2:].strip() for ln in lm.group(0).splitlines() if ln.strip()]
        out.append(HistoryEntry(
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
        ))
    return out
