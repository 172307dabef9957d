"""The setup of a side's environment before its suites run (``setup:`` in the configuration):
which files key its cache, the key itself, and the messages. Pure: the adapter that makes the
environment and runs the commands is bot/adapters/setup_env.py.

The key names everything the environment depends on: the commands (as words), the lock files'
paths and contents, and the interpreter the environment is layered on. Same key, same
environment: a second evaluation with the same lock files does not run the setup again."""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence

from bot.core.globs import match_any

# written into the environment's directory after the last command succeeded: its presence is
# what "already set up" means (a setup killed half-way has none and is redone whole)
DONE_MARKER = ".improve-setup-done"

NO_LOCK_FILES = ("setup.cache: no file of {commit} matches {globs}: name the lock files the "
                 "setup installs from (or leave setup.cache empty to run the setup every time)")
UNREADABLE_LOCK = "setup.cache: {path} (of {commit}) cannot be read: {reason}"
FAILED = "setup.run[{n}]: `{command}` {how} in the {side} worktree ({commit}){output}"
STARTING = "Setting up the {side} worktree ({commit}): setup.run"
CACHED_TITLE = "Setting up the {side} worktree ({commit}): from the cache"
CACHED = "setup of the {side} worktree ({commit}): not run again, its environment (key {key}) " \
    "is ready"
DONE = "setup of the {side} worktree ({commit}): {count} command(s) in {seconds:.1f} s{kept}"


def lock_files(paths: Iterable[str], globs: Sequence[str]) -> list[str]:
    """The repository's files (``paths``, repository-relative) that the cache globs name,
    sorted; none when there are no globs."""
    if not globs:
        return []
    return sorted(p for p in set(paths) if match_any(p, globs))


def setup_key(commands: Sequence[Sequence[str]], locks: Mapping[str, bytes],
              interpreter: str) -> str:
    """The cache key of a setup: a hash of the commands, each lock file's path and content,
    and the interpreter (its version and where it and the bot's packages are)."""
    h = hashlib.sha256()
    h.update(json.dumps({"commands": [list(c) for c in commands], "interpreter": interpreter},
                        sort_keys=True).encode())
    for path in sorted(locks):
        h.update(b"\0" + path.encode() + b"\0" + hashlib.sha256(locks[path]).digest())
    return h.hexdigest()[:32]


def failure_message(n: int, command: Sequence[str], side: str, commit: str,
                    exit_code: int | None, error: str | None, timed_out: bool, timeout: float,
                    output: str) -> str:
    """What a failed setup command says, on the pull request and in the log: the command
    (``setup.run[n]``, 1-based), how it failed, where, and the last lines of its output."""
    if error:
        how = f"could not start: {error}"
    elif timed_out:
        how = f"timed out after {timeout:g} s"
    elif exit_code is not None and exit_code < 0:
        how = f"was killed by signal {-exit_code}"
    else:
        how = f"exited with code {exit_code}"
    lines = [ln for ln in output.strip().splitlines()
             if ln.strip() and ln != "--- stderr ---"][-6:]
    shown = (": " + " | ".join(lines))[:600] if lines else ""
    return FAILED.format(n=n, command=shlex.join(command), how=how, side=side,
                         commit=commit[:12], output=shown)
