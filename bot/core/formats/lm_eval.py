"""lm-evaluation-harness's output directory (``lm_eval --output_path DIR --log_samples``): the
``samples_<task>_<time>.jsonl`` files it writes, one entry per task and document
(``<task>/<doc_id>``), ``score`` the value of the first metric the sample names (``acc``,
``exact_match``, …). Without ``--log_samples`` only the results file is there: one entry per
task, its first metric's aggregate as the one sample."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from bot.core.formats.common import Entry, FormatError, load_json, number

_SAMPLES = re.compile(r"(?:^|/)samples_(.+)_\d{4}-\d{2}-\d{2}T[\d\-.:]+\.jsonl$")
_RESULTS = re.compile(r"(?:^|/)results_[^/]*\.json$")


def _score(obj: dict[str, Any], where: str) -> float:
    names = obj.get("metrics") or []
    for metric in names:
        if metric in obj:
            value = obj[metric]
            return number(float(value) if isinstance(value, bool) else value, f"{where}.{metric}")
    raise FormatError(f"{where}: no value for its metrics {names!r}")


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    entries: list[Entry] = []
    for path in sorted(files):
        m = _SAMPLES.search(path)
        if not m:
            continue
        task = m.group(1)
        for n, line in enumerate(files[path].decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise FormatError(f"{path}:{n}: not JSON: {exc}") from None
            entries.append(Entry(f"{task}/{obj.get('doc_id', n)}",
                                 [{"score": _score(obj, f"{path}:{n}")}]))
    if entries:
        return entries
    for path in sorted(files):
        if not _RESULTS.search(path):
            continue
        doc = load_json(path, files[path])
        for task, metrics in (doc.get("results") or {}).items():
            values = [(k, v) for k, v in metrics.items()
                      if "," in k and "_stderr" not in k and isinstance(v, int | float)]
            if not values:
                raise FormatError(f"{path}: results.{task}: no metric")
            entries.append(Entry(task, [{"score": number(values[0][1], f"{path}: {task}")}]))
    return entries
