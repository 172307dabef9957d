"""``runner.run``: one task's process, its output's tail, its exit code, its timeout (the whole
group killed), and why it could not start; real processes, nothing mocked."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bot.adapters import runner


@pytest.mark.parametrize(("argv", "stdin", "code", "stdout", "stderr"), [
    (["sh", "-c", "echo out; echo err >&2; exit 3"], None, 3, "out\n", "err\n"),
    (["cat"], b"fed\n", 0, "fed\n", ""),
    # no stdin given: the process reads an empty one, never the bot's
    (["cat"], None, 0, "", ""),
])
def test_a_process_ends_with_its_code_and_output(
        tmp_path: Path, argv: list[str], stdin: bytes | None, code: int, stdout: str,
        stderr: str) -> None:
    got = runner.run(argv, cwd=tmp_path, timeout=60, env=os.environ, stdin=stdin)
    assert (got.exit_code, got.stdout, got.stderr, got.timed_out, got.error) == \
        (code, stdout, stderr, False, None)


def test_a_process_past_its_timeout_is_killed_with_its_children(tmp_path: Path) -> None:
    # the child sleeps in the background holding the pipes: the group is killed, not only sh,
    # and what the process wrote before is kept
    got = runner.run(["sh", "-c", "echo started; sleep 30 & echo $! > child.pid; sleep 30"],
                     cwd=tmp_path, timeout=0.5, env=os.environ)
    assert got.timed_out and got.stdout == "started\n" and got.exit_code is not None
    # the background child is dead too (gone, or a zombie waiting for its reaper)
    assert _ends(int((tmp_path / "child.pid").read_text()))


def _ends(pid: int) -> bool:
    """Whether the process ``pid`` is dead within a few seconds (a SIGKILL lands at once)."""
    stat = Path(f"/proc/{pid}/stat")
    for _ in range(50):
        try:
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(("argv", "error"), [
    (["no-such-command-w13b"], "command not found: no-such-command-w13b"),
    (["./not-executable.sh"], "not executable: ./not-executable.sh"),
])
def test_a_process_that_cannot_start_says_why(tmp_path: Path, argv: list[str],
                                              error: str) -> None:
    (tmp_path / "not-executable.sh").write_text("echo hi\n")
    got = runner.run(argv, cwd=tmp_path, timeout=5, env=os.environ)
    assert got.exit_code is None and got.error == error
