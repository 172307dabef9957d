"""Data-driven tasks' cases: reading a cases file (JSON Lines, plain or compressed), and the
batch protocol, where one process gets every case as a JSON line on stdin and prints one JSON
line per case. Pure: bytes in, values out (the decompressors work on bytes in memory)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bot.core.measure import score_case
from bot.core.suites import Scorer
from bot.errors import InputError, Problem

# a compressed file's archive and its reader; the reader outlives the function that opens it
# (the lines are decompressed as they are read), hence no context manager
_OPENERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    ".gz": ("gzip", lambda raw: gzip.GzipFile(fileobj=raw)),
    ".bz2": ("bzip2", lambda raw: bz2.BZ2File(raw)),
    ".xz": ("xz", lambda raw: lzma.LZMAFile(raw)),  # noqa: SIM115
}
# what a damaged archive raises while it is read
_DAMAGED = (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile, zlib.error)


def _zip_member(data: bytes, file: str) -> tuple[str, Any]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members) or "none"
        raise InputError([Problem(file, "a .zip of cases holds exactly one file of JSON Lines "
                                       f"(it holds: {names})")])
    if members[0].flag_bits & 0x1:
        raise InputError([Problem(file, f"its member {members[0].filename} is encrypted: give "
                                        "the cases unencrypted")])
    return "zip", archive.open(members[0])


def _lines(data: bytes, file: str) -> tuple[str, Iterator[str]]:
    """The archive's name (or "") and its text, line by line: decompressed as it is read, so
    the whole text of a large archive is never in memory at once."""
    # a binary stream: BytesIO, or the stdlib reader of its archive
    raw: Any = io.BytesIO(data)
    kind = ""
    if file.endswith(".zip"):
        kind, raw = _zip_member(data, file)
    else:
        suffix = "." + file.rsplit(".", 1)[-1]
        if suffix in _OPENERS:
            kind, opener = _OPENERS[suffix]
            raw = opener(raw)
    return kind, io.TextIOWrapper(raw, encoding="utf-8", errors="replace")


def read_cases(data: bytes, file: str) -> list[dict[str, Any]]:
    """A cases file's cases: one JSON object per non-empty line (JSON Lines), compressed with
    gzip, bzip2 or xz when the name ends in ``.gz``, ``.bz2`` or ``.xz``, or the one file of a
    ``.zip``. Broken lines and damaged archives are errors naming the file (and the line)."""
    try:
        kind, lines = _lines(data, file)
    except (zipfile.BadZipFile, NotImplementedError) as exc:
        # not a zip, or its member compressed in a way Python cannot read
        raise InputError([Problem(file, f"not a readable zip archive: {exc}")]) from None
    cases: list[dict[str, Any]] = []
    problems: list[Problem] = []
    n = 0
    try:
        for n, line in enumerate(lines, start=1):
            _case(line, n, file, cases, problems)
    except _DAMAGED as exc:
        why = str(exc) or type(exc).__name__
        where = f" (after line {n})" if n else ""
        problems.append(Problem(file, f"not a readable {kind} archive{where}: {why}"))
    if not cases and not problems:
        problems.append(Problem(file, "the cases file has no cases"))
    if problems:
        raise InputError(problems)
    return cases


def _case(line: str, n: int, file: str, cases: list[dict[str, Any]],
          problems: list[Problem]) -> None:
    if not line.strip():
        return
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        problems.append(Problem(file, f"not valid JSON: {exc.msg} (column {exc.colno})", n))
        return
    if not isinstance(obj, dict):
        problems.append(Problem(file, "each line must be a JSON object", n))
        return
    cases.append(obj)


# ---- the batch protocol ------------------------------------------------------------------

def case_id(case: dict[str, Any], index: int) -> Any:
    """A case's id in a batch: its ``id`` field, else its number in the file (from 1)."""
    return case.get("id", index)


def _key(value: Any) -> tuple[str, Any]:
    """An id as a dictionary key. 1 and "1" are different ids (a task must echo the id it was
    given), and 1 and True too; an id that is neither a string nor an integer (refused in a
    cases file, possible in a task's output) by its JSON text."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        return type(value).__name__, value
    return "json", json.dumps(value, sort_keys=True)


def check_batch_ids(cases: list[dict[str, Any]], file: str) -> list[Problem]:
    """A batch task maps its answers back to cases by id: ids are strings or integers, once."""
    problems: list[Problem] = []
    seen: dict[tuple[str, Any], int] = {}
    for i, case in enumerate(cases, start=1):
        cid = case_id(case, i)
        if isinstance(cid, bool) or not isinstance(cid, str | int):
            problems.append(Problem(file, f"case {i}: its id must be a string or an integer, "
                                          f"not {cid!r}"))
            continue
        if _key(cid) in seen:
            problems.append(Problem(file, f"case {i}: id {cid!r} is also the id of case "
                                          f"{seen[_key(cid)]}"))
            continue
        seen[_key(cid)] = i
    return problems


def batch_stdin(cases: list[dict[str, Any]], scorer: Scorer | None) -> Iterator[bytes]:
    """What a batch task reads, one line per case: ``{"id": ..., "input": ...}``, the input
    being what the task would read on stdin run once per case (its ``input``, else the case
    without the field its scorer compares, which the task never sees). A task that scores
    itself (no scorer) gets the whole case."""
    hidden = scorer.expected_field if scorer is not None else None
    for i, case in enumerate(cases, start=1):
        shown = {k: v for k, v in case.items() if k != hidden}
        value = case.get("input", shown)
        yield (json.dumps({"id": case_id(case, i), "input": value}) + "\n").encode()


@dataclass
class BatchScores:
    """A batch run's output scored: per case in the cases' order, its score (a task with a
    scorer) or its metrics (a task that scores itself); notes on the cases scored wrong; or
    ``error``: why the output breaks the protocol (its line)."""

    scores: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


Answers = dict[int, tuple[int, dict[str, Any]]]  # case position -> (stdout line, its object)


def _answers(stdout: str, cases: list[dict[str, Any]]) -> tuple[Answers, str | None]:
    """Each case's answer by its position, or why the output breaks the protocol."""
    ids = {_key(case_id(c, i)): i for i, c in enumerate(cases, start=1)}
    got: Answers = {}
    for n, line in enumerate(stdout.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return got, f"stdout line {n} is not JSON: {line[:120]!r}"
        if not isinstance(obj, dict) or "id" not in obj:
            return got, f"stdout line {n} is not an object with an 'id': {line[:120]!r}"
        at = ids.get(_key(obj["id"]))
        if at is None:
            return got, f"stdout line {n}: unknown case id {obj['id']!r}"
        if at in got:
            return got, f"stdout line {n}: a second answer for case id {obj['id']!r}"
        got[at] = (n, obj)
    missing = [case_id(c, i) for i, c in enumerate(cases, start=1) if i not in got]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" …" if len(missing) > 5 else "")
        return got, f"no answer for {len(missing)} of {len(cases)} case(s): {shown}"
    return got, None


def score_batch(cases: list[dict[str, Any]], stdout: str, scorer: Scorer,
                schemas: dict[str, Any] | None = None) -> BatchScores:
    """Score a batch task's stdout: one ``{"id": ..., "output": ...}`` line per case, in any
    order; the output (a string, or any JSON value, taken as its JSON text) is scored exactly
    as the stdout of one run per case would be. A line that is not such an object, an unknown
    or repeated id, or a case left without an answer breaks the protocol."""
    got, error = _answers(stdout, cases)
    if error is not None:
        return BatchScores(error=error)
    out = BatchScores()
    for i, case in enumerate(cases, start=1):
        n, obj = got[i]
        if "output" not in obj:
            return BatchScores(error=f"stdout line {n} has no 'output'")
        answer = obj["output"] if isinstance(obj["output"], str) else json.dumps(obj["output"])
        score, why = score_case(scorer, case, answer, schemas)
        out.scores.append(score)
        if why:
            out.notes.append(f"case {case_id(case, i)}: {why}")
    return out


def _number(obj: dict[str, Any], name: str, n: int) -> tuple[float | None, str | None]:
    value = obj.get(name)
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"stdout line {n}: {name!r} is not a finite number: {value!r}"
    return float(value), None


def batch_metrics(cases: list[dict[str, Any]], stdout: str, required: list[str],
                  optional: list[str]) -> BatchScores:
    """Read the stdout of a batch task that scores itself: one ``{"id": ..., METRIC: number,
    ...}`` line per case. Each ``required`` metric is on every line; an ``optional`` one (a
    timing the bot can measure itself) is kept only when every line has it."""
    got, error = _answers(stdout, cases)
    if error is not None:
        return BatchScores(error=error)
    values: dict[str, list[float]] = {m: [] for m in [*required, *optional]}
    for i in range(1, len(cases) + 1):
        n, obj = got[i]
        for name in values:
            value, why = _number(obj, name, n)
            if why is not None:
                return BatchScores(error=why)
            if value is None and name in required:
                return BatchScores(error=f"stdout line {n} has no {name!r} (declared by the "
                                         "suite)")
            if value is not None:
                values[name].append(value)
    return BatchScores(metrics={k: v for k, v in values.items() if len(v) == len(cases)})
