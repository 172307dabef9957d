"""A pull request through the shipped test and report workflows on the stand-in, for the
end-to-end tests and benchmarks of the test workflow (``setup:``, ``test.shards``): the sample
repository (tests/helpers/sample_repo.py) plus a regression suite importing a package only the
setup installs (a wheel in the repository: CI reaches no package index), the workflows rendered
from its configuration as ``improve init`` would, and the runner that plays them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.cli import main
from bot.core.render import find_marker
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, JobRecord
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


def proposer_env(sb: Sandbox) -> dict[str, str]:
    """What ``improve propose`` reads to open the pull request on the stand-in."""
    return {"GITHUB_TOKEN": sb.token, "GITHUB_REPOSITORY": NAME, "GITHUB_API_URL": sb.api_url,
            "GIT_TERMINAL_PROMPT": "0"}


class PrStory:
    """``setup``: the configuration's ``setup:`` (None: none); ``shards``: ``test.shards``.
    The proposer (``improve propose``, in this process) needs :func:`proposer_env` set."""

    def __init__(self, sb: Sandbox, tmp_path: Path, setup: dict[str, Any] | None = None,
                 shards: int = 1) -> None:
        files: dict[str, str | bytes] = {
            **sample.files(), f"vendor/{GREET[0]}": GREET[1], "requirements.txt": "greet\n",
            "regressions/greet.yaml": REGRESSION}
        config = str(files[".github/improve.yml"]) + f"test:\n  shards: {shards}\n"
        if setup is not None:
            config += f"setup: {json.dumps(setup)}\n"
        files[".github/improve.yml"] = config
        cache = setup.get("cache", []) if setup else []
        sb.create_repo(NAME, {**files, **render_workflows(action=SANDBOX_ACTION, shards=shards,
                                                          setup_cache=cache)})
        self.sb, self.tmp, self.files = sb, tmp_path, files
        self.runner = ActionsRunner(sb, NAME, tmp_path / "actions", bot_action=SANDBOX_ACTION)
        self.work = tmp_path / "work"
        run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(self.work))

    def propose(self) -> list[JobRecord]:
        proposal = self.tmp / "proposal.yaml"
        proposal.write_text(sample.proposal(PID, 0.6))
        assert main(["propose", str(proposal), "--repo", str(self.work)]) == 0
        return self.runner.run_until_idle()

    def push(self, files: dict[str, str] | None = None) -> list[JobRecord]:
        """A second commit on the pull request: ``files`` written, or by default the threshold
        moved on (the same suites run again, the lock file as it was)."""
        url = self.sb.git_url(NAME)
        run_git(self.work, "fetch", "-q", url, f"improve/{PID}")
        run_git(self.work, "checkout", "-q", "-B", f"improve/{PID}", "FETCH_HEAD")
        rules = self.work / sample.THRESHOLD_PATH
        for rel, text in (files or {
                sample.THRESHOLD_PATH: rules.read_text().replace("0.6", "0.61")}).items():
            (self.work / rel).write_text(text)
        run_git(self.work, "commit", "-q", "-am", "a second push")
        run_git(self.work, "push", "-q", url, f"HEAD:refs/heads/improve/{PID}")
        return self.runner.run_until_idle()

    def comparison(self) -> str:
        (comment,) = [c for c in self.sb.repo_state(NAME)["comments"]
                      if find_marker(c["body"]) == "compare"]
        return str(comment["body"])

    def close(self) -> None:
        self.runner.close()


def evaluation_jobs(jobs: list[JobRecord]) -> list[JobRecord]:
    return [j for j in jobs if j.workflow == "improve-test"]


def bot_out(job: JobRecord) -> str:
    (step,) = job.bot_steps()
    return step.out + step.err
