"""Data-driven tasks' cases: reading a cases file (JSON Lines, plain or compressed), and the
batch protocol, where one process gets every case as a JSON line on stdin and prints one JSON
line per case. Pure: bytes in, values out (the decompressors work on bytes in memory)."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zipfile
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
_DAMAGED = (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile)


def _zip_member(data: bytes, file: str) -> tuple[str, Any]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) != 1:
        names = ", ".join(m.filename for m in members) or "none"
        raise InputError([Problem(file, "a .zip of cases holds exactly one file of JSON Lines "
                                       f"(it holds: {names})")])
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
    except zipfile.BadZipFile as exc:
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


def _key(value: Any) -> str:
    # 1 and "1" are different ids: a task must echo the id it was given
    return json.dumps(value, sort_keys=True)


def check_batch_ids(cases: list[dict[str, Any]], file: str) -> list[Problem]:
    """A batch task maps its answers back to cases by id: ids are strings or integers, once."""
    problems: list[Problem] = []
    seen: dict[str, int] = {}
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


def batch_stdin(cases: list[dict[str, Any]], scorer: Scorer) -> Iterator[bytes]:
    """What a batch task reads, one line per case: ``{"id": ..., "input": ...}``, the input
    being what the task would read on stdin run once per case (its ``input``, else the case
    without the expected field, which the task never sees)."""
    for i, case in enumerate(cases, start=1):
        if "input" in case:
            value = case["input"]
        else:
            value = {k: v for k, v in case.items() if k != scorer.expected_field}
        yield (json.dumps({"id": case_id(case, i), "input": value}) + "\n").encode()


@dataclass
class BatchScores:
    """A batch run's output scored: a score per case in the cases' order, notes on the cases
    scored wrong, or ``error``: why the output breaks the protocol (its line)."""

    scores: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None


def _answers(stdout: str, ids: dict[str, int]) -> tuple[dict[int, str], str | None]:
    """Each case's output by its position, or why the output breaks the protocol."""
    got: dict[int, str] = {}
    for n, line in enumerate(stdout.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            return got, f"stdout line {n} is not JSON: {line[:120]!r}"
        if not isinstance(obj, dict) or "id" not in obj or "output" not in obj:
            return got, f"stdout line {n} is not an object with 'id' and 'output': {line[:120]!r}"
        at = ids.get(_key(obj["id"]))
        if at is None:
            return got, f"stdout line {n}: unknown case id {obj['id']!r}"
        if at in got:
            return got, f"stdout line {n}: a second answer for case id {obj['id']!r}"
        out = obj["output"]
        got[at] = out if isinstance(out, str) else json.dumps(out)
    return got, None


def score_batch(cases: list[dict[str, Any]], stdout: str, scorer: Scorer,
                schemas: dict[str, Any] | None = None) -> BatchScores:
    """Score a batch task's stdout: one ``{"id": ..., "output": ...}`` line per case, in any
    order; the output (a string, or any JSON value, taken as its JSON text) is scored exactly
    as the stdout of one run per case would be. A line that is not such an object, an unknown
    or repeated id, or a case left without an answer breaks the protocol."""
    ids = {_key(case_id(c, i)): i for i, c in enumerate(cases, start=1)}
    got, error = _answers(stdout, ids)
    if error is not None:
        return BatchScores(error=error)
    missing = [case_id(c, i) for i, c in enumerate(cases, start=1) if i not in got]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5]) + (" …" if len(missing) > 5 else "")
        return BatchScores(error=f"no answer for {len(missing)} of {len(cases)} case(s): {shown}")
    out = BatchScores()
    for i, case in enumerate(cases, start=1):
        score, why = score_case(scorer, case, got[i], schemas)
        out.scores.append(score)
        if why:
            out.notes.append(f"case {case_id(case, i)}: {why}")
    return out
