"""A pull request on the sandbox and the COMMANDS stage run on comments, as Actions would."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.event import Event
from bot.adapters.github_forge import GitHubForge
from bot.commands.handle import bot_router
from bot.core.forge import Comment
from bot.sandbox import Sandbox
from bot.sandbox.events import build_event
from bot.stages.context import StageContext, context_for_event
from tests.helpers.sandbox import clone, push_change, run_git

_repos = itertools.count()
T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BOT = "github-actions[bot]"


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class PrWorld:
    sb: Sandbox
    repo: str
    number: int
    head: str
    main_sha: str
    checkout: Path  # the default branch, as the COMMANDS workflow checks it out
    work: Path  # a clone for pushing to the PR branch
    clock: Clock = field(default_factory=Clock)
    tokens: dict[str, str] = field(default_factory=dict)
    out: io.StringIO = field(default_factory=io.StringIO)
    _forges: list[GitHubForge] = field(default_factory=list)

    def forge(self, login: str = BOT) -> GitHubForge:
        token = self.sb.token if login == BOT else self.tokens[login]
        f = GitHubForge(self.repo, token, api_url=self.sb.api_url, max_wait=2.0)
        self._forges.append(f)
        return f

    def services(self, event: Event | None = None) -> StageContext:
        """The handlers' context: built from ``event`` as ``improve handle`` builds it, with
        this world's forge, clock and output."""
        given = {"make_forge": self.forge, "workspace": self.checkout, "now": self.clock,
                 "out": self.out}
        return context_for_event(event, **given) if event else StageContext(**given)

    def comment(self, login: str, body: str) -> Comment:
        return self.forge(login).create_comment(self.number, body)

    def event(self, comment: Comment, login: str | None = None, **facts: Any) -> Event:
        facts.setdefault("pr_author", "alice")
        action = facts.pop("action", "created")
        payload = build_event("issue_comment", "created", repo=self.repo,
                              number=self.number, body=comment.body, comment_id=comment.id,
                              sender=login or comment.author, default_branch="main", **facts)
        payload["action"] = action  # edited and deleted differ from created only in this
        return Event("issue_comment", payload, self.repo, api_url=self.sb.api_url,
                     server_url=self.sb.server_url, token=self.sb.token, sha=self.main_sha,
                     ref="refs/heads/main", workspace=self.checkout)

    def handle(self, event: Event) -> int:
        return bot_router().dispatch(event, self.services(event))

    def say(self, login: str, body: str, **facts: Any) -> tuple[Comment, int]:
        """``login`` comments ``body``; the stage handles the event. (comment, API calls)."""
        c = self.comment(login, body)
        since = len(self.sb.requests)
        assert self.handle(self.event(c, **facts)) == 0
        return c, self.sb.api_calls(since)

    def state(self) -> dict[str, Any]:
        return self.sb.repo_state(self.repo)

    def gate(self, sha: str | None = None) -> tuple[str, str] | None:
        """The newest improve/gate status (state, description) on ``sha`` (the head)."""
        sha = sha or self.head
        found = [s for s in self.state()["statuses"]
                 if s["sha"] == sha and s["context"] == "improve/gate"]
        return (found[-1]["state"], found[-1]["description"]) if found else None

    def reactions(self, comment_id: int) -> list[str]:
        c = next(c for c in self.state()["comments"] if c["id"] == comment_id)
        return sorted(r["content"] for r in c["reactions"])

    def bot_comments(self) -> list[str]:
        return [c["body"] for c in self.state()["comments"] if c["user"] == BOT]

    def push(self, files: dict[str, str]) -> str:
        self.head = push_change(self.work, "improve/p1", files, "more", new_branch=False)
        return self.head

    def close(self) -> None:
        for f in self._forges:
            f.close()


CONFIG = "approval:\n  timeout_days: 7\n"


def make_world(sb: Sandbox, tmp: Path, config: str = CONFIG,
               extra: dict[str, str] | None = None) -> PrWorld:
    """The repository (with ``extra`` files on main, the workflows say) and alice's PR."""
    name = f"octo/app{next(_repos)}"
    sb.create_repo(name, {"README.md": "# app\n", ".github/improve.yml": config,
                          "config/router.yaml": "threshold: 0.5\n", **(extra or {})})
    tokens = {login: sb.add_user(login, perm, repos=[name]) for login, perm in
              (("alice", "write"), ("bob", "write"), ("rita", "read"), ("mo", "maintain"))}
    work = clone(sb, name, tmp / "work")
    head = push_change(work, "improve/p1", {"config/router.yaml": "threshold: 0.6\n"}, "tune")
    alice = GitHubForge(name, tokens["alice"], api_url=sb.api_url)
    number = alice.create_pull(title="Tune the router", body="why", head="improve/p1",
                               base="main").number
    alice.close()
    checkout = clone(sb, name, tmp / "checkout")
    main_sha = run_git(checkout, "rev-parse", "HEAD").stdout.strip()
    return PrWorld(sb, name, number, head, main_sha, checkout, work, tokens=tokens)
