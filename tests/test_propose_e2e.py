"""PROPOSE end to end against the sandbox: ``improve propose FILE`` pushes improve/<id> and opens
the labelled pull request; again changes nothing; a second proposal on a taken target, one in a
release's cooldown, and a malformed one push nothing. Asserted on the sandbox's state and its
request log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.limits import TARGET_TAKEN
from bot.sandbox import Sandbox
from bot.sandbox.state import LoggedRequest
from bot.stages.publish import TOKEN_WARNING
from tests.helpers import sample_repo as sample
from tests.helpers.sandbox import run_git, sandbox  # noqa: F401

PID = "prop-20261121-threshold"


@pytest.fixture
def sb(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:  # noqa: F811
    sandbox.create_repo(sample.FULL_NAME, sample.files())
    monkeypatch.setenv("GITHUB_TOKEN", sandbox.token)
    monkeypatch.setenv("GITHUB_REPOSITORY", sample.FULL_NAME)
    monkeypatch.setenv("GITHUB_API_URL", sandbox.api_url)
    monkeypatch.setenv("IMPROVE_TOKEN_SOURCE", "github-token")
    monkeypatch.setenv("GIT_TERMINAL_PROMPT", "0")
    return sandbox


def fresh_clone(sb: Sandbox, dest: Path) -> Path:
    # anonymous URL: the bot authenticates its own push with the token
    run_git(dest.parent, "clone", "-q", f"{sb.server_url}/{sample.FULL_NAME}.git", str(dest))
    return dest


def write_proposal(tmp_path: Path, text: str, name: str = "proposal.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def pushes(log: list[LoggedRequest]) -> list[LoggedRequest]:
    return [r for r in log if r.kind == "git" and "receive-pack" in r.path + r.query
            and r.method == "POST"]


def writes(log: list[LoggedRequest]) -> list[LoggedRequest]:
    return [r for r in log if r.kind == "api" and r.method != "GET"]


def bare(sb: Sandbox) -> Path:
    return sb.root / f"{sample.FULL_NAME}.git"


def test_propose_publishes_branch_commit_and_pr_then_changes_nothing(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = fresh_clone(sb, tmp_path / "work")
    file = write_proposal(tmp_path, sample.proposal(PID, 0.6))
    assert main(["propose", str(file), "--repo", str(work)]) == 0
    captured = capsys.readouterr()
    assert "opened pull request #1" in captured.out
    assert TOKEN_WARNING in captured.err

    state = sb.repo_state(sample.FULL_NAME)
    tip = state["refs"][f"refs/heads/improve/{PID}"]
    (pr,) = state["pulls"]
    assert (pr["head"], pr["head_sha"], pr["base"], pr["state"]) == (
        f"improve/{PID}", tip, "main", "open")
    assert pr["labels"] == ["improvement"]
    assert "<!-- improve:proposal -->" in pr["body"]
    assert "Most misclassified cases sit just under the current threshold." in pr["body"]
    assert "accuracy +0.05" in pr["body"] and "Auto tier" in pr["body"]
    assert TOKEN_WARNING in pr["body"]
    # the commit on the sandbox: trailers, the change, the proposal file
    trailers = run_git(bare(sb), "log", "-1", "--format=%(trailers:only,unfold)", tip).stdout
    for line in (f"Improve-Proposal: {PID}", "Improve-Type: constant_tune", "Improve-Risk: low",
                 "Improve-Author: tuner"):
        assert line in trailers
    changed = run_git(bare(sb), "diff", "--name-only", "main", tip).stdout.split()
    assert sorted(changed) == [f".improve/proposals/{PID}.yaml", sample.THRESHOLD_PATH]
    rules = run_git(bare(sb), "show", f"{tip}:{sample.THRESHOLD_PATH}").stdout
    assert rules == "# the classifier's rules\nthreshold: 0.6  # tuned by hand\n"

    # again, from the same clone and from a fresh one: nothing is pushed or written
    for where in (work, fresh_clone(sb, tmp_path / "again")):
        since = len(sb.requests)
        assert main(["propose", str(file), "--repo", str(where)]) == 0
        out = capsys.readouterr().out
        assert "nothing changed" in out and "pull request #1 already open" in out
        new = sb.requests[since:]
        assert pushes(new) == [] and writes(new) == []
        assert sb.repo_state(sample.FULL_NAME) == state


def test_second_proposal_on_an_open_target_is_refused(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = fresh_clone(sb, tmp_path / "work")
    first = write_proposal(tmp_path, sample.proposal(PID, 0.6), "first.yaml")
    assert main(["propose", str(first), "--repo", str(work)]) == 0
    state = sb.repo_state(sample.FULL_NAME)
    capsys.readouterr()
    since = len(sb.requests)
    second = write_proposal(tmp_path, sample.proposal("prop-20261121-other", 0.65), "second.yaml")
    assert main(["propose", str(second), "--repo", str(work)]) == 1
    err = capsys.readouterr().err
    assert TARGET_TAKEN.format(path=sample.THRESHOLD_PATH, other=PID, number=" (#1)") in err
    new = sb.requests[since:]
    assert pushes(new) == [] and writes(new) == []
    assert sb.repo_state(sample.FULL_NAME) == state
    assert run_git(work, "rev-parse", "--verify", "-q", "refs/heads/improve/prop-20261121-other",
                   check=False).returncode != 0


def test_a_release_in_its_cooldown_refuses_the_target(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a release record on the data branch, as the release stage writes it, an hour old
    record = {"kind": "release", "version": "1.2.0", "tag": "v1.2.0", "pr": 7,
              "released_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
              "proposal": {"id": "prop-old", "type": "constant_tune",
                           "changes": [{"path": sample.THRESHOLD_PATH, "what": "", "why": ""}]}}
    data = tmp_path / "data"
    data.mkdir()
    run_git(data, "init", "-q", "-b", "improve-data")
    (data / "releases").mkdir()
    (data / "releases" / "v1.2.0.json").write_text(json.dumps(record))
    run_git(data, "add", "-A")
    run_git(data, "commit", "-q", "-m", "release record")
    run_git(data, "push", "-q", sb.git_url(sample.FULL_NAME), "improve-data:improve-data")

    work = fresh_clone(sb, tmp_path / "work")
    file = write_proposal(tmp_path, sample.proposal(PID, 0.6))
    since = len(sb.requests)
    assert main(["propose", str(file), "--repo", str(work)]) == 1
    err = capsys.readouterr().err
    assert f"'{sample.THRESHOLD_PATH}' was released in 1.2.0" in err and "cooldown" in err
    assert pushes(sb.requests[since:]) == [] and writes(sb.requests[since:]) == []
    assert sb.repo_state(sample.FULL_NAME)["pulls"] == []


def test_a_malformed_proposal_pushes_nothing(
    sb: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = fresh_clone(sb, tmp_path / "work")
    text = sample.proposal(PID, 0.6).replace(
        "rationale: Most misclassified cases sit just under the current threshold.\n", "")
    text = text.replace("risk: low\n", "").replace(f"path: {sample.THRESHOLD_PATH}",
                                                   "path: ../outside.yaml")
    file = write_proposal(tmp_path, text)
    refs = sb.repo_state(sample.FULL_NAME)["refs"]
    since = len(sb.requests)
    assert main(["propose", str(file), "--repo", str(work)]) == 2
    err = capsys.readouterr().err
    # every problem at once, each with its field
    assert "rationale" in err and "risk" in err and "changes" in err
    new = sb.requests[since:]
    assert pushes(new) == [] and writes(new) == []
    state = sb.repo_state(sample.FULL_NAME)
    assert state["refs"] == refs and state["pulls"] == []
