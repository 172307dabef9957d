"""What ``improve init`` writes into a repository, as ``{path: text}``, and which of those paths
it must leave alone. Pure: the command reads what exists and writes what this returns.

The configuration file is generated from the pydantic models (every key, its default and its
description as a comment), so it cannot drift from what the bot accepts.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from bot.core.config import CONFIG_PATH, Config, ReleaseConfig, VersionFile
from bot.core.render import render
from bot.core.workflows import render_workflows

# a pinned-looking placeholder: the workflows must name a full commit SHA, which only the user
# can choose (the commit of the improve release they trust)
PLACEHOLDER_ACTION = "OWNER/improve@" + "0" * 40
BENCHMARK_SUITE = "benchmarks/example.yaml"
BENCHMARK_TASK = "benchmarks/example_task.py"
REGRESSION_SUITE = "regressions/example.yaml"
SKIPPED = "skipped {path}: it exists (improve init never overwrites)"
WROTE = "wrote {path}"
REPLACE_ACTION = (
    "the workflows run the bot as {action}: replace it with owner/repo@<commit SHA> of the "
    "improve release you trust (improve init --action owner/repo@SHA writes it for you)"
)


def _flow(value: Any) -> str:
    """One YAML value on one line, as PyYAML reads it back."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    return text.strip().removesuffix("\n...").strip()


def _comment(text: str, indent: str, width: int = 96) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(indent) + 2 + len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return [f"{indent}# {ln}" for ln in lines]


def _model_lines(model: BaseModel, indent: str) -> list[str]:
    out: list[str] = []
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if info.description:
            out += _comment(info.description.replace("`", ""), indent)
        annotation = info.annotation
        if isinstance(value, BaseModel) and not typing.get_args(annotation):
            out.append(f"{indent}{name}:")
            out += _model_lines(value, indent + "  ")
            continue
        plain = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
        if isinstance(value, list):
            plain = [
                v.model_dump(mode="json", exclude_none=True) if isinstance(v, BaseModel) else v
                for v in value
            ]
        out.append(f"{indent}{name}: {_flow(plain)}")
    return out


def config_text(config: Config | None = None) -> str:
    """``.github/improve.yml`` with every key at ``config``'s value (the defaults), each with
    what it means."""
    cfg = config or Config()
    head = render("init_config_header.yml.j2")
    return head + "\n".join(_model_lines(cfg, "")) + "\n"


@dataclass(frozen=True)
class InitPlan:
    """The files to write and the ones left alone because they exist."""

    write: dict[str, str]
    skipped: list[str]


VERSION_FILES = ("pyproject.toml", "package.json", "VERSION")
FIRST_VERSION = "0.1.0\n"


def version_file_for(existing: Iterable[str]) -> str:
    """The file releases should rewrite: the first of pyproject.toml, package.json and VERSION
    the repository has; VERSION (which init then writes) when it has none."""
    present = set(existing)
    return next((f for f in VERSION_FILES if f in present), "VERSION")


def init_files(
    *,
    default_branch: str = "main",
    action: str = PLACEHOLDER_ACTION,
    version: str | None = None,
    version_file: str = "pyproject.toml",
) -> dict[str, str]:
    """Every file ``improve init`` offers, by repository path."""
    release = ReleaseConfig(version_files=[VersionFile(path=version_file)])
    files = {CONFIG_PATH: config_text(Config(default_branch=default_branch, release=release))}
    if version_file == "VERSION":
        files["VERSION"] = FIRST_VERSION
    files.update(render_workflows(action=action, default_branch=default_branch, version=version))
    files[BENCHMARK_SUITE] = render("init_benchmark.yaml.j2", task=BENCHMARK_TASK)
    files[BENCHMARK_TASK] = render("init_example_task.py.j2")
    files[REGRESSION_SUITE] = render("init_regression.yaml.j2")
    return files


def plan_init(files: dict[str, str], existing: Iterable[str]) -> InitPlan:
    """Write what is missing; leave every existing path as it is."""
    present = set(existing)
    return InitPlan(
        write={p: t for p, t in sorted(files.items()) if p not in present},
        skipped=sorted(p for p in files if p in present),
    )
