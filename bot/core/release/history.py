"""The release history: what ``improve history`` shows, joined from CHANGELOG.md, the tags and
the release records of the data branch (plain dicts, however they were fetched)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.release.changelog import DEFAULT_FILE, parse_history
from bot.core.release.versioning import Version, is_valid, parse_tag


@dataclass(frozen=True)
class TagRef:
    """A tag as ``git for-each-ref`` reports it; ``pr``/``release`` come from the trailers of the
    tag message or of the tagged commit (a release commit's ``Improve-PR``/``Improve-Release``)."""

    name: str
    commit: str
    date: str | None = None
    pr: int | None = None
    release: str | None = None


@dataclass
class HistoryRow:
    version: str
    date: str | None = None
    tag: str | None = None
    commit: str | None = None
    pr: int | None = None
    proposal_id: str | None = None
    improvement: str | None = None
    metrics: list[str] = field(default_factory=list)
    rolled_back: bool = False
    rollback_of: str | None = None
    restores: str | None = None
    reason: str | None = None
    in_changelog: bool = False
    monitor: str | None = None  # the record's monitor state: watching, kept, rolled back


def _record_rows(records: Iterable[Mapping[str, Any]]) -> dict[Version, Mapping[str, Any]]:
    out: dict[Version, Mapping[str, Any]] = {}
    for rec in records:
        v = rec.get("version")
        if isinstance(v, str) and is_valid(v):
            out[Version.parse(v)] = rec
    return out


def _fill_from_record(row: HistoryRow, rec: Mapping[str, Any]) -> None:
    """What a release record adds to a release's row: what the changelog and the tag did not
    say, and the monitor's state (the record alone knows it)."""
    proposal = rec.get("proposal") or {}
    rollback = rec.get("rollback") or {}
    monitor = rec.get("monitor") or {}
    row.date = row.date or rec.get("date")
    row.pr = row.pr or rec.get("pr")
    row.proposal_id = row.proposal_id or proposal.get("id") or rollback.get("proposal_id")
    row.improvement = row.improvement or (rec.get("comparison") or {}).get("improvement")
    row.metrics = row.metrics or list(rec.get("metrics") or [])
    row.rollback_of = row.rollback_of or rollback.get("version")
    row.restores = row.restores or rollback.get("restores")
    row.reason = row.reason or rollback.get("reason")
    row.monitor = monitor.get("state")
    row.rolled_back = row.rolled_back or monitor.get("state") == "rolled back"


def build_history(
    changelog: str | None,
    tags: Sequence[TagRef] | Callable[[], Sequence[TagRef]],
    records: Sequence[Mapping[str, Any]] = (),
    *,
    tag_prefix: str = "v",
    file: str = DEFAULT_FILE,
    limit: int | None = None,
) -> list[HistoryRow]:
    """Every known release, newest first by SemVer precedence; the changelog's words win, the
    records fill what it lacks, the tags say what was tagged and when. ``tags`` may be a function
    that returns them, called once the changelog is parsed (so git can run meanwhile)."""
    rows: dict[Version, HistoryRow] = {}
    entries = parse_history(changelog, file) if changelog else []
    if callable(tags):
        tags = tags()
    for h in entries:
        rows[Version.parse(h.version)] = HistoryRow(
            version=h.version, date=h.date, pr=h.pr, proposal_id=h.proposal_id,
            improvement=h.improvement, metrics=list(h.metrics), rolled_back=h.rolled_back,
            rollback_of=h.rollback_of, restores=h.restores, reason=h.reason, in_changelog=True,
        )
    for t in tags:
        v = parse_tag(t.name, tag_prefix)
        if v is None:
            continue
        row = rows.setdefault(v, HistoryRow(version=str(v)))
        row.tag, row.commit = t.name, t.commit
        row.date = row.date or t.date
        row.pr = row.pr or t.pr
    for v, rec in _record_rows(records).items():
        _fill_from_record(rows.setdefault(v, HistoryRow(version=str(v))), rec)
    # a release some later release rolled back is marked even when its header was not
    for row in list(rows.values()):
        if row.rollback_of and is_valid(row.rollback_of):
            target = rows.get(Version.parse(row.rollback_of))
            if target is not None:
                target.rolled_back = True
    ordered = [rows[v] for v in sorted(rows, reverse=True)]
    return ordered[:limit] if limit is not None else ordered


def history_json(rows: Sequence[HistoryRow]) -> str:
    # the rows' own dicts: dataclasses.asdict deep-copies and is 10x slower on 10,000 rows
    return json.dumps({"releases": [vars(r) for r in rows]}, ensure_ascii=False)


def _notes(row: HistoryRow) -> str:
    notes: list[str] = []
    if row.rolled_back:
        notes.append("ROLLED BACK")
    if row.rollback_of:
        back = f"rollback of {row.rollback_of}"
        if row.restores:
            back += f" (restores {row.restores})"
        if row.reason:
            back += f": {row.reason}"
        notes.append(back)
    if row.improvement:
        notes.append(row.improvement)
    if not row.tag:
        notes.append("untagged")
    if not row.in_changelog:
        notes.append("not in the changelog")
    if row.monitor == "watching":
        notes.append("monitored")
    return "; ".join(notes)


HEADER = ("VERSION", "DATE", "PR", "PROPOSAL", "NOTES")
EMPTY = "no releases yet"


def format_history(rows: Sequence[HistoryRow]) -> str:
    """A plain table, one release per line, its metrics indented below it."""
    if not rows:
        return EMPTY + "\n"
    table = [HEADER] + [
        (r.version, r.date or "-", f"#{r.pr}" if r.pr else "-", r.proposal_id or "-", _notes(r))
        for r in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    out: list[str] = []
    for i, line in enumerate(table):
        cells = [c.ljust(w) for c, w in zip(line[:4], widths, strict=True)] + [line[4]]
        out.append("  ".join(cells).rstrip())
        if i > 0:
            out.extend("    " + m for m in rows[i - 1].metrics)
    return "\n".join(out) + "\n"
