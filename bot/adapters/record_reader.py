"""Many small JSON records read from one git revision in a single ``git cat-file --batch``: the
dashboard reads every release, monitor and results record, and one process per file would
dominate its time."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.adapters.git import GitError


def read_json_files(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, Any]:
    """``path -> parsed JSON`` for each path at ``rev``; missing or unreadable files are left
    out (a record an older or newer bot wrote badly must not stop the dashboard)."""
    out: dict[str, Any] = {}
    for path, blob in read_blobs(repo, rev, paths).items():
        try:
            out[path] = json.loads(blob)
        except ValueError:
            continue
    return out


def read_blobs(repo: Path, rev: str, paths: Sequence[str]) -> dict[str, bytes]:
    """``path -> bytes`` for each path that exists at ``rev``."""
    if not paths:
        return {}
    request = "".join(f"{rev}:{p}\n" for p in paths).encode()
    proc = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, input=request,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise GitError(f"git cat-file --batch: {proc.stderr.decode(errors='replace').strip()}")
    out: dict[str, bytes] = {}
    data = proc.stdout
    pos = 0
    for path in paths:
        end = data.index(b"\n", pos)
        header = data[pos:end].split()
        pos = end + 1
        if len(header) < 3 or header[-1] == b"missing":
            continue
        size = int(header[2])
        out[path] = data[pos:pos + size]
        pos += size + 1  # the blob is followed by a newline
    return out
