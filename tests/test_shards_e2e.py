"""Large suites fan out, end to end on the stand-in: the shipped test workflow rendered with
``test.shards: 3`` runs a matrix of three jobs, each measuring its share of the tasks on both
sides; the report job downloads the three artifacts, merges them, and posts the same verdict,
on the same tasks, as the unsharded workflow does on the same pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.core.embed import extract
from bot.core.render import find_marker
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import run_git

NAME = sample.FULL_NAME
PID = "prop-20261121-threshold"


def evaluate_pr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shards: int) -> dict[str, Any]:
    """A proposal through the shipped test and report workflows, on a fresh sandbox: the
    comparison the report posted, the test jobs' names and their share of the tasks."""
    with Sandbox.start() as sb:
        files = sample.files()
        config = files[".github/improve.yml"]
        files[".github/improve.yml"] = f"{config!s}\ntest:\n  shards: {shards}\n"
        sb.create_repo(NAME, {**files, **render_workflows(action=SANDBOX_ACTION, shards=shards)})
        for key, value in {"GITHUB_TOKEN": sb.token, "GITHUB_REPOSITORY": NAME,
                           "GITHUB_API_URL": sb.api_url, "GIT_TERMINAL_PROMPT": "0"}.items():
            monkeypatch.setenv(key, value)
        runner = ActionsRunner(sb, NAME, tmp_path / f"actions-{shards}",
                               bot_action=SANDBOX_ACTION)
        try:
            work = tmp_path / f"work-{shards}"
            run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
            proposal = tmp_path / f"proposal-{shards}.yaml"
            proposal.write_text(sample.proposal(PID, 0.6))
            assert main(["propose", str(proposal), "--repo", str(work)]) == 0
            jobs = runner.run_until_idle()
        finally:
            runner.close()
        tests = [j for j in jobs if j.workflow == "improve-test"]
        (report,) = [j for j in jobs if j.workflow == "improve-report"]
        assert all(j.conclusion == "success" for j in [*tests, report]), dump_journal(jobs)
        (comment,) = [c for c in sb.repo_state(NAME)["comments"]
                      if find_marker(c["body"]) == "compare"]
        assert sb.violations == []
        shares = [s.out for j in tests for s in j.bot_steps()]
        return {"comparison": extract(comment["body"], "comparison"),
                "tests": [j.job for j in tests], "shares": shares,
                "calls": [j.api_calls for j in [*tests, report]]}


def suites_of(comparison: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per suite: the tasks paired, the scores on both sides and the verdict."""
    return [(s["id"], s["tasks_paired"], s["score_base"], s["score_cand"], s["verdict"])
            for s in comparison["suites"]]


def test_three_shards_give_the_unsharded_verdict(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    whole = evaluate_pr(tmp_path, monkeypatch, 1)
    sharded = evaluate_pr(tmp_path, monkeypatch, 3)
    assert whole["tests"] == ["improve test (1)"]
    assert sharded["tests"] == ["improve test (1)", "improve test (2)", "improve test (3)"]
    assert sharded["comparison"]["decision"] == whole["comparison"]["decision"] == "accept"
    # the same tasks, paired, with the same scores (the classifier is deterministic)
    assert suites_of(sharded["comparison"]) == suites_of(whole["comparison"])
    assert suites_of(whole["comparison"])[0][1] == len(sample.SPLITS)
    # the test jobs talk to no API: only the report does, once for all the shards
    assert sharded["calls"][:3] == [0, 0, 0]
    assert sharded["calls"][3] == whole["calls"][1]
