"""The demo's engine: a started sandbox with the sample repository, its people, a clone that
plays the Actions workspace, and ``improve`` commands run as a workflow step runs them
(``improve handle`` with an Actions-shaped event and environment, through the real PyGithub code
path against the sandbox).

Commands run in this process through ``bot.cli.main`` (a subprocess would pay the interpreter
and scipy's import for every step); the environment a step sees is set for the call and put back
after it, and what the command prints is kept for the transcript."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo import sample
from bot.sandbox import Sandbox
from bot.sandbox.events import actions_env, build_event

BOT = "github-actions[bot]"
STATE_FILE = "sandbox-state.json"
# what the bot's environment must not inherit from the caller's
_CLEARED = ("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_")


@dataclass
class Run:
    """One ``improve`` command as a step ran it."""

    argv: list[str]
    code: int
    out: str
    err: str


@contextlib.contextmanager
def step_environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` as an Actions step sees it, for the duration of the block."""
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith(_CLEARED):
                del os.environ[key]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


@dataclass
class World:
    """The sandbox, the repository on it, and where the steps run."""

    sb: Sandbox
    root: Path
    repo: str = sample.FULL_NAME
    tokens: dict[str, str] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)
    _n: int = 0

    @classmethod
    def start(cls, root: Path) -> World:
        """Start the sandbox (its repositories under ``root/sandbox``), seed the sample
        repository and its people, and clone the workspace."""
        root.mkdir(parents=True, exist_ok=True)
        sb = Sandbox.start(root=root / "sandbox")
        world = cls(sb, root)
        try:
            sb.create_repo(world.repo, dict(sample.repo_files()))
            for login, permission in ((sample.MAINTAINER, "maintain"),
                                      (sample.READER, "read"), (sample.AUTHOR, "write")):
                world.tokens[login] = sb.add_user(login, permission, repos=[world.repo])
            world.tokens[BOT] = sb.token
            git(root, "clone", "-q", sb.git_url(world.repo), str(world.workspace))
        except BaseException:
            sb.stop()
            raise
        return world

    def stop(self, keep: bool = False) -> None:
        """Stop the sandbox; with ``keep``, its final state of the repository (pull requests,
        comments, statuses, refs) stays beside the repositories as ``sandbox-state.json``."""
        if keep:
            state = json.dumps(self.state(), indent=2, sort_keys=True, default=str)
            (self.root / STATE_FILE).write_text(state + "\n", encoding="utf-8")
        self.sb.stop()
        if not keep:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    # -- the forge as people see it ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.sb.repo_state(self.repo)

    def main_sha(self) -> str:
        return str(self.state()["refs"]["refs/heads/main"])

    def pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.state()["pulls"] if p["number"] == number)

    def pull_by_head(self, branch: str) -> dict[str, Any]:
        return next(p for p in self.state()["pulls"] if p["head"] == branch)

    def gate(self, sha: str) -> tuple[str, str] | None:
        found = [s for s in self.state()["statuses"]
                 if s["sha"] == sha and s["context"] == "improve/gate"]
        return (found[-1]["state"], found[-1]["description"]) if found else None

    def comment(self, login: str, number: int, body: str) -> dict[str, Any]:
        """``login`` comments on issue or PR ``number`` (as a person does, in the web page)."""
        from bot.adapters.github_forge import GitHubForge

        forge = GitHubForge(self.repo, self.tokens[login], api_url=self.sb.api_url)
        try:
            c = forge.create_comment(number, body)
        finally:
            forge.close()
        return {"id": c.id, "body": c.body, "user": login}

    def push_files(self, files: Mapping[str, str], message: str, login: str) -> str:
        """``login`` pushes a commit of ``files`` to main (a data refresh, say)."""
        work = self.root / "people" / login
        if not work.exists():
            git(self.root, "clone", "-q", self.sb.git_url(self.repo, self.tokens[login]),
                str(work))
        git(work, "fetch", "-q", "origin")
        git(work, "checkout", "-q", "-B", "main", "origin/main")
        for rel, text in files.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        git(work, "add", "-A")
        git(work, "-c", f"user.name={login}", "-c", f"user.email={login}@example.com",
            "commit", "-q", "-m", message)
        git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return git(work, "rev-parse", "HEAD")

    # -- steps ---------------------------------------------------------------------------------
    def checkout(self, ref: str) -> None:
        """The workspace as actions/checkout leaves it: every branch fetched, ``ref`` checked
        out, nothing else in the tree."""
        w = self.workspace
        git(w, "fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*")
        git(w, "checkout", "-q", "--detach", ref)
        git(w, "clean", "-qfdx")

    def improve(self, argv: list[str], env: Mapping[str, str]) -> Run:
        """One ``improve`` command, in this process, with the step's environment."""
        from bot.cli import main

        out, err = io.StringIO(), io.StringIO()
        with step_environment(env), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            code = main(argv)
        run = Run(argv, code, out.getvalue(), err.getvalue())
        self.runs.append(run)
        return run

    def step_env(self, event: str, payload: dict[str, Any], *, sha: str, ref: str,
                 sender: str = BOT) -> dict[str, str]:
        self._n += 1
        env = actions_env(event, payload, repo=self.repo, api_url=self.sb.api_url,
                          server_url=self.sb.server_url, token=self.sb.token, sha=sha, ref=ref,
                          workdir=self.root / "runner" / f"{self._n:02d}-{event}")
        env["GITHUB_WORKSPACE"] = str(self.workspace)
        # the App token setup the README shows: its pushes and pull requests start workflows
        env["IMPROVE_TOKEN_SOURCE"] = "app"
        env["GIT_TERMINAL_PROMPT"] = "0"
        env["GITHUB_ACTOR"] = sender
        # a fresh machine has no git identity: every stage that commits brings the bot's own
        # (bot.adapters.git.identity_env), which the demo's test runs with an empty HOME
        return env

    def handle(self, event: str, payload: dict[str, Any], *, sha: str, ref: str,
               checkout: str | None = None) -> Run:
        """``improve handle`` for ``event``, the workspace checked out at ``checkout``."""
        self.checkout(checkout or sha)
        return self.improve(["handle"], self.step_env(event, payload, sha=sha, ref=ref))

    def propose(self, text: str, name: str) -> Run:
        """``improve propose`` as the workflow_dispatch job runs it, on the default branch."""
        self.checkout("origin/main")
        path = self.root / "proposals" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        payload = build_event("workflow_dispatch", None, repo=self.repo, ref="refs/heads/main",
                              sender=sample.AUTHOR)
        env = self.step_env("workflow_dispatch", payload, sha=self.main_sha(),
                            ref="refs/heads/main", sender=sample.AUTHOR)
        git(self.workspace, "checkout", "-q", "-B", "main", "origin/main")
        return self.improve(["propose", str(path), "--repo", str(self.workspace)], env)

    # -- events, as GitHub would send them -------------------------------------------------------
    def pull_request_opened(self, number: int) -> Run:
        pr = self.pull(number)
        main = self.main_sha()
        payload = build_event("pull_request", "opened", repo=self.repo, default_branch="main",
                              number=number, head_ref=pr["head"], head_sha=pr["head_sha"],
                              base_ref="main", base_sha=main, labels=pr["labels"],
                              title=pr["title"], author=pr["user"], sender=pr["user"])
        return self.handle("pull_request", payload, sha=pr["head_sha"],
                           ref=f"refs/pull/{number}/merge", checkout=pr["head_sha"])

    def push_main(self, before: str) -> Run:
        after = self.main_sha()
        payload = build_event("push", None, repo=self.repo, default_branch="main",
                              ref="refs/heads/main", before=before, after=after)
        return self.handle("push", payload, sha=after, ref="refs/heads/main")

    def comment_event(self, number: int, comment: dict[str, Any]) -> Run:
        pr = self.pull(number)
        payload = build_event("issue_comment", "created", repo=self.repo, default_branch="main",
                              number=number, body=comment["body"], comment_id=comment["id"],
                              sender=comment["user"], pr_author=pr["user"],
                              labels=pr["labels"], issue_state=pr["state"],
                              merged=pr["merged"])
        main = self.main_sha()
        return self.handle("issue_comment", payload, sha=main, ref="refs/heads/main")

    def schedule(self) -> Run:
        payload = build_event("schedule", None, cron="17 */6 * * *")
        main = self.main_sha()
        return self.handle("schedule", payload, sha=main, ref="refs/heads/main")
