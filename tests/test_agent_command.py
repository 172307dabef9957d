"""The agent command's run (bot/stages/agent.py) on real processes and a real git worktree: a
command that hangs is stopped at its timeout, one that fails says its code, no token of the
bot's environment reaches it, and a proposal without changes takes the worktree's edit."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.stages.agent import (
    ENV_PROPOSAL_FILE,
    FAILED,
    NO_CHANGE,
    NO_FILE,
    TIMED_OUT,
    _run,
    command_env,
    proposal_text,
)
from tests.helpers.git import commit_all, git, write_files

FACTS = {"number": 7, "title": "t", "kind": "drift", "subject": "s", "url": "u"}


def test_a_hanging_command_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    # it starts a child that would outlive it: the whole process group is stopped
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', " \
           "'import time; time.sleep(60)']); print('working', flush=True); time.sleep(60)"
    why, tail = _run([sys.executable, "-c", code], tmp_path, "", {}, timeout=2)
    assert why == TIMED_OUT.format(seconds=2) and "working" in tail


def test_a_failing_command_says_its_code_and_output(tmp_path: Path) -> None:
    why, tail = _run([sys.executable, "-c", "import sys; print('no'); sys.exit(4)"], tmp_path,
                     "", {}, timeout=30)
    assert (why, tail.strip()) == (FAILED.format(code=4), "no")


def test_output_that_is_not_utf8_is_told_not_a_crash(tmp_path: Path) -> None:
    # a traceback here left no comment on the opportunity, so the next run ran it again
    code = "import sys; sys.stdout.buffer.write(b'bad \\xff\\xfe bytes\\n'); sys.exit(1)"
    why, tail = _run([sys.executable, "-c", code], tmp_path, "", {}, timeout=30)
    assert why == FAILED.format(code=1) and "bad \ufffd\ufffd bytes" in tail


def test_no_token_reaches_the_command(tmp_path: Path) -> None:
    base = {"PATH": "/usr/bin", "HOME": "/h", "GITHUB_TOKEN": "ghs_x", "IMPROVE_APP_KEY": "k",
            "ACTIONS_RUNTIME_TOKEN": "r", "GITHUB_REPOSITORY": "o/r"}
    env = command_env(base, FACTS, tmp_path / "p.yaml")
    assert not [k for k in env if "TOKEN" in k or k.startswith("GITHUB_")]
    assert env["IMPROVE_OPPORTUNITY_NUMBER"] == "7"
    assert env[ENV_PROPOSAL_FILE] == str(tmp_path / "p.yaml")


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    write_files(repo, {"a.yaml": "x: 1\n"})
    commit_all(repo, "first")
    return repo


def test_a_proposal_without_changes_takes_the_edit(worktree: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    with pytest.raises(InputError, match=re.escape(NO_FILE.format(name=ENV_PROPOSAL_FILE))):
        proposal_text(out, worktree, "fixer", "agent-7")
    out.write_text("id: p\ntitle: t\nauthor: someone else\n")
    with pytest.raises(InputError, match=NO_CHANGE):
        proposal_text(out, worktree, "fixer", "agent-7")
    (worktree / "a.yaml").write_text("x: 2\n")
    text = proposal_text(out, worktree, "fixer", "agent-7")
    assert "author: fixer" in text and "+x: 2" in text and "-x: 1" in text
    # the id is the bot's, whatever the command wrote: a re-run finds the branch by it
    assert "id: agent-7" in text and "id: p\n" not in text
