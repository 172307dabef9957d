"""hyperfine's ``--export-json`` file: one entry per command (its ``command``, which
``--command-name`` sets), every run's wall time (``times``) a sample of ``time_s``. A command
with a non-zero exit code in any run (``--ignore-failure``) is a failed entry."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.formats.common import Entry, load_json, need, number, one_file


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    doc = load_json(name, data)
    entries: list[Entry] = []
    for i, res in enumerate(need(doc, "results", list, name)):
        where = f"{name}: results[{i}]"
        command = str(need(res, "command", str, where))
        codes = [c for c in res.get("exit_codes") or [] if c not in (0, None)]
        if codes:
            entries.append(Entry(command, [], f"exited with code {codes[0]} "
                                             f"in {len(codes)} run(s)"))
            continue
        times = res.get("times")
        if isinstance(times, list) and times:
            values = [number(t, f"{where}.times") for t in times]
        else:
            values = [number(res.get("median", res.get("mean")), f"{where}.median")]
        entries.append(Entry(command, [{"time_s": v} for v in values]))
    return entries
