"""A ``patch`` change applied by git itself: ``git apply --check`` then ``git apply``, in a
scratch directory holding only the files the patch names (never the user's working tree).

The scratch directory is not a repository and git is stopped from looking above it, so the
patch cannot reach anything but the copies written there.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from bot.core.edits import EditError, patch_hunks
from bot.core.proposals import check_path

HUNK_FAILED = "hunk {n} of {path} ({header}) does not apply: the text it expects is not there"
PATCH_CORRUPT = "git cannot read the patch: {reason}"
PATCH_FAILED = "the patch does not apply: {reason}"
PATCH_MODE = "the patch sets mode {mode} on {path!r}; only regular files may be patched"
PATCH_OUTSIDE = "the patch touches {path!r}, which {reason}"
NOT_TEXT = "{path!r} is not UTF-8 text after the patch"

# symlinks (120000) and submodules (160000) could point anywhere: only regular files
_MODE_LINE = re.compile(
    r"^(?:new file mode|new mode|old mode|deleted file mode|index [0-9a-f]+\.\.[0-9a-f]+)"
    r" ?(\d{6})?$"
)


def _git_apply(
    cwd: Path, args: list[str], patch: bytes, ceiling: str
) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": ceiling}
    # no GIT_DIR or index from a calling git hook may leak in and point git at a repository
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(var, None)
    return subprocess.run(
        ["git", "apply", *args, "-"], cwd=cwd, input=patch, capture_output=True, env=env
    )


def _explain(stderr: str, patch: str) -> str:
    hunks = patch_hunks(patch)
    for line in stderr.splitlines():
        m = re.match(r"^error: patch failed: (.+):(\d+)$", line.strip())
        if m:
            path, start = m.group(1), int(m.group(2))
            for n, (old_start, header) in enumerate(hunks.get(path, []), start=1):
                if old_start == start:
                    return HUNK_FAILED.format(n=n, path=path, header=header)
            return PATCH_FAILED.format(reason=f"{path} at line {start}")
    reasons = [
        ln.strip().removeprefix("error: ")
        for ln in stderr.splitlines()
        if ln.strip().startswith(("error:", "fatal:"))
    ]
    reason = "; ".join(reasons) or stderr.strip() or "git apply failed"
    if "corrupt patch" in reason or "No valid patches" in reason or "patch fragment" in reason:
        return PATCH_CORRUPT.format(reason=reason)
    return PATCH_FAILED.format(reason=reason)


def _check_modes(patch: str) -> None:
    path = "?"
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            path = line.rsplit(" b/", 1)[-1]
        m = _MODE_LINE.match(line)
        if m and m.group(1) and m.group(1) not in ("100644", "100755"):
            raise EditError(PATCH_MODE.format(mode=m.group(1), path=path))
        if line.startswith("GIT binary patch"):
            raise EditError(PATCH_MODE.format(mode="binary", path=path))


def apply_patch(patch: str, texts: Mapping[str, str | None]) -> dict[str, str | None]:
    """The patched texts of every path the patch touches (None: deleted). ``texts`` holds the
    current text of each path the patch names (None: no such file). Raises EditError naming
    the hunk that failed."""
    _check_modes(patch)
    data = patch.encode() if patch.endswith("\n") else (patch + "\n").encode()
    with tempfile.TemporaryDirectory(prefix="improve-patch-") as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        _write_tree(root, texts)
        listed = _git_apply(root, ["--numstat", "-z"], data, tmp)
        if listed.returncode != 0:
            raise EditError(_explain(listed.stderr.decode(errors="replace"), patch))
        # git's own reading of the paths, confined again (it is the one that will write them)
        touched = [_confined(n) for n in numstat_names(listed.stdout.decode(errors="replace"))]
        for step in (["--check", "-v"], []):
            done = _git_apply(root, step, data, tmp)
            if done.returncode != 0:
                raise EditError(_explain(done.stderr.decode(errors="replace"), patch))
        return _read_tree(root, [*texts, *touched])


def _confined(path: str) -> str:
    """The path made normal; EditError when it leaves the repository."""
    norm, why = check_path(path)
    if why or norm is None:
        raise EditError(PATCH_OUTSIDE.format(path=path, reason=why))
    return norm


def _write_tree(root: Path, texts: Mapping[str, str | None]) -> None:
    """The files the patch names, as they are now, under ``root`` (none for a missing one)."""
    for path, text in texts.items():
        norm = _confined(path)
        if text is not None:
            target = root / norm
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode())


def _read_tree(root: Path, paths: list[str]) -> dict[str, str | None]:
    """Each path's text after the patch (None: deleted); EditError for a symlink or a file
    that is not UTF-8 text."""
    out: dict[str, str | None] = {}
    for path in dict.fromkeys(paths):
        norm = check_path(path)[0] or path
        target = root / norm
        if target.is_symlink():
            raise EditError(PATCH_MODE.format(mode="120000", path=norm))
        if not target.is_file():
            out[norm] = None
            continue
        try:
            out[norm] = target.read_bytes().decode()
        except UnicodeDecodeError:
            raise EditError(NOT_TEXT.format(path=norm)) from None
    return out


def numstat_names(listed: str) -> list[str]:
    """The paths ``git apply --numstat -z`` lists: one per entry (``added\tdeleted\tpath``),
    or for a rename, whose entry ends in an empty name, the two names that follow it as
    fields of their own. Pure."""
    names: list[str] = []
    fields = listed.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if not entry:
            continue
        name = entry.split("\t", 2)[2] if entry.count("\t") >= 2 else ""
        if name == "":  # a rename: the two names follow as their own fields
            names.extend(f for f in fields[i : i + 2] if f)
            i += 2
        else:
            names.append(name)
    return names
