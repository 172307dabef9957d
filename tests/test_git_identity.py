"""On a fresh runner git has no identity; the bot's commits (proposals, releases, records)
carry the bot's, and a person's own identity is never overridden."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from bot.adapters.datastore import DataStore
from bot.adapters.git import BOT_EMAIL, Git, identity_env
from bot.stages.propose import propose
from tests.helpers.git import git

PROPOSAL = """\
title: Raise the threshold
type: constant_tune
risk: low
rationale: fewer misroutes
predicted_improvement: {metric: accuracy, delta: 0.02}
author: tuner
changes:
  - path: config.yaml
    set: {key: threshold, value: 0.6}
"""


def test_propose_and_records_commit_as_the_bot_on_a_fresh_runner(
    make_repo: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo({"config.yaml": "threshold: 0.5\n"})  # made while the identity was set
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
                "EMAIL"):
        monkeypatch.delenv(var, raising=False)
    # git itself refuses to commit here now
    probe = subprocess.run(["git", "var", "GIT_COMMITTER_IDENT"], cwd=repo, capture_output=True)
    assert probe.returncode != 0
    outcome = propose(repo, PROPOSAL, "p.yaml", today=date(2026, 11, 21))
    assert outcome.status == "created"
    assert git(repo, "log", "-1", "--format=%an <%ae>", outcome.commit or "") == (
        f"improve[bot] <{BOT_EMAIL}>"
    )
    assert DataStore(Git(repo), remote=None).write({"r.json": {"a": 1}}, "a record")
    assert git(repo, "log", "-1", "--format=%ce", "improve-data") == BOT_EMAIL


def test_a_persons_identity_is_kept(make_repo: Callable[..., Path]) -> None:
    repo = make_repo()
    assert identity_env(repo) == {}  # the test's GIT_* identity stands
