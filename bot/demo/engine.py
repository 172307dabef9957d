"""The demo's engine: a started sandbox with the sample repository (its files and the workflows
``improve init`` writes), its people, and the sandbox's workflow runner.

People act as they do on GitHub: the tuner files a proposal with ``improve propose`` from its
own clone and token, people comment, a maintainer pushes to main, re-opens a pull request, and
the clock reaches the schedule. Everything else happens because the repository's workflow files
say so: the sandbox records each event as GitHub would deliver it, and the runner
(``bot.sandbox.actions_runner``) runs the workflows the event starts, each ``improve`` step in a
process of its own with a token carrying its job's permissions. Two setups: the GitHub App the
README shows (``app=True``), or ``GITHUB_TOKEN`` only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.workflows import render_workflows
from bot.demo import sample
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, App, JobRecord
from bot.sandbox.step_process import Launcher, StepProcess, Zygote

BOT = "github-actions[bot]"
STATE_FILE = "sandbox-state.json"
# what the bot's environment must not inherit from the caller's
_CLEARED = ("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_")


@dataclass
class Run:
    """One ``improve`` command as a step (or a person) ran it."""

    argv: list[str]
    code: int
    out: str
    err: str
    by: str = ""  # "<workflow>/<job>", or the person who ran it


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def clone_main(root: Path, url: str, login: str) -> Path:
    """``login``'s own clone (under ``root/people``) of ``url``, on main as it is now."""
    work = root / "people" / login
    if not work.exists():
        git(root, "clone", "-q", url, str(work))
    git(work, "fetch", "-q", "origin")
    git(work, "checkout", "-q", "-B", "main", "origin/main")
    return work


def push_to_main(work: Path, files: Mapping[str, str], message: str, login: str) -> str:
    """``login`` commits ``files`` in their clone ``work`` and pushes to main: the new SHA."""
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "-A")
    git(work, "-c", f"user.name={login}", "-c", f"user.email={login}@example.com",
        "commit", "-q", "-m", message)
    git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
    return git(work, "rev-parse", "HEAD")


class _Recording:
    """The runner's launcher, keeping every step's process in ``world.runs``."""

    def __init__(self, world: World, inner: Launcher) -> None:
        self.world, self.inner = world, inner

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
            logs: Path) -> StepProcess:
        proc = self.inner.run(argv, env, cwd, logs)
        by = f"{env.get('GITHUB_WORKFLOW', '')}/{env.get('GITHUB_JOB', '')}"
        self.world.runs.append(Run(list(argv), proc.code, proc.out, proc.err, by))
        return proc

    def close(self) -> None:
        self.inner.close()


@dataclass
class World:
    """The sandbox, the repository on it, its people and the workflow runner."""

    sb: Sandbox
    root: Path
    runner: ActionsRunner
    app: App | None = None
    repo: str = sample.FULL_NAME
    tokens: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)

    @classmethod
    def start(cls, root: Path, *, app: bool = True, private: bool = False,
              files: Mapping[str, str] | None = None) -> World:
        """Start the sandbox (its repositories under ``root/sandbox``), seed the sample
        repository (or ``files``) with the workflows ``improve init`` writes, and its
        people."""
        root.mkdir(parents=True, exist_ok=True)
        sb = Sandbox.start(root=root / "sandbox")
        try:
            seed: dict[str, str | bytes] = dict(files or sample.repo_files())
            seed.update(render_workflows(action=SANDBOX_ACTION))
            sb.create_repo(sample.FULL_NAME, seed, private=private)
            the_app = App() if app else None
            runner = ActionsRunner(sb, sample.FULL_NAME, root / "actions", app=the_app,
                                   bot_action=SANDBOX_ACTION)
            world = cls(sb, root, runner, the_app)
            runner.launcher = _Recording(world, Zygote())
            for login, permission in ((sample.MAINTAINER, "maintain"),
                                      (sample.READER, "read"), (sample.AUTHOR, "write")):
                world.tokens[login] = sb.add_user(login, permission, repos=[world.repo])
        except BaseException:
            sb.stop()
            raise
        return world

    def stop(self, keep: bool = False) -> None:
        """Stop the runner and the sandbox; with ``keep``, the final state of the repository
        (pull requests, comments, statuses, refs) stays beside it as ``sandbox-state.json``."""
        self.runner.close()
        if keep:
            state = json.dumps(self.state(), indent=2, sort_keys=True, default=str)
            (self.root / STATE_FILE).write_text(state + "\n", encoding="utf-8")
        self.sb.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def bot_login(self) -> str:
        return self.app.login if self.app is not None else BOT

    # -- the forge as people see it ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.sb.repo_state(self.repo)

    def pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.state()["pulls"] if p["number"] == number)

    def pull_by_head(self, branch: str) -> dict[str, Any]:
        return next(p for p in self.state()["pulls"] if p["head"] == branch)

    def gate(self, sha: str) -> tuple[str, str] | None:
        found = [s for s in self.state()["statuses"]
                 if s["sha"] == sha and s["context"] == "improve/gate"]
        return (found[-1]["state"], found[-1]["description"]) if found else None

    def _forge(self, login: str) -> Any:
        from bot.adapters.github_forge import GitHubForge

        return GitHubForge(self.repo, self.tokens[login], api_url=self.sb.api_url)

    # -- what people do; each returns the jobs the workflows ran because of it ---------------
    def settle(self) -> list[JobRecord]:
        """Let the workflows run what the events so far call for."""
        return self.runner.run_until_idle()

    def comment(self, login: str, number: int, body: str, *,
                settle: bool = True) -> tuple[dict[str, Any], list[JobRecord]]:
        """``login`` comments on issue or PR ``number`` (as a person does, in the web page)."""
        forge = self._forge(login)
        try:
            c = forge.create_comment(number, body)
        finally:
            forge.close()
        return {"id": c.id, "body": c.body, "user": login}, (self.settle() if settle else [])

    def reopen(self, login: str, number: int) -> list[JobRecord]:
        """``login`` closes and re-opens pull request ``number`` (what the bot's warning on a
        pull request opened with GITHUB_TOKEN asks for: GitHub then runs its checks)."""
        forge = self._forge(login)
        try:
            forge.update_pull(number, state="closed")
            forge.update_pull(number, state="open")
        finally:
            forge.close()
        return self.settle()

    def _clone(self, login: str) -> Path:
        return clone_main(self.root, self.sb.git_url(self.repo, self.tokens[login]), login)

    def push_files(self, files: Mapping[str, str], message: str,
                   login: str) -> tuple[str, list[JobRecord]]:
        """``login`` pushes a commit of ``files`` to main (a data refresh, say)."""
        return push_to_main(self._clone(login), files, message, login), self.settle()

    def propose(self, text: str, name: str, *,
                settle: bool = True) -> tuple[Run, list[JobRecord]]:
        """The tuner (an agent with write access) files a proposal from its own clone with its
        own token: ``improve propose FILE`` opens the pull request."""
        login = sample.AUTHOR
        work = self._clone(login)
        path = self.root / "proposals" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        keep = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
        env = {**keep, "GITHUB_TOKEN": self.tokens[login], "GITHUB_REPOSITORY": self.repo,
               "GITHUB_API_URL": self.sb.api_url, "GITHUB_SERVER_URL": self.sb.server_url,
               "GIT_TERMINAL_PROMPT": "0"}
        argv = ["propose", str(path), "--repo", str(work)]
        proc = self.runner.launcher.run(argv, env, work, self.root / "people" / f"{name}.logs")
        run = Run(argv, proc.code, proc.out, proc.err, login)
        self.runs[-1:] = [run]  # the recording launcher's entry, with who ran it
        return run, (self.settle() if settle else [])

    def schedule(self) -> list[JobRecord]:
        """The clock reaches the scheduled workflows' cron."""
        self.runner.schedule()
        return self.settle()
