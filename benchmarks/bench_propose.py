"""PROPOSE's own cost, on a scratch repository with a proposal of five changes (set in YAML,
JSON and TOML, replace, patch):

- plan_ms: validate and apply in memory (what --dry-run does), median over --repeat runs;
- commit_ms: plan plus the commit built in a temporary index and the branch created;
- again_ms: proposing the same proposal again (finds the branch, changes nothing);
- git_calls: git processes started by one propose (commit path).

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout under test
sys.path.insert(0, str(ROOT))

from bot.stages import propose as stage  # noqa: E402

FILES = {
    "config/router.yaml": "# router\nrouting:\n  threshold: 0.55  # tuned\n  model: fast\n",
    "config/app.json": '{\n  "limits": {"retries": 2},\n  "name": "x"\n}\n',
    "pyproject.toml": '[tool.router]\nthreshold = 0.5 # c\n',
    "skills/search/SKILL.md": "Search once.\nAnswer.\n",
    "prompts/system.md": "Be helpful.\nBe brief.\n",
}

PROPOSAL = """\
id: {id}
title: Tune everything a little
type: constant_tune
risk: low
rationale: A benchmark of the proposal path.
predicted_improvement: {{metric: accuracy, delta: 0.01}}
author: bench
changes:
  - path: config/router.yaml
    set: {{key: routing.threshold, value: 0.62}}
  - path: config/app.json
    set: {{key: limits.retries, value: 3}}
  - path: pyproject.toml
    set: {{key: tool.router.threshold, value: 0.6}}
  - path: skills/search/SKILL.md
    replace: {{old: "Search once.", new: "Search, then verify."}}
  - patch: |
      --- a/prompts/system.md
      +++ b/prompts/system.md
      @@ -1,2 +1,2 @@
       Be helpful.
      -Be brief.
      +Be brief and exact.
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com",
        "commit", "-q", "-m", "init")


def git_processes(run: Callable[[], object]) -> int:
    """How many git processes ``run`` starts, from git's own trace (each process logs a
    ``start`` event; a child git process's session id names its parent's): counted from
    outside, so nothing of the bot is patched."""
    with tempfile.TemporaryDirectory(prefix="improve-bench-trace-") as tmp:
        trace = Path(tmp) / "trace.json"
        os.environ["GIT_TRACE2_EVENT"] = str(trace)
        try:
            run()
        finally:
            del os.environ["GIT_TRACE2_EVENT"]
        events = [json.loads(line) for line in trace.read_text().splitlines()] \
            if trace.exists() else []
    return sum(1 for e in events if e.get("event") == "start" and "/" not in e.get("sid", ""))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--smoke", action="store_true", help="smallest size: one repeat")
    args = ap.parse_args()
    if args.smoke:
        args.repeat = 1

    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    now = datetime(2026, 11, 21, tzinfo=UTC)
    plan_ms, commit_ms, again_ms = [], [], []
    with tempfile.TemporaryDirectory(prefix="improve-bench-propose-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        make_repo(repo)
        for i in range(args.repeat):
            text = PROPOSAL.format(id=f"prop-bench-{i}")
            t0 = time.perf_counter()
            stage.propose(repo, text, "p.yaml", today=date(2026, 11, 21), now=now, dry_run=True)
            plan_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            # no open proposals: each run's proposal would otherwise refuse the next
            stage.propose(repo, text, "p.yaml", today=date(2026, 11, 21), now=now,
                          open_proposals=[])
            commit_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            out = stage.propose(repo, text, "p.yaml", today=date(2026, 11, 21), now=now)
            again_ms.append((time.perf_counter() - t0) * 1000)
            assert out.status == "unchanged"
        # the git processes one commit costs, counted on a proposal of its own (untimed)
        text = PROPOSAL.format(id="prop-bench-counted")
        calls = git_processes(lambda: stage.propose(
            repo, text, "p.yaml", today=date(2026, 11, 21), now=now, open_proposals=[]))
    print(json.dumps({
        "plan_ms": round(statistics.median(plan_ms), 2),
        "commit_ms": round(statistics.median(commit_ms), 2),
        "again_ms": round(statistics.median(again_ms), 2),
        "git_calls": calls,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
