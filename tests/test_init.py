"""``improve init``: installs into a real repository, never overwrites, and what it writes passes
``improve validate``; the generated configuration is every default, read back unchanged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands.init import TOKEN_SETUP
from bot.core.config import CONFIG_PATH, Config, ReleaseConfig, VersionFile, parse_config
from bot.core.init_files import (
    BENCHMARK_SUITE,
    MODULE_PATTERN,
    PLACEHOLDER_ACTION,
    POETRY_PATTERN,
    REGRESSION_SUITE,
    SETUP_CFG_PATTERN,
    SETUP_PY_PATTERN,
    SKIPPED,
    config_text,
    init_files,
    plan_init,
    version_file_for,
)
from bot.core.release.version_files import version_spans
from bot.core.suites import parse_suite
from tests.helpers.git import commit_all, git

PIN = "acme/improve@" + "1234567890" * 4


@pytest.mark.parametrize(
    "config",
    [
        Config(),
        Config(default_branch="trunk"),
        Config(release=ReleaseConfig(version_files=[VersionFile(path="VERSION")])),
        Config(release=ReleaseConfig(
            version_files=[VersionFile(path="src/v.py", pattern=r'__version__ = "(.*)"')])),
    ],
)
def test_the_generated_configuration_reads_back_as_the_same_model(config: Config) -> None:
    text = config_text(config)
    assert parse_config(text) == config
    # every key is explained
    assert "# Seed: the same inputs always give the same verdict." in text


PYPROJECT = '[project]\nname = "x"\nversion = "1.2.3"\n'
DYNAMIC = ('[project]\nname = "x"\ndynamic = ["version"]\n'
           '[tool.setuptools.dynamic]\nversion = {attr = "pkg.__version__"}\n')
POETRY = '[tool.poetry]\nname = "x"\nversion = "0.4.0"\n'
SETUP_PY = 'from setuptools import setup\nsetup(name="x", version="2.0.1", packages=[])\n'
SETUP_CFG = "[metadata]\nname = x\nversion = 3.1.0\n"


@pytest.mark.parametrize(
    ("files", "path", "pattern"),
    [
        ({"pyproject.toml": PYPROJECT, "package.json": '{"version": "9.0.0"}'},
         "pyproject.toml", None),
        ({"package.json": '{"name": "x", "version": "1.0.0"}', "README.md": "x"},
         "package.json", None),
        ({"VERSION": "0.3.0\n"}, "VERSION", None),
        ({"README.md": "x"}, "VERSION", None),  # nowhere: init writes VERSION
        ({}, "VERSION", None),
        # where Python projects keep it when not in [project] version: never a second VERSION
        ({"setup.py": SETUP_PY}, "setup.py", SETUP_PY_PATTERN),
        ({"setup.cfg": SETUP_CFG, "setup.py": "from setuptools import setup\nsetup()\n"},
         "setup.cfg", SETUP_CFG_PATTERN),
        ({"pyproject.toml": DYNAMIC, "pkg/__init__.py": '__version__ = "0.9.0"\n'},
         "pkg/__init__.py", MODULE_PATTERN),
        ({"pyproject.toml": DYNAMIC, "src/pkg/__init__.py": '__version__ = "0.9.0"\n'},
         "src/pkg/__init__.py", MODULE_PATTERN),
        ({"pyproject.toml": POETRY}, "pyproject.toml", POETRY_PATTERN),
        # a pyproject.toml without a version, and setup.py holding it
        ({"pyproject.toml": '[build-system]\nrequires = ["setuptools"]\n', "setup.py": SETUP_PY},
         "setup.py", SETUP_PY_PATTERN),
    ],
)
def test_the_version_file_is_where_the_project_keeps_its_version(
        files: dict[str, str], path: str, pattern: str | None) -> None:
    found = version_file_for(files.get)
    assert (found.path, found.pattern) == (path, pattern)
    if path != "VERSION" or "VERSION" in files:
        # and a release can rewrite it there
        assert len(version_spans(path, files[path], pattern)) >= 1
    assert ("VERSION" in init_files(version_file=found)) is (path == "VERSION")


@pytest.mark.parametrize(
    ("existing", "written", "skipped"),
    [
        ([], ["a", "b"], []),
        (["b"], ["a"], ["b"]),
        (["a", "b", "c"], [], ["a", "b"]),
    ],
)
def test_plan_writes_only_what_is_missing(
    existing: list[str], written: list[str], skipped: list[str]
) -> None:
    plan = plan_init({"b": "B", "a": "A"}, existing)
    assert list(plan.write) == written and plan.skipped == skipped


def test_the_example_suites_parse_and_the_workflows_name_the_action() -> None:
    files = init_files(action=PIN, version="v9.9.9", default_branch="trunk")
    parse_suite(files[BENCHMARK_SUITE], BENCHMARK_SUITE, "benchmark")
    parse_suite(files[REGRESSION_SUITE], REGRESSION_SUITE, "regression")
    workflows = [p for p in files if p.startswith(".github/workflows/")]
    assert len(workflows) == 7
    # the improvement-request form, which /propose reads a proposal back from
    assert "id: proposal" in files[".github/ISSUE_TEMPLATE/improvement-request.yml"]
    assert all(f"uses: {PIN} # v9.9.9" in files[p] for p in workflows)
    assert "__DEFAULT_BRANCH__" not in "".join(files.values())
    assert "VERSION" not in files  # pyproject.toml by default: nothing to create


def test_init_then_validate_passes_and_a_second_init_skips_everything(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo({"README.md": "# app\n"})
    assert main(["init", "--dir", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert f"wrote {CONFIG_PATH}" in out and "wrote VERSION" in out
    assert PLACEHOLDER_ACTION in err  # told to replace the placeholder
    assert TOKEN_SETUP in err  # told what the workflows do with and without the App
    assert (repo / "VERSION").read_text() == "0.1.0\n"
    config = parse_config((repo / CONFIG_PATH).read_text())
    assert config.release.version_files == [VersionFile(path="VERSION")]
    assert config.default_branch == "main"

    assert main(["validate", "--repo", str(repo)]) == 0
    assert "2 suite(s) (1 benchmark, 1 regression)" in capsys.readouterr().out

    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git/" not in
              p.as_posix()}
    assert main(["init", "--dir", str(repo)]) == 0
    out, err = capsys.readouterr()
    assert "wrote" not in out
    assert out.count("skipped ") == len(before) - 1  # all but README.md
    assert SKIPPED.format(path=CONFIG_PATH) in out
    assert PLACEHOLDER_ACTION not in err  # nothing written, nothing to replace
    assert TOKEN_SETUP not in err
    assert {p: p.read_bytes() for p in before} == before


def test_init_in_a_setup_py_project_writes_no_version_file(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Its version lives in setup.py: a VERSION file beside it would drift apart."""
    repo = make_repo({"setup.py": SETUP_PY})
    assert main(["init", "--dir", str(repo)]) == 0
    assert "wrote VERSION" not in capsys.readouterr().out
    assert not (repo / "VERSION").exists()
    config = parse_config((repo / CONFIG_PATH).read_text())
    assert config.release.version_files == [VersionFile(path="setup.py",
                                                        pattern=SETUP_PY_PATTERN)]
    assert main(["validate", "--repo", str(repo)]) == 0


def test_init_keeps_an_existing_file_and_writes_the_rest_from_a_subdirectory(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    mine = "# mine\nlimits: {max_open: 1}\n"
    repo = make_repo({CONFIG_PATH: mine, "pyproject.toml": "[project]\nversion = '1.0.0'\n",
                      "src/x.py": "x = 1\n"})
    git(repo, "checkout", "-q", "-b", "trunk")
    assert main(["init", "--dir", str(repo / "src"), "--action", PIN]) == 0
    out = capsys.readouterr().out
    assert SKIPPED.format(path=CONFIG_PATH) in out
    assert (repo / CONFIG_PATH).read_text() == mine
    assert not (repo / "src" / ".github").exists() and not (repo / "VERSION").exists()
    test_wf = (repo / ".github/workflows/improve-release.yml").read_text()
    assert PIN in test_wf and "trunk" in test_wf
    commit_all(repo, "install improve")
    assert main(["validate", "--repo", str(repo)]) == 0


@pytest.mark.parametrize("where", ["missing", "not-a-repo"])
def test_init_refuses_a_missing_directory_or_one_outside_git(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    target = tmp_path / where
    if where == "not-a-repo":
        target.mkdir()
    assert main(["init", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--dir {target}" in err
    assert ("no such directory" if where == "missing" else "not inside a git repository") in err
    assert not (target / ".github").exists()


def test_init_refuses_an_unpinned_action(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo()
    assert main(["init", "--dir", str(repo), "--action", "acme/improve@main"]) == 2
    assert "not owner/repo@<40-hex commit SHA>" in capsys.readouterr().err
    assert not (repo / ".github").exists()
