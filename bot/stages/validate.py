"""``improve validate``: every problem in the configuration, the suites and the given proposal
files, all at once. Nothing is run."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters import runner
from bot.core.config import CONFIG_PATH, CONFIG_PATHS, Config
from bot.core.workflows import TEST_WORKFLOW, workflow_drift
from bot.errors import InputError, Problem
from bot.stages.context import local_config, read_input_text
from bot.stages.suites import NOT_ON_PATH, load_tree_suites, prepare


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    # what is not wrong but not as configured either (exit 0): the installed workflows
    warnings: list[Problem] = field(default_factory=list)


def validate_tree(root: Path, extra: Sequence[Path] = ()) -> Report:
    report = Report()
    config = Config()
    try:
        config, name = local_config(root)
        if name is None:
            report.checked.append(f"configuration (none: every default; the file would be "
                                  f"{CONFIG_PATH})")
        else:
            report.checked.append(f"configuration {name}")
        report.warnings.extend(installed_workflow_drift(root, config, name or CONFIG_PATH))
    except InputError as exc:
        report.problems.extend(exc.problems)
    suites, problems = load_tree_suites(root, config)
    report.problems.extend(problems)
    env = runner.task_env(os.environ, {})
    prepared = prepare(root, config, suites, env["PATH"])
    report.problems.extend(p for p in prepared.problems if not _setup_may_install(p, config))
    # a command the setup may install is not on PATH until the setup has run: said, not refused
    report.warnings.extend(
        Problem(p.file, f"{p.message}; setup.run may install it", p.line, p.field)
        for p in prepared.problems if _setup_may_install(p, config))
    kinds = sorted(s.kind for s, _ in suites)
    report.checked.append(
        f"{len(suites)} suite(s) ({kinds.count('benchmark')} benchmark, "
        f"{kinds.count('regression')} regression)"
    )
    for path in extra:
        report.problems.extend(validate_extra(root, path, config, report))
    return report


def _setup_may_install(problem: Problem, config: Config) -> bool:
    return bool(config.setup.run) and problem.message.startswith(NOT_ON_PATH)


def installed_workflow_drift(root: Path, config: Config, config_file: str) -> list[Problem]:
    """The installed test workflow against the configuration (test.shards, setup.cache); none
    when the repository has no such workflow."""
    path = root / TEST_WORKFLOW
    if not path.is_file():
        return []
    text = read_input_text(path, TEST_WORKFLOW)
    return workflow_drift(text, config.test.shards, config.setup.cache, config_file)


def validate_extra(root: Path, path: Path, config: Config, report: Report) -> list[Problem]:
    """A file named on the command line: suites and the configuration are already covered; any
    other file is a proposal."""
    from bot.stages.proposal_files import check_proposal_file

    name = str(path)
    if not path.is_file():
        return [Problem(name, "no such file")]
    try:
        rel = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        rel = name
    if rel in CONFIG_PATHS:
        return []
    if rel.split("/")[0] in (config.benchmarks_dir, config.regressions_dir):
        return []
    report.checked.append(f"proposal {name}")
    return check_proposal_file(root, path)
