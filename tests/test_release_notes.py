"""The notes of a release's GitHub Release (bot/core/release/notes.py): the changelog entry, and
the mark a rollback adds, decided as text in, text out."""

from __future__ import annotations

import pytest

from bot.core.release.changelog import mark_rolled_back
from bot.core.release.notes import Notes, entry_text, release_notes, rolled_back_notes

LOG = """# Changelog

## [Unreleased]

## [1.4.0] - 2026-11-21

**Proposal**: prop-a (#42)

- accuracy: 0.842 -> 0.873 (+3.7%)

## [1.3.2] - 2026-11-01

Earlier.

[1.4.0]: https://example.com/1.4.0
"""

ENTRY = """## [1.4.0] - 2026-11-21

**Proposal**: prop-a (#42)

- accuracy: 0.842 -> 0.873 (+3.7%)
"""


def test_the_entry_is_its_section_from_heading_to_the_next() -> None:
    assert entry_text(LOG, "1.4.0", "CHANGELOG.md") == ENTRY
    assert entry_text(LOG, "1.3.2", "CHANGELOG.md") == "## [1.3.2] - 2026-11-01\n\nEarlier.\n"
    assert entry_text(LOG, "9.9.9", "CHANGELOG.md") is None


@pytest.mark.parametrize(("changelog", "want"), [
    (LOG, Notes("v1.4.0", ENTRY)),
    # no changelog to read (or no entry in it): the entry the plan rendered
    (None, Notes("v1.4.0", "rendered\n")),
    ("# Changelog\n", Notes("v1.4.0", "rendered\n")),
])
def test_a_new_release_is_named_by_its_tag_with_its_entry(changelog: str | None,
                                                          want: Notes) -> None:
    assert release_notes("v1.4.0", changelog, "1.4.0", "CHANGELOG.md", "\nrendered\n") == want


MARKED = entry_text(mark_rolled_back(LOG, "1.4.0"), "1.4.0", "CHANGELOG.md")


@pytest.mark.parametrize(("name", "body", "want"), [
    # the bot's own notes become the marked entry, saying which release rolled it back
    ("v1.4.0", ENTRY, Notes("v1.4.0 [ROLLED BACK]",
                            ENTRY.replace("2026-11-21", "2026-11-21 [ROLLED BACK]", 1)
                            + "\nRolled back by v1.4.1.\n")),
    # notes a person rewrote keep their words, under a marked line
    ("Big one", "Our words.", Notes("Big one [ROLLED BACK]",
                                    "**[ROLLED BACK]** Rolled back by v1.4.1.\n\nOur words.")),
    # an unnamed release takes its tag's name
    ("", "", Notes("v1.4.0 [ROLLED BACK]", "**[ROLLED BACK]** Rolled back by v1.4.1.\n\n")),
    # marked already: nothing to change (a re-run)
    ("v1.4.0 [ROLLED BACK]", "## [1.4.0] [ROLLED BACK]", None),
])
def test_a_rolled_back_release_gains_the_mark_once(name: str, body: str,
                                                   want: Notes | None) -> None:
    assert rolled_back_notes("v1.4.0", name, body, MARKED, "v1.4.1") == want
    if want is not None:
        assert rolled_back_notes("v1.4.0", want.name, want.body, MARKED, "v1.4.1") is None
