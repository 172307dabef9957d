"""What reading a tool's own results costs: CPU milliseconds to parse a results file and map it to
the bot's samples (``bot.core.formats.parse`` then ``bot.core.measure.tool_samples``), per
format, at ``--entries`` entries (benchmarks, test cases, eval samples) x ``--samples`` samples
each, and for the files the real promptfoo and Inspect wrote (tests/data/tool_results).

The large inputs are built in each tool's documented shape (the same keys the real files have;
the tests read the real tools' files). Medians over ``--rounds``. Prints a table on stderr and
one JSON object of metrics (milliseconds) on its last stdout line."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.formats import parse  # noqa: E402
from bot.core.measure import tool_samples  # noqa: E402

RECORDED = ROOT / "tests" / "data" / "tool_results"


def times(n: int, i: int) -> list[float]:
    return [0.001 * (1 + (i % 7) / 10) * (1 + ((k * 37) % 11) / 100) for k in range(n)]


def pytest_benchmark(e: int, s: int) -> dict[str, bytes]:
    doc = {"benchmarks": [{"name": f"test_{i}", "fullname": f"tests/test_x.py::test_{i}",
                           "stats": {"median": 0.001, "data": times(s, i)}} for i in range(e)]}
    return {"out.json": json.dumps(doc).encode()}


def junit(e: int, s: int) -> dict[str, bytes]:
    cases = "".join(f'<testcase classname="tests.test_x" name="test_{i}" time="0.0{i % 9}"/>'
                    for i in range(e))
    return {"junit.xml": f'<testsuites><testsuite name="pytest">{cases}</testsuite>'
                         '</testsuites>'.encode()}


def hyperfine(e: int, s: int) -> dict[str, bytes]:
    doc = {"results": [{"command": f"cmd {i}", "mean": 0.01, "times": times(s, i),
                        "exit_codes": [0] * s} for i in range(e)]}
    return {"h.json": json.dumps(doc).encode()}


def google_benchmark(e: int, s: int) -> dict[str, bytes]:
    doc = {"benchmarks": [{"name": f"BM_{i}", "run_name": f"BM_{i}", "run_type": "iteration",
                           "repetitions": s, "repetition_index": k, "real_time": 1000.0 + k,
                           "cpu_time": 1000.0, "time_unit": "ns"}
                          for i in range(e) for k in range(s)]}
    return {"g.json": json.dumps(doc).encode()}


def asv(e: int, s: int) -> dict[str, bytes]:
    cols = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
            "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
            "samples", "profile"]
    results = {f"bench.time_{i}": [[0.001], [], "v", 0, 1.0, [0.0], [0.0], [0.0], [0.0], [1],
                                   [s], [times(s, i)]] for i in range(e)}
    doc = {"version": 2, "result_columns": cols, "results": results}
    return {"results/m/abc-env.json": json.dumps(doc).encode(), "results/m/machine.json": b"{}"}


def custom(e: int, s: int) -> dict[str, bytes]:
    doc = [{"name": f"b{i}", "unit": "ms", "value": v} for i in range(e) for v in times(s, i)]
    return {"c.json": json.dumps(doc).encode()}


def json_paths(e: int, s: int) -> dict[str, bytes]:
    return {"o.json": json.dumps({"summary": {"per_case": times(e * s, 0)}}).encode()}


def promptfoo(e: int, s: int) -> dict[str, bytes]:
    rows = [{"testIdx": i, "promptIdx": 0, "provider": {"id": "echo"}, "success": True,
             "score": 1.0, "testCase": {"description": f"case {i}"}} for i in range(e)]
    return {"p.json": json.dumps({"results": {"version": 3, "results": rows}}).encode()}


def inspect(e: int, s: int) -> dict[str, bytes]:
    samples = [{"id": f"s{i}", "epoch": k + 1, "scores": {"match": {"value": "C"}}}
               for i in range(e) for k in range(s)]
    return {"log.json": json.dumps({"status": "success", "samples": samples}).encode()}


BUILT: dict[str, tuple[Callable[[int, int], dict[str, bytes]], list[str], dict[str, str]]] = {
    "pytest-benchmark": (pytest_benchmark, ["time_s"], {}),
    "junit": (junit, ["time_s"], {}),
    "hyperfine": (hyperfine, ["time_s"], {}),
    "google-benchmark": (google_benchmark, ["time_s"], {}),
    "asv": (asv, ["time_s"], {}),
    "customSmallerIsBetter": (custom, ["value"], {}),
    "json": (json_paths, ["accuracy"], {"accuracy": "summary.per_case"}),
    "promptfoo": (promptfoo, ["score", "pass"], {}),
    "inspect": (inspect, ["score"], {}),
}
REAL = {"promptfoo-real": ("promptfoo", "promptfoo/good.json", ["score", "pass"]),
        "inspect-real": ("inspect", "inspect/good.json", ["score"])}


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    """CPU milliseconds (the process's time, not the wall clock's): parsing is single-threaded
    work, and CPU time stays put on a shared, loaded machine."""
    out = []
    for _ in range(rounds):
        start = time.process_time()
        fn()
        out.append(1000 * (time.process_time() - start))
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="smallest size: 10 x 3, one round")
    args = ap.parse_args()
    if args.smoke:
        args.entries, args.samples, args.rounds = 10, 3, 1
    metrics: dict[str, float] = {}
    print(f"{'format':24} {'MB':>6} {'ms':>9} {'us/entry':>9}", file=sys.stderr)
    runs: dict[str, tuple[dict[str, bytes], str, list[str], dict[str, str], int]] = {}
    for fmt, (build, declared, paths) in BUILT.items():
        runs[fmt] = (build(args.entries, args.samples), fmt, declared, paths, args.entries)
    for label, (fmt, rel, declared) in REAL.items():
        runs[label] = ({rel: (RECORDED / rel).read_bytes()}, fmt, declared, {}, 0)
    for label, (files, fmt, declared, paths, entries) in runs.items():
        def once(files=files, fmt=fmt, declared=declared, paths=paths) -> object:
            return tool_samples("t", parse(fmt, files, paths), declared, 1.0)
        ms = median_ms(once, args.rounds)
        size = sum(len(b) for b in files.values()) / 1e6
        count = entries or len(parse(fmt, files, paths))
        print(f"{label:24} {size:6.2f} {ms:9.2f} {1000 * ms / count:9.1f}", file=sys.stderr)
        metrics[f"{label}_ms"] = round(ms, 3)
    print(json.dumps(metrics))


if __name__ == "__main__":
    main()
