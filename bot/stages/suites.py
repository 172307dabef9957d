"""Gathering suites from a tree on disk: the suite files, the inputs they name (cases, schemas),
and the checks that need the tree (commands that exist, input files that parse). Shared by
``validate`` (the working tree) and ``evaluate`` (a scratch worktree of the commit under test)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bot.core.cases import check_batch_ids, read_cases
from bot.core.config import Config
from bot.core.evaluation import SuiteSource
from bot.core.measure import check_cases
from bot.core.suites import (
    BenchmarkSuite,
    Suite,
    Task,
    command_argv,
    definition_hash,
    input_paths,
    load_suites,
)
from bot.errors import InputError, Problem

SUFFIXES = (".yaml", ".yml")


@dataclass
class Prepared:
    """Suites ready to run, with their parsed inputs, and every problem found on the way."""

    sources: list[SuiteSource] = field(default_factory=list)
    cases: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    schemas: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # what every run of these suites adds to its environment: the setup's (``setup:``)
    env: dict[str, str] = field(default_factory=dict)


def suite_files(
    root: Path, config: Config
) -> tuple[dict[str, str], dict[str, Literal["benchmark", "regression"]]]:
    files: dict[str, str] = {}
    kinds: dict[str, Literal["benchmark", "regression"]] = {}
    dirs: list[tuple[str, Literal["benchmark", "regression"]]] = [
        (config.benchmarks_dir, "benchmark"),
        (config.regressions_dir, "regression"),
    ]
    for folder, kind in dirs:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.suffix in SUFFIXES and path.is_file():
                rel = path.relative_to(root).as_posix()
                files[rel] = path.read_text(encoding="utf-8", errors="replace")
                kinds[rel] = kind
    return files, kinds


def load_tree_suites(root: Path, config: Config) -> tuple[list[tuple[Suite, str]], list[Problem]]:
    files, kinds = suite_files(root, config)
    return load_suites(files, kinds)


def inside(root: Path, rel: str) -> Path | None:
    """``root/rel`` when it stays inside ``root`` (after symlinks), else None."""
    if os.path.isabs(rel):
        return None
    target = (root / rel).resolve()
    return target if target.is_relative_to(root.resolve()) else None


NOT_ON_PATH = "command not found:"


def command_problem(run: str | list[str], root: Path, path_env: str | None) -> str | None:
    """Why a task's command cannot start here, or None. Nothing is run."""
    argv = command_argv(run)
    exe = argv[0]
    if "/" in exe:
        target = Path(exe) if os.path.isabs(exe) else root / exe
        if not target.exists():
            return f"command not found: {exe} (no such file in the repository)"
        if not os.access(target, os.X_OK):
            return f"command is not executable: {exe}"
        return None
    if shutil.which(exe, path=path_env) is None:
        return f"{NOT_ON_PATH} {exe} (not on PATH; no shell runs it: {shlex.join(argv)})"
    return None


def prepare(
    root: Path, config: Config, suites: list[tuple[Suite, str]], path_env: str | None
) -> Prepared:
    """Read and check what each suite needs from ``root``; fingerprint each suite."""
    out = Prepared()
    # each cases file read once (a matrix's tasks often share one), None when it is broken
    parsed: dict[str, list[dict[str, Any]] | None] = {}
    for suite, path in suites:
        inputs: dict[str, bytes] = {}
        for rel in input_paths(suite):
            target = inside(root, rel)
            if target is None:
                out.problems.append(Problem(path, f"{rel!r} is outside the repository"))
            elif not target.is_file():
                out.problems.append(Problem(path, f"input file {rel!r} does not exist"))
            else:
                inputs[rel] = target.read_bytes()
        runs = suite.tasks if isinstance(suite, BenchmarkSuite) else suite.checks
        for item in runs:
            reason = command_problem(item.run, root, path_env)
            if reason:
                out.problems.append(Problem(path, reason, field=f"{_kind(suite)} {item.id}: run"))
        if isinstance(suite, BenchmarkSuite):
            for task in suite.tasks:
                if task.scorer and task.scorer.json_schema and task.scorer.json_schema.schema_file:
                    rel = task.scorer.json_schema.schema_file
                    if rel in inputs:
                        try:
                            out.schemas[rel] = json.loads(inputs[rel])
                        except json.JSONDecodeError as exc:
                            out.problems.append(
                                Problem(rel, f"not valid JSON: {exc.msg}", exc.lineno)
                            )
                if task.cases and task.cases in inputs:
                    _task_cases(suite.id, task, inputs, parsed, out)
        out.sources.append(SuiteSource(suite, path, definition_hash(suite, inputs)))
    return out


def _task_cases(suite_id: str, task: Task, inputs: dict[str, bytes],
                parsed: dict[str, list[dict[str, Any]] | None], out: Prepared) -> None:
    """A data-driven task's cases into ``out.cases``, or their problems (each once, however
    many tasks share the file) into ``out.problems``."""
    rel = task.cases
    assert rel is not None
    if rel not in parsed:
        try:
            parsed[rel] = read_cases(inputs[rel], rel)
        except InputError as exc:
            parsed[rel] = None
            out.problems.extend(exc.problems)
    cases = parsed[rel]
    if cases is None:
        return
    found = check_cases(cases, task.scorer, rel) if task.scorer else []
    if task.batch:
        found += check_batch_ids(cases, rel)
    known = set(out.problems)
    out.problems.extend(p for p in found if p not in known)
    out.cases[(suite_id, task.id)] = cases


def _kind(suite: Suite) -> str:
    return "task" if isinstance(suite, BenchmarkSuite) else "check"
