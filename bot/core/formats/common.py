"""What every format parser shares: the entry it returns, its error, and number checks."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class FormatError(ValueError):
    """A results file that is not what its format says; the message names the file."""


@dataclass(frozen=True)
class Entry:
    """One thing a tool measured. ``name`` "" is the task itself (the generic json format);
    ``samples`` holds one metrics dict per sample; ``failure`` says why it failed (a failing
    test case, a benchmark that errored), and then it has no samples."""

    name: str
    samples: list[dict[str, float]] = field(default_factory=list)
    failure: str | None = None


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FormatError(f"{where}: not a number: {value!r}")
    if not math.isfinite(value):
        raise FormatError(f"{where}: not a finite number: {value!r}")
    return float(value)


def one_file(files: Mapping[str, bytes]) -> tuple[str, bytes]:
    if len(files) != 1:
        raise FormatError(f"expected one file, got {len(files)}")
    return next(iter(files.items()))


def load_json(name: str, data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"{name}: not JSON: {exc}") from None


def need(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]``, checked to be a ``kind``; FormatError naming the place otherwise."""
    if not isinstance(obj, dict) or key not in obj:
        raise FormatError(f"{where}: no {key!r}")
    value = obj[key]
    if not isinstance(value, kind):
        raise FormatError(f"{where}.{key}: unexpected {type(value).__name__}")
    return value


def grouped(pairs: list[tuple[str, dict[str, float]]]) -> list[Entry]:
    """Samples by entry name, in first-seen order (a name seen twice is two samples)."""
    out: dict[str, list[dict[str, float]]] = {}
    for name, sample in pairs:
        out.setdefault(name, []).append(sample)
    return [Entry(name, samples) for name, samples in out.items()]
