"""``improve propose --from-env`` and ``improve tune --from-env``: how the shipped workflows
hand the bot their inputs (through the environment, never a shell). Bad combinations are bad
input naming what is wrong, before anything is read or pushed."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.commands.propose import ENV_FILE, ENV_TEXT, ONE_SOURCE, OUTSIDE
from bot.commands.tune import ENV_SET, ENV_VALUES, REQUIRED


@pytest.mark.parametrize(("env", "argv"), [
    ({}, []),  # nothing given
    ({ENV_TEXT: "id: x\n", ENV_FILE: "p.yaml"}, []),  # both given
    ({ENV_TEXT: "  \n"}, []),  # blank text counts as nothing
    ({ENV_TEXT: "id: x\n"}, ["p.yaml"]),  # a FILE beside --from-env
])
def test_exactly_one_source(env: dict[str, str], argv: list[str], tmp_path: Path,
                            monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    for k in (ENV_TEXT, ENV_FILE):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(["propose", *argv, "--from-env", "--dry-run", "--repo", str(tmp_path)]) == 2
    assert f"--from-env: {ONE_SOURCE}" in capsys.readouterr().err


def test_a_file_outside_the_repository_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV_TEXT, raising=False)
    monkeypatch.setenv(ENV_FILE, "../secret.yaml")
    (tmp_path / "secret.yaml").write_text("id: x\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    assert main(["propose", "--from-env", "--dry-run", "--repo", str(repo)]) == 2
    assert f"../secret.yaml: {ENV_FILE}: {OUTSIDE}" in capsys.readouterr().err


def test_no_file_and_no_from_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["propose", "--dry-run"]) == 2
    assert f"FILE: {ONE_SOURCE}" in capsys.readouterr().err


def test_tune_needs_its_target_and_values(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv(ENV_SET, raising=False)
    monkeypatch.setenv(ENV_VALUES, "0.5,0.6")
    assert main(["tune", "--from-env", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"--set: {REQUIRED}" in err and "--values" not in err
