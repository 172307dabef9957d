"""CHANGELOG.md: insertion over many real-world shapes, byte for byte; refusals naming the line;
rollback marks; reading the history back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.release.changelog import (
    ChangeNote,
    Insertion,
    ReleaseEntry,
    insert_entry,
    mark_rolled_back,
    next_compare_url,
    one_line,
    parse_changelog,
    parse_history,
    plan_insertion,
    render_entry,
)
from bot.errors import InputError
from tests.helpers.changelog import only_entry_and_links, removed_one_run

ENTRY = ReleaseEntry(
    version="1.4.0",
    date="2026-11-21",
    proposal_id="prop-20261121-router-threshold",
    pr=42,
    improvement="accuracy +0.031 [+0.012, +0.050], no regression",
    changes=(ChangeNote("config/router.yaml", "routing.threshold 0.55 -> 0.62",
                        "low-confidence routes caused most misroutes"),),
    metrics=("accuracy: 0.842 -> 0.873 (+3.7%)", "latency_ms: 41.0 -> 40.2 (-2.0%)"),
)

# DESIGN.md, "Releases", with a hard line break (a trailing backslash) after each field line but
# the last, so that GitHub shows them as lines rather than one paragraph
DESIGN_ENTRY = """\
## [1.4.0] - 2026-11-21

**Proposal**: prop-20261121-router-threshold (#42)\\
**Improvement**: accuracy +0.031 [+0.012, +0.050], no regression

**Changes**:
- config/router.yaml: routing.threshold 0.55 -> 0.62 — low-confidence routes caused most misroutes

**Metrics**:
- accuracy: 0.842 -> 0.873 (+3.7%)
- latency_ms: 41.0 -> 40.2 (-2.0%)
"""


def test_render_entry_is_the_design_format() -> None:
    assert render_entry(ENTRY) == DESIGN_ENTRY


def test_render_rollback_entry() -> None:
    entry = ReleaseEntry(version="1.4.1", date="2026-11-25",
                         proposal_id="prop-20261121-router-threshold", pr=57,
                         rollback_of="1.4.0", restores="1.3.2",
                         reason="accuracy fell past the rollback threshold",
                         evidence=("accuracy: 0.873 -> 0.768 (-12.0%), 2 runs",))
    assert render_entry(entry) == """\
## [1.4.1] - 2026-11-25

**Rollback of**: 1.4.0 (restores 1.3.2)\\
**Proposal**: prop-20261121-router-threshold (#57)\\
**Reason**: accuracy fell past the rollback threshold

**Evidence**:
- accuracy: 0.873 -> 0.768 (-12.0%), 2 runs
"""


def test_untrusted_text_cannot_forge_a_heading() -> None:
    entry = ReleaseEntry(version="1.0.1", date="2026-01-02", pr=3,
                         changes=(ChangeNote("a.md", "", "why\n\n## [9.9.9] - 2030-01-01\r\nx"),))
    text = insert_entry("# Changelog\n", entry)
    assert [h.version for h in parse_history(text)] == ["1.0.1"]
    assert "- a.md — why ## [9.9.9] - 2030-01-01 x\n" in text
    assert one_line("a\u2028b\x85c\x00d") == "a b cd"


KEEP_A_CHANGELOG = """\
# Changelog
All notable changes to this project will be documented in this file.

The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),
and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).

## [Unreleased]

### Added
- v1.1 Brazilian Portuguese translation.<trailing spaces>

## [1.3.2] - 2026-10-01

### Fixed
- Something.

## [1.3.1] - 2026-09-01 [YANKED]

### Changed
- ## not a heading, a list item

## [0.0.1] - 2014-05-31

### Added
- This CHANGELOG file.

[unreleased]: https://github.com/olivierlacan/keep-a-changelog/compare/v1.3.2...HEAD
[1.3.2]: https://github.com/olivierlacan/keep-a-changelog/compare/v1.3.1...v1.3.2
[1.3.1]: https://github.com/olivierlacan/keep-a-changelog/compare/v0.0.1...v1.3.1
[0.0.1]: https://github.com/olivierlacan/keep-a-changelog/releases/tag/v0.0.1
""".replace("<trailing spaces>", "   ")

RELEASE_PLEASE = """\
# Changelog

## [1.3.2](https://github.com/o/r/compare/v1.3.1...v1.3.2) (2026-10-01)


### Bug Fixes

* **router:** handle empty input ([#12](https://github.com/o/r/issues/12)) ([abc1234](https://github.com/o/r/commit/abc1234))

## [1.3.1](https://github.com/o/r/compare/v1.3.0...v1.3.1) (2026-09-01)
"""

PAREN_DATE = """\
Changelog
=========

1.3.2 (2026-10-01)
------------------

- Fixed a thing.

1.3.1 (2026-09-01)
------------------

- First.
"""

SHAPES: dict[str, tuple[str | None, str]] = {
    # name: (original text, the new entry's first line)
    "keep-a-changelog": (KEEP_A_CHANGELOG, "## [1.4.0] - 2026-11-21"),
    "keep-a-changelog-crlf": (KEEP_A_CHANGELOG.replace("\n", "\r\n"), "## [1.4.0] - 2026-11-21"),
    "keep-a-changelog-bom": ("\ufeff" + KEEP_A_CHANGELOG, "## [1.4.0] - 2026-11-21"),
    "bom-crlf-heading-first": ("\ufeff## [1.3.2] - 2026-10-01\r\n\r\n- x\r\n",
                               "## [1.4.0] - 2026-11-21"),
    "release-please": (RELEASE_PLEASE,
                       "## [1.4.0](https://github.com/o/r/compare/v1.3.2...v1.4.0) (2026-11-21)"),
    "paren-date": ("# Changelog\n\n## 1.3.2 (2026-10-01)\n\n- x\n\n## 1.3.1 (2026-09-01)\n",
                   "## 1.4.0 (2026-11-21)"),
    "v-prefix": ("# History\n\n## v1.3.2\n\n* x\n\n## v1.3.1\n\n* y\n", "## v1.4.0 - 2026-11-21"),
    "level-one": ("# 1.3.2 / 2026-10-01\n\n- x\n\n# 1.3.1\n", "# 1.4.0 - 2026-11-21"),
    "setext": (PAREN_DATE, "1.4.0 (2026-11-21)"),
    "setext-crlf": (PAREN_DATE.replace("\n", "\r\n"), "1.4.0 (2026-11-21)"),
    "setext-bom-crlf-first-line": ("\ufeff1.3.2 (2026-10-01)\r\n------------------\r\n\r\n"
                                   "- x\r\n", "1.4.0 (2026-11-21)"),
    "empty": ("", "## [1.4.0] - 2026-11-21"),
    "missing": (None, "## [1.4.0] - 2026-11-21"),
    "only-blank-lines": ("\n\n", "## [1.4.0] - 2026-11-21"),
    "bom-only": ("\ufeff", "## [1.4.0] - 2026-11-21"),
    "prose-only": ("# Changelog\n\nWe write down what changed.\nSee the docs.",
                   "## [1.4.0] - 2026-11-21"),
    "prose-first-section": ("Release notes for the router.\n\nOlder notes are in docs/.\n\n"
                            "## [1.3.2] - 2026-10-01\n- x\n", "## [1.4.0] - 2026-11-21"),
    "heading-glued-to-prose": ("# Changelog\nIntro.\n## [1.3.2] - 2026-10-01\n- x\n",
                               "## [1.4.0] - 2026-11-21"),
    "unreleased-only-with-links": ("# Changelog\n\n## [Unreleased]\n\n- wip   \n\n"
                                   "[Unreleased]: https://x/compare/v0.1.0...HEAD\n",
                                   "## [1.4.0] - 2026-11-21"),
    "unreleased-no-final-newline": ("## Unreleased\n- wip", "## [1.4.0] - 2026-11-21"),
    "trailing-spaces-and-tabs": ("# Changelog  \n\t\n## [1.3.2] - 2026-10-01   \n- x \t\n",
                                 "## [1.4.0] - 2026-11-21"),
    "code-fence-hides-headings": ("# Changelog\n\n```md\n## [9.9.9] - 2030-01-01\n```\n\n"
                                  "## [1.3.2] - 2026-10-01\n", "## [1.4.0] - 2026-11-21"),
    "closing-hashes": ("## 1.3.2 ##\n\n- x\n", "## 1.4.0 - 2026-11-21"),
    "prerelease-newest": ("## [1.4.0-rc.1] - 2026-11-01\n", "## [1.4.0] - 2026-11-21"),
    "thematic-breaks": ("# Changelog\n\n---\n\n## [1.3.2] - 2026-10-01\n\n---\n\n"
                        "## [1.3.1] - 2026-09-01\n", "## [1.4.0] - 2026-11-21"),
}


def links_are_the_new_definition_and_unreleased(original: str, ins: Insertion) -> bool:
    """True when the planned link edits are at most the new version's link definition (one whole
    line) and the ``[unreleased]`` link moved from the newest release to the new one."""
    for e in ins.links:
        line_start = original.rfind("\n", 0, e.start) + 1
        if e.start == e.end:
            if e.start != line_start or not re.fullmatch(r"\[v?1\.4\.0\]: \S+\r?\n", e.new):
                return False
        elif not (original[line_start:].lower().startswith("[unreleased]:")
                  and original[e.start:e.end].replace("1.3.2", "1.4.0") == e.new):
            return False
    return True


@pytest.mark.parametrize("name", list(SHAPES))
def test_insert_is_one_contiguous_addition(name: str) -> None:
    original, first_line = SHAPES[name]
    new = insert_entry(original, ENTRY)
    base = original or ""
    ins = plan_insertion(original, ENTRY)
    # the file minus the new entry (and its link definition) is the original, byte for byte
    assert links_are_the_new_definition_and_unreleased(base, ins)
    assert only_entry_and_links(new, base, "1.3.2", "1.4.0")
    nl = "\r\n" if "\r\n" in base else "\n"
    if nl == "\r\n":
        assert "\n" not in ins.chunk.replace("\r\n", "")
    # the entry's own lines, in the file's line endings, under the style-matched heading
    body = DESIGN_ENTRY.split("\n", 1)[1].replace("\n", nl)
    assert (first_line + nl) in ins.chunk and body in ins.chunk
    if base.startswith("\ufeff"):
        assert new.startswith("\ufeff") and new.count("\ufeff") == 1
    # what the bot wrote it reads back as the newest release
    history = parse_history(new)
    assert history[0].version == "1.4.0" and history[0].pr == 42
    assert history[0].date == "2026-11-21"
    assert history[0].metrics == list(ENTRY.metrics)
    # and the file stays one the bot can insert into again
    again = insert_entry(new, ReleaseEntry(version="1.5.0", date="2026-11-22", pr=43))
    assert only_entry_and_links(again, new, "1.4.0", "1.5.0")
    assert [h.version for h in parse_history(again)][:2] == ["1.5.0", "1.4.0"]


def test_placement_keep_a_changelog() -> None:
    new = insert_entry(KEEP_A_CHANGELOG, ENTRY)
    # below [Unreleased] and its body, above the newest release, blank lines around it
    assert "- v1.1 Brazilian Portuguese translation.   \n\n" + DESIGN_ENTRY + "\n## [1.3.2]" \
        in new
    assert new.endswith("[0.0.1]: https://github.com/olivierlacan/keep-a-changelog/releases/"
                        "tag/v0.0.1\n")


def test_placement_unreleased_only_goes_above_link_references() -> None:
    original = SHAPES["unreleased-only-with-links"][0]
    new = insert_entry(original, ENTRY)
    assert new == original.replace("[Unreleased]:", DESIGN_ENTRY + "\n[Unreleased]:")


def test_placement_without_final_newline() -> None:
    new = insert_entry("## Unreleased\n- wip", ENTRY)
    assert new == "## Unreleased\n- wip\n\n" + DESIGN_ENTRY


def test_missing_file_gets_a_short_header() -> None:
    new = insert_entry(None, ENTRY)
    assert new.startswith("# Changelog\n\n") and new.endswith("\n\n" + DESIGN_ENTRY)
    assert parse_changelog(new).releases[0].version == "1.4.0"


@pytest.mark.parametrize(("url", "old", "expected"), [
    ("https://github.com/o/r/compare/v1.3.1...v1.3.2", "1.3.2",
     "https://github.com/o/r/compare/v1.3.2...v1.4.0"),
    ("https://github.com/o/r/compare/pkg-v1.3.1..pkg-v1.3.2", "1.3.2",
     "https://github.com/o/r/compare/pkg-v1.3.2..pkg-v1.4.0"),
    ("https://github.com/o/r/releases/tag/v1.3.2", "1.3.2",
     "https://github.com/o/r/compare/v1.3.2...v1.4.0"),
    ("https://gitlab.com/o/r/-/tags/1.3.2", "1.3.2", "https://gitlab.com/o/r/-/compare/1.3.2...1.4.0"),
    ("https://example.com/1.3.2", "1.3.2", "https://example.com/1.4.0"),
    ("https://github.com/o/r/compare/v11.3.2...v21.3.2", "1.3.2", None),
    ("https://example.com/changes", "1.3.2", None),
])
def test_next_compare_url(url: str, old: str, expected: str | None) -> None:
    assert next_compare_url(url, old, "1.4.0") == expected


def test_setext_entry_keeps_underline_length() -> None:
    new = insert_entry(PAREN_DATE, ENTRY)
    assert "1.4.0 (2026-11-21)\n------------------\n\n**Proposal**" in new


def test_project_changelog_is_readable() -> None:
    # the project's own CHANGELOG.md is in the format the bot writes: it must never be refused
    path = Path(__file__).resolve().parent.parent / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8")
    log = parse_changelog(text)
    assert log.unreleased is not None
    new = insert_entry(text, ENTRY)
    assert removed_one_run(new, text)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("## [1.3.2] - 2026-10-01\n\n1.3.1\n-----\n", 3, "another style"),
        ("# Changelog\n\n## [1.3.2] - 2026-10-01\n\n## 1.3.1 - 2026-09-01\n", 5,
         "another style"),
        ("# Changelog\n\n## 1.3.2\n\n# 1.3.1\n", 5, "another style"),
        ("# Changelog\n\n## [1.3] - 2026-10-01\n", 3, "cannot read the version"),
        ("## v1.3.2.1\n", 1, "cannot read the version"),
        ("## 2026 roadmap\n", 1, "cannot read the version"),
        ("## [1.3.1]\n\n## [1.3.2]\n", 3, "newer than the first release 1.3.1"),
        ("## [1.3.2]\n\n## [1.3.1]\n\n## [1.3.2]\n", 5, "appears twice (also at line 1)"),
        ("## [Unreleased]\n\n## [Unreleased]\n", 3, "a second Unreleased"),
        ("## [1.3.2]\n\n## [Unreleased]\n", 3, "comes after release 1.3.2"),
        ("# Changelog\n\n## [1.4.0] - 2026-11-01\n", 3, "1.4.0 is already in the changelog"),
        ("# Changelog\n\n## [1.4.0+build.1] - 2026-11-01\n", 3, "already in the changelog"),
        ("# Changelog\n\n## [2.0.0] - 2026-11-01\n", 3, "newest release in the changelog is 2.0.0"),
    ],
)
def test_refusals_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as err:
        insert_entry(text, ENTRY)
    problem = err.value.problems[0]
    assert problem.file == "CHANGELOG.md"
    assert problem.line == line
    assert message in problem.message


def test_refusal_names_the_given_file() -> None:
    with pytest.raises(InputError, match=r"^docs/HISTORY.md:1: "):
        insert_entry("## [1.3]\n", ENTRY, file="docs/HISTORY.md")


def test_sections_and_line_spans() -> None:
    log = parse_changelog(KEEP_A_CHANGELOG)
    assert log.unreleased is not None and log.unreleased.start_line == 7
    assert [(s.version, s.start_line, s.end_line) for s in log.releases] == [
        ("1.3.2", 12, 16), ("1.3.1", 17, 21), ("0.0.1", 22, 26)]
    assert log.releases[1].flags == ("YANKED",)
    assert KEEP_A_CHANGELOG[log.links_start:].startswith("[unreleased]: ")
    crlf = parse_changelog(KEEP_A_CHANGELOG.replace("\n", "\r\n"))
    assert [s.start_line for s in crlf.releases] == [12, 17, 22] and crlf.newline == "\r\n"
    setext = parse_changelog(PAREN_DATE)
    assert [(s.version, s.date, s.heading.syntax, s.start_line) for s in setext.releases] == [
        ("1.3.2", "2026-10-01", "setext", 4), ("1.3.1", "2026-09-01", "setext", 9)]


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        ("## [1.4.0] - 2026-11-21\n\n- x\n", "1.4.0", "## [1.4.0] - 2026-11-21 [ROLLED BACK]\n"),
        ("## [1.4.0] - 2026-11-21  \r\n", "1.4.0", "## [1.4.0] - 2026-11-21 [ROLLED BACK]  \r\n"),
        ("## 1.4.0 ##\n", "1.4.0", "## 1.4.0 [ROLLED BACK] ##\n"),
        ("1.4.0 (2026-11-21)\n------------------\n", "1.4.0",
         "1.4.0 (2026-11-21) [ROLLED BACK]\n------------------\n"),
        ("## [1.4.1] - x\n\n## [1.4.0] - 2026-11-21", "1.4.0",
         "## [1.4.1] - x\n\n## [1.4.0] - 2026-11-21 [ROLLED BACK]"),
        # vite's patch headings: the mark goes inside <small>
        ("## <small>[1.4.0](https://x/compare/v1.3.9...v1.4.0) (2026-11-21)</small>\n", "1.4.0",
         "## <small>[1.4.0](https://x/compare/v1.3.9...v1.4.0) (2026-11-21) [ROLLED BACK]"
         "</small>\n"),
    ],
)
def test_mark_rolled_back(text: str, version: str, expected: str) -> None:
    marked = mark_rolled_back(text, version)
    assert marked.startswith(expected) or marked == expected
    assert removed_one_run(marked, text) and len(marked) - len(text) == len(" [ROLLED BACK]")
    assert mark_rolled_back(marked, version) == marked  # idempotent
    assert next(h for h in parse_history(marked) if h.version == version).rolled_back


def test_fenced_setext_lookalike_is_not_a_heading() -> None:
    text = "# Changelog\n\n~~~\n9.9.9\n-----\n~~~\n\n## [1.3.2] - 2026-10-01\n"
    assert [s.version for s in parse_changelog(text).releases] == ["1.3.2"]


def test_mark_rolled_back_unknown_version() -> None:
    with pytest.raises(InputError, match="has no entry for version 9.9.9"):
        mark_rolled_back(KEEP_A_CHANGELOG, "9.9.9")


def test_history_reads_rollbacks_and_hand_written_entries() -> None:
    text = insert_entry(KEEP_A_CHANGELOG, ENTRY)
    text = mark_rolled_back(text, "1.4.0")
    text = insert_entry(text, ReleaseEntry(
        version="1.4.1", date="2026-11-25", proposal_id="prop-20261121-router-threshold",
        pr=57, rollback_of="1.4.0", restores="1.3.2", reason="accuracy fell 12%",
        evidence=("accuracy: 0.873 -> 0.768",)))
    text = insert_entry(text, ReleaseEntry(version="1.5.0", date="2026-11-26", pr=60))
    hist = parse_history(text)
    assert [h.version for h in hist] == ["1.5.0", "1.4.1", "1.4.0", "1.3.2", "1.3.1", "0.0.1"]
    new, rb, bad, hand = hist[0], hist[1], hist[2], hist[3]
    assert (new.pr, new.proposal_id) == (60, None)
    assert (rb.rollback_of, rb.restores, rb.reason, rb.pr) == ("1.4.0", "1.3.2",
                                                              "accuracy fell 12%", 57)
    assert bad.rolled_back and not rb.rolled_back
    assert bad.improvement == "accuracy +0.031 [+0.012, +0.050], no regression"
    assert (hand.proposal_id, hand.pr, hand.metrics, hand.date) == (None, None, [], "2026-10-01")
    assert hist[4].flags == ("YANKED",)
