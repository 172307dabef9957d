"""GitHub Actions' workflow syntax, as the sandbox's runner reads it: which keys it knows, which
contexts each key's expressions may read, a job's ``permissions:``, ``needs:`` checked before a
run starts, ``strategy.matrix`` expanded, ``env:`` blocks, ``GITHUB_OUTPUT`` files and
``hashFiles()``. Plain functions over the workflow's values; the runner
(bot/sandbox/actions_runner.py) does the running."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.sandbox import permissions as permissions_mod
from bot.sandbox.expressions import FUNCTIONS_KEY, interpolate, to_string

JOB_KEYS = {"name", "if", "runs-on", "timeout-minutes", "permissions", "steps", "concurrency",
             "env", "strategy", "needs", "outputs"}
# GitHub's "context availability" table: which contexts each key's expressions may read (any
# other is "Unrecognized named-value" on GitHub, an ExpressionError here)
AVAILABLE = {
    "concurrency": ("github", "inputs", "vars"),
    "env": ("github", "secrets", "inputs", "vars"),
    "jobs.if": ("github", "needs", "vars", "inputs"),
    "jobs.concurrency": ("github", "needs", "strategy", "matrix", "inputs", "vars"),
    "jobs.env": ("github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"),
    "jobs.outputs": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
                     "secrets", "steps", "inputs"),
    # (a step's keys may also call hashFiles(), which the runner gives under FUNCTIONS_KEY)
    "steps.if": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
                 "steps", "inputs", FUNCTIONS_KEY),
    "steps": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
              "secrets", "steps", "inputs", FUNCTIONS_KEY),
}
WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "jobs", "env"}
STRATEGY_KEYS = {"matrix", "fail-fast", "max-parallel"}
STEP_KEYS = {"name", "id", "if", "uses", "with", "env", "continue-on-error", "timeout-minutes",
              "run", "shell", "working-directory"}


class WorkflowError(Exception):
    """A workflow the stand-in cannot run as written (names the file, job, step)."""


def permissions_of(spec: Any) -> dict[str, str]:
    """A ``permissions:`` block as scope -> read|write, with the ``metadata: read`` every token
    has (``{}`` is that only); what GitHub refuses in a workflow file is a WorkflowError."""
    try:
        return {"metadata": "read", **permissions_mod.workflow_block(spec)}
    except ValueError as exc:
        raise WorkflowError(f"permissions: {exc}") from exc


def allows(perms: Mapping[str, str], scope: str, level: str) -> bool:
    have = perms.get(scope)
    return have == "write" or (have == "read" and level == "read")


def hash_files_in(workspace: Path) -> Callable[..., str]:
    """``hashFiles(patterns...)`` as the runner computes it: the SHA-256 of the SHA-256 of each
    file the patterns match (files only, in path order); '' when none. As on GitHub, patterns
    are relative to the workspace (or absolute), an argument may hold several (a line each,
    ``#`` lines are comments), a ``!`` pattern takes away what the earlier ones matched, and a
    file outside the workspace is never hashed."""
    root = workspace.resolve()

    def hash_files(*patterns: Any) -> str:
        found: set[Path] = set()
        for line in (ln.strip() for p in patterns for ln in to_string(p).splitlines()):
            if not line or line.startswith("#"):
                continue
            pattern = line.lstrip("!")
            matched = _glob_in(root, pattern)
            found = found - matched if (len(line) - len(pattern)) % 2 else found | matched
        if not found:
            return ""
        digest = hashlib.sha256()
        for path in sorted(found):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    return hash_files


def _glob_in(root: Path, pattern: str) -> set[Path]:
    """The files under ``root`` (not in .git) that ``pattern`` (relative to it, or absolute)
    matches."""
    path = Path(pattern)
    base = Path(path.anchor) if path.is_absolute() else root
    relative = str(path.relative_to(path.anchor)) if path.is_absolute() else pattern
    out = set()
    for found in base.glob(relative) if relative not in ("", ".") else [base]:
        real = found.resolve()
        if real.is_file() and real.is_relative_to(root) and \
                ".git" not in real.relative_to(root).parts:
            out.add(real)
    return out


def read_outputs(path: Path) -> dict[str, str]:
    """``GITHUB_OUTPUT``: ``key=value`` lines and ``key<<DELIM`` ... ``DELIM`` blocks."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def check_needs(file: str, specs: Mapping[str, Any]) -> None:
    """``needs:`` as GitHub validates it before any job runs: known jobs, no cycle."""
    graph: dict[str, list[str]] = {}
    for key, spec in specs.items():
        needs = spec.get("needs", []) if isinstance(spec, dict) else []
        needs = [needs] if isinstance(needs, str) else needs
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise WorkflowError(f"{file}: jobs.{key}.needs: a job id or a list of them")
        for n in needs:
            if n not in specs:
                raise WorkflowError(f"{file}: jobs.{key}.needs: job '{key}' depends on unknown "
                                    f"job '{n}'")
        graph[str(key)] = needs
    state: dict[str, int] = {}

    def visit(key: str, path: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise WorkflowError(f"{file}: jobs: a cycle in needs: {' -> '.join((*path, key))}")
        state[key] = 1
        for n in graph[key]:
            visit(n, (*path, key))
        state[key] = 2

    for key in graph:
        visit(key, ())


# GitHub's default for a job's timeout-minutes (6 hours)
DEFAULT_TIMEOUT_MINUTES = 360


def timeout_minutes(spec: Mapping[str, Any], where: str) -> float:
    """A job's ``timeout-minutes``: past it GitHub cancels the job (expressions are refused by
    name: the stand-in takes a number)."""
    value = spec.get("timeout-minutes", DEFAULT_TIMEOUT_MINUTES)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise WorkflowError(f"{where}.timeout-minutes: a number of minutes, not {value!r}")
    return float(value)


# GitHub: "A matrix will generate a maximum of 256 jobs per workflow run"
MAX_MATRIX_JOBS = 256


def expand_matrix(matrix: Any, where: str) -> list[dict[str, Any]]:
    """A ``strategy.matrix`` as GitHub expands it: the product of its lists (the first key
    varies slowest), minus each ``exclude`` that matches a combination (on the keys it
    names), then each ``include``: added to every combination whose original values it does
    not contradict (overwriting only values an include added), or, if it fits none, a
    combination of its own. Expressions (a matrix from ``fromJSON``) are refused by name."""
    if not isinstance(matrix, dict) or not matrix:
        raise WorkflowError(f"{where}: a mapping of lists, e.g. shard: [1, 2, 3]")
    include = matrix.get("include", [])
    exclude = matrix.get("exclude", [])
    for name, entries in (("include", include), ("exclude", exclude)):
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise WorkflowError(f"{where}.{name}: a list of mappings (an expression is not "
                                "expanded by the stand-in)")
    dims = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    for name, values in dims.items():
        if not isinstance(values, list) or not values:
            raise WorkflowError(f"{where}.{name}: the stand-in expands non-empty lists only "
                                "(no expressions)")
    combos: list[dict[str, Any]] = [{}] if dims else []
    for name, values in dims.items():
        combos = [{**c, name: v} for c in combos for v in values]
    combos = [c for c in combos
              if not any(all(c.get(k) == v for k, v in e.items()) for e in exclude)]
    # only the product's combinations take includes (one an include made takes none)
    originals = [dict(c) for c in combos]
    for entry in include:
        fits = [i for i, o in enumerate(originals)
                if all(o[k] == v for k, v in entry.items() if k in dims)]
        for i in fits:
            combos[i].update(entry)
        if not fits:
            combos.append(dict(entry))
    if not combos:
        raise WorkflowError(f"{where}: no combination is left to run")
    if len(combos) > MAX_MATRIX_JOBS:
        raise WorkflowError(f"{where}: the matrix makes {len(combos)} jobs; GitHub runs at "
                            f"most {MAX_MATRIX_JOBS} of a matrix per workflow run")
    return combos


def only(ctx: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The contexts GitHub lets ``key``'s expressions read (AVAILABLE)."""
    return {k: v for k, v in ctx.items() if k in AVAILABLE[key]}


def env_block(spec: Any, ctx: Mapping[str, Any], where: str) -> dict[str, str]:
    """An ``env:`` mapping, each value's expressions expanded (YAML scalars as text)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise WorkflowError(f"{where}: env: a mapping of names to values")
    return {str(k): interpolate(to_string(v), ctx) for k, v in spec.items()}


def ref_name(ref: str) -> str:
    """``github.ref_name``: the branch or tag, or ``<number>/merge`` for a pull request."""
    for prefix in ("refs/heads/", "refs/tags/", "refs/pull/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref
