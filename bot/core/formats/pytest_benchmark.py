"""pytest-benchmark's ``--benchmark-json`` file: one entry per benchmark (its ``fullname``),
every round's time (``stats.data``, seconds per iteration) a sample of ``time_s``. A file
written without the rounds (an old version, or ``--benchmark-disable``-like edits) gives the
median as its one sample."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.formats.common import Entry, FormatError, load_json, need, number, one_file


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    doc = load_json(name, data)
    benchmarks = need(doc, "benchmarks", list, name)
    entries: list[Entry] = []
    for i, bench in enumerate(benchmarks):
        where = f"{name}: benchmarks[{i}]"
        title = bench.get("fullname") or need(bench, "name", str, where)
        stats = need(bench, "stats", dict, where)
        rounds = stats.get("data")
        if isinstance(rounds, list) and rounds:
            values = [number(v, f"{where}.stats.data") for v in rounds]
        else:
            values = [number(stats.get("median"), f"{where}.stats.median")]
        entries.append(Entry(str(title), [{"time_s": v} for v in values]))
    if len({e.name for e in entries}) != len(entries):
        raise FormatError(f"{name}: two benchmarks have the same fullname")
    return entries
