"""Running one task command: no shell, its own process group (so a timeout or Ctrl-C kills its
children too), bounded output kept, and a registry so an interrupted run leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

# never handed to a task: the code under test must not reach the forge with the bot's rights
SECRET_ENV = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "IMPROVE_TOKEN",
)
KEEP_CHARS = 64_000


@dataclass(frozen=True)
class Outcome:
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    error: str | None = None  # the command could not be started at all

    @property
    def output_tail(self) -> str:
        out = self.stdout[-1500:]
        if self.stderr.strip():
            out += ("\n" if out else "") + "--- stderr ---\n" + self.stderr[-1500:]
        return out


_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()
_stopping = threading.Event()


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def kill_all() -> None:
    """Kill every running task's process group and refuse to start new ones (on interrupt)."""
    _stopping.set()
    with _lock:
        procs = list(_running)
    for proc in procs:
        _kill_group(proc)


def reset() -> None:
    _stopping.clear()


def task_env(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in SECRET_ENV}
    # tasks written as `python ...` get the interpreter the bot runs under, with its packages
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", os.defpath)
    env.update(extra)
    return env


def run(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str],
    stdin: bytes | None = None,
) -> Outcome:
    start = time.monotonic()
    proc = _spawn(argv, cwd, env, stdin=stdin is not None)
    if isinstance(proc, Outcome):
        return proc
    try:
        out, err, timed_out = _communicate(proc, stdin, timeout)
    finally:
        with _lock:
            _running.discard(proc)
        # children that outlived a clean exit are killed too: nothing of a task survives it
        _kill_group(proc)
    duration = time.monotonic() - start
    return Outcome(
        exit_code=proc.returncode,
        stdout=out.decode("utf-8", "replace")[-KEEP_CHARS:],
        stderr=err.decode("utf-8", "replace")[-KEEP_CHARS:],
        duration_s=duration,
        timed_out=timed_out,
    )


def _communicate(proc: subprocess.Popen[bytes], stdin: bytes | None,
                 timeout: float) -> tuple[bytes, bytes, bool]:
    """(stdout, stderr, timed out): the process's output when it ends, or, its group killed at
    ``timeout``, what it wrote until then."""
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
        return out, err, False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
    try:
        out, err = proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        # a descendant left the group and still holds the pipes; stop waiting for it
        proc.kill()
        out, err = b"", b""
    return out, err, True


def _pump(lines: Iterable[bytes], sink: IO[bytes]) -> None:
    """Write ``lines`` to a process's stdin as it reads them, then close it; a process that
    exits (or stops reading) before the end just gets no more."""
    try:
        for line in lines:
            sink.write(line)
        sink.close()
    except (BrokenPipeError, ValueError, OSError):
        pass


def _drain(source: IO[bytes], into: list[bytes], keep: int | None) -> None:
    """Read a pipe to its end, keeping everything (``keep`` None) or its last ``keep`` bytes."""
    size = 0
    for chunk in iter(lambda: source.read1(65536), b""):  # type: ignore[attr-defined]
        into.append(chunk)
        size += len(chunk)
        while keep is not None and size - len(into[0]) >= keep:
            size -= len(into.pop(0))


def _spawn(argv: Sequence[str], cwd: Path, env: Mapping[str, str], *, stdin: bool = True
           ) -> subprocess.Popen[bytes] | Outcome:
    """The process, registered (so an interrupt kills it), or why it could not start.
    ``stdin``: a pipe to write to (else it reads nothing)."""
    start = time.monotonic()
    if _stopping.is_set():
        return Outcome(None, "", "", 0.0, error="interrupted before it started")
    try:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=dict(env),
                                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
    except FileNotFoundError:
        return Outcome(None, "", "", time.monotonic() - start,
                       error=f"command not found: {argv[0]}")
    except PermissionError:
        return Outcome(None, "", "", time.monotonic() - start, error=f"not executable: {argv[0]}")
    with _lock:
        _running.add(proc)
    return proc


def run_streaming(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str],
    stdin: Iterable[bytes],
) -> Outcome:
    """Like :func:`run`, for one process that reads many lines and answers each: ``stdin`` is
    written line by line as the process reads it (never held whole), and its stdout is kept
    whole (its stderr's tail only), since every line of it is an answer. ``timeout`` covers
    the whole run."""
    start = time.monotonic()
    proc = _spawn(argv, cwd, env)
    if isinstance(proc, Outcome):
        return proc
    out: list[bytes] = []
    err: list[bytes] = []
    assert proc.stdin and proc.stdout and proc.stderr
    threads = [threading.Thread(target=_pump, args=(stdin, proc.stdin), daemon=True),
               threading.Thread(target=_drain, args=(proc.stdout, out, None), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, err, KEEP_CHARS), daemon=True)]
    for t in threads:
        t.start()
    timed_out = False
    try:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
            proc.wait()
    finally:
        with _lock:
            _running.discard(proc)
        _kill_group(proc)
    for t in threads[1:]:
        # a descendant that left the group may still hold the pipes; stop waiting for it
        t.join(timeout=5)
    return Outcome(
        exit_code=proc.returncode,
        stdout=b"".join(out).decode("utf-8", "replace"),
        stderr=b"".join(err).decode("utf-8", "replace")[-KEEP_CHARS:],
        duration_s=time.monotonic() - start,
        timed_out=timed_out,
    )
