"""COMPARE's benchmarks: the suite files load, and each script prints the metrics its suite
declares as one JSON object on its last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.suites import BenchmarkSuite, command_argv, parse_suite

ROOT = Path(__file__).resolve().parents[1]


def load(name: str) -> BenchmarkSuite:
    path = ROOT / "benchmarks" / name
    suite = parse_suite(path.read_text(), f"benchmarks/{name}", "benchmark")
    assert isinstance(suite, BenchmarkSuite)
    return suite


@pytest.mark.parametrize(
    ("suite_file", "extra"),
    [
        # the benchmark itself at its smallest size: a smoke test, not a measurement
        ("compare-calibration.yaml", ["--smoke"]),
        ("compare-speed.yaml", ["--tasks", "30", "--repeats", "2", "--rounds", "1"]),
    ],
)
def test_benchmark_prints_the_declared_metrics(suite_file: str, extra: list[str]) -> None:
    suite = load(suite_file)
    argv = command_argv(suite.tasks[0].run)
    assert argv[0] == "python" and argv[1].startswith("benchmarks/bench_compare_")
    # a small run of the same script: the shape of the output is what is checked here
    script = [a for a in argv[1:] if a.endswith(".py")]
    proc = subprocess.run([sys.executable, *script, *extra], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    metrics = json.loads(proc.stdout.strip().splitlines()[-1])
    for m in suite.metrics:
        assert isinstance(metrics[m.name], int | float), m.name
    if "false_accept_rate" in metrics:
        assert 0.0 <= metrics["false_accept_rate"] <= 1.0
        assert 0.0 <= metrics["power"] <= 1.0
        # per shape and method, every figure the issue asks for
        for row in metrics["shapes"].values():
            assert {"false_accept", "false_reject", "power", "inconclusive_none",
                    "runs_mean"} <= set(row)
        # the runs are counted: one look spends the suite's own runs, more looks only add
        rows = metrics["shapes"]
        assert {k.split("/")[1] for k in rows} == {"fixed", "sequential"}
        for key, row in rows.items():
            if key.endswith("/fixed"):
                assert row["runs_mean"] == row["fixed_runs"], key
            else:
                assert row["runs_mean"] >= row["fixed_runs"], key
