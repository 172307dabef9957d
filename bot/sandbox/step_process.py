"""Run ``improve`` as a workflow step runs it: a process of its own, with the step's environment,
working directory and exit code, its output captured.

A fresh interpreter per step pays for importing PyGithub, GitPython and scipy every time
(seconds each). So a *zygote* process imports the bot once and forks a child for each step:
every step is still a separate process (its own ``os.environ``, cwd, exit code; nothing it
changes survives it), at the cost of a fork. The zygote is single-threaded, which keeps fork
safe; it is started lazily and ended with ``close()``. ``Spawn`` is the plain alternative (a new
``python -m bot`` per step), for checking that nothing depends on the zygote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

# what the zygote imports before forking: the modules every step would import anyway
_PRELOAD = ("bot.cli", "bot.commands.handle", "bot.stages.pr_evaluation", "bot.stages.release",
            "bot.stages.comment_commands", "bot.stages.monitor", "bot.stages.dashboard",
            "bot.stages.propose", "bot.adapters.github_forge", "scipy.stats")


@dataclass
class StepProcess:
    argv: list[str]
    code: int
    out: str
    err: str


class Launcher(Protocol):
    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
            logs: Path) -> StepProcess: ...

    def close(self) -> None: ...


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


class Spawn:
    """One ``python -m bot`` per step."""

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
            logs: Path) -> StepProcess:
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "stdout").open("w") as out, (logs / "stderr").open("w") as err:
            code = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=cwd, env=dict(env),
                                  stdout=out, stderr=err, check=False).returncode
        return StepProcess(list(argv), code, _read(logs / "stdout"), _read(logs / "stderr"))

    def close(self) -> None:
        pass


class Zygote:
    """A process that imported the bot once and forks a child per step (POSIX only)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            root = str(Path(__file__).resolve().parents[2])
            env = {**os.environ,
                   "PYTHONPATH": os.pathsep.join(filter(None, [root,
                                                               os.environ.get("PYTHONPATH")]))}
            self._proc = subprocess.Popen([sys.executable, "-m", "bot.sandbox.step_process"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          text=True, env=env)
        return self._proc

    def run(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path,
            logs: Path) -> StepProcess:
        logs.mkdir(parents=True, exist_ok=True)
        proc = self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"argv": list(argv), "env": dict(env), "cwd": str(cwd),
                                     "logs": str(logs)}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the step zygote ended unexpectedly")
        code = int(json.loads(line)["code"])
        return StepProcess(list(argv), code, _read(logs / "stdout"), _read(logs / "stderr"))

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            self._proc.wait(timeout=10)
            self._proc = None


def _child(req: Mapping[str, Any]) -> int:
    """In the forked child: become the step, run ``improve``, return its exit code."""
    logs = Path(req["logs"])
    out = os.open(logs / "stdout", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(logs / "stderr", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    from bot.cli import main

    try:
        code = main(req["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - an uncaught crash is exit 1, as Python's own
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    return int(code or 0)


def _serve(stdin: IO[str], stdout: IO[str]) -> None:
    import importlib

    for name in _PRELOAD:
        importlib.import_module(name)
    for line in stdin:
        req = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(_child(req))
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        stdout.write(json.dumps({"code": code}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    _serve(sys.stdin, sys.stdout)
