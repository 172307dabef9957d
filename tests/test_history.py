"""The release history: joining changelog, tags and records; `improve history` on a real repo."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.tags import list_tags
from bot.commands import history as history_command
from bot.core.release.changelog import ReleaseEntry, insert_entry, mark_rolled_back
from bot.core.release.history import EMPTY, TagRef, build_history, format_history, history_json
from bot.errors import InputError
from tests.helpers.git import git

CHANGELOG = insert_entry("# Changelog\n\n## [1.3.2] - 2026-10-01\n\n- by hand\n", ReleaseEntry(
    version="1.4.0", date="2026-11-21", proposal_id="prop-a", pr=42,
    improvement="accuracy +0.031, no regression", metrics=("accuracy: 0.842 -> 0.873",)))
CHANGELOG = insert_entry(mark_rolled_back(CHANGELOG, "1.4.0"), ReleaseEntry(
    version="1.4.1", date="2026-11-25", proposal_id="prop-a", pr=57, rollback_of="1.4.0",
    restores="1.3.2", reason="accuracy fell 12%"))


def run_history(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    history_command.register(parser.add_subparsers())
    args = parser.parse_args(["history", *argv])
    return int(args.func(args))


def test_build_history_joins_the_three_sources() -> None:
    tags = [TagRef("v1.4.1", "c1", "2026-11-25", 57, "1.4.1"),
            TagRef("v1.4.0", "c0", "2026-11-21", 42, "1.4.0"),
            TagRef("v1.5.0", "c2", "2026-11-30", 60, "1.5.0"),  # released, changelog not pushed
            TagRef("nightly", "c3"), TagRef("v2", "c4")]
    records = [{"version": "1.5.0", "proposal": {"id": "prop-b"}, "metrics": ["m: 1 -> 2"],
                "monitor": {"state": "watching"}, "comparison": {"improvement": "m +1"}},
               {"version": "1.4.0", "monitor": {"state": "rolled back"}, "pr": 999},
               {"version": "not-a-version"}]
    rows = build_history(CHANGELOG, tags, records)
    assert [r.version for r in rows] == ["1.5.0", "1.4.1", "1.4.0", "1.3.2"]
    new, rb, bad, hand = rows
    assert (new.proposal_id, new.pr, new.metrics, new.in_changelog, new.monitor) == (
        "prop-b", 60, ["m: 1 -> 2"], False, "watching")
    assert (rb.rollback_of, rb.restores, rb.reason, rb.tag) == ("1.4.0", "1.3.2",
                                                                "accuracy fell 12%", "v1.4.1")
    assert bad.rolled_back and bad.pr == 42  # the changelog's word wins over the record's
    assert (hand.tag, hand.pr, hand.date, hand.in_changelog) == (None, None, "2026-10-01", True)
    assert [r.version for r in build_history(CHANGELOG, tags, records, limit=2)] == [
        "1.5.0", "1.4.1"]


def test_a_rollback_marks_its_target_even_without_the_header_mark() -> None:
    text = insert_entry("## [1.0.0] - 2026-01-01\n", ReleaseEntry(
        version="1.0.1", date="2026-01-02", pr=2, rollback_of="1.0.0", restores="0.9.0"))
    rows = build_history(text, [])
    assert [(r.version, r.rolled_back) for r in rows] == [("1.0.1", False), ("1.0.0", True)]


def test_format_history() -> None:
    rows = build_history(CHANGELOG, [TagRef("v1.4.0", "c0", None, 42)])
    text = format_history(rows)
    lines = text.splitlines()
    assert lines[0].split() == ["VERSION", "DATE", "PR", "PROPOSAL", "NOTES"]
    assert lines[1].startswith("1.4.1    2026-11-25  #57  prop-a    rollback of 1.4.0 "
                               "(restores 1.3.2): accuracy fell 12%; untagged")
    assert lines[2].startswith("1.4.0    2026-11-21  #42  prop-a    ROLLED BACK; accuracy")
    assert lines[3] == "    accuracy: 0.842 -> 0.873"
    assert lines[4].startswith("1.3.2    2026-10-01  -    -         untagged")
    assert format_history([]) == EMPTY + "\n"
    assert json.loads(history_json(rows))["releases"][1]["metrics"] == [
        "accuracy: 0.842 -> 0.873"]


@pytest.fixture
def released_repo(make_repo: Callable[..., Path]) -> Path:
    """A real repository: the changelog above, two release commits with annotated and
    lightweight tags, a tag that is no version."""
    repo = make_repo({"CHANGELOG.md": CHANGELOG.replace("\n", "\r\n")})
    git(repo, "commit", "-q", "--allow-empty", "-m",
        "chore(release): v1.4.0\n\nprop-a (#42)\n\nImprove-Release: 1.4.0\nImprove-PR: 42")
    git(repo, "tag", "-a", "v1.4.0", "-m", "Release v1.4.0")
    git(repo, "commit", "-q", "--allow-empty", "-m",
        "chore(release): v1.4.1\n\nroll back\n\nImprove-Release: 1.4.1\nImprove-PR: 57")
    git(repo, "tag", "v1.4.1")
    git(repo, "tag", "-a", "v1.3.2", "-m", "Release v1.3.2\n\nImprove-PR: 7", "HEAD~2")
    git(repo, "tag", "latest")
    return repo


def test_list_tags_reads_trailers_of_tags_and_commits(released_repo: Path) -> None:
    tags = {t.name: t for t in list_tags(released_repo)}
    assert set(tags) == {"v1.4.0", "v1.4.1", "v1.3.2", "latest"}
    head = git(released_repo, "rev-parse", "HEAD")
    assert (tags["v1.4.1"].commit, tags["v1.4.1"].pr, tags["v1.4.1"].release) == (
        head, 57, "1.4.1")
    # an annotated tag reports the commit it points at, not the tag object
    assert tags["v1.4.0"].commit == git(released_repo, "rev-parse", "HEAD~1")
    assert (tags["v1.4.0"].pr, tags["v1.3.2"].pr, tags["latest"].pr) == (42, 7, 57)
    assert tags["v1.4.0"].date and len(tags["v1.4.0"].date) == 10


def test_list_tags_outside_a_repository(tmp_path: Path) -> None:
    assert list_tags(tmp_path) == []


def test_history_command_json(released_repo: Path, capsys: pytest.CaptureFixture[str],
                              tmp_path: Path) -> None:
    records = tmp_path / "records" / "releases"
    records.mkdir(parents=True)
    (records / "v1.4.1.json").write_text(json.dumps(
        {"version": "1.4.1", "monitor": {"state": "watching"}}))
    assert run_history("--repo", str(released_repo), "--json", "--records",
                       str(tmp_path / "records")) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["version"]: r for r in out["releases"]}
    assert list(rows) == ["1.4.1", "1.4.0", "1.3.2"]
    assert rows["1.4.1"]["tag"] == "v1.4.1" and rows["1.4.1"]["monitor"] == "watching"
    assert rows["1.4.0"]["rolled_back"] and rows["1.4.0"]["proposal_id"] == "prop-a"
    assert rows["1.3.2"]["pr"] == 7  # from the annotated tag's own trailer


def test_history_command_text_and_limit(released_repo: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_history("--repo", str(released_repo), "--limit", "1") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("1.4.1 ")


def test_history_command_reads_configured_changelog(make_repo: Callable[..., Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({".github/improve.yml": "release:\n  changelog: docs/HISTORY.md\n"
                      "  tag_prefix: rel-\n", "docs/HISTORY.md": CHANGELOG})
    git(repo, "tag", "rel-1.3.2")
    assert run_history("--repo", str(repo), "--json") == 0
    rows = json.loads(capsys.readouterr().out)["releases"]
    assert [(r["version"], r["tag"]) for r in rows] == [
        ("1.4.1", None), ("1.4.0", None), ("1.3.2", "rel-1.3.2")]


def test_history_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError, match="nope.md: no such file"):
        run_history("--repo", str(tmp_path), "--changelog", str(tmp_path / "nope.md"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "r.json").write_text("[1]")
    with pytest.raises(InputError, match="r.json: not a JSON object: a JSON list"):
        run_history("--repo", str(tmp_path), "--records", str(tmp_path / "bad"))
    (tmp_path / "CHANGELOG.md").write_text("## [1.2] - 2026-01-01\n")
    with pytest.raises(InputError, match=r"CHANGELOG.md:1: cannot read the version"):
        run_history("--repo", str(tmp_path))
    with pytest.raises(InputError, match="cannot run git in"):
        run_history("--repo", str(tmp_path / "missing"))
    # no changelog, no repository: an empty history, not an error
    (tmp_path / "CHANGELOG.md").unlink()
    assert run_history("--repo", str(tmp_path)) == 0
    assert capsys.readouterr().out == EMPTY + "\n"


def test_history_through_the_cli(released_repo: Path, capsys: pytest.CaptureFixture[str],
                                 tmp_path: Path) -> None:
    from bot.cli import main

    assert main(["history", "--repo", str(released_repo), "--json", "--limit", "2"]) == 0
    assert [r["version"] for r in json.loads(capsys.readouterr().out)["releases"]] == [
        "1.4.1", "1.4.0"]
    (tmp_path / "CHANGELOG.md").write_text("## [1.2] - 2026-01-01\n")
    assert main(["history", "--repo", str(tmp_path)]) == 2
    assert "improve history: error: " in capsys.readouterr().err
