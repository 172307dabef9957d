"""JSON written by anyone: the generic ``json`` format (a path per metric into any JSON
document), and github-action-benchmark's custom shape (``customBiggerIsBetter`` /
``customSmallerIsBetter``: a list of ``{"name", "unit", "value"}``, one entry per name)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.formats.common import Entry, FormatError, load_json, need, number, one_file

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_steps(path: str) -> list[str | int]:
    """``summary.accuracy`` or ``runs[0].ms`` (a leading ``$.`` is allowed) as keys and
    indexes; ValueError when it is not such a path."""
    text = path[2:] if path.startswith("$.") else path
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "." and steps and pos + 1 < len(text):
            pos += 1
        m = _STEP.match(text, pos)
        if m is None:
            raise ValueError(f"not a path: {path!r} (write keys with dots, indexes as [0])")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if not steps:
        raise ValueError("the path is empty")
    return steps


def _follow(doc: Any, path: str, where: str) -> Any:
    node = doc
    for step in path_steps(path):
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise FormatError(f"{where}: {path}: no item [{step}]")
        elif not isinstance(node, dict) or step not in node:
            raise FormatError(f"{where}: {path}: no key {step!r}")
        node = node[step]
    return node


def parse_paths(files: Mapping[str, bytes], paths: Mapping[str, str]) -> list[Entry]:
    """One entry, the task itself: each metric read at its path, a number (one sample) or a
    list of numbers (its samples). Every metric must have the same number of samples."""
    name, data = one_file(files)
    doc = load_json(name, data)
    columns: dict[str, list[float]] = {}
    for metric, path in paths.items():
        value = _follow(doc, path, name)
        where = f"{name}: {path}"
        if isinstance(value, list):
            columns[metric] = [number(v, where) for v in value]
        else:
            columns[metric] = [number(value, where)]
    sizes = {len(v) for v in columns.values()}
    if len(sizes) > 1:
        shown = ", ".join(f"{m}: {len(v)}" for m, v in columns.items())
        raise FormatError(f"{name}: the metrics have different numbers of samples ({shown})")
    count = sizes.pop() if sizes else 0
    return [Entry("", [{m: v[i] for m, v in columns.items()} for i in range(count)])]


def _custom(files: Mapping[str, bytes]) -> list[Entry]:
    name, data = one_file(files)
    doc = load_json(name, data)
    if not isinstance(doc, list):
        raise FormatError(f"{name}: github-action-benchmark's custom format is a JSON list")
    out: dict[str, list[dict[str, float]]] = {}
    for i, item in enumerate(doc):
        where = f"{name}: [{i}]"
        title = need(item, "name", str, where)
        out.setdefault(title, []).append({"value": number(item.get("value"), f"{where}.value")})
    return [Entry(t, s) for t, s in out.items()]


def parse_bigger(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    return _custom(files)


def parse_smaller(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    return _custom(files)
