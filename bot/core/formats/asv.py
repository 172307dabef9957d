"""airspeed velocity's results directory (``results_dir`` in ``asv.conf.json``): every result
file in it (format version 2: ``result_columns`` and ``results``). One entry per benchmark and
parameter combination; ``time_*`` benchmarks report ``time_s``, the others (``track_*``,
``mem_*``, ``peakmem_*``) ``value``, lower is better as asv compares them. With
``asv run --record-samples`` every sample is kept, otherwise asv's own result (the median) is
the one sample. A benchmark asv recorded as failed (``null``) is a failed entry."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from bot.core.formats.common import Entry, FormatError, load_json, number


def _column(row: list[Any], columns: list[str], name: str) -> Any:
    i = columns.index(name) if name in columns else -1
    return row[i] if 0 <= i < len(row) else None


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    entries: dict[str, Entry] = {}
    for path in sorted(files):
        if not path.endswith(".json"):
            continue
        doc = load_json(path, files[path])
        if not isinstance(doc, dict) or "result_columns" not in doc:
            continue  # benchmarks.json, machine.json
        if doc.get("version") != 2:
            raise FormatError(f"{path}: asv results version {doc.get('version')!r} "
                              "is not supported (version 2 is)")
        columns = doc["result_columns"]
        for bench, row in (doc.get("results") or {}).items():
            where = f"{path}: results.{bench}"
            if not isinstance(row, list):
                raise FormatError(f"{where}: not a list")
            metric = "time_s" if bench.rsplit(".", 1)[-1].startswith("time_") else "value"
            values = _column(row, columns, "result")
            params = _column(row, columns, "params") or []
            samples = _column(row, columns, "samples")
            combos = [", ".join(c) for c in itertools.product(*params)] if params else [""]
            if not isinstance(values, list):
                values = [values]
            for i, combo in enumerate(combos):
                title = f"{bench}({combo})" if combo else bench
                value = values[i] if i < len(values) else None
                if value is None:
                    entries[title] = Entry(title, [], "asv recorded no result (it failed)")
                    continue
                kept = samples[i] if isinstance(samples, list) and i < len(samples) else None
                got = kept if isinstance(kept, list) and kept else [value]
                entries[title] = Entry(
                    title, [{metric: number(v, where)} for v in got])
    return list(entries.values())
