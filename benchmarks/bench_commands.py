"""API calls and wall time per comment-command event: the real COMMANDS stage (PyGithub through
the GitHub adapter) against the sandbox, counted from the sandbox's request log. Goal: at most 6
calls per event. Also the parser's cost on a 64 KB comment.

Each kind runs on a fresh pull request whose comparison is recorded (accepted, person tier), with
the configuration read from a checkout of the default branch as the COMMANDS workflow has it.
Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.event import Event  # noqa: E402
from bot.adapters.github_forge import GitHubForge  # noqa: E402
from bot.commands.handle import bot_router  # noqa: E402
from bot.core.comment_commands import parse_commands  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from bot.sandbox.events import build_event  # noqa: E402
from bot.stages.context import StageContext, context_for_event  # noqa: E402
from bot.stages.pr_state import publish_verdict  # noqa: E402

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
# kind -> (who comments, the comment); "redelivered" repeats the approve event
KINDS: dict[str, tuple[str, str]] = {
    "approve": ("bob", "/approve"),
    "approve_cancel": ("bob", "/approve cancel"),
    "approve_refused_reader": ("rita", "/approve"),
    "approve_refused_author": ("alice", "/approve"),
    "hold": ("bob", "/hold data is late"),
    "unhold": ("bob", "/unhold"),
    "retest": ("bob", "/retest"),
    "help": ("rita", "/help"),
    "quoted": ("bob", "> /approve"),
    "redelivered": ("bob", "/approve"),
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


class Bench:
    def __init__(self, sb: Sandbox, tmp: Path):
        self.sb, self.tmp, self.n = sb, tmp, 0
        self.tokens: dict[str, str] = {}

    def pull_request(self) -> tuple[str, int, str, Path, str]:
        self.n += 1
        name = f"bench/app{self.n}"
        self.sb.create_repo(name, {"README.md": "# app\n", ".github/improve.yml": "{}\n"})
        for login, perm in (("alice", "write"), ("bob", "write"), ("rita", "read")):
            self.tokens[login] = self.sb.add_user(login, perm)
        work = self.tmp / f"work{self.n}"
        git(self.tmp, "clone", "-q", self.sb.git_url(name), str(work))
        git(work, "checkout", "-q", "-b", "improve/p")
        (work / "x.txt").write_text("x\n")
        git(work, "add", "x.txt")
        git(work, "-c", "user.name=a", "-c", "user.email=a@x", "commit", "-q", "-m", "x")
        git(work, "push", "-q", "origin", "improve/p")
        head = git(work, "rev-parse", "HEAD")
        git(work, "checkout", "-q", "main")
        alice = GitHubForge(name, self.tokens["alice"], api_url=self.sb.api_url)
        number = alice.create_pull(title="t", body="b", head="improve/p", base="main").number
        alice.close()
        self.sb.add_workflow_run(name, head_sha=head, head_branch="improve/p")
        return name, number, head, work, git(work, "rev-parse", "HEAD")

    def services(self, name: str, work: Path, event: Event | None = None) -> StageContext:
        given: dict[str, Any] = {
            "make_forge": lambda: GitHubForge(name, self.sb.token, api_url=self.sb.api_url),
            "workspace": work, "now": lambda: NOW, "out": io.StringIO()}
        return context_for_event(event, **given) if event else StageContext(**given)

    def event(self, name: str, number: int, login: str, body: str, work: Path,
              main: str) -> Event:
        forge = GitHubForge(name, self.tokens[login], api_url=self.sb.api_url)
        c = forge.create_comment(number, body)
        forge.close()
        payload = build_event("issue_comment", "created", repo=name, number=number, body=body,
                              comment_id=c.id, sender=login, pr_author="alice",
                              default_branch="main")
        return Event("issue_comment", payload, name, api_url=self.sb.api_url,
                     token=self.sb.token, sha=main, ref="refs/heads/main", workspace=work)

    def run(self, kind: str) -> tuple[int, float]:
        name, number, head, work, main = self.pull_request()
        publish_verdict(self.services(name, work), number, head, "accept", "person")
        login, body = KINDS[kind]
        if kind == "unhold":
            ev = self.event(name, number, "bob", "/hold", work, main)
            bot_router().dispatch(ev, self.services(name, work, ev))
        ev = self.event(name, number, login, body, work, main)
        if kind == "redelivered":
            bot_router().dispatch(ev, self.services(name, work, ev))
        since = len(self.sb.requests)
        start = time.perf_counter()
        services = self.services(name, work, ev)
        bot_router().dispatch(ev, services)
        elapsed = (time.perf_counter() - start) * 1000
        return self.sb.api_calls(since), elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3, help="events per kind (wall time median)")
    ap.add_argument("--smoke", action="store_true", help="smallest size: one event per kind")
    args = ap.parse_args()
    if args.smoke:
        args.rounds = 1
    metrics: dict[str, float] = {}
    times: list[float] = []
    with Sandbox.start() as sb, tempfile.TemporaryDirectory() as tmp:
        bench = Bench(sb, Path(tmp))
        for kind in KINDS:
            runs = [bench.run(kind) for _ in range(args.rounds)]
            metrics[f"calls_{kind}"] = max(c for c, _ in runs)
            times += [t for _, t in runs]
        if sb.violations:
            print("\n".join(sb.violations), file=sys.stderr)
            return 1
    body = "\n".join(f"> /approve {i}\n```\n/hold\n```\nplease /retest" for i in range(2000))
    body = body[:65536]
    parse = []
    for _ in range(20):
        start = time.perf_counter()
        parse_commands(body)
        parse.append((time.perf_counter() - start) * 1000)
    metrics["calls_max"] = max(v for k, v in metrics.items() if k.startswith("calls_"))
    metrics["event_ms_median"] = round(statistics.median(times), 2)
    metrics["parse_64kb_ms"] = round(statistics.median(parse), 3)
    print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
