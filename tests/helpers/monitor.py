"""A released improvement of the sample repository on the sandbox, and the MONITOR, COMMANDS,
RELEASE and pull-request stages run on it as Actions would, with a clock the test moves.

The sample's classifier is released with its threshold raised to the data's boundary (0.62);
``drift(b)`` moves the data's true boundary down to ``b`` on the default branch afterwards
(labels of the cases scored in [b, 0.62) turn positive), which is "something on the default
branch that the suite reads changes after the release": the released threshold gets worse, the
previous one (0.50) better."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.event import Event
from bot.adapters.github_forge import GitHubForge
from bot.adapters.release_git import Workspace
from bot.core.config import parse_config
from bot.core.embed import embed
from bot.core.forge import Comment, Forge
from bot.core.records import MonitorRecord, ReleaseRecord, monitor_path, release_path
from bot.sandbox import Sandbox
from bot.sandbox.events import build_event
from bot.stages import monitor as monitor_stage
from bot.stages.context import StageContext, context_for_event
from bot.stages.monitor import MonitorOutcome, MonitorRequest, run_monitor
from bot.stages.release import Outcome, ReleaseRequest, run_release
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import call, run_git

BOT = "github-actions[bot]"
TAG = "v1.3.1"  # the patch release of the improvement propose_and_merge makes
PYPROJECT = '[project]\nname = "router"\nversion = "1.3.0"\n'
CHANGELOG = "# Changelog\n\n## [1.3.0] - 2026-10-01\n\n- the classifier\n"
_names = itertools.count()


def files() -> dict[str, str | bytes]:
    return {**sample.files(), "pyproject.toml": PYPROJECT, "CHANGELOG.md": CHANGELOG}


def drifted(split: str, boundary: float) -> str:
    """The split's cases with the data's true boundary moved down to ``boundary``."""
    out = []
    for line in sample.dataset(split).splitlines():
        case = json.loads(line)
        if boundary <= case["score"] < sample.BOUNDARY:
            case["label"] = "positive"
        out.append(json.dumps(case))
    return "\n".join(out) + "\n"


def comparison_comment() -> str:
    """The bot's comparison comment as the PR evaluation leaves it (its summary lines are what
    the changelog entry shows)."""
    metric = {"name": "accuracy", "kind": "score", "direction": "higher", "weight": 1.0,
              "gate": True, "tolerance": 0.0, "tasks": 8, "base": 0.871, "cand": 0.967,
              "delta": 0.096, "delta_pct": 11.0, "ci": {"low": 0.06, "high": 0.13},
              "verdict": "improved"}
    suite = {"id": sample.SUITE_ID, "kind": "benchmark", "present": "both", "base_hash": "x",
             "cand_hash": "x", "definition_changed": False, "repeat": 1, "metrics": [metric],
             "verdict": "accept"}
    data = {"decision": "accept", "summary": "accept", "reasons": [], "recommendations": [],
            "base": {"commit": "a" * 40, "ref": "main"},
            "cand": {"commit": "b" * 40, "ref": "improve/x"},
            "settings": {"confidence": 0.95, "tolerance": {"default": 0.0},
                         "timing_floor": 0.1, "resamples": 1000, "seed": 1, "holm": True},
            "approval": {"type": "constant_tune", "risk": "low", "tier": "auto",
                         "needs_person": False, "approvers": [], "timeout_days": 7.0},
            "suites": [suite], "notes": []}
    return "<!-- improve:compare -->\nComparison\n" + embed("comparison", data)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class World:
    sb: Sandbox
    tmp: Path
    name: str
    work: Path  # a clone for pushing
    checkout: Path  # the default branch, as a workflow checks it out
    store: Path  # a data store outside the repository ($ROUTER_DATA)
    clock: Clock = field(default_factory=Clock)
    tokens: dict[str, str] = field(default_factory=dict)
    out: io.StringIO = field(default_factory=io.StringIO)
    err: io.StringIO = field(default_factory=io.StringIO)
    _forges: list[GitHubForge] = field(default_factory=list)

    # --- the sandbox's state ----------------------------------------------------------------

    def forge(self, login: str = BOT) -> GitHubForge:
        token = self.sb.token if login == BOT else self.tokens[login]
        f = GitHubForge(self.name, token, api_url=self.sb.api_url, max_wait=2.0)
        self._forges.append(f)
        return f

    def state(self) -> dict[str, Any]:
        return self.sb.repo_state(self.name)

    def pulls(self) -> list[dict[str, Any]]:
        return list(self.state()["pulls"])

    def comments(self, number: int, marker: str | None = None) -> list[dict[str, Any]]:
        from bot.core.render import find_marker

        return [c for c in self.state()["comments"] if c["issue_number"] == number
                and (marker is None or find_marker(c["body"]) == marker)]

    def git_bare(self, *args: str) -> str:
        return run_git(self.sb.root / f"{self.name}.git", *args).stdout.strip()

    def data(self, path: str) -> Any:
        return json.loads(self.git_bare("show", f"improve-data:{path}"))

    def monitor_record(self, tag: str) -> MonitorRecord:
        return MonitorRecord.model_validate(self.data(monitor_path(tag)))

    def release_record(self, tag: str) -> ReleaseRecord:
        return ReleaseRecord.model_validate(self.data(release_path(tag)))

    def main_sha(self) -> str:
        return self.git_bare("rev-parse", "refs/heads/main")

    def file_on_main(self, path: str) -> str:
        return self.git_bare("show", f"main:{path}")

    def api_since(self, since: int) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.sb.requests[since:] if r.kind == "api"]

    def git_pushes_since(self, since: int) -> list[str]:
        return [r.path for r in self.sb.requests[since:]
                if r.kind == "git" and "receive-pack" in r.path]

    # --- changes --------------------------------------------------------------------------

    def push_main(self, changes: dict[str, str], message: str = "change") -> str:
        run_git(self.work, "fetch", "-q", "origin")
        run_git(self.work, "checkout", "-q", "-B", "main", "origin/main")
        for rel, text in changes.items():
            p = self.work / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
        run_git(self.work, "commit", "-q", "-am", message)
        run_git(self.work, "push", "-q", "origin", "HEAD:refs/heads/main")
        return run_git(self.work, "rev-parse", "HEAD").stdout.strip()

    def drift(self, boundary: float) -> str:
        return self.push_main({f"data/{s}.jsonl": drifted(s, boundary) for s in sample.SPLITS},
                              f"data: the boundary moved to {boundary}")

    def store_drift(self, boundary: float) -> None:
        """The data in the store outside the repository drifts (no commit)."""
        self.store.mkdir(parents=True, exist_ok=True)
        for s in sample.SPLITS:
            (self.store / f"{s}.jsonl").write_text(drifted(s, boundary))

    def propose_and_merge(self, pid: str, value: float, method: str = "merge",
                          external: bool = False,
                          also: dict[str, tuple[str, str]] | None = None) -> int:
        """An improvement PR as PROPOSE makes it (branch, proposal file, change lines), with
        the bot's comparison comment, merged through the API. ``external``: the change also
        makes the classifier read its data from the store outside the repository named by
        ``$ROUTER_DATA`` (which holds the same data, until ``store_drift``); ``also``: more
        replacements in the same commit (path -> (old, new))."""
        run_git(self.work, "fetch", "-q", "origin")
        run_git(self.work, "checkout", "-q", "-B", f"improve/{pid}", "origin/main")
        rules = self.work / sample.THRESHOLD_PATH
        old = rules.read_text()
        rules.write_text(old.replace(f"threshold: {sample.START}", f"threshold: {value}"))
        for path, (old_text, new_text) in (also or {}).items():  # more of the change
            f = self.work / path
            f.write_text(f.read_text().replace(old_text, new_text))
        if external:
            self.store_drift(sample.BOUNDARY)  # the same data as the repository's
            code = self.work / "classifier/classify.py"
            code.write_text(code.read_text().replace(
                'ROOT.parent / "data" / f"{split}.jsonl"',
                'Path(__import__("os").environ.get("ROUTER_DATA", ROOT.parent / "data")) / '
                'f"{split}.jsonl"'))
        prop = self.work / f".improve/proposals/{pid}.yaml"
        prop.parent.mkdir(parents=True, exist_ok=True)
        prop.write_text(sample.proposal(pid, value))
        run_git(self.work, "add", "-A")
        run_git(self.work, "commit", "-q", "-m",
                f"Set the classifier threshold to {value}\n\n- {sample.THRESHOLD_PATH}: "
                f"threshold {sample.START} -> {value} — move the boundary towards the data's"
                f"\n\nImprove-Proposal: {pid}\n")
        run_git(self.work, "push", "-q", "origin", f"HEAD:refs/heads/improve/{pid}")
        pr = self.forge("alice").create_pull(title=f"Set the classifier threshold to {value}",
                                             body="a proposal", head=f"improve/{pid}",
                                             base="main", labels=["improvement"])
        self.forge().create_comment(pr.number, comparison_comment())
        self.merge(pr.number, method)
        return pr.number

    def merge(self, number: int, method: str = "merge") -> str:
        status, _, result = call(self.sb, "PUT", f"/repos/{self.name}/pulls/{number}/merge",
                                 {"merge_method": method})
        assert status == 200, result
        return str(result["sha"])

    # --- the stages -----------------------------------------------------------------------

    def env(self, forge: Forge | None = None) -> StageContext:
        config = parse_config(sample.CONFIG)

        def open_ws(branch: str) -> Workspace:
            return Workspace.clone(f"{self.sb.server_url}/{self.name}.git", branch,
                                   token=self.sb.token)

        found = forge or self.forge()
        return StageContext(make_forge=lambda: found, preset_config=config,
                            open_workspace_with=open_ws, now=self.clock, out=self.out,
                            err=self.err, branch="main")

    def release(self) -> list[Outcome]:
        return run_release(self.env(), ReleaseRequest())

    def monitor(self, dry_run: bool = False) -> list[MonitorOutcome]:
        return run_monitor(self.env(), MonitorRequest(dry_run=dry_run))

    def services(self, event: Event | None = None) -> StageContext:
        """The handlers' context: built from ``event`` as ``improve handle`` builds it, with
        this world's forge, clock and streams."""
        given = {"make_forge": self.forge, "workspace": self.checkout, "now": self.clock,
                 "out": self.out, "err": self.err}
        return context_for_event(event, **given) if event else StageContext(**given)

    def event(self, name: str, payload: dict[str, Any], sha: str | None = None,
              ref: str = "refs/heads/main") -> Event:
        return Event(name, payload, self.name, api_url=self.sb.api_url,
                     server_url=self.sb.server_url, token=self.sb.token,
                     sha=sha or self.main_sha(), ref=ref, workspace=self.checkout)

    def scheduled(self) -> int:
        """The scheduled run's MONITOR handler, as ``improve handle`` dispatches it."""
        from bot.core.router import Router

        event = self.event("schedule", build_event("schedule"))
        return Router(monitor_stage.router).dispatch(event, self.services(event))

    def say(self, login: str, number: int, body: str, times: int = 1,
            merged: bool = True) -> Comment:
        """``login`` comments on PR ``number`` (merged, or open); the COMMANDS stage handles
        the event ``times`` times (GitHub may deliver an event more than once)."""
        from bot.commands.handle import bot_router

        c = self.forge(login).create_comment(number, body)
        payload = build_event("issue_comment", "created", repo=self.name, number=number,
                              body=c.body, comment_id=c.id, sender=login, pr_author="alice",
                              default_branch="main", issue_state="closed" if merged else "open",
                              merged=merged)
        for _ in range(times):
            event = self.event("issue_comment", payload)
            assert bot_router().dispatch(event, self.services(event)) == 0
        return c

    def reactions(self, comment_id: int) -> list[str]:
        c = next(c for c in self.state()["comments"] if c["id"] == comment_id)
        return sorted(r["content"] for r in c["reactions"])

    def close(self) -> None:
        for f in self._forges:
            f.close()


def make_world(sb: Sandbox, tmp: Path) -> World:
    name = f"acme/router{next(_names)}"
    sb.create_repo(name, files())
    tokens = {login: sb.add_user(login, perm, repos=[name]) for login, perm in
              (("alice", "write"), ("bob", "write"), ("rita", "read"))}
    root = tmp / name.replace("/", "-")
    root.mkdir(parents=True)
    work, checkout = root / "work", root / "checkout"
    run_git(root, "clone", "-q", sb.git_url(name), str(work))
    run_git(root, "clone", "-q", sb.git_url(name), str(checkout))
    return World(sb, tmp, name, work, checkout, root / "store", tokens=tokens)


# named apart from the ``world`` parameters it serves, so importing it shadows nothing
@pytest.fixture(name="world")
def world_fixture(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    """A fresh world on the test module's ``sandbox`` fixture (imported beside this one)."""
    w = make_world(sandbox, tmp_path)
    yield w
    w.close()
