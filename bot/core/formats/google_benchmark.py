"""Google Benchmark's JSON (``--benchmark_out=FILE --benchmark_out_format=json`` or
``--benchmark_format=json`` on stdout): one entry per benchmark (its ``run_name``), each
repetition's ``real_time`` (converted to seconds) a sample of ``time_s``. When the file holds
only aggregates (``--benchmark_report_aggregates_only``), the median is the one sample. A
benchmark that reported an error is a failed entry."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.formats.common import Entry, FormatError, load_json, need, number, one_file

UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    doc = load_json(name, data)
    runs: dict[str, list[dict[str, float]]] = {}
    medians: dict[str, list[dict[str, float]]] = {}
    errors: dict[str, str] = {}
    for i, bench in enumerate(need(doc, "benchmarks", list, name)):
        where = f"{name}: benchmarks[{i}]"
        title = str(bench.get("run_name") or need(bench, "name", str, where))
        if bench.get("error_occurred"):
            errors[title] = f"errored: {bench.get('error_message') or 'no message'}"
            continue
        unit = bench.get("time_unit", "ns")
        if unit not in UNITS:
            raise FormatError(f"{where}.time_unit: unknown unit {unit!r}")
        seconds = number(bench.get("real_time"), f"{where}.real_time") * UNITS[unit]
        if bench.get("run_type", "iteration") == "iteration":
            runs.setdefault(title, []).append({"time_s": seconds})
        elif bench.get("aggregate_name") == "median":
            medians.setdefault(title, []).append({"time_s": seconds})
    entries = [Entry(t, [], why) for t, why in errors.items()]
    for title in [*runs, *(t for t in medians if t not in runs)]:
        if title not in errors:
            entries.append(Entry(title, runs.get(title) or medians[title]))
    return entries
