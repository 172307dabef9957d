"""The COMPARE stage: gather (read and validate the two results files and the configuration),
decide (the pure comparison in bot.core.comparison.compare), act (write the report)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO

from bot.core.comparison.compare import (
    Comparison,
    compare_results,
    comparison_json,
    render_comparison_markdown,
)
from bot.core.config import CONFIG_PATH, Config, parse_config
from bot.core.results import Results, pair_problems, parse_results
from bot.errors import InputError, Problem
from bot.stages.context import local_config, read_input_text

Format = Literal["md", "json"]


@dataclass(frozen=True)
class CompareInputs:
    base: Results
    cand: Results
    config: Config


def load_config(config_path: str | None, cwd: Path) -> Config:
    """``--config FILE`` when given; else ``.github/improve.yml`` in ``cwd`` if present; else
    every default."""
    if config_path is not None:
        return parse_config(read_input_text(cwd / config_path, config_path), config_path)
    return local_config(cwd)[0]


def gather(base_path: str, cand_path: str, config_path: str | None, cwd: Path) -> CompareInputs:
    """Every problem in either results file is reported, not only the first."""
    problems: list[Problem] = []
    loaded: list[Results] = []
    for path in (base_path, cand_path):
        try:
            loaded.append(parse_results(read_input_text(cwd / path, path), path))
        except InputError as exc:
            problems.extend(exc.problems or [Problem(path, str(exc))])
    try:
        config = load_config(config_path, cwd)
    except InputError as exc:
        problems.extend(exc.problems or [Problem(config_path or CONFIG_PATH, str(exc))])
    if not problems:
        problems.extend(pair_problems(loaded[0], loaded[1], base_path, cand_path))
    if problems:
        raise InputError(problems)
    return CompareInputs(base=loaded[0], cand=loaded[1], config=config)


def decide(inputs: CompareInputs, proposal_type: str | None, risk: str | None) -> Comparison:
    types = inputs.config.proposals.types
    if proposal_type is not None and proposal_type not in types:
        known = ", ".join(sorted(types))
        raise InputError([Problem("--type", f"unknown proposal type {proposal_type!r} "
                                            f"(configured: {known})")])
    return compare_results(inputs.base, inputs.cand, inputs.config.compare,
                           proposal_type=proposal_type, risk=risk,
                           approval=inputs.config.approval)


def render(comparison: Comparison, fmt: Format) -> str:
    return comparison_json(comparison) if fmt == "json" else render_comparison_markdown(comparison)


def act(comparison: Comparison, fmt: Format, output: str | None, cwd: Path,
        stdout: TextIO | None = None) -> int:
    """Write the report; exit 0 on accept, 1 on reject or inconclusive."""
    out = stdout or sys.stdout
    text = render(comparison, fmt)
    if output is None:
        out.write(text)
    else:
        target = cwd / output
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError([Problem(output, f"cannot write: {exc}")]) from None
        out.write(f"improve compare: {comparison.summary}\n")
    return 0 if comparison.decision == "accept" else 1


def run(base_path: str, cand_path: str, *, fmt: Format = "md", output: str | None = None,
        config_path: str | None = None, proposal_type: str | None = None,
        risk: str | None = None, cwd: Path | None = None, stdout: TextIO | None = None) -> int:
    here = cwd or Path.cwd()
    inputs = gather(base_path, cand_path, config_path, here)
    return act(decide(inputs, proposal_type, risk), fmt, output, here, stdout)
