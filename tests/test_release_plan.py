"""The release plan: version, files, commit and tag messages, record, and idempotence/races."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.core.config import Config, parse_config
from bot.core.records import record_json
from bot.core.release.changelog import parse_history
from bot.core.release.history import TagRef
from bot.core.release.plan import (
    AlreadyReleased,
    ChangeSummary,
    ComparisonSummary,
    MergedPR,
    ProposalFacts,
    ReleaseConflict,
    ReleasePlan,
    RollbackFacts,
    TagFacts,
    parse_trailers,
    plan_release,
    release_of_message,
    tag_facts,
)
from bot.errors import InputError

NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)
CHANGELOG = "# Changelog\n\n## [Unreleased]\n\n## [1.3.2] - 2026-10-01\n\n- x\n"
PYPROJECT = '[project]\nname = "demo"\nversion = "1.3.2"  # kept\n'
COMPARISON = ComparisonSummary(
    improvement="accuracy +0.031 [+0.012, +0.050], no regression",
    metrics=["accuracy: 0.842 -> 0.873 (+3.7%)"],
    decision="accept",
    details={"suites": {"router-accuracy-v1": {"delta": 0.031}}},
)


def merged(number: int = 42, ptype: str = "prompt_edit", breaking: bool = False,
           pid: str = "prop-20261121-router-threshold") -> MergedPR:
    return MergedPR(
        number=number, merge_sha="a" * 40, merged_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        proposal=ProposalFacts(
            id=pid, type=ptype, risk="low", breaking=breaking, title="Raise the threshold",
            changes=[ChangeSummary(path="config/router.yaml",
                                   what="routing.threshold 0.55 -> 0.62",
                                   why="low-confidence routes caused most misroutes")]),
    )


def plan(pr: MergedPR, changelog: str | None = CHANGELOG,
         files: dict[str, str] | None = None, tags: dict[str, TagFacts] | None = None,
         config: Config | None = None) -> ReleasePlan | AlreadyReleased:
    return plan_release(pr, COMPARISON, changelog=changelog,
                        version_files={"pyproject.toml": PYPROJECT} if files is None else files,
                        config=config or Config(), tags=tags or {}, now=NOW)


def test_plan_for_a_merged_proposal() -> None:
    p = plan(merged())
    assert isinstance(p, ReleasePlan)
    assert (p.version, p.previous, p.tag, p.date) == ("1.4.0", "1.3.2", "v1.4.0", "2026-11-21")
    assert p.commit_message == (
        "chore(release): v1.4.0\n\n"
        "prop-20261121-router-threshold (#42): Raise the threshold\n\n"
        "Improve-Proposal: prop-20261121-router-threshold\n"
        "Improve-Release: 1.4.0\n"
        "Improve-PR: 42\n")
    assert release_of_message(p.commit_message) == ("1.4.0", 42)
    assert release_of_message(p.tag_message) == ("1.4.0", 42)
    assert p.files["pyproject.toml"] == '[project]\nname = "demo"\nversion = "1.4.0"  # kept\n'
    assert p.files["CHANGELOG.md"] == CHANGELOG.replace("## [1.3.2]", p.entry + "\n## [1.3.2]")
    assert "**Proposal**: prop-20261121-router-threshold (#42)\\\n" in p.entry
    assert "- config/router.yaml: routing.threshold 0.55 -> 0.62 — low-confidence" in p.entry
    rec = record_json(p.record)  # as the data branch stores it
    assert p.record_path == "releases/v1.4.0.json"
    assert rec["monitor"] == {"window_days": 7.0, "until": "2026-11-28T12:00:00+00:00",
                              "state": "watching"}
    assert rec["proposal"]["id"] == "prop-20261121-router-threshold"
    assert rec["comparison"]["details"] == COMPARISON.details
    assert rec["metrics"] == COMPARISON.metrics and rec["merge_sha"] == "a" * 40
    assert (p.mode, p.pr_title) == ("push", "chore(release): v1.4.0")


@pytest.mark.parametrize(
    ("ptype", "breaking", "types", "expected"),
    [
        ("constant_tune", False, None, "1.3.3"),
        ("prompt_edit", False, None, "1.4.0"),
        ("constant_tune", True, None, "2.0.0"),
        ("constant_tune", False, {"constant_tune": "major"}, "2.0.0"),
    ],
)
def test_version_from_type(ptype: str, breaking: bool, types: dict | None, expected: str) -> None:
    config = Config() if types is None else Config.model_validate(
        {"proposals": {"types": types}})
    p = plan(merged(ptype=ptype, breaking=breaking), config=config)
    assert isinstance(p, ReleasePlan) and p.version == expected


def test_rollback_plan_marks_the_rolled_back_release() -> None:
    first = plan(merged())
    assert isinstance(first, ReleasePlan)
    pr = MergedPR(number=57, merge_sha="b" * 40, merged_at=NOW,
                  rollback=RollbackFacts(version="1.4.0", restores="1.3.2",
                                         reason="accuracy fell 12% in the monitor window",
                                         evidence=["accuracy: 0.873 -> 0.768"],
                                         proposal_id="prop-20261121-router-threshold"))
    p = plan(pr, changelog=first.files["CHANGELOG.md"],
             files={"pyproject.toml": first.files["pyproject.toml"]},
             tags={"v1.4.0": TagFacts(commit="c" * 40, pr=42)})
    assert isinstance(p, ReleasePlan) and p.version == "1.4.1"
    assert "Improve-Rollback-Of: 1.4.0\n" in p.commit_message
    assert p.commit_message.splitlines()[2] == (
        "Roll back 1.4.0 (restores 1.3.2): accuracy fell 12% in the monitor window")
    hist = parse_history(p.files["CHANGELOG.md"])
    assert [(h.version, h.rolled_back, h.rollback_of, h.pr) for h in hist] == [
        ("1.4.1", False, "1.4.0", 57), ("1.4.0", True, None, 42), ("1.3.2", False, None, None)]
    assert record_json(p.record)["rollback"]["restores"] == "1.3.2"


HOSTILE = "<script>alert(1)</script> @org/team see [this](http://evil.example) \n## 9.9.9"


def test_a_rollback_reason_is_written_down_inert() -> None:
    """A /rollback reason is a person's text: in the changelog and the release commit it is
    escaped as the bot's replies are; no tag, mention, link or heading survives."""
    first = plan(merged())
    assert isinstance(first, ReleasePlan)
    pr = MergedPR(number=57, merge_sha="b" * 40, merged_at=NOW,
                  rollback=RollbackFacts(version="1.4.0", restores="1.3.2", reason=HOSTILE))
    p = plan(pr, changelog=first.files["CHANGELOG.md"],
             files={"pyproject.toml": first.files["pyproject.toml"]},
             tags={"v1.4.0": TagFacts(commit="c" * 40, pr=42)})
    assert isinstance(p, ReleasePlan)
    for text in (p.files["CHANGELOG.md"], p.commit_message):
        assert "<script>" not in text and "@org/team" not in text and "](http" not in text
        assert "\\<script\\>" in text and "@\u2060org/team" in text
        assert "\n## 9.9.9" not in text
    assert [h.version for h in parse_history(p.files["CHANGELOG.md"])] == \
        ["1.4.1", "1.4.0", "1.3.2"]


def test_second_run_is_already_released() -> None:
    first = plan(merged())
    assert isinstance(first, ReleasePlan)
    after = {"changelog": first.files["CHANGELOG.md"],
             "files": {"pyproject.toml": first.files["pyproject.toml"]}}
    tagged = plan(merged(), **after, tags={"v1.4.0": TagFacts(commit="c" * 40, pr=42)})
    assert tagged == AlreadyReleased(version="1.4.0", tag="v1.4.0", tag_missing=False,
                                     reason="PR #42 was released as 1.4.0")
    untagged = plan(merged(), **after)
    assert isinstance(untagged, AlreadyReleased) and untagged.tag_missing
    # the tag alone is enough too (a changelog edited by hand since)
    only_tag = plan(merged(), tags={"v1.4.0": TagFacts(commit="c" * 40, pr=42)})
    assert isinstance(only_tag, AlreadyReleased) and only_tag.version == "1.4.0"


def test_tag_pointing_elsewhere_is_an_error_that_says_so() -> None:
    first = plan(merged())
    assert isinstance(first, ReleasePlan)
    with pytest.raises(ReleaseConflict, match=r"tag v1.4.0 points at cccccccccccc, a release "
                       r"of PR #41, but CHANGELOG.md says 1.4.0 released PR #42"):
        plan(merged(), changelog=first.files["CHANGELOG.md"],
             tags={"v1.4.0": TagFacts(commit="c" * 40, pr=41)})
    with pytest.raises(ReleaseConflict, match="which is not a release commit"):
        plan(merged(), changelog=first.files["CHANGELOG.md"],
             tags={"v1.4.0": TagFacts(commit="c" * 40)})
    # a tag for the next version on a stale tip: fetch and retry, never overwrite
    with pytest.raises(ReleaseConflict, match="tag v1.4.0 already exists .* current version is "
                       "1.3.2"):
        plan(merged(43), tags={"v1.4.0": TagFacts(commit="c" * 40, pr=42)})


def test_racing_merges_become_consecutive_versions_in_merge_order() -> None:
    # both release jobs plan on the same tip; 42 pushes first, 43's push is rejected
    a = plan(merged(42))
    b = plan(merged(43, pid="prop-b"))
    assert isinstance(a, ReleasePlan) and isinstance(b, ReleasePlan)
    assert a.version == b.version == "1.4.0"
    # 43 fetches the new tip (42's release) and plans again
    tip = {"changelog": a.files["CHANGELOG.md"],
           "files": {"pyproject.toml": a.files["pyproject.toml"]},
           "tags": {"v1.4.0": TagFacts(commit="c" * 40, pr=42)}}
    b2 = plan(merged(43, pid="prop-b"), **tip)
    assert isinstance(b2, ReleasePlan) and (b2.version, b2.previous) == ("1.5.0", "1.4.0")
    hist = parse_history(b2.files["CHANGELOG.md"])
    assert [(h.version, h.pr) for h in hist] == [("1.5.0", 43), ("1.4.0", 42), ("1.3.2", None)]
    # 42's job, retried after it already pushed, changes nothing
    assert isinstance(plan(merged(42), **tip), AlreadyReleased)


def test_without_version_files_the_version_comes_from_changelog_tags_or_zero() -> None:
    p = plan(merged(), files={})
    assert isinstance(p, ReleasePlan) and p.version == "1.4.0" and set(p.files) == {
        "CHANGELOG.md"}
    p = plan(merged(), changelog=None, files={},
             tags={"v2.0.0": TagFacts(commit="c" * 40), "v10.1.0": TagFacts(commit="d" * 40),
                   "nightly": TagFacts(commit="e" * 40)})
    assert isinstance(p, ReleasePlan) and p.version == "10.2.0"
    assert p.files["CHANGELOG.md"].startswith("# Changelog\n")
    p = plan(merged(ptype="constant_tune"), changelog=None, files={})
    assert isinstance(p, ReleasePlan) and p.version == "0.0.1"


def test_every_configured_version_file_is_written_and_must_exist() -> None:
    config = parse_config("release:\n  version_files:\n    - path: pyproject.toml\n"
                          "    - path: VERSION\n    - path: src/demo/__init__.py\n"
                          "      pattern: '^__version__ = \"(.*)\"'\n")
    files = {"pyproject.toml": PYPROJECT, "VERSION": "1.3.2\n",
             "src/demo/__init__.py": '__version__ = "1.3.2"\n'}
    p = plan(merged(), files=files, config=config)
    assert isinstance(p, ReleasePlan)
    assert p.files["VERSION"] == "1.4.0\n"
    assert p.files["src/demo/__init__.py"] == '__version__ = "1.4.0"\n'
    with pytest.raises(InputError, match="VERSION: release.version_files: is listed"):
        plan(merged(), files={"pyproject.toml": PYPROJECT}, config=config)
    with pytest.raises(InputError, match="says version 1.3.1 but pyproject.toml says 1.3.2"):
        plan(merged(), files={**files, "VERSION": "1.3.1\n"}, config=config)


def test_unreadable_changelog_is_refused_before_anything_is_planned() -> None:
    with pytest.raises(InputError, match=r"CHANGELOG.md:3: cannot read the version"):
        plan(merged(), changelog="# Changelog\n\n## [1.3] - 2026-01-01\n")


def test_pr_mode_and_custom_prefix_and_changelog_path() -> None:
    config = parse_config("release:\n  mode: pr\n  tag_prefix: release-\n"
                          "  changelog: docs/CHANGES.md\n")
    p = plan(merged(), config=config)
    assert isinstance(p, ReleasePlan)
    assert (p.mode, p.tag, p.pr_branch) == ("pr", "release-1.4.0", "improve-release")
    assert set(p.files) == {"docs/CHANGES.md", "pyproject.toml"}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("chore(release): v1.0.0\n\nbody\n\nImprove-Release: 1.0.0\nImprove-PR: 7\n",
         {"Improve-Release": "1.0.0", "Improve-PR": "7"}),
        ("subject only", {}),
        ("s\n\nnot: a trailer block\nbecause this line is prose\n", {}),
        ("s\r\n\r\nImprove-PR:  9  \r\n", {"Improve-PR": "9"}),
        ("", {}),
    ],
)
def test_parse_trailers(message: str, expected: dict[str, str]) -> None:
    assert parse_trailers(message) == expected


def test_merged_pr_needs_exactly_one_of_proposal_or_rollback() -> None:
    with pytest.raises(ValueError, match="either a proposal or a rollback"):
        MergedPR(number=1, merge_sha="x", merged_at=NOW)


def test_tag_facts_from_tag_refs() -> None:
    refs = [TagRef("v1.4.0", "c" * 40, "2026-11-21", 42, "1.4.0"), TagRef("x", "d" * 40)]
    assert tag_facts(refs) == {"v1.4.0": TagFacts(commit="c" * 40, pr=42),
                               "x": TagFacts(commit="d" * 40)}


def test_rollback_of_a_version_missing_from_the_changelog_still_releases() -> None:
    # released by hand before the bot, say: nothing to mark, the rollback entry is still written
    pr = MergedPR(number=9, merge_sha="b" * 40, merged_at=NOW,
                  rollback=RollbackFacts(version="1.3.1", restores="1.3.0", reason="slow"))
    p = plan(pr)
    assert isinstance(p, ReleasePlan) and p.version == "1.3.3"
    assert "[ROLLED BACK]" not in p.files["CHANGELOG.md"]
    assert "**Rollback of**: 1.3.1 (restores 1.3.0)\\\n**Pull request**: #9\\\n" in p.entry


def test_plan_writes_a_rst_changelog_in_rst_and_shows_that_entry() -> None:
    config = parse_config("release:\n  changelog: NEWS.rst\n")
    news = ".. towncrier release notes start\n\n1.3.2 (2026-10-01)\n==================\n\n- x\n"
    p = plan(merged(), changelog=news, config=config)
    assert isinstance(p, ReleasePlan)
    assert p.entry.startswith("1.4.0 (2026-11-21)\n==================\n\nRaise the threshold\n\n"
                              "| **Proposal**: prop-20261121-router-threshold (#42)\n")
    assert p.files["NEWS.rst"] == news.replace("1.3.2 (", p.entry + "\n1.3.2 (", 1)
    assert [h.version for h in parse_history(p.files["NEWS.rst"], "NEWS.rst")] == ["1.4.0",
                                                                                    "1.3.2"]


@pytest.mark.parametrize(("in_file", "given", "agree"), [
    ("1.3.2", "1.3.2", True),
    ("1.3.2+build.7", "1.3.2+build.7", True),
    ("1.3.2+a", "1.3.2+b", False),  # equal precedence, different versions: a conflict
    ("1.3.2", "1.3.2+b", False),
    ("1.3.2", "1.3.3", False),
])
def test_a_given_current_version_must_be_the_files_exact_version(
    in_file: str, given: str, agree: bool
) -> None:
    """As two version files are compared with each other (read_versions): by the exact
    version, build metadata included, not by SemVer precedence, which ignores it."""
    from bot.core.release.plan import current_version

    files = {"pyproject.toml": PYPROJECT.replace("1.3.2", in_file)}
    if agree:
        assert str(current_version(files, Config(), CHANGELOG, {}, given)) == in_file
    else:
        match = f"say {re.escape(in_file)} .* given as {re.escape(given)}$"
        with pytest.raises(ReleaseConflict, match=match):
            current_version(files, Config(), CHANGELOG, {}, given)
