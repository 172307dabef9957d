"""Tasks that name their tool's own results file (bot/core/formats): for each format, the real
tool runs on a small real input inside the test (or a file it wrote is read, with the script
that regenerates it), on two commits, and ``improve compare`` gives the right verdict on a real
change (a slower function, a failing test, a worse prompt).

The tools are installed by the dev extras (pytest-benchmark, asv, inspect-ai) and by .ci/run
(hyperfine and Google Benchmark from Debian); a missing tool fails these tests, it does not
skip them."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from bot.cli import main
from tests.helpers.git import commit_all, write_files

PY = "python"  # resolved by the runner to the interpreter the bot runs under


def improve(repo: Path, *args: str) -> tuple[int, str]:
    """The bot's command line, in this process (the tools it runs are real processes)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.chdir(repo):
        code = main(list(args))
    return code, out.getvalue()


def suite(tasks: list[dict], **extra: object) -> str:
    return json.dumps({"id": "tools", "repeat": 1, "timeout": 120, "tasks": tasks, **extra},
                      indent=1)


def evaluate_both(repo: Path, base: str, head: str) -> tuple[dict, dict]:
    for sha, out in ((base, "base.json"), (head, "head.json")):
        code, _ = improve(repo, "evaluate", "--ref", sha, "-o", out)
        assert code == 0, (repo / out).read_text() if (repo / out).exists() else code
    return (json.loads((repo / "base.json").read_text()),
            json.loads((repo / "head.json").read_text()))


def compare(repo: Path) -> tuple[int, dict]:
    code, out = improve(repo, "compare", "base.json", "head.json", "--format", "json")
    assert code in (0, 1), out
    return code, json.loads(out)


def two_commits(make_repo: Callable[..., Path], files: Mapping[str, str | bytes],
                change: Mapping[str, str | bytes]) -> tuple[Path, str, str]:
    repo = make_repo(dict(files))
    base = _head(repo)
    write_files(repo, change)
    head = commit_all(repo, "the change")
    return repo, base, head


def _head(repo: Path) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def tasks_of(results: dict) -> dict[str, dict]:
    return {t["id"]: t for s in results["suites"] for t in s["tasks"]}


def need(tool: str) -> str:
    """The tool's path; a missing tool fails the test (.ci/run installs it)."""
    found = shutil.which(tool)
    assert found, f"{tool} is not installed (.ci/run installs it; locally: apt-get install)"
    return found


# ---------------------------------------------------------------- pytest-benchmark

SUM_FAST = "def total(n):\n    return sum(range(n))\n"
SUM_SLOW = "def total(n):\n    out = 0\n    for i in range(n):\n        out += i * 1\n    " \
           "for i in range(n):\n        out += 0\n    return out\n"
BENCH_TEST = """from mathlib import total


def test_total(benchmark):
    assert benchmark(total, 2000) == sum(range(2000))


def test_total_small(benchmark):
    benchmark(total, 50)
"""


def test_pytest_benchmark_slower_function_is_rejected(make_repo: Callable[..., Path]) -> None:
    run = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py",
           "--benchmark-json=.bench/out.json", "--benchmark-min-rounds=20",
           "--benchmark-max-time=0.05"]
    files = {
        "mathlib.py": SUM_FAST,
        "test_bench.py": BENCH_TEST,
        "benchmarks/speed.yaml": suite([{"id": "pytest", "run": run, "results": {
            "file": ".bench/out.json", "format": "pytest-benchmark"}}]),
    }
    repo, base, head = two_commits(make_repo, files, {"mathlib.py": SUM_SLOW})
    b, h = evaluate_both(repo, base, head)
    bt = tasks_of(b)
    assert set(bt) == {"pytest/test_bench.py::test_total",
                       "pytest/test_bench.py::test_total_small"}, json.dumps(bt)[:3000]
    # every round pytest-benchmark timed is a sample, not one mean
    assert len(bt["pytest/test_bench.py::test_total"]["samples"]) >= 20
    assert b["suites"][0]["metrics"] == [
        {"name": "time_s", "direction": "lower", "kind": "timing", "weight": 1.0, "gate": True}]
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp
    assert any(r["code"] == "task_timing_regressed" and "test_total" in r["subject"]
               for r in cmp["reasons"]), cmp["reasons"]


# ---------------------------------------------------------------- junit

UNIT_TESTS = """from mathlib import total


def test_small():
    assert total(3) == 3


def test_large():
    assert total(2000) == sum(range(2000))
"""


def test_junit_failing_test_case_is_rejected_by_name(make_repo: Callable[..., Path]) -> None:
    run = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_unit.py",
           "--junitxml=reports/junit.xml"]
    files = {
        "mathlib.py": SUM_FAST,
        "test_unit.py": UNIT_TESTS,
        "benchmarks/tests.yaml": suite(
            [{"id": "unit", "run": run, "results": {"file": "reports/junit.xml",
                                                     "format": "junit"}}],
            metrics=[{"name": "time_s", "direction": "lower", "kind": "timing", "gate": False}]),
    }
    broken = "def total(n):\n    return sum(range(n)) + (1 if n > 1000 else 0)\n"
    repo, base, head = two_commits(make_repo, files, {"mathlib.py": broken})
    b, h = evaluate_both(repo, base, head)
    assert {t: v["status"] for t, v in tasks_of(b).items()} == {
        "unit/test_unit.test_large": "ok", "unit/test_unit.test_small": "ok"}
    failed = tasks_of(h)["unit/test_unit.test_large"]
    # pytest exits 1 when a test fails, and the report it wrote names the failure
    assert failed["status"] == "failed" and failed["reason"].startswith("failed: assert")
    assert tasks_of(h)["unit/test_unit.test_small"]["status"] == "ok"
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp
    assert [r["subject"] for r in cmp["reasons"] if r["code"] == "task_fails"] == [
        "unit/test_unit.test_large"]


# ---------------------------------------------------------------- json, a path per metric

EVAL_SCRIPT = """import json, os, sys
threshold = float(open("threshold.txt").read())
labels = [(x / 20, x / 20 >= 0.5) for x in range(20)]
hits = [int((score >= threshold) == truth) for score, truth in labels]
os.makedirs("out", exist_ok=True)
json.dump({"summary": {"accuracy": sum(hits) / len(hits), "per_case": hits}},
          open("out/eval.json", "w"))
"""


def test_json_paths_worse_accuracy_is_rejected(make_repo: Callable[..., Path]) -> None:
    files = {
        "threshold.txt": "0.5\n",
        "evaluate.py": EVAL_SCRIPT,
        "benchmarks/eval.yaml": suite(
            [{"id": "eval", "run": [PY, "evaluate.py"],
              "results": {"file": "out/eval.json", "format": "json",
                          "metrics": {"accuracy": "summary.per_case"}}}],
            metrics=[{"name": "accuracy", "direction": "higher"}], repeat=2),
    }
    repo, base, head = two_commits(make_repo, files, {"threshold.txt": "0.8\n"})
    b, h = evaluate_both(repo, base, head)
    task = tasks_of(b)["eval"]
    # a list at the path: each number a sample; two runs of twenty cases
    assert len(task["samples"]) == 40
    assert sum(s["metrics"]["accuracy"] for s in task["samples"]) == 40
    assert sum(s["metrics"]["accuracy"] for s in tasks_of(h)["eval"]["samples"]) == 28
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


# ------------------------------------------------- github-action-benchmark's custom JSON

CUSTOM_SCRIPT = """import json
size = int(open("size.txt").read())
out = [{"name": f"bundle-{part}", "unit": "KiB", "value": size * (i + 1)}
       for i, part in enumerate(["core", "ui", "cli", "docs", "api", "cfg"])]
json.dump(out, open("sizes.json", "w"))
"""


def test_custom_smaller_is_better_bigger_values_are_rejected(
        make_repo: Callable[..., Path]) -> None:
    files = {
        "size.txt": "100\n",
        "sizes.py": CUSTOM_SCRIPT,
        "benchmarks/sizes.yaml": suite([{"id": "size", "run": [PY, "sizes.py"], "results": {
            "file": "sizes.json", "format": "customSmallerIsBetter"}}]),
    }
    repo, base, head = two_commits(make_repo, files, {"size.txt": "130\n"})
    b, _ = evaluate_both(repo, base, head)
    assert sorted(tasks_of(b)) == [f"size/bundle-{p}" for p in
                                   sorted(["core", "ui", "cli", "docs", "api", "cfg"])]
    assert b["suites"][0]["metrics"][0]["direction"] == "lower"
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


# ---------------------------------------------------------------- hyperfine


def test_hyperfine_slower_command_is_rejected(make_repo: Callable[..., Path]) -> None:
    hyperfine = need("hyperfine")
    run = [hyperfine, "--runs", "12", "--warmup", "1", "--export-json", "out/hyperfine.json",
           "--command-name", "work", "sh work.sh"]
    files = {
        "work.sh": "sleep 0.02\n",
        "benchmarks/cli.yaml": suite([{"id": "cli", "run": run, "results": {
            "file": "out/hyperfine.json", "format": "hyperfine"}}]),
    }
    repo, base, head = two_commits(make_repo, files, {"work.sh": "sleep 0.08\n"})
    b, _ = evaluate_both(repo, base, head)
    assert len(tasks_of(b)["cli/work"]["samples"]) == 12
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


# ---------------------------------------------------------------- Google Benchmark

BENCH_CC = """#include <benchmark/benchmark.h>
#include <numeric>
#include <vector>
#include "work.h"

static void BM_Sum(benchmark::State& state) {
  std::vector<long> v(4096);
  std::iota(v.begin(), v.end(), 0);
  for (auto _ : state) benchmark::DoNotOptimize(work(v));
}
BENCHMARK(BM_Sum);
BENCHMARK_MAIN();
"""
WORK_FAST = """#include <vector>
inline long work(const std::vector<long>& v) {
  long s = 0;
  for (long x : v) s += x;
  return s;
}
"""
WORK_SLOW = """#include <vector>
inline long work(const std::vector<long>& v) {
  long s = 0;
  for (int r = 0; r < 4; ++r)
    for (long x : v) { s += x; benchmark::ClobberMemory(); }
  return s;
}
"""
BUILD = """set -e
g++ -O2 -o bench bench.cc -lbenchmark -lpthread
./bench --benchmark_repetitions=12 --benchmark_min_time=0.01 \\
  --benchmark_out=out/gbench.json --benchmark_out_format=json
"""


def test_google_benchmark_slower_function_is_rejected(make_repo: Callable[..., Path]) -> None:
    need("g++")
    assert Path("/usr/include/benchmark/benchmark.h").exists(), (
        "Google Benchmark is not installed (.ci/run installs libbenchmark-dev)")
    files = {
        "bench.cc": BENCH_CC, "work.h": WORK_FAST, "build.sh": BUILD,
        "benchmarks/native.yaml": suite([{"id": "native", "run": ["sh", "build.sh"], "results": {
            "file": "out/gbench.json", "format": "google-benchmark"}}]),
    }
    repo, base, head = two_commits(make_repo, files, {"work.h": WORK_SLOW})
    b, _ = evaluate_both(repo, base, head)
    assert len(tasks_of(b)["native/BM_Sum"]["samples"]) == 12
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


# ---------------------------------------------------------------- asv

ASV_CONF = json.dumps({"version": 1, "project": "demo", "repo": ".",
                       "branches": ["main"], "environment_type": "existing",
                       "benchmark_dir": "bench",
                       "results_dir": ".asv/results", "html_dir": ".asv/html"})
ASV_BENCH = """import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from mathlib import total  # noqa: E402


def time_total():
    total(20000)


class TimeSizes:
    params = [100, 5000]

    def time_total(self, n):
        total(n)
"""
# asv benchmarks the checkout it runs in (--python=same) and saves its results under the
# commit's hash; its machine file goes to a private HOME
ASV_RUN = """set -e
export HOME="$PWD/.asv-home"
mkdir -p "$HOME"
asv machine --yes --machine ci >/dev/null
asv run --python=same --machine ci --set-commit-hash "$(git rev-parse HEAD)" \\
  --record-samples -a repeat=5 -a warmup_time=0
"""
SUM_LOOP = ("def total(n):\n    out = 0\n    for _ in range(3):\n        for i in range(n):\n"
            "            out += i\n    return out // 3\n")


def test_asv_slower_function_is_rejected(make_repo: Callable[..., Path]) -> None:
    files = {
        "mathlib.py": SUM_FAST, "asv.conf.json": ASV_CONF, "bench/__init__.py": "",
        "bench/bench_sum.py": ASV_BENCH, "run_asv.sh": ASV_RUN,
        "benchmarks/asv.yaml": suite([{"id": "asv", "run": ["sh", "run_asv.sh"], "results": {
            "file": ".asv/results", "format": "asv"}}]),
    }
    repo, base, head = two_commits(make_repo, files, {"mathlib.py": SUM_LOOP})
    b, _ = evaluate_both(repo, base, head)
    got = tasks_of(b)
    assert sorted(got) == ["asv/bench_sum.TimeSizes.time_total(100)",
                           "asv/bench_sum.TimeSizes.time_total(5000)",
                           "asv/bench_sum.time_total"]
    # --record-samples: every sample asv took is a sample here
    assert len(got["asv/bench_sum.time_total"]["samples"]) >= 5
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


# ------------------------------------- files the eval tools wrote (promptfoo, Inspect)

RECORDED = Path(__file__).parent / "data" / "tool_results"
COPY = ("import os, shutil; os.makedirs('out', exist_ok=True); "
        "shutil.copy('recorded/{name}', 'out/{name}')")


@pytest.mark.parametrize(
    ("fmt", "good", "worse", "cases", "case", "metric", "drop"),
    [
        # a worse prompt: every case loses its second assertion (score 1 -> 0.5, pass 1 -> 0)
        ("promptfoo", "promptfoo/good.json", "promptfoo/worse.json", 12, "paris", "score", 0.5),
        # a worse solver: the sums from 5 on are wrong, in both epochs
        ("inspect", "inspect/good.json", "inspect/worse.json", 16, "sum-1-2", "score", 0.5),
    ],
)
def test_eval_tools_worse_results_are_rejected(make_repo: Callable[..., Path], fmt: str,
                                               good: str, worse: str, cases: int, case: str,
                                               metric: str, drop: float) -> None:
    """The eval tools' own files (regenerate.sh re-runs the tools): each eval case a task of
    its own, paired case by case."""
    name = Path(good).name
    files = {
        f"recorded/{name}": (RECORDED / good).read_bytes(),
        "benchmarks/eval.yaml": suite([{"id": fmt, "run": [PY, "-c", COPY.format(name=name)],
                                        "results": {"file": f"out/{name}", "format": fmt}}]),
    }
    repo, base, head = two_commits(make_repo, files,
                                   {f"recorded/{name}": (RECORDED / worse).read_bytes()})
    b, h = evaluate_both(repo, base, head)
    bt, ht = tasks_of(b), tasks_of(h)
    assert len(bt) == cases and all(t.startswith(f"{fmt}/") for t in bt)
    assert bt[f"{fmt}/{case}"]["samples"][0]["metrics"][metric] == 1.0

    def mean(tasks: dict[str, dict]) -> float:
        values = [s["metrics"][metric] for t in tasks.values() for s in t["samples"]]
        return sum(values) / len(values)

    assert mean(bt) - mean(ht) == pytest.approx(drop)
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp


def test_pull_request_pair_gets_more_runs_of_the_task_that_ran_the_tool(
        make_repo: Callable[..., Path]) -> None:
    """An unclear verdict asks for more samples of a tool's entries (``<task>/<entry>``): they
    are more runs of the task that ran the tool, interleaved like the first ones."""
    from bot.adapters.progress import PlainProgress
    from bot.adapters.worktree import open_repo
    from bot.core.config import parse_config
    from bot.stages.evaluate import evaluate_pair

    # an entry whose values alternate around a true gain of 0.1: two runs cannot tell
    code = (
        "import json, os; r = int(os.environ['IMPROVE_REPEAT']); "
        "gain = json.load(open('gain.json')); v = 0.6 + gain + (0.3 if r % 2 else 0.0); "
        "json.dump([{'name': 'a', 'unit': 'x', 'value': v}], "
        "open('out.json', 'w'))"
    )
    files = {"gain.json": "0.0", "benchmarks/q.yaml": suite(
        [{"id": "tool", "run": [PY, "-c", code],
          "results": {"file": "out.json", "format": "customBiggerIsBetter"}}], repeat=2)}
    repo, base, head = two_commits(make_repo, files, {"gain.json": "0.1"})
    config = parse_config("compare:\n  max_looks: 3\n  max_repeats: 8\n")
    pair = evaluate_pair(open_repo(repo), base, head, config, PlainProgress(io.StringIO()),
                         changed=None)
    assert pair.rounds[0].decision == "inconclusive"
    assert len(pair.rounds) > 1
    tasks = {t.id: t for t in pair.head.suites[0].tasks}
    assert sorted(tasks) == ["tool/a"]
    values = [s.metrics["value"] for s in tasks["tool/a"].samples]
    assert len(values) > 2
    # the extra runs carry on the repeat numbering: the alternation continues
    assert values[:4] == pytest.approx([0.7, 1.0, 0.7, 1.0])


def test_lm_eval_worse_model_is_rejected(make_repo: Callable[..., Path]) -> None:
    """lm-evaluation-harness's output directory (results and samples files it wrote, see
    regenerate.sh): each document a task, paired document by document."""
    def recorded(side: str) -> dict[str, str | bytes]:
        return {f"recorded/lm/{p.name}": p.read_bytes()
                for p in sorted((RECORDED / "lm_eval" / side).iterdir())}

    copy = "import shutil; shutil.copytree('recorded/lm', 'out/lm')"
    files = {**recorded("good"), "benchmarks/lm.yaml": suite(
        [{"id": "lm", "run": [PY, "-c", copy], "results": {"file": "out/lm",
                                                           "format": "lm-eval"}}])}
    repo = make_repo(files)
    base = _head(repo)
    subprocess.run(["git", "rm", "-q", "-r", "recorded/lm"], cwd=repo, check=True)
    write_files(repo, recorded("worse"))
    head = commit_all(repo, "a worse model")
    b, h = evaluate_both(repo, base, head)
    bt, ht = tasks_of(b), tasks_of(h)
    assert len(bt) == 16 and "lm/sums/0" in bt
    assert sum(t["samples"][0]["metrics"]["score"] for t in bt.values()) == 16
    assert sum(t["samples"][0]["metrics"]["score"] for t in ht.values()) == 8
    code, cmp = compare(repo)
    assert (code, cmp["decision"]) == (1, "reject"), cmp
