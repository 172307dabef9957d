"""``improve evaluate`` end to end on real temporary git repositories, run as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from bot.core.results import results_schema
from tests.helpers.git import commit_all, git, write_files

SCHEMA_FILE = Path(__file__).parent.parent / "bot" / "schemas" / "results.schema.json"

PY = "python"  # resolved by the runner to the interpreter the bot runs under


def suite_yaml(tasks: list[dict], **extra: object) -> str:
    doc = {
        "id": extra.pop("id", "bench"),
        "targets": extra.pop("targets", ["**"]),
        "repeat": extra.pop("repeat", 2),
        "timeout": extra.pop("timeout", 20),
        "metrics": extra.pop(
            "metrics",
            [{"name": "accuracy"}, {"name": "latency_ms", "direction": "lower", "kind": "timing"}],
        ),
        "tasks": tasks,
        **extra,
    }
    return json.dumps(doc, indent=1)  # JSON is YAML


def py_task(tid: str, code: str, **extra: object) -> dict:
    return {"id": tid, "run": [PY, "-c", code], **extra}


def metrics_code(acc: float = 0.8) -> str:
    metrics = f"{{'accuracy': {acc}, 'latency_ms': 3}}"
    return f"import json; print('warming up'); print(json.dumps({metrics}))"


def improve(
    repo: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


@pytest.fixture
def tmpdir_env(tmp_path: Path) -> dict[str, str]:
    """A private TMPDIR, so a test can see that the scratch worktree was removed."""
    d = tmp_path / "scratch"
    d.mkdir()
    return {"TMPDIR": str(d)}


def no_worktrees_left(repo: Path, tmpdir_env: dict[str, str]) -> None:
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert list(Path(tmpdir_env["TMPDIR"]).iterdir()) == []


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def test_results_validate_and_the_working_tree_is_untouched(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(
                [
                    py_task("plain", metrics_code()),
                    {
                        "id": "cases",
                        "cases": "data/cases.jsonl",
                        "run": [
                            PY,
                            "-c",
                            "import sys, json; print(json.load(sys.stdin)['text'].upper())",
                        ],
                        "scorer": {"exact": {"field": "label"}},
                    },
                ]
            ),
            "regressions/r.yaml": json.dumps(
                {"id": "reg", "checks": [{"id": "ok", "run": "true"}]}
            ),
            "data/cases.jsonl": '{"text": "a", "label": "A"}\n{"text": "b", "label": "B"}\n'
            '{"text": "c", "label": "X"}\n{"text": "d", "label": "D"}\n',
            "src.txt": "committed\n",
        }
    )
    # a dirty working tree and a staged file, which the run must leave exactly as they are
    (repo / "src.txt").write_text("edited, not committed\n")
    (repo / "staged.txt").write_text("staged\n")
    git(repo, "add", "staged.txt")
    before = git(repo, "status", "--porcelain")
    head = git(repo, "rev-parse", "HEAD")

    proc = improve(repo, "evaluate", "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 0, proc.stderr

    assert (
        git(repo, "status", "--porcelain").replace("?? out.json\n", "").replace("\n?? out.json", "")
        == before
    )
    assert (repo / "src.txt").read_text() == "edited, not committed\n"
    no_worktrees_left(repo, tmpdir_env)

    data = load(repo / "out.json")
    jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text())).validate(data)
    assert data["commit"] == head and data["schema_version"] == 1
    assert data["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    bench = next(s for s in data["suites"] if s["id"] == "bench")
    assert bench["definition_hash"].startswith("sha256:")
    tasks = {t["id"]: t for t in bench["tasks"]}
    assert [s["metrics"]["accuracy"] for s in tasks["plain"]["samples"]] == [0.8, 0.8]
    # three of four cases right: the scorer compared against the label the task never saw
    assert [s["metrics"]["accuracy"] for s in tasks["cases"]["samples"]] == [0.75, 0.75]
    assert all(s["metrics"]["latency_ms"] > 0 for s in tasks["cases"]["samples"])
    reg = next(s for s in data["suites"] if s["id"] == "reg")
    assert reg["tasks"][0]["status"] == "ok" and len(reg["tasks"][0]["samples"]) == 1


def test_the_published_schema_is_generated_from_the_models() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == results_schema()


def test_a_hanging_task_is_killed_with_its_children(
    make_repo: Callable[..., Path], tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    pidfile = tmp_path / "child.pid"
    hang = (
        "import subprocess, sys, time, os\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(300)\n"
    )
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(
                [py_task("hang", hang), py_task("fine", metrics_code())], repeat=1, timeout=1.5
            )
        }
    )
    proc = improve(repo, "evaluate", "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    tasks = {t["id"]: t for t in load(repo / "out.json")["suites"][0]["tasks"]}
    assert tasks["hang"]["status"] == "failed"
    assert tasks["hang"]["samples"][0]["failure"] == "timeout"
    assert tasks["hang"]["reason"] == "timed out after 1.5 s"
    assert tasks["fine"]["status"] == "ok"  # the run went on
    child = int(pidfile.read_text())
    assert not _alive(child), "the task's child outlived the timeout"
    no_worktrees_left(repo, tmpdir_env)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead but not yet reaped by its (dead) parent's reaper
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_crashing_task_is_a_failed_task_with_its_output_tail(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    crash = "import sys; print('step 1 done'); sys.stderr.write('Traceback: boom\\n'); sys.exit(3)"
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(
                [py_task("crash", crash), py_task("fine", metrics_code())]
            )
        }
    )
    proc = improve(repo, "evaluate", "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    tasks = {t["id"]: t for t in load(repo / "out.json")["suites"][0]["tasks"]}
    crashed = tasks["crash"]
    assert crashed["status"] == "failed"
    assert crashed["reason"] == "crashed: exited with code 3 (2 of 2 runs failed)"
    assert "boom" in crashed["samples"][0]["output_tail"]
    assert "step 1 done" in crashed["samples"][0]["output_tail"]
    assert tasks["fine"]["status"] == "ok"


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        (
            {"benchmarks/b.yaml": suite_yaml([{"id": "t", "run": "no-such-program --flag"}])},
            [],
            "benchmarks/b.yaml: task t: run: command not found: no-such-program",
        ),
        (
            {"benchmarks/b.yaml": suite_yaml([{"id": "t", "run": "scripts/missing.sh"}])},
            [],
            "benchmarks/b.yaml: task t: run: command not found: scripts/missing.sh",
        ),
        (
            {
                "benchmarks/b.yaml": "id: b\nmetrics: [{name: a}]\n"
                "tasks:\n  - {id: t, run: x, colour: red}\n"
            },
            [],
            "benchmarks/b.yaml:4: tasks[0].colour: unknown key",
        ),
        (
            {
                "benchmarks/b.yaml": suite_yaml(
                    [
                        {
                            "id": "t",
                            "run": "true",
                            "cases": "c.jsonl",
                            "scorer": {"exact": {"field": "l"}},
                        }
                    ]
                ),
                "c.jsonl": '{"l": 1}\n{"l": 2\n',
            },
            [],
            "c.jsonl:2: not valid JSON",
        ),
        (
            {
                "benchmarks/b.yaml": suite_yaml(
                    [
                        {
                            "id": "t",
                            "run": "true",
                            "cases": "c.jsonl",
                            "scorer": {"exact": {"field": "l"}},
                        }
                    ]
                ),
                "c.jsonl": '{"x": 1}\n',
            },
            [],
            "c.jsonl: case 1 has no field 'l'",
        ),
        (
            {"benchmarks/b.yaml": suite_yaml([py_task("t", metrics_code())])},
            ["--ref", "nope"],
            "--ref: 'nope' does not resolve",
        ),
        (
            {"benchmarks/b.yaml": suite_yaml([py_task("t", metrics_code())])},
            ["--suite", "other"],
            "--suite: unknown suite 'other' (known: bench)",
        ),
        (
            {"benchmarks/b.yaml": suite_yaml([py_task("t", metrics_code())])},
            ["--shard", "3/2"],
            "--shard: '3/2' is not K/N",
        ),
        (
            {"benchmarks/b.yaml": suite_yaml([py_task("t", metrics_code())])},
            ["--changed-from", "v9"],
            "--changed-from: 'v9' does not resolve",
        ),
    ],
)
def test_bad_input_is_one_clear_message_exit_2_and_nothing_left(
    make_repo: Callable[..., Path],
    tmpdir_env: dict[str, str],
    files: dict,
    args: list[str],
    message: str,
) -> None:
    repo = make_repo(files)
    proc = improve(repo, "evaluate", *args, "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (repo / "out.json").exists()
    no_worktrees_left(repo, tmpdir_env)


def test_a_task_printing_non_json_names_the_file_and_task(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(
                [py_task("chatty", "print('all good!')"), py_task("fine", metrics_code())]
            )
        }
    )
    proc = improve(repo, "evaluate", "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 2
    assert (
        "benchmarks/b.yaml: task chatty: malformed metrics: "
        "last stdout line is not JSON: 'all good!'"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr
    # the run itself finished: its results are written, with the failure recorded
    tasks = {t["id"]: t for t in load(repo / "out.json")["suites"][0]["tasks"]}
    assert tasks["chatty"]["samples"][0]["failure"] == "malformed_metrics"
    assert tasks["fine"]["status"] == "ok"
    no_worktrees_left(repo, tmpdir_env)


def test_changed_from_selects_suites_by_targets(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    repo = make_repo(
        {
            "benchmarks/router.yaml": suite_yaml(
                [py_task("t", metrics_code())], id="router", targets=["config/router.yaml"]
            ),
            "benchmarks/prompts.yaml": suite_yaml(
                [py_task("t", metrics_code())], id="prompts", targets=["prompts/**"]
            ),
            "config/router.yaml": "threshold: 0.5\n",
            "prompts/system.md": "Be brief.\n",
        }
    )
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"prompts/system.md": "Be brief and kind.\n"})
    commit_all(repo, "tune the prompt")
    proc = improve(repo, "evaluate", "--changed-from", base, "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    data = load(repo / "out.json")
    assert [s["id"] for s in data["suites"]] == ["prompts"]
    assert data["changed_from"] == base
    proc = improve(repo, "evaluate", "--changed-from", "HEAD", "-o", "none.json", env=tmpdir_env)
    assert proc.returncode == 0 and load(repo / "none.json")["suites"] == []
    assert "no suite was selected" in proc.stderr


def _strip_timings(data: dict) -> dict:
    data = json.loads(json.dumps(data))
    data.pop("created_at")
    for s in data["suites"]:
        for t in s["tasks"]:
            for sample in t["samples"]:
                sample.pop("duration_s")
                if "latency_ms" in sample["metrics"]:
                    sample["metrics"]["latency_ms"] = 0
    return data


def test_shards_merge_into_the_unsharded_result(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    tasks = [py_task(f"t{i}", metrics_code(i / 10)) for i in range(5)]
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(tasks, repeat=1),
            "regressions/r.yaml": json.dumps(
                {"id": "reg", "checks": [{"id": "c1", "run": "true"}, {"id": "c2", "run": "true"}]}
            ),
        }
    )
    assert improve(repo, "evaluate", "-o", "full.json", env=tmpdir_env).returncode == 0
    for k in (1, 2, 3):
        proc = improve(repo, "evaluate", "--shard", f"{k}/3", "-o", f"part{k}.json", env=tmpdir_env)
        assert proc.returncode == 0, proc.stderr
        assert load(repo / f"part{k}.json")["shard"] == {"index": k, "total": 3}
    sizes = [
        sum(len(s["tasks"]) for s in load(repo / f"part{k}.json")["suites"]) for k in (1, 2, 3)
    ]
    assert sorted(sizes) == [2, 2, 3]
    proc = improve(
        repo, "merge-results", "part1.json", "part2.json", "part3.json", "-o", "merged.json"
    )
    assert proc.returncode == 0, proc.stderr
    assert _strip_timings(load(repo / "merged.json")) == _strip_timings(load(repo / "full.json"))
    # a shard given twice is refused, naming the task
    proc = improve(repo, "merge-results", "part1.json", "part1.json", "-o", "bad.json")
    assert (
        proc.returncode == 2
        and "is also in part1.json" in proc.stderr
        and not (repo / "bad.json").exists()
    )


def test_jobs_run_tasks_in_parallel(
    make_repo: Callable[..., Path], tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    log = tmp_path / "spans"
    log.mkdir()
    code = (
        "import json, os, time, pathlib\n"
        "t0 = time.time(); time.sleep(0.4); t1 = time.time()\n"
        f"pathlib.Path({str(log)!r}, os.environ['IMPROVE_TASK']).write_text(json.dumps([t0, t1]))\n"
        "print(json.dumps({'accuracy': 1}))\n"
    )
    repo = make_repo(
        {"benchmarks/b.yaml": suite_yaml([py_task("a", code), py_task("b", code)], repeat=1)}
    )

    def overlap(jobs: str) -> bool:
        for f in log.iterdir():
            f.unlink()
        assert (
            improve(repo, "evaluate", "--jobs", jobs, "-o", "o.json", env=tmpdir_env).returncode
            == 0
        )
        (a0, a1), (b0, b1) = (json.loads((log / n).read_text()) for n in ("a", "b"))
        return a0 < b1 and b0 < a1

    assert overlap("2") is True
    assert overlap("1") is False


def test_regression_checks_name_junit_failures(
    make_repo: Callable[..., Path], tmpdir_env: dict[str, str]
) -> None:
    write_junit = (
        "import sys; open('report.xml', 'w').write('<testsuite>"
        '<testcase classname="t.m" name="test_x"><failure/></testcase>'
        '<testcase classname="t.m" name="test_ok"/></testsuite>\'); sys.exit(1)'
    )
    repo = make_repo(
        {
            "regressions/r.yaml": json.dumps(
                {
                    "id": "reg",
                    "checks": [
                        {"id": "unit", "run": [PY, "-c", write_junit], "junit": "report.xml"}
                    ],
                }
            )
        }
    )
    proc = improve(repo, "evaluate", "-o", "out.json", env=tmpdir_env)
    assert proc.returncode == 0, proc.stderr
    task = load(repo / "out.json")["suites"][0]["tasks"][0]
    assert task["status"] == "failed"
    assert task["failures"] == ["t.m.test_x"]
    assert task["reason"] == "failed: exited with code 1; failing tests: t.m.test_x"


def test_an_interrupted_run_leaves_no_worktree_and_no_task(
    make_repo: Callable[..., Path], tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    pidfile = tmp_path / "task.pid"
    code = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(300)"
    repo = make_repo(
        {"benchmarks/b.yaml": suite_yaml([py_task("slow", code)], repeat=1, timeout=600)}
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "evaluate", "-o", "out.json"],
        cwd=repo,
        env={**os.environ, **tmpdir_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pidfile.exists(), "the task never started"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not _alive(int(pidfile.read_text()))
    assert not (repo / "out.json").exists()
    no_worktrees_left(repo, tmpdir_env)


def test_in_actions_progress_is_grouped_and_summarized(
    make_repo: Callable[..., Path], tmp_path: Path, tmpdir_env: dict[str, str]
) -> None:
    summary = tmp_path / "summary.md"
    output = tmp_path / "output"
    repo = make_repo(
        {
            "benchmarks/b.yaml": suite_yaml(
                [
                    py_task("fine", metrics_code()),
                    py_task("crash", "print('::add-mask::x'); raise SystemExit(4)"),
                ]
            )
        }
    )
    env = {
        **tmpdir_env,
        "GITHUB_ACTIONS": "true",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_OUTPUT": str(output),
    }
    proc = improve(repo, "evaluate", "-o", "out.json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("::group::Evaluating ")
    assert "::endgroup::" in proc.stdout
    assert (
        "::error file=benchmarks/b.yaml,title=improve::bench/crash#1: crashed: exited with code 4"
        in proc.stdout
    )
    # the task's own output cannot issue workflow commands: they are stopped around it
    before, _, after = proc.stdout.partition("::add-mask::x")
    assert "::stop-commands::" in before.splitlines()[-1]
    text = summary.read_text()
    assert "| task | status | accuracy | latency\\_ms | median s |" in text
    assert "| fine | ok | 0.8 | 3 |" in text
    assert "results<<" in output.read_text()
