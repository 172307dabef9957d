"""Entries inserted into real changelogs of public projects (tests/data/changelogs/, byte for
byte, see PROVENANCE.md there): each lands above the newest release in the file's own format and
heading style, with its link definition where the file uses them, and nothing else changes."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from docutils.core import publish_doctree
from markdown_it import MarkdownIt

from bot.core.release.changelog import (
    ChangeNote,
    Edit,
    ReleaseEntry,
    insert_entry,
    mark_rolled_back,
    parse_changelog,
    parse_history,
    plan_insertion,
)
from bot.errors import InputError
from tests.helpers.changelog import only_entry_and_links

DATA = Path(__file__).resolve().parent / "data" / "changelogs"


def read(name: str) -> str:
    # bytes decoded as they are (no newline translation): compared byte for byte
    return (DATA / name).read_bytes().decode("utf-8")


def entry(version: str, **kw: object) -> ReleaseEntry:
    fields: dict = dict(
        version=version, date="2026-11-30", proposal_id="prop-20261130-router-threshold", pr=42,
        title="Raise the router's confidence threshold",
        improvement="accuracy +0.031 [+0.012, +0.050], no regression",
        changes=(ChangeNote("config/router.yaml", "routing.threshold 0.55 -> 0.62",
                            "low-confidence routes caused most misroutes"),),
        metrics=("accuracy: 0.842 -> 0.873 (+3.7%)",))
    fields.update(kw)
    return ReleaseEntry(**fields)


# file, new version, the entry's heading lines, the original line the entry goes right above
CASES = [
    # angular preset: a minor release is headed `#` like 21.2.0, a patch `##` like 21.2.2
    ("commitlint-cli.CHANGELOG.md", "21.3.0",
     ["# [21.3.0](https://github.com/conventional-changelog/commitlint/compare/v21.2.2...v21.3.0)"
      " (2026-11-30)"], "## [21.2.2]("),
    ("commitlint-cli.CHANGELOG.md", "21.2.3",
     ["## [21.2.3](https://github.com/conventional-changelog/commitlint/compare/v21.2.2...v21.2.3)"
      " (2026-11-30)"], "## [21.2.2]("),
    # vite: patches in <small>, minor releases without; above 8.2.2, not below two releases
    ("vite.CHANGELOG.md", "8.2.3",
     ["## <small>[8.2.3](https://github.com/vitejs/vite/compare/v8.2.2...v8.2.3) (2026-11-30)"
      "</small>"], "## <small>[8.2.2]("),
    ("vite.CHANGELOG.md", "8.3.0",
     ["## [8.3.0](https://github.com/vitejs/vite/compare/v8.2.2...v8.3.0) (2026-11-30)"],
     "## <small>[8.2.2]("),
    # towncrier: reStructuredText, right below `.. towncrier release notes start`
    ("pip.NEWS.rst", "26.3.0", ["26.3.0 (2026-11-30)", "==================="],
     "26.2.1 (2026-08-04)"),
    # level-3 release headings, CRLF
    ("PowerShellGet.CHANGELOG.md", "3.1.0", ["### 3.1.0 - 2026-11-30"], "### 3.0.23-beta23"),
    # python-semantic-release: above the newest release's label, with a label of its own
    ("python-semantic-release.CHANGELOG.rst", "10.7.0",
     [".. _changelog-v10.7.0:", "", "v10.7.0 (2026-11-30)", "===================="],
     ".. _changelog-v10.6.1:"),
    # Keep a Changelog: below [Unreleased], above 2.0.0
    ("keep-a-changelog.CHANGELOG.md", "2.1.0", ["## [2.1.0] - 2026-11-30"], "## [2.0.0] - "),
]


@pytest.mark.parametrize(("name", "version", "heading", "above"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_entry_lands_above_the_newest_release(name: str, version: str, heading: list[str],
                                              above: str) -> None:
    original = read(name)
    nl = "\r\n" if "\r\n" in original else "\n"
    ins = plan_insertion(original, entry(version), name)
    new = insert_entry(original, entry(version), name)
    newest = parse_changelog(original, name).releases[0].version or ""
    assert only_entry_and_links(new, original, newest, version)
    # right above the newest release (or its label), the heading in the file's own style
    assert original[ins.offset:].startswith(above)
    assert ins.chunk.lstrip(nl).startswith(nl.join(heading) + nl)
    assert ins.chunk.endswith(nl + nl) and nl + nl + nl not in ins.chunk
    if nl == "\r\n":
        assert "\n" not in ins.chunk.replace("\r\n", "")
    # the bot reads back what it wrote as the newest release, title and fields intact
    hist = parse_history(new, name)
    assert [hist[0].version, hist[0].pr, hist[0].proposal_id] == [
        version, 42, "prop-20261130-router-threshold"]
    assert hist[0].improvement == "accuracy +0.031 [+0.012, +0.050], no regression"
    assert hist[0].metrics == ["accuracy: 0.842 -> 0.873 (+3.7%)"]
    assert hist[1].version == newest
    assert "Raise the router" in ins.chunk
    # and the next release goes above this one, in the same style again
    again = insert_entry(new, entry("99.0.0", pr=43), name)
    assert [h.version for h in parse_history(again, name)][:2] == ["99.0.0", version]


def rst_warnings(text: str) -> str:
    err = io.StringIO()
    publish_doctree(text, settings_overrides={"report_level": 2, "halt_level": 5,
                                              "warning_stream": err})
    return err.getvalue()


@pytest.mark.parametrize("name", ["pip.NEWS.rst", "python-semantic-release.CHANGELOG.rst"])
def test_rst_entry_and_rollback_mark_build_without_warnings(name: str) -> None:
    original = read(name)
    assert rst_warnings(original) == ""
    newest = parse_changelog(original, name).releases[0].version or ""
    # text that would be inline markup or a block construct in reStructuredText
    tricky = entry("99.0.0", title="*Raise* the `threshold` |x| ref_ ::",
                   proposal_id="prop_", reason="slow_ *x <b>@team</b>", rollback_of=newest,
                   restores="0.1.0", evidence=("acc: `0.8` -> 0.7",))
    new = insert_entry(original, tricky, name)
    assert "**Proposal**" not in new.replace("| **Proposal**", "")  # a line block, not Markdown
    assert rst_warnings(new) == ""
    hist = parse_history(new, name)[0]
    assert (hist.proposal_id, hist.reason, hist.rollback_of) == (
        "prop_", "slow_ *x <b>@\u2060team</b>", newest)  # no mention, and no Markdown escapes
    marked = mark_rolled_back(new, newest, name)
    assert rst_warnings(marked) == ""
    assert next(h for h in parse_history(marked, name) if h.version == newest).rolled_back
    # the title grew by " [ROLLED BACK]" and its underline with it; nothing else changed
    section = parse_changelog(new, name).release(newest)
    assert section is not None
    title_line = section.heading.text
    lines = marked[section.heading.start:].split("\n")
    i = lines.index(title_line + " [ROLLED BACK]")
    assert lines[i + 1] == "=" * len(title_line + " [ROLLED BACK]")
    assert marked.replace(" [ROLLED BACK]", "").replace(
        lines[i + 1] + "\n", "=" * len(title_line) + "\n", 1) == new
    assert mark_rolled_back(marked, newest, name) == marked


def test_rst_overline_grows_with_the_title() -> None:
    bar = "=" * len("1.2.0 (2026-01-01)")
    text = f"=====\nNEWS\n=====\n\n{bar}\n1.2.0 (2026-01-01)\n{bar}\n\n- x\n"
    assert rst_warnings(text) == ""
    marked = mark_rolled_back(text, "1.2.0", "NEWS.rst")
    bar = "=" * len("1.2.0 (2026-01-01) [ROLLED BACK]")
    assert f"\n\n{bar}\n1.2.0 (2026-01-01) [ROLLED BACK]\n{bar}\n\n- x\n" in marked
    assert rst_warnings(marked) == ""
    new = insert_entry(text, entry("1.3.0"), "NEWS.rst")
    bar = "=" * len("1.3.0 (2026-11-30)")
    assert f"\n\n{bar}\n1.3.0 (2026-11-30)\n{bar}\n\nRaise the router" in new
    assert rst_warnings(new) == ""


def test_keep_a_changelog_links_follow_the_new_release() -> None:
    name = "keep-a-changelog.CHANGELOG.md"
    original = read(name)
    ins = plan_insertion(original, entry("2.1.0"), name)
    new = ins.apply(original)
    base = "https://github.com/olivierlacan/keep-a-changelog/compare/"
    assert f"[unreleased]: {base}v2.1.0...HEAD\n[2.1.0]: {base}v2.0.0...v2.1.0\n" \
        f"[2.0.0]: {base}v1.1.2...v2.0.0\n" in new
    assert f"[unreleased]: {base}v2.0.0...HEAD\n[2.0.0]: " in original
    # exactly two link edits: the new definition, and the [unreleased] link moved
    assert sorted(ins.links) == sorted([
        Edit(original.index("[2.0.0]: "), original.index("[2.0.0]: "),
             f"[2.1.0]: {base}v2.0.0...v2.1.0\n"),
        Edit(original.index(f"{base}v2.0.0...HEAD"),
             original.index(f"{base}v2.0.0...HEAD") + len(f"{base}v2.0.0...HEAD"),
             f"{base}v2.1.0...HEAD")])
    # rendered, the heading is a link, not "[2.1.0]" in brackets
    html = MarkdownIt("commonmark").render(new)
    assert f'<h2><a href="{base}v2.0.0...v2.1.0">2.1.0</a> - 2026-11-30</h2>' in html


def test_field_lines_render_as_separate_lines() -> None:
    html = MarkdownIt("commonmark").render(insert_entry(None, entry("1.0.0")))
    assert ("<p><strong>Proposal</strong>: prop-20261130-router-threshold (#42)<br />\n"
            "<strong>Improvement</strong>: accuracy") in html
    assert "<p>Raise the router's confidence threshold</p>" in html.replace("&#x27;", "'")


@pytest.mark.parametrize(("title", "shown"), [
    ("## [9.9.9] - 2030-01-01", "\\#\\# \\[9.9.9\\] - 2030-01-01"),
    ("1. first", "1\\. first"),
    ("[x]: https://evil", "\\[x\\]: https://evil"),
    ("- item", "\\- item"),
    # a title is an agent's or a person's words: no HTML, mention or link, as in replies
    ("<script>x</script> @org/team [a](http://e)", "\\<script\\>x\\</script\\> "
     "@\u2060org/team \\[a\\]\\(http://e\\)"),
])
def test_title_cannot_start_a_block(title: str, shown: str) -> None:
    text = insert_entry("# Changelog\n", entry("1.0.0", title=title))
    assert f"\n\n{shown}\n\n" in text
    assert [h.version for h in parse_history(text)] == ["1.0.0"]


def test_old_non_semver_heading_does_not_refuse_the_file() -> None:
    # pip's second release is "26.2": only the newest release decides where the entry goes
    name = "pip.NEWS.rst"
    original = read(name)
    assert re.search(r"^26\.2 \(2026-07-29\)$", original, re.M)
    assert [r.version for r in parse_changelog(original, name).releases][:2] == ["26.2.1",
                                                                                 "26.1.2"]
    text = "# Changelog\n\n## [1.3.2] - 2026-10-01\n\n- x\n\n## [0.9] - 2014-01-01\n\n- y\n"
    new = insert_entry(text, entry("1.4.0"))
    assert new.index("## [1.4.0]") < new.index("## [1.3.2]")
    # the old section's lines are not read as part of 1.3.2
    assert parse_changelog(text).releases[0].end == text.index("## [0.9]")
    with pytest.raises(InputError, match=r"CHANGELOG.md:3: cannot read the version"):
        insert_entry("# Changelog\n\n## [0.9] - 2014-01-01\n\n## [0.8.0]\n", entry("1.0.0"))
    # level-3 releases: a non-SemVer one on top is refused, not skipped
    with pytest.raises(InputError, match=r"CHANGELOG.md:2: cannot read the version"):
        insert_entry("# Changelog\n### 3.1\n\n### 3.0.0\n", entry("3.2.0"))
    # a section of the Unreleased notes named after a version is not a release heading
    text = "## [Unreleased]\n\n#### 2.0 migration\n\n- x\n\n## [1.3.2] - 2026-10-01\n"
    assert insert_entry(text, entry("1.4.0")).index("## [1.4.0]") > text.index("- x")


def test_old_history_in_another_style_is_kept_as_it_is() -> None:
    # commitlint's 2017 entries: `## 3.1.3 (date)` under `<a name>` anchors, 3.1.3 twice
    name = "commitlint-cli.CHANGELOG.md"
    original = read(name)
    assert original.count("## 3.1.3 (2017-08-21)") == 2
    versions = [r.version for r in parse_changelog(original, name).releases]
    assert versions.count("3.1.3") == 1 and versions[0] == "21.2.2"


def test_anchor_above_markdown_heading_is_kept_with_its_release() -> None:
    text = ('# Change Log\n\n<a name="1.3.2"></a>\n## [1.3.2](https://x/compare/v1.3.1...v1.3.2)'
            ' (2026-10-01)\n\n- x\n\n<a name="1.3.1"></a>\n## [1.3.1](https://x/compare/v1.3.0'
            '...v1.3.1) (2026-09-01)\n')
    new = insert_entry(text, entry("1.4.0"))
    assert ('\n\n<a name="1.4.0"></a>\n\n## [1.4.0](https://x/compare/v1.3.2...v1.4.0) '
            '(2026-11-30)\n') in new
    assert new.index('<a name="1.4.0">') < new.index("## [1.4.0]") < new.index(
        '<a name="1.3.2">')


def test_towncrier_file_without_releases_gets_the_entry_below_its_marker() -> None:
    text = "Release notes\n=============\n\n.. towncrier release notes start\n"
    new = insert_entry(text, entry("0.1.0"), "NEWS.rst")
    assert new.startswith(text + "\n0.1.0 (2026-11-30)\n==================\n\n")
    assert rst_warnings(new) == ""
