"""An Inspect eval log, as ``inspect eval`` writes it: a ``.json`` log (``--log-format json``)
or the ``.eval`` archive (a zip of JSON files, the default; recent Inspect compresses it with
zstd, which Python's zipfile reads from 3.14 only: write JSON logs before that). One entry
per sample id, each epoch a sample of ``score``: the first scorer's value, read as Inspect's
``value_to_float`` reads it (``C`` correct 1, ``I`` incorrect 0, ``P`` partial 0.5, ``N`` no
answer 0, yes/no, true/false, numbers). A sample that errored is a failed entry."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from typing import Any

from bot.core.formats.common import Entry, FormatError, load_json, number, one_file

LETTERS = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
WORDS = {"yes": 1.0, "true": 1.0, "no": 0.0, "false": 0.0}


def value_to_float(value: Any, where: str) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        text = value.strip()
        if text in LETTERS:
            return LETTERS[text]
        if text.lower() in WORDS:
            return WORDS[text.lower()]
        try:
            return number(float(text), where)
        except ValueError:
            raise FormatError(f"{where}: score {value!r} is not a number") from None
    return number(value, where)


def _samples(name: str, data: bytes) -> list[dict[str, Any]]:
    if data[:2] == b"PK":  # the .eval archive: samples/<id>_epoch_<n>.json
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                return [json.loads(z.read(n)) for n in sorted(z.namelist())
                        if n.startswith("samples/") and n.endswith(".json")]
        except (zipfile.BadZipFile, ValueError) as exc:
            raise FormatError(f"{name}: not an Inspect .eval archive: {exc}") from None
        except NotImplementedError:
            # Inspect compresses with zstd, which zipfile reads from Python 3.14 on only
            raise FormatError(f"{name}: this .eval archive is compressed in a way Python's "
                              "zipfile cannot read here; write the log with --log-format json"
                              ) from None
    doc = load_json(name, data)
    if not isinstance(doc, dict) or not isinstance(doc.get("samples"), list):
        raise FormatError(f"{name}: an Inspect log with no samples (status "
                          f"{doc.get('status') if isinstance(doc, dict) else None!r})")
    return doc["samples"]


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    scores: dict[str, list[dict[str, float]]] = {}
    failed: dict[str, str] = {}
    for sample in _samples(name, data):
        sid = str(sample.get("id"))
        where = f"{name}: sample {sid} epoch {sample.get('epoch')}"
        if sample.get("error"):
            err = sample["error"]
            failed.setdefault(sid, "errored: " + str(
                err.get("message") if isinstance(err, dict) else err)[:200])
            continue
        found = sample.get("scores") or {}
        if not isinstance(found, dict) or not found:
            raise FormatError(f"{where}: no scores")
        first = next(iter(found.values()))
        value = first.get("value") if isinstance(first, dict) else None
        if isinstance(value, dict):  # a scorer that scores several things: their mean
            parts = [value_to_float(v, where) for v in value.values()]
            score = sum(parts) / len(parts) if parts else 0.0
        else:
            score = value_to_float(value, where)
        scores.setdefault(sid, []).append({"score": score})
    entries = [Entry(s, [], why) for s, why in failed.items()]
    return entries + [Entry(s, v) for s, v in scores.items() if s not in failed]
