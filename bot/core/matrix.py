"""A task's matrix: one task declared for every combination of some values (datasets x folds),
as a GitHub Actions job's ``strategy.matrix`` is. Pure: the expansion, the expanded tasks' ids,
and the ``${{ matrix.KEY }}`` templates in their commands, cases files and environment."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

# lower case, so that each key's environment variable (IMPROVE_MATRIX_<KEY>) is its own
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# a value is part of a task id and of file names: no spaces, quotes, slashes or shell syntax
VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
TEMPLATE = re.compile(r"\$\{\{\s*matrix\.([^\s}]*)\s*\}\}")
SPECIAL = ("include", "exclude")

Combo = dict[str, str]


def _value(raw: Any, where: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"{where}: a value is a string or a number, not {raw!r}")
    text = str(raw)
    if not VALUE.match(text):
        raise ValueError(f"{where}: {text!r} is not a matrix value (letters, digits, '.', '_' "
                         "and '-', starting with a letter or digit)")
    return text


def _key(key: str) -> None:
    if not KEY.match(key):
        raise ValueError(f"{key!r} is not a matrix key (lower-case letters, digits and '_', "
                         "starting with a letter)")


def _dimensions(matrix: Mapping[str, Any]) -> dict[str, list[str]]:
    dims: dict[str, list[str]] = {}
    for key, values in matrix.items():
        if key in SPECIAL:
            continue
        _key(key)
        if not isinstance(values, list) or not values:
            raise ValueError(f"{key}: give a list of one or more values")
        dims[key] = [_value(v, f"{key}[{i}]") for i, v in enumerate(values)]
        repeated = sorted({v for v in dims[key] if dims[key].count(v) > 1})
        if repeated:
            raise ValueError(f"{key}: value {repeated[0]!r} is listed twice")
    return dims


def _entries(matrix: Mapping[str, Any], name: str) -> list[Combo]:
    raw = matrix.get(name, [])
    if not isinstance(raw, list):
        raise ValueError(f"{name}: give a list of combinations ({{key: value, ...}})")
    out: list[Combo] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not entry:
            raise ValueError(f"{name}[{i}]: give a combination ({{key: value, ...}})")
        for k in entry:
            # an include-only matrix has no keys of its own: its entries' keys are checked here
            _key(str(k))
        out.append({str(k): _value(v, f"{name}[{i}].{k}") for k, v in entry.items()})
    return out


def expand(matrix: Mapping[str, Any]) -> list[Combo]:
    """Every combination of the matrix, in a fixed order: the product of the keys' values in
    the order they are written (the last key varying fastest), less the ``exclude`` entries
    (each removes the combinations that have all its values), then the ``include`` entries
    (whole combinations, added in order). An exclude that removes nothing, an include that
    names other keys, and a combination listed twice are refused: each is a typo."""
    dims = _dimensions(matrix)
    keys = list(dims)
    combos = [dict(zip(keys, values, strict=True))
              for values in itertools.product(*dims.values())] if dims else []
    for i, entry in enumerate(_entries(matrix, "exclude")):
        unknown = sorted(set(entry) - set(keys))
        if unknown:
            raise ValueError(f"exclude[{i}]: {unknown[0]!r} is not a key of the matrix")
        kept = [c for c in combos if any(c[k] != v for k, v in entry.items())]
        if len(kept) == len(combos):
            raise ValueError(f"exclude[{i}]: {entry} matches no combination")
        combos = kept
    for i, entry in enumerate(_entries(matrix, "include")):
        want = keys or list(combos[0] if combos else entry)
        if sorted(entry) != sorted(want):
            raise ValueError(f"include[{i}]: a combination gives exactly the keys "
                             f"{', '.join(want)}")
        combos.append({k: entry[k] for k in want})
    if not combos:
        raise ValueError("the matrix has no combinations")
    seen: set[tuple[str, ...]] = set()
    for combo in combos:
        key = tuple(combo.values())
        if key in seen:
            raise ValueError(f"the combination {combo} appears twice")
        seen.add(key)
    return combos


def expanded_id(name: str, combo: Combo) -> str:
    """``name[dataset=a,fold=0]``, the keys in the matrix's order."""
    return name + "[" + ",".join(f"{k}={v}" for k, v in combo.items()) + "]"


def template_keys(text: str) -> list[str]:
    """The matrix keys ``text`` refers to (``${{ matrix.KEY }}``)."""
    return TEMPLATE.findall(text)


def render(text: str, combo: Combo) -> str:
    """``text`` with each ``${{ matrix.KEY }}`` replaced by the combination's value (checked
    beforehand: every key is the matrix's)."""
    return TEMPLATE.sub(lambda m: combo[m.group(1)], text)


def unknown_keys(texts: Sequence[str], keys: Sequence[str]) -> list[str]:
    """Keys the texts' templates name that the matrix does not have."""
    return sorted({k for t in texts for k in template_keys(t) if k not in keys})


def matrix_env(combo: Combo) -> dict[str, str]:
    """The combination as environment variables: ``IMPROVE_MATRIX_DATASET=a``."""
    return {f"IMPROVE_MATRIX_{k.upper()}": v for k, v in combo.items()}
