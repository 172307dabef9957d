"""promptfoo's ``--output FILE.json``: one entry per test case (its ``description``, else its
index; with several prompts or providers, each pair is its own entry), with its ``score`` and
``pass`` (1 when its assertions passed, else 0). A test case whose provider errored is a failed
entry. Both the current layout (``results.results``) and the old one (``results`` a list) are
read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.formats.common import Entry, FormatError, load_json, number, one_file

# promptfoo's ResultFailureReason: 1 an assertion failed, 2 the provider errored
ERROR = 2


def _rows(doc: Any, name: str) -> list[dict[str, Any]]:
    results = doc.get("results") if isinstance(doc, dict) else None
    if isinstance(results, dict):
        results = results.get("results")
    if not isinstance(results, list):
        raise FormatError(f"{name}: not a promptfoo output (no results.results list)")
    return results


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    rows = _rows(load_json(name, data), name)
    prompts = {r.get("promptIdx") for r in rows}
    providers = {str((r.get("provider") or {}).get("id")) for r in rows}
    scores: dict[str, list[dict[str, float]]] = {}
    failed: dict[str, str] = {}
    for i, row in enumerate(rows):
        case = row.get("testCase") or {}
        title = str(case.get("description") or f"test {row.get('testIdx', i)}")
        if len(prompts) > 1:
            title += f" [prompt {row.get('promptIdx')}]"
        if len(providers) > 1:
            title += f" [{(row.get('provider') or {}).get('id')}]"
        if row.get("failureReason") == ERROR or (row.get("error") and "score" not in row):
            failed.setdefault(title, f"errored: {str(row.get('error'))[:200]}")
            continue
        where = f"{name}: results[{i}]"
        score = number(row.get("score"), f"{where}.score")
        scores.setdefault(title, []).append(
            {"score": score, "pass": 1.0 if row.get("success") else 0.0})
    entries = [Entry(t, [], why) for t, why in failed.items()]
    return entries + [Entry(t, s) for t, s in scores.items() if t not in failed]
