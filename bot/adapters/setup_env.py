"""The setup environment of one side of an evaluation (``setup:``), made before its suites run.

The environment is a Python virtual environment layered over the bot's own: the bot's packages
stay importable, what the setup installs comes first, and its ``bin`` is first on PATH for the
setup commands and for every task and check of that side. The bot's own environment is never
changed, so a project that pins another version of one of the bot's dependencies cannot break
the bot, and a base and a head that install different versions do not share one.

With ``setup.cache`` the environment lives in the cache directory under its key
(bot/core/setup.py), ``$IMPROVE_CACHE_DIR/setup/<key>`` (default ``~/.cache/improve``); the
test workflow keeps that directory between runs with actions/cache. A marker written after the
last command succeeded says the environment is ready: a setup killed half-way is redone whole,
a finished one is never run again. A file lock keeps two evaluations on one machine (a base
and a head with the same key, two shards) from making the same environment at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import shutil
import site
import sys
import time
import venv
from collections.abc import Iterator, Mapping
from pathlib import Path

import git

from bot.adapters import runner
from bot.adapters.progress import Progress
from bot.core.config import SetupConfig, command_argv
from bot.core.setup import (
    CACHED,
    CACHED_TITLE,
    DONE,
    DONE_MARKER,
    NO_LOCK_FILES,
    STARTING,
    UNREADABLE_LOCK,
    failure_message,
    lock_files,
    setup_key,
)
from bot.errors import InputError

CACHE_ENV = "IMPROVE_CACHE_DIR"


def cache_root(env: Mapping[str, str]) -> Path:
    """Where cached setup environments live: ``$IMPROVE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/improve``, else ``~/.cache/improve``."""
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV])
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "improve"


def _bot_sites() -> list[str]:
    """The directories of the bot's own packages (its virtual environment's, when it has one)."""
    dirs = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        dirs.append(site.getusersitepackages())
    return dirs


def interpreter_id() -> str:
    """What an environment layered on this interpreter depends on: a different Python, or the
    bot installed elsewhere, is another environment."""
    base = getattr(sys, "_base_executable", sys.executable)
    return "|".join([sys.version, base, platform.machine(), *_bot_sites()])


def _site_packages(env_dir: Path) -> Path:
    return env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / \
        "site-packages"


def make_env(env_dir: Path) -> None:
    """A virtual environment at ``env_dir`` whose Python also imports the bot's packages (after
    its own: a ``.pth`` file adds them with ``site.addsitedir``, which reads their own ``.pth``
    files too, so an editable install of the bot works), pip included."""
    venv.EnvBuilder(symlinks=True, with_pip=False, clear=True).create(env_dir)
    lines = [f"import site; site.addsitedir({d!r})" for d in _bot_sites()]
    (_site_packages(env_dir) / "_improve_bot_site.pth").write_text("\n".join(lines) + "\n")
    # `pip install ...` must install here too, not into the bot's environment next on PATH
    python = env_dir / "bin" / "python"
    for name in ("pip", "pip3"):
        script = env_dir / "bin" / name
        script.write_text(f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\n"
                          "sys.exit(main())\n")
        script.chmod(0o755)


def side_env(env_dir: Path) -> dict[str, str]:
    """What a side's runs get on top of the usual task environment: the setup environment's
    ``bin`` first on PATH, as an activated virtual environment has it."""
    path = runner.task_env(os.environ, {})["PATH"]
    return {"PATH": f"{env_dir / 'bin'}{os.pathsep}{path}", "VIRTUAL_ENV": str(env_dir)}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _tracked(tree: Path) -> list[str]:
    out = git.Repo(tree).git.ls_files("-z")
    return [p for p in out.split("\0") if p]


def _lock_bytes(tree: Path, path: str, commit: str) -> bytes:
    """A lock file's content; one git tracks but that cannot be read (a link whose target is
    not there, a submodule) is bad input naming it."""
    try:
        return (tree / path).read_bytes()
    except OSError as exc:
        raise InputError(UNREADABLE_LOCK.format(path=path, commit=commit[:12],
                                                reason=exc.strerror or exc)) from None


def set_up(tree: Path, commit: str, side: str, setup: SetupConfig, progress: Progress,
           env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Make (or find in the cache) the setup environment of the worktree ``tree`` of
    ``commit`` and return what its runs add to their environment; {} without setup commands.
    A failing command is an InputError naming it, its exit code and its last lines."""
    if not setup.run:
        return {}
    env = os.environ if env is None else env
    commands = [command_argv(c) for c in setup.run]
    if not setup.cache:
        # nothing says when it could be reused: made afresh beside the worktree, removed with it
        env_dir = tree.parent / "setup-env"
        _run_setup(env_dir, tree, commit, side, setup, commands, progress, kept="")
        return side_env(env_dir)
    locks = lock_files(_tracked(tree), setup.cache)
    if not locks:
        raise InputError(NO_LOCK_FILES.format(commit=commit[:12], globs=", ".join(setup.cache)))
    key = setup_key(commands, {p: _lock_bytes(tree, p, commit) for p in locks}, interpreter_id())
    root = cache_root(env) / "setup"
    env_dir = root / key
    with _locked(root / f"{key}.lock"):
        if (env_dir / DONE_MARKER).is_file():
            progress.start(0, CACHED_TITLE.format(side=side, commit=commit[:12]))
            progress.finish(CACHED.format(side=side, commit=commit[:12], key=key[:12]))
        else:
            _run_setup(env_dir, tree, commit, side, setup, commands, progress,
                       kept=f"; kept in {env_dir}")
            (env_dir / DONE_MARKER).write_text(key + "\n")
    return side_env(env_dir)


def _run_setup(env_dir: Path, tree: Path, commit: str, side: str, setup: SetupConfig,
               commands: list[list[str]], progress: Progress, kept: str) -> None:
    """The commands in order in ``tree``, in a fresh environment at ``env_dir`` (whatever an
    earlier, interrupted attempt left there is removed first)."""
    shutil.rmtree(env_dir, ignore_errors=True)
    started = time.monotonic()
    make_env(env_dir)
    run_env = runner.task_env(os.environ, {**side_env(env_dir), "IMPROVE_WORKTREE": str(tree),
                                           "IMPROVE_COMMIT": commit})
    progress.start(len(commands), STARTING.format(side=side, commit=commit[:12]))
    for n, argv in enumerate(commands, start=1):
        out = runner.run(argv, cwd=tree, timeout=setup.timeout, env=run_env)
        ok = out.error is None and not out.timed_out and out.exit_code == 0
        progress.done(f"setup.run[{n}] {argv[0]}", ok, out.duration_s)
        if not ok:
            progress.finish(f"setup of the {side} worktree failed")
            raise InputError(failure_message(n, argv, side, commit, out.exit_code, out.error,
                                             out.timed_out, setup.timeout, out.output_tail))
    progress.finish(DONE.format(side=side, commit=commit[:12], count=len(commands),
                                seconds=time.monotonic() - started, kept=kept))
