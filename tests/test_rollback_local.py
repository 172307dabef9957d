"""MONITOR and ROLLBACK with the local forge: a plain git repository, an improvement merged
through the local forge and released, then ``improve monitor`` and ``improve rollback`` with
``--forge local`` — no GitHub anywhere."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.local_forge import LocalForge
from bot.cli import main
from bot.core.embed import extract
from bot.core.records import MonitorRecord
from tests.helpers import sample_repo as sample
from tests.helpers.git import commit_all, git
from tests.helpers.monitor import comparison_comment, files


def test_monitor_and_rollback_with_the_local_forge(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(files())
    git(repo, "checkout", "-q", "-b", "improve/prop-t")
    rules = repo / sample.THRESHOLD_PATH
    rules.write_text(rules.read_text().replace("threshold: 0.5", "threshold: 0.62"))
    (repo / ".improve/proposals").mkdir(parents=True)
    (repo / ".improve/proposals/prop-t.yaml").write_text(sample.proposal("prop-t", 0.62))
    commit_all(repo, "Set the threshold\n\nImprove-Proposal: prop-t")
    git(repo, "checkout", "-q", "main")
    forge = LocalForge(repo)
    pr = forge.create_pull(title="Set the threshold", body="", head="improve/prop-t",
                           base="main", labels=["improvement"])
    forge.create_comment(pr.number, comparison_comment())
    forge.merge_pull(pr.number)
    local = ["--forge", "local", "--repo", str(repo)]
    assert main(["release", *local]) == 0

    assert main(["monitor", *local]) == 0
    assert "improve monitor: v1.3.1: measured" in capsys.readouterr().out
    rec = MonitorRecord.model_validate_json(
        git(repo, "show", "improve-data:monitors/v1.3.1.json"))
    assert len(rec.runs) == 1 and rec.runs[0].commit == git(repo, "rev-parse", "main")

    main_before = git(repo, "rev-parse", "main")
    assert main(["rollback", "v1.3.1", "--reason", "by hand", *local]) == 0
    revert = LocalForge(repo).list_pulls(state="open", head="improve/rollback-v1.3.1")
    assert len(revert) == 1 and set(revert[0].labels) == {"improvement", "rollback"}
    assert extract(revert[0].body, "rollback")["reason"] == "by hand"
    assert git(repo, "rev-parse", "main") == main_before  # nothing on the default branch
    reverted = git(repo, "show", f"improve/rollback-v1.3.1:{sample.THRESHOLD_PATH}")
    assert "threshold: 0.5" in reverted
