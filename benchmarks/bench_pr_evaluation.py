"""API calls and the bot's own overhead per pull_request evaluation event: ``improve propose``
publishes a proposal of the sample repository (tests/sample_repo.py) to the sandbox, then
``improve handle`` runs for ``opened`` and, after a push, ``synchronize`` (single-job mode), and
the reporting half for ``workflow_run`` reads an artifact of the token-less half. Calls are
counted from the sandbox's request log (goal: at most 8 per event, the comment found and edited
in 2). Overhead is the event's wall time minus the time spent running the suites' tasks.

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli import main  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402
from bot.sandbox.events import actions_env, build_event  # noqa: E402
from bot.stages import pr_evaluation  # noqa: E402
from tests import sample_repo as sample  # noqa: E402

NAME = sample.FULL_NAME
PID = "prop-bench-threshold"
SUITE_SECONDS: list[float] = []


def _timed_run_units(*args: Any, **kwargs: Any) -> Any:
    start = time.perf_counter()
    try:
        return _real_run_units(*args, **kwargs)
    finally:
        SUITE_SECONDS.append(time.perf_counter() - start)


_real_run_units = pr_evaluation.run_units
pr_evaluation.run_units = _timed_run_units


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def with_env(env: dict[str, str], argv: list[str]) -> int:
    saved = dict(os.environ)
    os.environ.update(env)
    if not env.get("GITHUB_TOKEN"):
        os.environ.pop("GITHUB_TOKEN", None)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return main(argv)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def event_env(sb: Sandbox, tmp: Path, work: Path, name: str, payload: dict[str, Any],
              sha: str, token: str) -> dict[str, str]:
    env = actions_env(name, payload, repo=NAME, api_url=sb.api_url, server_url=sb.server_url,
                      token=token, sha=sha, ref="refs/heads/main",
                      workdir=tmp / f"runner-{name}-{sha[:7]}-{time.monotonic_ns()}")
    env["GITHUB_WORKSPACE"] = str(work)
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


def pr_event(sb: Sandbox, tmp: Path, work: Path, action: str, token: str) -> dict[str, str]:
    state = sb.repo_state(NAME)
    (pr,) = state["pulls"]
    git(work, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
    payload = build_event("pull_request", action, repo=NAME, default_branch="main",
                          number=pr["number"], head_ref=pr["head"], head_sha=pr["head_sha"],
                          base_ref="main", base_sha=state["refs"]["refs/heads/main"],
                          labels=pr["labels"])
    return event_env(sb, tmp, work, "pull_request", payload, pr["head_sha"], token)


def measure(sb: Sandbox, env: dict[str, str], argv: list[str]) -> tuple[int, int, float]:
    """(API calls, calls on comments, overhead seconds) of one event."""
    since = len(sb.requests)
    SUITE_SECONDS.clear()
    start = time.perf_counter()
    with_env(env, argv)
    wall = time.perf_counter() - start
    calls = [r for r in sb.requests[since:] if r.kind == "api"]
    comment_calls = [r for r in calls if "/comments" in r.path]
    return len(calls), len(comment_calls), wall - sum(SUITE_SECONDS)


def one_round(tmp: Path) -> dict[str, float]:
    sb = Sandbox.start()
    try:
        sb.create_repo(NAME, sample.files())
        base = {"GITHUB_TOKEN": sb.token, "GITHUB_REPOSITORY": NAME,
                "GITHUB_API_URL": sb.api_url, "GIT_TERMINAL_PROMPT": "0"}
        work = tmp / "work"
        git(tmp, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
        proposal = tmp / "proposal.yaml"
        proposal.write_text(sample.proposal(PID, 0.6))
        since = len(sb.requests)
        start = time.perf_counter()
        assert with_env(base, ["propose", str(proposal), "--repo", str(work)]) == 0
        propose_s = time.perf_counter() - start
        propose_calls = sum(1 for r in sb.requests[since:] if r.kind == "api")

        opened = measure(sb, pr_event(sb, tmp, work, "opened", sb.token), ["handle"])
        git(work, "checkout", "-q", f"improve/{PID}")
        rules = work / sample.THRESHOLD_PATH
        rules.write_text(rules.read_text().replace("0.6", "0.62"))
        git(work, "commit", "-q", "-am", "closer")
        git(work, "push", "-q", sb.git_url(NAME), f"HEAD:refs/heads/improve/{PID}")
        sync = measure(sb, pr_event(sb, tmp, work, "synchronize", sb.token), ["handle"])

        out = tmp / "artifact" / "results.json"
        half = measure(sb, pr_event(sb, tmp, work, "synchronize", ""),
                       ["handle", "--results-out", str(out)])
        (pr,) = sb.repo_state(NAME)["pulls"]
        payload = build_event("workflow_run", "completed", repo=NAME, default_branch="main",
                              head_sha=pr["head_sha"], head_branch=pr["head"],
                              event="pull_request", conclusion="success", pull_requests=[],
                              head_repo=NAME)
        report = measure(sb, event_env(sb, tmp, work, "workflow_run", payload, pr["head_sha"],
                                       sb.token), ["handle", "--results-in", str(out)])
        return {
            "calls_opened": opened[0], "calls_synchronize": sync[0],
            "comment_calls_synchronize": sync[1], "calls_token_less": half[0],
            "calls_workflow_run": report[0], "calls_propose": propose_calls,
            "overhead_opened_s": opened[2], "overhead_synchronize_s": sync[2],
            "overhead_workflow_run_s": report[2], "propose_s": propose_s,
        }
    finally:
        sb.stop()


def run(rounds: int) -> dict[str, float]:
    results = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-pr-eval-") as tmp:
            results.append(one_round(Path(tmp)))
    metrics = {}
    for key in results[0]:
        value = statistics.median(r[key] for r in results)
        metrics[key] = round(value, 4) if key.endswith("_s") else value
    metrics["calls_max"] = max(max(r["calls_opened"], r["calls_synchronize"],
                                   r["calls_workflow_run"]) for r in results)
    return metrics


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    for var in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"):
        os.environ.pop(var, None)
    print(json.dumps(run(args.rounds)))
