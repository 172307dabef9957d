"""COMMIT with the local forge: a plain git repository, an improvement branch merged through the
local forge, then ``improve release --forge local`` — no GitHub anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.local_forge import LocalForge
from bot.core.embed import embed
from bot.core.release.changelog import parse_history
from tests.helpers.git import commit_all, git
from tests.helpers.release import comparison_data, proposal_yaml

# CRLF and a byte-order mark: the release must keep both, byte for byte
CHANGELOG = "\ufeff# Changelog\r\n\r\n## v1.3.2\r\n\r\n- the first  \r\n"
PYPROJECT = '[project]\nname = "app"\nversion = "1.3.2"\n'


def _cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "release", "--forge", "local",
                           "--repo", str(repo), "--no-measure", *args],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ))


def _merged_improvement(repo: Path, pid: str = "prop-a") -> int:
    git(repo, "checkout", "-q", "-b", f"improve/{pid}")
    (repo / "config.yaml").write_text("routing:\n  threshold: 0.62\n")
    (repo / ".improve/proposals").mkdir(parents=True, exist_ok=True)
    (repo / f".improve/proposals/{pid}.yaml").write_text(
        proposal_yaml(pid, path="config.yaml"))
    commit_all(repo, f"Raise the threshold\n\nImprove-Proposal: {pid}")
    git(repo, "checkout", "-q", "main")
    forge = LocalForge(repo)
    pr = forge.create_pull(title="Raise the threshold", body="", head=f"improve/{pid}",
                           base="main", labels=["improvement"])
    forge.create_comment(pr.number, "<!-- improve:compare -->\n" +
                         embed("comparison", comparison_data()))
    forge.merge_pull(pr.number)
    return pr.number


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    return make_repo({"CHANGELOG.md": CHANGELOG.encode(), "pyproject.toml": PYPROJECT,
                      "config.yaml": "routing:\n  threshold: 0.55\n"})


def test_release_in_a_plain_repository(repo: Path) -> None:
    number = _merged_improvement(repo)
    merge_sha = git(repo, "rev-parse", "main")

    dry = _cli(repo, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would release v1.3.3 (from 1.3.2) for PR #1" in dry.stdout
    assert git(repo, "rev-parse", "main") == merge_sha and git(repo, "tag") == ""

    done = _cli(repo)
    assert done.returncode == 0, done.stderr
    assert "released v1.3.3 for PR #1" in done.stdout
    commit = git(repo, "rev-parse", "main")
    assert git(repo, "rev-parse", f"{commit}^") == merge_sha
    assert git(repo, "rev-parse", "v1.3.3^{commit}") == commit
    assert git(repo, "log", "-1", "--format=%s", commit) == "chore(release): v1.3.3"
    # the checked-out tree followed the branch; CRLF, the BOM and trailing blanks kept
    data = (repo / "CHANGELOG.md").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# Changelog\r\n\r\n## v1.3.3 - 2026-") or \
        data.startswith(b"\xef\xbb\xbf# Changelog\r\n\r\n## v1.3.3 - ")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert data.endswith(b"## v1.3.2\r\n\r\n- the first  \r\n")
    start = data.index(b"## v1.3.3")
    assert data[:start] + data[data.index(b"## v1.3.2"):] == CHANGELOG.encode()
    assert git(repo, "status", "--porcelain") == ""
    assert 'version = "1.3.3"' in (repo / "pyproject.toml").read_text()
    history = parse_history(data.decode())
    assert [(h.version, h.pr) for h in history] == [("1.3.3", number), ("1.3.2", None)]
    # the record on the data branch of the same repository, and the comment
    record = json.loads(git(repo, "show", "improve-data:releases/v1.3.3.json"))
    assert record["release_commit"] == commit and record["proposal"]["id"] == "prop-a"
    comments = LocalForge(repo).list_comments(number)
    assert sum("<!-- improve:released -->" in c.body for c in comments) == 1

    again = _cli(repo)
    assert again.returncode == 0 and "nothing to release" in again.stdout
    assert git(repo, "rev-parse", "main") == commit
    assert len(LocalForge(repo).list_comments(number)) == len(comments)
    # asked for by number, it says it was released
    by_number = _cli(repo, "--pr", str(number))
    assert by_number.returncode == 0 and "was released as 1.3.3" in by_number.stdout


def test_refusals(repo: Path) -> None:
    not_merged = _cli(repo, "--pr", "7")
    assert not_merged.returncode == 2
    assert "--pr: PR #7 is not a merged pull request into main" in not_merged.stderr
    (repo / "CHANGELOG.md").write_text("# Changelog\n\n## [1.2.x] - 2026-01-01\n")
    commit_all(repo, "a changelog the bot cannot read")
    _merged_improvement(repo)
    refused = _cli(repo)
    assert refused.returncode == 2
    assert "CHANGELOG.md:3" in refused.stderr and "Traceback" not in refused.stderr
    assert git(repo, "tag") == ""


def test_the_release_commit_is_measured_when_a_suite_targets_the_change(
    make_repo: Callable[..., Path],
) -> None:
    suite = ("id: router-v1\ntargets: [\"config.yaml\"]\nrepeat: 1\ntimeout: 60\n"
             "metrics:\n  - {name: accuracy, direction: higher}\n"
             "tasks:\n  - id: t1\n    run: python score.py\n")
    repo = make_repo({"CHANGELOG.md": CHANGELOG.encode(), "pyproject.toml": PYPROJECT,
                      "config.yaml": "routing:\n  threshold: 0.55\n",
                      "benchmarks/router.yaml": suite,
                      "score.py": "print('{\"accuracy\": 0.9}')\n"})
    _merged_improvement(repo)
    done = subprocess.run([sys.executable, "-m", "bot", "release", "--forge", "local",
                           "--repo", str(repo)], capture_output=True, text=True, timeout=120,
                          check=False, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    commit = git(repo, "rev-parse", "main")
    record = json.loads(git(repo, "show", "improve-data:releases/v1.3.3.json"))
    assert record["results"] == f"results/{commit}.json"
    results = json.loads(git(repo, "show", f"improve-data:results/{commit}.json"))
    assert results["commit"] == commit
    assert [s["id"] for s in results["suites"]] == ["router-v1"]


def test_a_touched_changelog_and_a_stale_lock(repo: Path) -> None:
    """Files merely touched (their stat data changed) do not stop the checked-out tree from
    following the release; a main.lock left by a killed git is named, not taken for a race."""
    _merged_improvement(repo)
    for name in ("CHANGELOG.md", "pyproject.toml"):
        os.utime(repo / name, (1, 1))
    done = _cli(repo)
    assert done.returncode == 0, done.stderr
    assert git(repo, "status", "--porcelain") == ""

    _merged_improvement(repo, "prop-b")
    lock = repo / ".git" / "refs" / "heads" / "main.lock"
    lock.write_text("")
    stuck = _cli(repo)
    assert stuck.returncode != 0
    assert "main.lock exists" in stuck.stderr and "kept moving" not in stuck.stderr
    lock.unlink()
    again = _cli(repo)
    assert again.returncode == 0 and "released v1.3.4 for PR #2" in again.stdout, again.stderr


def test_a_run_killed_after_main_moved_is_finished_by_the_next(repo: Path) -> None:
    """main moved to the release commit, nothing else happened (no tag, no record, no comment,
    the checked-out tree behind): the next run tags, records and comments, and the tree
    follows."""
    number = _merged_improvement(repo)
    merge_sha = git(repo, "rev-parse", "main")
    done = _cli(repo)
    assert done.returncode == 0, done.stderr
    release = git(repo, "rev-parse", "main")
    # undo everything but the branch move, as a kill right after update-ref leaves it
    git(repo, "tag", "-d", "v1.3.3")
    data_tip = git(repo, "rev-parse", "improve-data")
    git(repo, "update-ref", "refs/heads/improve-data", f"{data_tip}^")
    git(repo, "read-tree", merge_sha)
    git(repo, "checkout", "-q", "--", ".")
    forge = LocalForge(repo)
    for c in forge.list_comments(number):
        if "<!-- improve:released -->" in c.body:
            forge.delete_comment(c.id)
    resumed = _cli(repo)
    assert resumed.returncode == 0, resumed.stderr
    assert git(repo, "rev-parse", "v1.3.3^{commit}") == release
    assert json.loads(git(repo, "show", "improve-data:releases/v1.3.3.json"))["pr"] == number
    assert sum("<!-- improve:released -->" in c.body
               for c in LocalForge(repo).list_comments(number)) == 1
    assert git(repo, "rev-parse", "main") == release


def test_a_python_project_with_a_pep440_version(make_repo: Callable[..., Path]) -> None:
    # a development version, as setuptools-style projects keep between releases: PEP 440 says
    # 0.23.2.dev0 comes before 0.23.2, so the patch release of it is 0.23.2 itself
    repo = make_repo({"CHANGELOG.md": "# Changelog\n\n## v0.23.1\n\n- the first\n",
                      "pyproject.toml": PYPROJECT.replace("1.3.2", "0.23.2.dev0"),
                      "config.yaml": "routing:\n  threshold: 0.55\n"})
    number = _merged_improvement(repo)
    done = _cli(repo)
    assert done.returncode == 0, done.stderr
    assert "released v0.23.2 for PR #1" in done.stdout
    assert git(repo, "rev-parse", "v0.23.2^{commit}") == git(repo, "rev-parse", "main")
    assert (repo / "pyproject.toml").read_text() == PYPROJECT.replace("1.3.2", "0.23.2")
    history = parse_history((repo / "CHANGELOG.md").read_text())
    assert [(h.version, h.pr) for h in history] == [("0.23.2", number), ("0.23.1", None)]
    record = json.loads(git(repo, "show", "improve-data:releases/v0.23.2.json"))
    assert record["previous"] == "0.23.2.dev0"


@pytest.mark.parametrize("merged", [1, 2])
def test_two_racing_local_releases_both_end_right(repo: Path, merged: int) -> None:
    """Two ``improve release --forge local`` started together on one repository (one or two
    merged improvements): each merge released once, in order, and neither run fails. (With
    two, the first merge's release may go on its own merge commit, off main: by design.)"""
    numbers = [_merged_improvement(repo, f"prop-{i}") for i in range(merged)]
    cmd = [sys.executable, "-m", "bot", "release", "--forge", "local", "--repo", str(repo),
           "--no-measure"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ)) for _ in range(2)]
    done = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in done] == [0, 0], "\n".join(
        f"exit {code}\n{out}{err}" for code, out, err in done)
    versions = [f"1.3.{3 + i}" for i in range(merged)]
    assert git(repo, "tag", "--list", "v*").split() == [f"v{v}" for v in versions]
    assert git(repo, "rev-parse", f"v{versions[-1]}^{{commit}}") == git(repo, "rev-parse", "main")
    history = parse_history((repo / "CHANGELOG.md").read_bytes().decode("utf-8-sig"))
    assert [(h.version, h.pr) for h in history][:merged] == list(
        reversed(list(zip(versions, numbers, strict=True))))
    forge = LocalForge(repo)
    for n, v in zip(numbers, versions, strict=True):
        assert sum("<!-- improve:released -->" in c.body for c in forge.list_comments(n)) == 1
        assert json.loads(git(repo, "show", f"improve-data:releases/v{v}.json"))["pr"] == n
    assert git(repo, "status", "--porcelain") == ""
