"""What a release's GitHub Release says (pure): its changelog entry as the notes, named by its
tag, as release-please publishes them; and, when a later release rolls it back, the same notes
marked ``[ROLLED BACK]`` as the changelog marks the entry's heading.

Text in, text out: the stage reads the release (or its absence) from the forge and writes what
these functions decide.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.release.changelog import ROLLED_BACK, parse_changelog

MARK = f"[{ROLLED_BACK}]"
ROLLED_BACK_BY = "Rolled back by {tag}."


@dataclass(frozen=True)
class Notes:
    name: str
    body: str


def entry_text(changelog: str, version: str, file: str) -> str | None:
    """The release's section of the changelog, from its heading to the next section, as the
    file has it (None when the changelog has no entry for ``version``)."""
    log = parse_changelog(changelog, file)
    section = log.release(version)
    if section is None:
        return None
    return changelog[section.heading.start:section.end].strip("\r\n") + "\n"


def release_notes(tag: str, changelog: str | None, version: str, file: str,
                  fallback: str) -> Notes:
    """The notes of a new release: its changelog entry (``fallback``, the entry the plan
    rendered, when the changelog cannot give it)."""
    text = entry_text(changelog, version, file) if changelog else None
    return Notes(name=tag, body=text or fallback.strip("\r\n") + "\n")


def rolled_back_notes(tag: str, name: str, body: str, marked_entry: str | None,
                      by_tag: str) -> Notes | None:
    """The notes of release ``tag`` once ``by_tag`` rolled it back, or None when they say so
    already (a re-run changes nothing). Notes the bot wrote (the entry, unmarked) become the
    marked entry; notes a person rewrote keep their words under a marked first line."""
    if MARK in name and MARK in body:
        return None
    new_name = name if MARK in name else f"{name or tag} {MARK}"
    if MARK in body:
        return Notes(new_name, body)
    line = ROLLED_BACK_BY.format(tag=by_tag)
    if marked_entry is not None and body.strip() == _unmarked(marked_entry).strip():
        return Notes(new_name, f"{marked_entry.rstrip()}\n\n{line}\n")
    return Notes(new_name, f"**{MARK}** {line}\n\n{body}")


def _unmarked(entry: str) -> str:
    """The entry as it was before its heading gained the mark."""
    first, sep, rest = entry.partition("\n")
    return first.replace(f" {MARK}", "", 1) + sep + rest
