"""``improve tune`` end to end on the sandbox, on a small real repository whose scored task
depends on the tuned constant (and a noisy suite that does not): a proposal when one value is
truly better, none when the difference is noise, the daily cycle limit, and dry runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.sandbox import Sandbox
from tests.helpers.loop import tune_files
from tests.helpers.sandbox import clone, run_git, sandbox  # noqa: F401 - the fixture

REPO = "octo/tune"


def setup(sb: Sandbox, tmp: Path, monkeypatch: pytest.MonkeyPatch, cycles: int = 4) -> Path:
    sb.create_repo(REPO, tune_files(cycles))
    work = clone(sb, REPO, tmp / "work")
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", sb.token)
    monkeypatch.setenv("GITHUB_API_URL", sb.api_url)
    return work


def tune(work: Path, *extra: str) -> int:
    return main(["tune", "--repo", str(work), "--set", "config/knob.yaml:knob", "--jobs", "2",
                 *extra])


def pulls(sb: Sandbox) -> list[dict]:
    from tests.helpers.sandbox import call

    status, _, data = call(sb, "GET", f"/repos/{REPO}/pulls?state=all")
    assert status == 200
    return list(data)


def test_tune_proposes_the_value_that_is_truly_better(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    work = setup(sandbox, tmp_path, monkeypatch)
    assert tune(work, "--values", "2,3", "--suite", "knob-v1") == 0
    out = capsys.readouterr().out
    assert "knob = 3: accept, knob-v1 score +0.2000" in out
    assert "proposed knob = 3" in out
    prs = pulls(sandbox)
    assert len(prs) == 1
    pr = prs[0]
    assert pr["title"] == "Tune knob in config/knob.yaml to 3"
    assert [label["name"] for label in pr["labels"]] == ["improvement"]
    branch = pr["head"]["ref"]
    run_git(work, "fetch", "-q", "origin", f"{branch}:refs/remotes/origin/{branch}")
    assert run_git(work, "show", f"origin/{branch}:config/knob.yaml").stdout == \
        "knob: 3  # the tuned constant\n"
    proposal = run_git(work, "show", f"origin/{branch}:.improve/proposals/"
                       f"{branch.removeprefix('improve/')}.yaml").stdout
    assert "type: constant_tune" in proposal and "author: tuner" in proposal
    # the cycle is on the data branch
    run_git(work, "fetch", "-q", "origin", "improve-data:refs/remotes/origin/improve-data")
    names = run_git(work, "ls-tree", "-r", "--name-only", "origin/improve-data").stdout.split()
    cycles = [n for n in names if n.startswith("tuning/")]
    assert len(cycles) == 1
    record = json.loads(run_git(work, "show", f"origin/improve-data:{cycles[0]}").stdout)
    assert record["chosen"] == 3 and record["proposal"] == branch.removeprefix("improve/")


def test_tune_proposes_nothing_on_noise(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    work = setup(sandbox, tmp_path, monkeypatch)
    assert tune(work, "--values", "2,3,5", "--suite", "noise-v1") == 0
    out = capsys.readouterr().out
    assert "nothing proposed" in out
    assert out.count("noise-v1 score") == 3
    assert pulls(sandbox) == []


def test_tune_respects_the_daily_cycles(
        sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    work = setup(sandbox, tmp_path, monkeypatch, cycles=1)
    assert tune(work, "--values", "1.5", "--suite", "noise-v1") == 0
    assert tune(work, "--values", "2", "--suite", "knob-v1") == 1
    err = capsys.readouterr().err
    assert "limits.max_tune_cycles_per_day is 1" in err
    assert pulls(sandbox) == []


def test_tune_dry_run_selects_suites_by_target_and_writes_nothing(
        make_repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tune_files())
    assert main(["tune", "--repo", str(repo), "--set", "config/knob.yaml:knob",
                 "--values", "1,3", "--dry-run", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "value 1 is the current value; skipped" in out
    assert "would propose knob = 3 (knob-v1 +0.2000)" in out
    assert run_git(repo, "branch", "--list").stdout.split() == ["*", "main"]


@pytest.mark.parametrize(
    ("args", "field"),
    [(["--set", "config/knob.yaml", "--values", "1"], "--set"),
     (["--set", "config/missing.yaml:knob", "--values", "1"], "--set"),
     (["--set", "config/knob.yaml:knob", "--values", ","], "--values")],
)
def test_tune_bad_input(make_repo, capsys: pytest.CaptureFixture[str], args: list[str],
                        field: str) -> None:
    repo = make_repo(tune_files())
    assert main(["tune", "--repo", str(repo), "--dry-run", *args]) == 2
    assert field in capsys.readouterr().err
