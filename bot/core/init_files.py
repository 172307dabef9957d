"""What ``improve init`` writes into a repository, as ``{path: text}``, and which of those paths
it must leave alone. Pure: the command reads what exists and writes what this returns.

The configuration file is generated from the pydantic models (every key, its default and its
description as a comment), so it cannot drift from what the bot accepts.
"""

from __future__ import annotations

import contextlib
import tomllib
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel

from bot.core.config import CONFIG_PATH, Config, ReleaseConfig, VersionFile
from bot.core.release.version_files import version_spans
from bot.core.render import render
from bot.core.schemas import SCHEMA_DIR, SCHEMAS, modeline, schema_text
from bot.core.workflows import render_workflows, request_form
from bot.errors import InputError

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


FIRST_VERSION = "0.1.0\n"


# a project's version where Python and JavaScript projects keep it, as improve init finds it
SETUP_PY_PATTERN = r"""\bversion\s*=\s*["']([^"']+)["']"""
SETUP_CFG_PATTERN = r"^version\s*=\s*([^\s#;]+)"
MODULE_PATTERN = r"""^__version__\s*=\s*["']([^"']+)["']"""
POETRY_PATTERN = r"""^version\s*=\s*["']([^"']+)["']"""


def _holds(path: str, text: str | None, pattern: str | None) -> bool:
    """Whether ``text`` has one version where a release would rewrite it."""
    if text is None:
        return False
    try:
        return bool(version_spans(path, text, pattern))
    except InputError:
        return False


def _dynamic_module(pyproject: dict[str, Any]) -> list[str]:
    """The files a setuptools ``dynamic`` version names (``attr = "pkg.__version__"``)."""
    dynamic = pyproject.get("tool", {}).get("setuptools", {}).get("dynamic", {})
    attr = dynamic.get("version", {}).get("attr") if isinstance(dynamic, dict) else None
    if not isinstance(attr, str) or "." not in attr:
        return []
    module = attr.rsplit(".", 1)[0].replace(".", "/")
    return [f"{module}/__init__.py", f"{module}.py", f"src/{module}/__init__.py",
            f"src/{module}.py"]


def version_file_for(read: Callable[[str], str | None]) -> VersionFile:
    """The file releases should rewrite, where the project already keeps its version:
    pyproject.toml's ``[project] version`` (or Poetry's, or the module a setuptools dynamic
    version names), package.json, setup.py, setup.cfg, VERSION. Only a project with none of
    them gets a VERSION file (which init then writes): a version kept twice drifts apart."""
    text = read("pyproject.toml")
    data: dict[str, Any] = {}
    if text is not None:
        with contextlib.suppress(tomllib.TOMLDecodeError):
            data = tomllib.loads(text)
        if _holds("pyproject.toml", text, None):
            return VersionFile(path="pyproject.toml")
        poetry = data.get("tool", {}).get("poetry", {})
        if isinstance(poetry, dict) and isinstance(poetry.get("version"), str) and _holds(
                "pyproject.toml", text, POETRY_PATTERN):
            return VersionFile(path="pyproject.toml", pattern=POETRY_PATTERN)
        for module in _dynamic_module(data):
            if _holds(module, read(module), MODULE_PATTERN):
                return VersionFile(path=module, pattern=MODULE_PATTERN)
    if _holds("package.json", read("package.json"), None):
        return VersionFile(path="package.json")
    if _holds("setup.py", read("setup.py"), SETUP_PY_PATTERN):
        return VersionFile(path="setup.py", pattern=SETUP_PY_PATTERN)
    if _holds("setup.cfg", read("setup.cfg"), SETUP_CFG_PATTERN):
        return VersionFile(path="setup.cfg", pattern=SETUP_CFG_PATTERN)
    return VersionFile(path="VERSION")


def init_files(
    *,
    default_branch: str = "main",
    action: str = PLACEHOLDER_ACTION,
    version: str | None = None,
    version_file: VersionFile | str = "pyproject.toml",
    shards: int = 1,
    setup_cache: Sequence[str] = (),
) -> dict[str, str]:
    """Every file ``improve init`` offers, by repository path. ``shards``: the configuration's
    ``test.shards`` (the test workflow's matrix), and ``setup_cache`` its ``setup.cache`` (the
    key of the test workflow's cache), when the repository has a configuration."""
    if isinstance(version_file, str):
        version_file = VersionFile(path=version_file)
    release = ReleaseConfig(version_files=[version_file])
    files = {CONFIG_PATH: config_text(Config(default_branch=default_branch, release=release))}
    if version_file.path == "VERSION":
        files["VERSION"] = FIRST_VERSION  # left alone when it exists (plan_init)
    files.update(render_workflows(action=action, default_branch=default_branch, version=version,
                                  shards=shards, setup_cache=setup_cache))
    files.update(request_form())
    files[BENCHMARK_SUITE] = render("init_benchmark.yaml.j2", task=BENCHMARK_TASK)
    files[BENCHMARK_TASK] = render("init_example_task.py.j2")
    files[REGRESSION_SUITE] = render("init_regression.yaml.j2")
    # editors complete and check the YAML files against the schemas init copies beside them
    for path, schema in ((CONFIG_PATH, "improve.schema.json"),
                         (BENCHMARK_SUITE, "benchmark-suite.schema.json"),
                         (REGRESSION_SUITE, "regression-suite.schema.json")):
        files[path] = modeline(path, schema) + files[path]
    for name in SCHEMAS:
        files[f"{SCHEMA_DIR}/{name}"] = schema_text(name)
    return files


def plan_init(files: dict[str, str], existing: Iterable[str]) -> InitPlan:
    """Write what is missing; leave every existing path as it is."""
    present = set(existing)
    return InitPlan(
        write={p: t for p, t in sorted(files.items()) if p not in present},
        skipped=sorted(p for p in files if p in present),
    )
