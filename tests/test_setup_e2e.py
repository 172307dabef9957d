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

from bot.cli import main
from bot.core.embed import extract
from bot.core.render import find_marker
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, JobRecord, dump_journal
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import run_git
from tests.helpers.wheel import wheel

NAME = sample.FULL_NAME
PID = "prop-20261121-threshold"
GREET = wheel("greet", "1.0", {"greet/__init__.py": "def hello():\n    return 'hello'\n"})
INSTALL = ["python", "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
           "--quiet", f"vendor/{GREET[0]}"]
REGRESSION = json.dumps({"id": "uses-greet", "targets": ["**"], "checks": [
    {"id": "imports", "run": ["python", "-c", "import greet; assert greet.hello() == 'hello'"]},
]})


class Story:
    """A sandbox repository with the project files, ``setup`` in its configuration (or none),
    the shipped workflows rendered from it, and the runner that plays them."""

    def __init__(self, sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                 setup: dict[str, Any] | None) -> None:
        files = {**sample.files(), f"vendor/{GREET[0]}": GREET[1], "requirements.txt": "greet\n",
                 "regressions/greet.yaml": REGRESSION}
        if setup is not None:
            files[".github/improve.yml"] = f"{files['.github/improve.yml']!s}setup: " \
                                           f"{json.dumps(setup)}\n"
        cache = setup.get("cache", []) if setup else []
        sb.create_repo(NAME, {**files, **render_workflows(action=SANDBOX_ACTION,
                                                          setup_cache=cache)})
        for key, value in {"GITHUB_TOKEN": sb.token, "GITHUB_REPOSITORY": NAME,
                           "GITHUB_API_URL": sb.api_url, "GIT_TERMINAL_PROMPT": "0"}.items():
            monkeypatch.setenv(key, value)
        self.sb, self.tmp, self.files = sb, tmp_path, files
        self.runner = ActionsRunner(sb, NAME, tmp_path / "actions", bot_action=SANDBOX_ACTION)
        self.work = tmp_path / "work"
        run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(self.work))

    def propose(self) -> list[JobRecord]:
        proposal = self.tmp / "proposal.yaml"
        proposal.write_text(sample.proposal(PID, 0.6))
        assert main(["propose", str(proposal), "--repo", str(self.work)]) == 0
        return self.runner.run_until_idle()

    def push(self) -> list[JobRecord]:
        """A second commit on the pull request that leaves the lock file as it was."""
        url = self.sb.git_url(NAME)
        run_git(self.work, "fetch", "-q", url, f"improve/{PID}")
        run_git(self.work, "checkout", "-q", "-B", f"improve/{PID}", "FETCH_HEAD")
        (self.work / "README.md").write_text("# router\n\nA rule-based classifier, tuned.\n")
        run_git(self.work, "commit", "-q", "-am", "README: tuned")
        run_git(self.work, "push", "-q", url, f"HEAD:refs/heads/improve/{PID}")
        return self.runner.run_until_idle()

    def comparison(self) -> str:
        (comment,) = [c for c in self.sb.repo_state(NAME)["comments"]
                      if find_marker(c["body"]) == "compare"]
        return str(comment["body"])


def the_test_job(jobs: list[JobRecord]) -> JobRecord:
    (job,) = [j for j in jobs if j.workflow == "improve-test"]
    return job


def bot_out(job: JobRecord) -> str:
    (step,) = job.bot_steps()
    return step.out + step.err


def check_of(body: str) -> dict[str, Any]:
    data = extract(body, "comparison")
    (suite,) = [s for s in data["suites"] if s["id"] == "uses-greet"]
    return suite


def test_setup_makes_the_environment_once_and_the_suites_find_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Sandbox.start() as sb:
        story = Story(sb, tmp_path, monkeypatch,
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
            story.runner.close()
        assert sb.violations == []


@pytest.mark.parametrize(("setup", "says"), [
    # a failing command: an error on the pull request, naming it and its exit code
    ({"run": [[*INSTALL[:-1], "vendor/missing-1.0-py3-none-any.whl"]],
      "cache": ["requirements.txt"]},
     "setup.run[1]: `python -m pip install --no-index --disable-pip-version-check --quiet "
     "vendor/missing-1.0-py3-none-any.whl` exited with code 1 in the head worktree"),
    # no setup: the suite runs without its dependency and fails, saying which
    (None, "No module named 'greet'"),
])
def test_without_a_working_setup_the_pull_request_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setup: dict[str, Any] | None, says: str
) -> None:
    with Sandbox.start() as sb:
        story = Story(sb, tmp_path, monkeypatch, setup)
        try:
            jobs = story.propose()
        finally:
            story.runner.close()
        body = story.comparison()
        assert says in body.replace("\\", ""), body  # as written, without Markdown's escapes
        (pr,) = sb.repo_state(NAME)["pulls"]
        statuses = [s for s in sb.repo_state(NAME)["statuses"]
                    if s["sha"] == pr["head_sha"] and s["context"] == "improve/gate"]
        want = "error" if setup else "failure"
        assert statuses[-1]["state"] == want, (statuses, dump_journal(jobs))
