"""How the workflow runner starts ``improve`` for a step: the forking zygote and the plain
one-interpreter-per-step launcher agree. Each step is a process of its own: it sees the
environment it was given (never the runner's), runs in its working directory, and its exit
code and output come back."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.sandbox.step_process import Launcher, Spawn, Zygote


@pytest.mark.parametrize("make", [Zygote, Spawn], ids=["zygote", "spawn"])
def test_a_step_sees_only_its_own_environment_and_reports_its_exit_code(
        make: Callable[[], Launcher], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # set in the runner's own environment: a step must not inherit it
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    env = {"PATH": os.environ["PATH"], "GITHUB_EVENT_PATH": str(tmp_path / "event.json")}
    launcher = make()
    try:
        refused = launcher.run(["handle"], env, tmp_path, tmp_path / "step-0")
        version = launcher.run(["--version"], env, tmp_path, tmp_path / "step-1")
    finally:
        launcher.close()
    # improve handle outside a step: exit 2, naming what is missing from the step's environment
    assert refused.code == 2
    assert "GITHUB_EVENT_NAME: is not set" in refused.err
    assert "GITHUB_EVENT_PATH: is not set" not in refused.err
    assert (tmp_path / "step-0" / "stderr").read_text() == refused.err
    assert version.code == 0 and version.out.startswith("improve ")
