"""The suites run in the project's own environment, end to end on the stand-in: a repository
whose regression suite imports a package only its ``setup:`` installs (a wheel kept in the
repository: CI reaches no package index) is evaluated through the shipped test and report
workflows. The first run makes the environment and the workflow's actions/cache keeps it; a
second push to the pull request, with the same lock file, restores it and runs no setup. A
setup command that fails is an error on the pull request naming the command and its exit code;
without the setup the suite fails, saying what is missing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.embed import extract
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import JobRecord, dump_journal
from tests.helpers.pr_story import INSTALL, NAME, PrStory, bot_out, evaluation_jobs, proposer_env


def the_test_job(jobs: list[JobRecord]) -> JobRecord:
    (job,) = evaluation_jobs(jobs)
    return job


def _story(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
           setup: dict[str, Any] | None) -> PrStory:
    for key, value in proposer_env(sb).items():
        monkeypatch.setenv(key, value)
    return PrStory(sb, tmp_path, setup)


def check_of(body: str) -> dict[str, Any]:
    data = extract(body, "comparison")
    (suite,) = [s for s in data["suites"] if s["id"] == "uses-greet"]
    return suite


def test_setup_makes_the_environment_once_and_the_suites_find_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox.start() as sb:
        story = _story(sb, tmp_path, monkeypatch,
                       {"run": [INSTALL], "cache": ["requirements.txt"]})
        try:
            jobs = story.propose()
            first = the_test_job(jobs)
            assert all(j.conclusion == "success" for j in jobs), dump_journal(jobs)
            out = bot_out(first)
            # both sides set up (same lock file: the base finds what the head made), in a group
            assert "::group::Setting up the head worktree" in out, out
            assert "setup of the base worktree" in out and "not run again" in out
            # keyed by hashFiles() of the configuration and the lock file, as Actions hashes
            (miss,) = [s for s in first.steps if s.name.startswith("actions/cache@")]
            key = hashlib.sha256(b"".join(hashlib.sha256(story.files[p].encode()).digest()
                                          for p in (".github/improve.yml", "requirements.txt")))
            assert miss.message == "Cache not found for input keys: improve-setup-Linux-" + \
                key.hexdigest()
            body = story.comparison()
            assert extract(body, "comparison")["decision"] == "accept", body
            assert check_of(body)["verdict"] != "fail"
            # a second push, the lock file unchanged: the workflow's cache restores the
            # environment and no setup command runs
            again = story.push()
            assert all(j.conclusion == "success" for j in again), dump_journal(again)
            second = the_test_job(again)
            (restore,) = [s for s in second.steps if s.name.startswith("actions/cache@")]
            assert restore.outputs == {"cache-hit": "true"}
            out = bot_out(second)
            assert "setup.run[1]" not in out and out.count("not run again") == 2, out
            assert extract(story.comparison(), "comparison")["decision"] == "accept"
        finally:
            story.close()
        assert sb.violations == []


def test_a_failing_setup_command_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = {"run": [[*INSTALL[:-1], "vendor/missing-1.0-py3-none-any.whl"]],
             "cache": ["requirements.txt"]}
    says = ("setup.run[1]: `python -m pip install --no-index --disable-pip-version-check "
            "--quiet vendor/missing-1.0-py3-none-any.whl` exited with code 1 in the head "
            "worktree")
    with Sandbox.start() as sb:
        story = _story(sb, tmp_path, monkeypatch, setup)
        try:
            jobs = story.propose()
        finally:
            story.close()
        body = story.comparison()
        assert says in body.replace("\\", ""), body  # as written, without Markdown's escapes
        (pr,) = sb.repo_state(NAME)["pulls"]
        statuses = [s for s in sb.repo_state(NAME)["statuses"]
                    if s["sha"] == pr["head_sha"] and s["context"] == "improve/gate"]
        assert statuses[-1]["state"] == "error", (statuses, dump_journal(jobs))


def test_a_pull_request_cannot_change_what_setup_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without setup the suite fails, saying what is missing; a pull request that adds a setup
    to its own configuration changes nothing: the commands are the base's (none here)."""
    marker = tmp_path / "ran-the-pull-requests-setup"
    with Sandbox.start() as sb:
        story = _story(sb, tmp_path, monkeypatch, None)
        try:
            story.propose()
            body = story.comparison()
            assert "No module named 'greet'" in body.replace("\\", ""), body
            config = str(story.files[".github/improve.yml"]) + "setup: " + json.dumps(
                {"run": [["python", "-c", f"open({str(marker)!r}, 'w')"], INSTALL]}) + "\n"
            jobs = story.push({".github/improve.yml": config})
        finally:
            story.close()
        assert not marker.exists(), dump_journal(jobs)
        body = story.comparison()
        (pr,) = sb.repo_state(NAME)["pulls"]
        assert extract(body, "comparison")["cand"]["commit"] == pr["head_sha"]
        assert "No module named 'greet'" in body.replace("\\", ""), body
        assert "Setting up" not in bot_out(the_test_job(jobs))
