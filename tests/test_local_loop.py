"""The whole loop with the local forge, no GitHub anywhere, on a bare repository as the remote:
propose, evaluate, approve, merge, release, roll back, approve and merge the revert, release
it. Everything a person does on GitHub is an ``improve local`` command."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.local_forge import LocalForge
from bot.cli import main
from bot.core.forge import PullRequest
from tests.helpers import sample_repo as sample
from tests.helpers.git import git
from tests.helpers.monitor import files


def _proposed(make_repo: Callable[..., Path], tmp_path: Path
              ) -> tuple[Path, Path, list[str], PullRequest]:
    """A working repository, a bare clone of it as the forge, the ``--repo`` arguments, and
    one proposal opened there: a change the suites cannot tell from the baseline (it and its
    revert are both accepted)."""
    work = make_repo(files())
    bare = tmp_path / "forge.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    # the forge is the remote itself (a clone's origin with no improve-data branch is w15's
    # data-branch defect, not this test's subject)
    git(bare, "remote", "remove", "origin")
    repo = ["--repo", str(bare)]
    proposal = tmp_path / "p.yaml"
    proposal.write_text(sample.proposal("prop-t", 0.501, risk="medium"))
    assert main(["propose", str(proposal), "--forge", "local", *repo]) == 0
    (pr,) = LocalForge(bare).list_pulls(state="open")
    return work, bare, repo, pr



def test_the_whole_loop_and_a_rollback_on_a_bare_repository(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work, bare, repo, pr = _proposed(make_repo, tmp_path)
    assert main(["local", "evaluate", str(pr.number), *repo]) == 0
    assert "accept" in capsys.readouterr().out
    # the proposal's author may not approve it; someone else may, then it merges
    assert main(["local", "approve", str(pr.number), "--as", "tuner", *repo]) == 1
    assert main(["local", "merge", str(pr.number), *repo]) == 1  # the gate is not green
    assert main(["local", "approve", str(pr.number), "--as", "alice", *repo]) == 0
    assert main(["local", "merge", str(pr.number), *repo]) == 0
    assert main(["release", "--forge", "local", *repo]) == 0
    assert git(bare, "tag", "--list", "v*").split() == ["v1.3.1"]

    assert main(["rollback", "v1.3.1", "--reason", "<b>by</b> @hand", "--forge", "local",
                 *repo]) == 0
    (revert,) = LocalForge(bare).list_pulls(state="open", head="improve/rollback-v1.3.1")
    assert main(["local", "evaluate", str(revert.number), *repo]) == 0
    assert main(["local", "approve", str(revert.number), "--as", "alice", *repo]) == 0
    assert main(["local", "merge", str(revert.number), *repo]) == 0
    assert main(["release", "--forge", "local", *repo]) == 0
    assert git(bare, "tag", "--list", "v*").split() == ["v1.3.1", "v1.3.2"]
    changelog = git(bare, "show", "main:CHANGELOG.md")
    assert "Rollback of**: 1.3.1" in changelog and "[ROLLED BACK]" in changelog
    assert "<b>by</b>" not in changelog and "@hand" not in changelog  # written inert
    assert "threshold: 0.5" in git(bare, "show", f"main:{sample.THRESHOLD_PATH}")

    # closing: a pull request nobody wants any more
    proposal = tmp_path / "p.yaml"
    proposal.write_text("title: Notes\ntype: prompt_edit\nrisk: low\nrationale: r\n"
                        "predicted_improvement: {metric: accuracy, delta: 0.0}\nauthor: tuner\n"
                        "changes:\n  - path: NOTES.md\n    content: \"notes\\n\"\n")
    assert main(["propose", str(proposal), "--forge", "local", *repo]) == 0
    (other,) = LocalForge(bare).list_pulls(state="open")
    assert main(["local", "close", str(other.number), *repo]) == 0
    assert LocalForge(bare).get_pull(other.number).state == "closed"


def test_an_invalid_configuration_on_main_sets_the_gate_to_error(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The error is reported on the PR and the gate leaves "pending": before, the error path
    re-read the same invalid configuration and raised again, so the gate stayed pending."""
    work, bare, repo, pr = _proposed(make_repo, tmp_path)
    # main moves on to a configuration the schema refuses (max_open must be at least 1)
    (work / ".github/improve.yml").write_text(sample.CONFIG + "limits:\n  max_open: 0\n")
    git(work, "commit", "-qam", "an invalid limit")
    git(work, "push", "-q", str(bare), "main")

    assert main(["local", "evaluate", str(pr.number), *repo]) == 1
    out = capsys.readouterr()
    assert "max_open" in out.out + out.err
    gate = {s.context: s for s in LocalForge(bare).combined_status(pr.head_sha).statuses}
    assert gate["improve/gate"].state == "error"
    bodies = [c.body for c in LocalForge(bare).list_comments(pr.number)]
    assert any("could not evaluate" in b and "max\\_open" in b for b in bodies)
