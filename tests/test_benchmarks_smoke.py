"""Every benchmark runs, at its smallest size (``--smoke``), as its own process, and prints the
figures it promises as one JSON object on its last line: a benchmark that no longer runs (an
import that moved, a record shape that changed) fails here, not the day someone measures.

The runs are slow (sandboxes, subprocesses), so they all start together on a small pool when
the module's first test asks, and each test waits for its own. A new ``benchmarks/bench_*.py``
must be added to SMOKE: the first test fails until it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"

# name -> (arguments before --smoke, keys its last JSON line must hold); slowest first, so the
# pool starts them first
SMOKE: dict[str, tuple[list[str], set[str]]] = {
    "bench_crash.py": (["calls"], {"this"}),
    "bench_demo.py": ([], {"setup_ms", "step1_ms", "demo_ms", "api_calls", "git_requests",
                           "violations"}),
    "bench_pr_evaluation.py": ([], {"requests_total", "story_s", "calls_evaluation_max",
                                    "calls_release_max"}),
    "bench_pr_setup.py": ([], {"cold_setup_s", "cold_test_s_max", "cold_calls_test",
                               "cold_calls_report"}),
    "bench_commands.py": ([], {"calls_max", "event_ms_median", "parse_64kb_ms"}),
    "bench_monitor.py": ([], {"monitor_ms", "api_calls_healthy", "git_requests_healthy",
                              "evaluations_per_run", "api_calls_warning_run",
                              "api_calls_edit_run", "violations", "releases"}),
    "bench_runner.py": ([], {"parallel_ratio", "serial_s", "parallel_s",
                             "overhead_ms_per_task", "command_ms"}),
    "bench_bisect.py": ([], {"tasks_per_measurement", "bisect_runs_8", "every_runs_8"}),
    "bench_release.py": ([], {"release_ms", "api_calls_per_release", "git_requests_per_release",
                              "noop_api_calls", "violations"}),
    "bench_propose.py": ([], {"plan_ms", "commit_ms", "again_ms", "git_calls"}),
    "bench_compare_speed.py": ([], {"parse_s", "compare_s", "render_s", "stage_s", "tasks"}),
    "bench_compare_calibration.py": ([], {"false_accept_rate", "false_reject_rate"}),
    "bench_forge.py": ([], {"github_flow_ms", "github_flow_requests", "local_flow_ms",
                            "sandbox_violations"}),
    "bench_sandbox.py": ([], {"rps", "rps_unvalidated", "flow_ms", "ready_ms", "violations"}),
    "bench_loop.py": (["core"], {"dashboard_ms", "markdown_chars"}),
    "bench_changelog.py": (["history"], {"history_ms", "history_in_process_ms", "releases"}),
    "bench_handle.py": ([], {"version_ms", "ignored_ms", "modules_ignored"}),
    "bench_tool_results.py": ([], {"json_ms", "promptfoo-real_ms", "inspect-real_ms"}),
    "bench_eval_cases.py": ([], {"batch_s", "per_case_ms", "per_case_full_s", "speedup",
                                 "read_ms"}),
}
# the second entry point of the benchmarks that have two
MORE: dict[str, tuple[str, list[str], set[str]]] = {
    "bench_loop.py read": ("bench_loop.py", ["read"], {"read_batch_ms"}),
    "bench_changelog.py insert": ("bench_changelog.py", ["insert"], {"insert_ms", "entries"}),
}
RUNS = {name: (name, args, keys) for name, (args, keys) in SMOKE.items()} | MORE


def _run(script: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args, "--smoke"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=280,
                          check=False)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    with ThreadPoolExecutor(max_workers=3) as pool:
        yield {name: pool.submit(_run, script, args) for name, (script, args, _) in RUNS.items()}


def test_every_benchmark_has_a_smoke_run() -> None:
    on_disk = {p.name for p in BENCHMARKS.glob("bench_*.py")}
    assert on_disk == set(SMOKE), "add the new benchmark to SMOKE (or remove the old one)"


@pytest.mark.parametrize("name", list(RUNS))
def test_the_benchmark_runs_at_its_smallest_size(
        name: str, runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    _, _, keys = RUNS[name]
    proc = runs[name].result()
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr[-3000:]
    metrics = json.loads(lines[-1])
    assert isinstance(metrics, dict)
    assert keys <= set(metrics), sorted(keys - set(metrics))
    for violations in ("violations", "sandbox_violations"):
        assert metrics.get(violations, 0) == 0, (violations, proc.stderr[-3000:])
