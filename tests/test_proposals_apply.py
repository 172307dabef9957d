"""Applying a proposal's changes: in order, every problem with its field, patches through real
``git apply``, and paths through symlinks refused by the readers."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.adapters.patch import apply_patch, numstat_names
from bot.adapters.proposal_git import TreeReader
from bot.core.config import Config
from bot.core.edits import EditError
from bot.core.proposals import Proposal, apply_changes, check_proposal
from bot.stages.proposal_files import WorkTreeReader, check_proposal_file
from tests.helpers.git import commit_all, git

HEAD = """\
title: t
type: constant_tune
risk: low
rationale: r
predicted_improvement: {metric: accuracy, delta: 0.01}
author: a
changes:
"""

FILES = {
    "config/router.yaml": "routing:\n  threshold: 0.55  # tuned\n",
    "SKILL.md": "Search once.\nThen answer.\nSearch once.\n",
    "notes.md": "one\ntwo\nthree\n",
}


def _proposal(changes: str) -> tuple[Proposal, object]:
    checked = check_proposal(HEAD + changes, "p.yaml", Config(), date(2026, 1, 1))
    assert checked.problems == []
    assert checked.proposal is not None
    return checked.proposal, checked.doc


def _apply(changes: str, files: dict[str, str] = FILES):  # type: ignore[no-untyped-def]
    proposal, doc = _proposal(changes)
    return apply_changes(proposal, files.get, file="p.yaml", doc=doc,  # type: ignore[arg-type]
                         patcher=apply_patch)


def test_changes_apply_in_order_on_the_same_file() -> None:
    applied = _apply("""\
  - path: config/router.yaml
    set: {key: routing.threshold, value: 0.62}
  - path: notes.md
    replace: {old: "two", new: "TWO"}
  - patch: |
      --- a/notes.md
      +++ b/notes.md
      @@ -1,3 +1,3 @@
       one
       TWO
      -three
      +THREE
  - path: new/file.md
    content: "hello\\n"
""")
    assert applied.problems == []
    assert applied.files == {
        "config/router.yaml": "routing:\n  threshold: 0.62  # tuned\n",
        "notes.md": "one\nTWO\nTHREE\n",
        "new/file.md": "hello\n",
    }
    assert [s.description for s in applied.summaries] == [
        "routing.threshold 0.55 -> 0.62",
        'replaced "two" with "TWO" (line 2)',
        "patch (+1 -1 lines)",
        "new file (1 lines)",
    ]


def test_every_problem_with_its_field_and_line() -> None:
    applied = _apply("""\
  - path: SKILL.md
    replace: {old: "Search once.", new: "x"}
  - path: missing.yaml
    set: {key: a, value: 1}
  - path: config/router.yaml
    set: {key: routing.nope.deeper, value: 1}
  - path: config/router.yaml
    set: {key: routing.threshold, value: 0.55}
  - patch: |
      --- a/notes.md
      +++ b/notes.md
      @@ -1,2 +1,2 @@
       one
      -not there
      +x
""")
    got = {(p.field, p.line): p.message for p in applied.problems}
    assert got == {
        ("changes[0].replace.old", 9):
            "'old' text must match exactly once; it matched 2 times (lines 1, 3)",
        ("changes[1].set.key", 11): "'missing.yaml' does not exist on the default branch",
        ("changes[2].set.key", 13): "neither the key nor its parent 'routing.nope' exists; new "
            "keys may only be added under an existing mapping",
        ("changes[3].set.key", 15): "this change leaves 'config/router.yaml' as it was",
        ("changes[4].patch", 16):
            "hunk 1 of notes.md (@@ -1,2 +1,2 @@) does not apply: the text it expects is not there",
    }
    assert applied.files == {}


def test_patch_without_a_patcher_is_a_problem() -> None:
    proposal, doc = _proposal("  - patch: \"--- a/x\\n+++ b/x\\n@@ -1 +1 @@\\n-a\\n+b\\n\"\n")
    applied = apply_changes(proposal, {"x": "a\n"}.get, doc=doc)  # type: ignore[arg-type]
    assert [p.message for p in applied.problems] == ["patches cannot be applied here (no git)"]


def test_patch_creates_and_deletes_files() -> None:
    patch = (
        "diff --git a/notes.md b/notes.md\ndeleted file mode 100644\n"
        "--- a/notes.md\n+++ /dev/null\n"
        "@@ -1,3 +0,0 @@\n-one\n-two\n-three\n"
        "diff --git a/made.md b/made.md\nnew file mode 100644\n--- /dev/null\n+++ b/made.md\n"
        "@@ -0,0 +1 @@\n+made\n"
    )
    assert apply_patch(patch, {"notes.md": FILES["notes.md"], "made.md": None}) == {
        "notes.md": None, "made.md": "made\n"
    }


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("garbage\n", "git cannot read the patch"),
        ("diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n+/etc\n",
         "mode 120000"),
        ("--- a/gone.md\n+++ b/gone.md\n@@ -1 +1 @@\n-a\n+b\n", "gone.md"),
    ],
)
def test_patch_refused(patch: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        apply_patch(patch, {"gone.md": None, "l": None})


def test_patch_cannot_write_outside_its_scratch_directory(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("safe\n")
    with pytest.raises(EditError, match="leads outside the repository"):
        apply_patch(
            f"--- a/{victim}\n+++ b/{victim}\n@@ -1 +1 @@\n-safe\n+owned\n",
            {f"../../{victim.name}": None},
        )
    assert victim.read_text() == "safe\n"


@pytest.fixture
def linked_repo(make_repo: Callable[..., Path]) -> Path:
    repo = make_repo({"docs/a.md": "a\n", "bin/run": "#!/bin/sh\n"})
    os.symlink("../..", repo / "out")
    os.symlink("docs", repo / "inside")
    os.symlink("/etc/passwd", repo / "abs")
    commit_all(repo, "links")
    return repo


@pytest.mark.parametrize(
    ("path", "result"),
    [
        ("docs/a.md", "a\n"),
        ("docs/new.md", None),
        ("out/x.md", "'out/x.md' goes through the symlink 'out', which leads outside"),
        ("abs", "'abs' goes through the symlink 'abs', which leads outside"),
        ("inside/a.md", "'inside/a.md' goes through the symlink 'inside'; change 'docs/a.md'"),
        ("docs", "'docs' is a directory"),
        ("docs/a.md/x", "'docs/a.md' is a file"),
    ],
)
def test_readers_refuse_symlinks(linked_repo: Path, path: str, result: str | None) -> None:
    readers = [TreeReader(linked_repo, git(linked_repo, "rev-parse", "HEAD")),
               WorkTreeReader(linked_repo)]
    for read in readers:
        if result is None or not result.startswith("'"):
            assert read(path) == result
        else:
            with pytest.raises(EditError) as exc:
                read(path)
            assert result in str(exc.value)


def test_check_proposal_file_against_a_working_tree(linked_repo: Path) -> None:
    bad = linked_repo / "p.yaml"
    bad.write_text(HEAD + "  - path: out/x.md\n    content: x\n"
                   "  - path: docs/a.md\n    replace: {old: zzz, new: y}\n")
    problems = check_proposal_file(linked_repo, bad)
    assert [(p.field, p.line) for p in problems] == [
        ("changes[0].content", 9), ("changes[1].replace.old", 11)
    ]
    good = linked_repo / "q.yaml"
    good.write_text(HEAD + "  - path: docs/a.md\n    replace: {old: a, new: b}\n")
    assert check_proposal_file(linked_repo, good) == []


@pytest.mark.parametrize(("listed", "names"), [
    ("", []),
    ("1\t0\ta.txt\0", ["a.txt"]),
    ("1\t0\ta.txt\x002\t1\tdir/b c.txt\0", ["a.txt", "dir/b c.txt"]),
    # a rename: the entry's name is empty, the old and new names follow as fields
    ("0\t0\t\0old.txt\0new.txt\0", ["old.txt", "new.txt"]),
    ("0\t0\t\0old.txt\0new.txt\x001\t1\tc.txt\0", ["old.txt", "new.txt", "c.txt"]),
    # binary files count "-": the name is still the third field
    ("-\t-\timg.png\0", ["img.png"]),
])
def test_the_paths_git_apply_numstat_lists(listed: str, names: list[str]) -> None:
    assert numstat_names(listed) == names


def test_a_renamed_path_outside_the_repository_is_refused() -> None:
    patch = ("diff --git a/a.txt b/../a.txt\nsimilarity index 100%\nrename from a.txt\n"
             "rename to ../a.txt\n")
    with pytest.raises(EditError, match="touches '../a.txt'"):
        apply_patch(patch, {"a.txt": "x\n"})
