"""``setup:``: the cache key (pure, table-tested), and the setup environment made in real
scratch worktrees of real temporary git repositories: run once per key, kept, redone when a
lock file changes or an earlier attempt was killed, and a failing command named."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.adapters.progress import PlainProgress
from bot.adapters.setup_env import set_up
from bot.adapters.worktree import open_repo, scratch_worktree
from bot.core.config import SetupConfig, parse_config
from bot.core.setup import DONE_MARKER, failure_message, lock_files, setup_key
from bot.errors import InputError
from bot.stages.evaluate import evaluate_commit
from tests.helpers.git import commit_all, git, write_files
from tests.helpers.wheel import wheel

# --------------------------------------------------------------------------- the key (pure)

PATHS = ["requirements.txt", "requirements-dev.txt", "web/package-lock.json", "src/app.py",
         "poetry.lock"]


@pytest.mark.parametrize(("globs", "want"), [
    ([], []),
    (["requirements.txt"], ["requirements.txt"]),
    (["requirements*.txt"], ["requirements-dev.txt", "requirements.txt"]),
    (["**/package-lock.json"], ["web/package-lock.json"]),
    (["poetry.lock", "*.lock"], ["poetry.lock"]),
    (["Pipfile.lock"], []),
])
def test_lock_files_are_the_tracked_files_the_globs_name(globs: list[str], want: list[str]):
    assert lock_files(PATHS, globs) == want


BASE = {"requirements.txt": b"greet==1.0\n"}
CMDS = [["python", "-m", "pip", "install", "-r", "requirements.txt"]]


@pytest.mark.parametrize(("commands", "locks", "interp", "same"), [
    (CMDS, BASE, "py3.12", True),
    (CMDS, {"requirements.txt": b"greet==1.1\n"}, "py3.12", False),     # a lock file's content
    (CMDS, {"reqs.txt": b"greet==1.0\n"}, "py3.12", False),             # its path
    (CMDS, {**BASE, "b.lock": b""}, "py3.12", False),                   # one more lock file
    ([["python", "-m", "pip", "install", "greet"]], BASE, "py3.12", False),  # the commands
    ([*CMDS, ["true"]], BASE, "py3.12", False),
    (CMDS, BASE, "py3.13", False),                                      # the interpreter
])
def test_setup_key_changes_with_what_the_environment_depends_on(commands, locks, interp, same):
    assert (setup_key(commands, locks, interp) == setup_key(CMDS, BASE, "py3.12")) is same


def test_setup_key_does_not_depend_on_the_order_the_lock_files_come_in():
    a = {"a.lock": b"1", "b.lock": b"2"}
    assert setup_key(CMDS, a, "x") == setup_key(CMDS, dict(reversed(a.items())), "x")
    # a path and a content are not confused: moving bytes between them is another key
    assert setup_key(CMDS, {"ab": b"c"}, "x") != setup_key(CMDS, {"a": b"bc"}, "x")


@pytest.mark.parametrize(("code", "error", "timed_out", "how"), [
    (1, None, False, "exited with code 1"),
    (-9, None, False, "was killed by signal 9"),
    (None, "command not found: nope", False, "could not start: command not found: nope"),
    (None, None, True, "timed out after 30 s"),
])
def test_a_failed_command_is_named_with_how_it_failed(code, error, timed_out, how):
    msg = failure_message(2, ["pip", "install", "-r", "req s.txt"], "head", "a" * 40, code,
                          error, timed_out, 30, "line one\n\nERROR: no such file\n")
    assert msg == (f"setup.run[2]: `pip install -r 'req s.txt'` {how} in the head worktree "
                   f"({'a' * 12}): line one | ERROR: no such file")


@pytest.mark.parametrize(("text", "field"), [
    ("setup: {run: ['']}", "setup.run"),
    ("setup: {run: ['pip \"install']}", "setup.run"),
    ("setup: {cache: ['a/../b']}", "setup.cache"),
    ("setup: {timeout: 0}", "setup.timeout"),
    ("setup: {run: [x], caches: [y]}", "setup.caches"),
    ("setup: [pip install x]", "setup"),
])
def test_a_bad_setup_is_refused_naming_its_field(text: str, field: str):
    with pytest.raises(InputError) as err:
        parse_config(text)
    assert f".github/improve.yml:1: {field}:" in str(err.value)


# --------------------------------------------------------------------------- the environment

COUNT = "import os, pathlib; p = pathlib.Path(os.environ['SETUP_COUNT']); " \
        "p.write_text(p.read_text() + 'x' if p.exists() else 'x')"
# what setup installs, through its own environment's pip, from a wheel in the repository
GREET = wheel("greet", "1.0", {"greet/__init__.py": "def hello():\n    return 'hello'\n"})
INSTALL = ["python", "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
           "--quiet", f"vendor/{GREET[0]}"]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("IMPROVE_CACHE_DIR", str(root))
    monkeypatch.setenv("SETUP_COUNT", str(tmp_path / "count"))
    return root


def _runs(tmp_path: Path) -> int:
    p = tmp_path / "count"
    return len(p.read_text()) if p.exists() else 0


def _set_up(repo: Path, sha: str, setup: SetupConfig, out: io.StringIO | None = None
            ) -> dict[str, str]:
    with scratch_worktree(open_repo(repo), sha) as tree:
        return set_up(tree, sha, "head", setup, PlainProgress(out or io.StringIO()))


def test_setup_runs_once_per_lock_file_content(make_repo, tmp_path: Path, cache: Path):
    repo = make_repo({"requirements.txt": "greet==1.0\n"})
    sha = git(repo, "rev-parse", "HEAD")
    setup = SetupConfig(run=[["python", "-c", COUNT]], cache=["requirements.txt"])
    out = io.StringIO()
    env = _set_up(repo, sha, setup, out)
    assert _runs(tmp_path) == 1
    env_dir = Path(env["VIRTUAL_ENV"])
    assert env_dir.parent == cache / "setup" and (env_dir / DONE_MARKER).is_file()
    assert env["PATH"].startswith(f"{env_dir / 'bin'}:")
    assert "1 command(s)" in out.getvalue()
    out = io.StringIO()
    assert _set_up(repo, sha, setup, out) == env       # the same lock file: not run again
    assert _runs(tmp_path) == 1 and "not run again" in out.getvalue()
    write_files(repo, {"requirements.txt": "greet==1.1\n", "app.py": "x = 1\n"})
    sha2 = commit_all(repo)
    assert _set_up(repo, sha2, setup)["VIRTUAL_ENV"] != str(env_dir)   # another environment
    assert _runs(tmp_path) == 2
    write_files(repo, {"app.py": "x = 2\n"})   # the code changes, the lock file does not
    assert _set_up(repo, commit_all(repo), setup)["VIRTUAL_ENV"] != str(env_dir)
    assert _runs(tmp_path) == 2


def test_without_cache_globs_setup_runs_every_time(make_repo, tmp_path: Path, cache: Path):
    repo = make_repo()
    sha = git(repo, "rev-parse", "HEAD")
    setup = SetupConfig(run=[["python", "-c", COUNT]])
    _set_up(repo, sha, setup)
    _set_up(repo, sha, setup)
    assert _runs(tmp_path) == 2 and not cache.exists()


def test_a_setup_killed_half_way_is_redone_whole(make_repo, tmp_path: Path, cache: Path):
    repo = make_repo({"requirements.txt": "a\n"})
    sha = git(repo, "rev-parse", "HEAD")
    setup = SetupConfig(run=[["python", "-c", COUNT]], cache=["requirements.txt"])
    env_dir = Path(_set_up(repo, sha, setup)["VIRTUAL_ENV"])
    (env_dir / DONE_MARKER).unlink()   # as if killed after the command, before the marker
    (env_dir / "half-written").write_text("left by the killed attempt")
    _set_up(repo, sha, setup)
    assert _runs(tmp_path) == 2 and not (env_dir / "half-written").exists()
    assert (env_dir / DONE_MARKER).is_file()


def test_a_failing_command_names_itself_and_leaves_no_ready_environment(make_repo, cache: Path):
    repo = make_repo({"requirements.txt": "a\n"})
    sha = git(repo, "rev-parse", "HEAD")
    setup = SetupConfig(run=[["python", "-c", "pass"],
                             ["python", "-c", "import sys; print('no greet'); sys.exit(3)"]],
                        cache=["requirements.txt"])
    with pytest.raises(InputError) as err:
        _set_up(repo, sha, setup)
    assert str(err.value) == (
        "setup.run[2]: `python -c 'import sys; print('\"'\"'no greet'\"'\"'); sys.exit(3)'` "
        f"exited with code 3 in the head worktree ({sha[:12]}): no greet")
    assert not list((cache / "setup").glob(f"*/{DONE_MARKER}"))


def test_cache_globs_matching_no_file_are_an_error(make_repo, cache: Path):
    repo = make_repo()
    sha = git(repo, "rev-parse", "HEAD")
    with pytest.raises(InputError, match=r"setup.cache: no file of .* matches poetry.lock"):
        _set_up(repo, sha, SetupConfig(run=[["true"]], cache=["poetry.lock"]))


def test_a_lock_file_that_cannot_be_read_is_named(make_repo, cache: Path):
    """A cache glob that matches a tracked link whose target is not there: bad input naming
    the file (exit 2), not a traceback."""
    repo = make_repo()
    (repo / "deps.lock").symlink_to("../nowhere/deps.lock")
    sha = commit_all(repo)
    with pytest.raises(InputError, match=r"setup.cache: deps.lock \(of [0-9a-f]{12}\) cannot "
                                         r"be read: No such file or directory"):
        _set_up(repo, sha, SetupConfig(run=[["true"]], cache=["*.lock"]))


def test_pip_installs_into_the_setup_environment_not_the_bots(make_repo, cache: Path):
    repo = make_repo({f"vendor/{GREET[0]}": GREET[1], "requirements.txt": "greet\n"})
    sha = git(repo, "rev-parse", "HEAD")
    env = _set_up(repo, sha, SetupConfig(run=[INSTALL], cache=["requirements.txt", "vendor/*"]))
    site = next(Path(env["VIRTUAL_ENV"]).glob("lib/python*/site-packages"))
    assert (site / "greet" / "__init__.py").is_file()
    with pytest.raises(ImportError):
        import greet  # noqa: F401 - the bot's own environment is left as it was


# --------------------------------------------------------------------------- the stage

REGRESSION = json.dumps({"id": "uses-greet", "targets": ["**"], "checks": [
    {"id": "imports", "run": ["python", "-c", "import greet; assert greet.hello() == 'hello'"]},
]})


def test_a_suite_finds_what_setup_installed(make_repo, cache: Path):
    repo = make_repo({f"vendor/{GREET[0]}": GREET[1], "regressions/greet.yaml": REGRESSION,
                      "requirements.txt": "greet\n"})
    sha = git(repo, "rev-parse", "HEAD")
    config = parse_config(json.dumps({"setup": {"run": [INSTALL],
                                                "cache": ["requirements.txt"]}}))
    out = io.StringIO()
    results, _ = evaluate_commit(open_repo(repo), sha, config, PlainProgress(out))
    check = results.suites[0].tasks[0].samples[0]
    assert check.status == "ok", check
    assert "Setting up the scratch worktree" in out.getvalue()
    # without the setup, the same suite fails: the dependency is nowhere else
    bare, _ = evaluate_commit(open_repo(repo), sha, parse_config(None), PlainProgress(out))
    failed = bare.suites[0].tasks[0].samples[0]
    assert failed.status == "failed" and "No module named 'greet'" in (failed.output_tail or "")
