"""``improve validate``: every problem in the configuration and the suites, all at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


def improve(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )


def test_this_repository_validates() -> None:
    proc = improve(ROOT, "validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")
    assert "benchmark" in proc.stdout and "regression" in proc.stdout


def test_every_problem_is_printed_not_only_the_first(make_repo: Callable[..., Path]) -> None:
    repo = make_repo(
        {
            ".github/improve.yml": "limits:\n  max_open: 0\n",
            "benchmarks/a.yaml": "id: a\nmetrics: [{name: x}]\n"
            "tasks:\n  - {id: t, run: no-such-tool}\n",
            "benchmarks/b.yaml": "id: b\nmetrics: [{name: x}]\ntasks: [{id: t}]\n",
            "regressions/c.yaml": "id: c\nchecks:\n  - {id: k, run: 'true', junit: 1\n",
            "regressions/d.yaml": json.dumps({"id": "d", "checks": [{"id": "k", "run": "true"}]}),
        }
    )
    proc = improve(repo, "validate")
    assert proc.returncode == 2
    err = proc.stderr
    assert (
        ".github/improve.yml:2: limits.max_open: Input should be greater than or equal to 1" in err
    )
    assert "benchmarks/b.yaml:3: tasks[0].run: required key is missing" in err
    assert "regressions/c.yaml:" in err and "invalid YAML" in err
    assert "benchmarks/a.yaml: task t: run: command not found: no-such-tool" in err
    assert "Traceback" not in err


def test_a_clean_repository_with_no_configuration(make_repo: Callable[..., Path]) -> None:
    repo = make_repo({"regressions/r.yaml": "id: r\nchecks: [{id: k, run: 'true'}]\n"})
    proc = improve(repo, "validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        "ok: configuration (none: every default; the file would be .github/improve.yml); "
        "1 suite(s) (0 benchmark, 1 regression)"
    )


def test_the_configuration_is_read_under_either_extension(
        make_repo: Callable[..., Path]) -> None:
    """``.github/improve.yaml`` is read as ``.yml`` is, and its errors name it; both at once is
    refused: one of them would be ignored."""
    repo = make_repo({".github/improve.yaml": "limits:\n  max_open: 0\n"})
    proc = improve(repo, "validate")
    assert proc.returncode == 2
    assert ".github/improve.yaml:2: limits.max_open: Input should be greater than or equal " \
        "to 1" in proc.stderr
    (repo / ".github/improve.yaml").write_text("limits:\n  max_open: 4\n")
    proc = improve(repo, "validate")
    assert proc.returncode == 0 and "configuration .github/improve.yaml;" in proc.stdout
    (repo / ".github/improve.yml").write_text("limits:\n  max_open: 5\n")
    proc = improve(repo, "validate")
    assert proc.returncode == 2
    assert "both .github/improve.yml and .github/improve.yaml exist" in proc.stderr


@pytest.mark.parametrize("command", [["validate"], ["history"], ["evaluate", "-o", "r.json"]])
@pytest.mark.parametrize("name", [".github/improve.yml", ".github/improve.yaml"])
def test_a_configuration_that_is_not_utf8_is_bad_input_naming_the_file(
    make_repo: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    command: list[str], name: str,
) -> None:
    """Exit 2 naming the file and the byte, as ``improve compare`` does; before, the three
    commands crashed with a UnicodeDecodeError traceback (exit 5)."""
    repo = make_repo({name: b"limits:\n  max_open: 2 # caf\xe9\n"})
    out = tmp_path / "r.json"
    args = [a if a != "r.json" else str(out) for a in command]
    assert main([*args, "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert f"{name}: not UTF-8 text: byte 0xe9 at offset 27" in err
    assert "Traceback" not in err and not out.exists()


def test_a_test_matrix_that_disagrees_with_test_shards_is_a_warning(
    make_repo: Callable[..., Path],
) -> None:
    from bot.core.workflows import TEST_WORKFLOW, render_workflows

    workflow = render_workflows(shards=2)[TEST_WORKFLOW]
    line = workflow.splitlines().index("        shard: [1, 2]") + 1
    repo = make_repo({".github/improve.yml": "test:\n  shards: 3\n", TEST_WORKFLOW: workflow})
    proc = improve(repo, "validate")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ok: ")
    assert f"warning: {TEST_WORKFLOW}:{line}: jobs.test.strategy.matrix.shard: the matrix " \
           "runs 2 shard(s) (1, 2) but test.shards in .github/improve.yml is 3" in proc.stderr
    # in Actions: an annotation on the matrix's line
    env = {**os.environ, "GITHUB_ACTIONS": "true"}
    proc = subprocess.run([sys.executable, "-m", "bot", "validate"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert f"::warning file={TEST_WORKFLOW},line={line},title=improve validate::the matrix " \
           "runs 2 shard(s)" in proc.stdout
    # in step again: no warning
    (repo / TEST_WORKFLOW).write_text(render_workflows(shards=3)[TEST_WORKFLOW])
    assert "warning" not in improve(repo, "validate").stderr


def test_a_command_setup_may_install_is_a_warning_not_an_error(
    make_repo: Callable[..., Path],
) -> None:
    suite = json.dumps({"id": "r", "targets": ["**"],
                        "checks": [{"id": "lint", "run": "no-such-linter-xyz --check"}]})
    repo = make_repo({"regressions/r.yaml": suite})
    proc = improve(repo, "validate")
    assert proc.returncode == 2 and "command not found: no-such-linter-xyz" in proc.stderr
    (repo / ".github").mkdir()
    (repo / ".github/improve.yml").write_text("setup:\n  run: [pip install no-such-linter-xyz]\n")
    proc = improve(repo, "validate")
    assert proc.returncode == 0, proc.stderr
    assert "warning: regressions/r.yaml: check lint: run: command not found: " \
           "no-such-linter-xyz" in proc.stderr
    assert "setup.run may install it" in proc.stderr
