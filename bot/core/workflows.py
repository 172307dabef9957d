"""The workflows ``improve init`` writes into a repository, from one source: ``bot/workflows/``.

The templates are plain workflow YAML with two placeholders, so that zizmor and the schema can
read them almost as they are: ``__IMPROVE_ACTION__`` (what a step ``uses:`` to run the bot) and
``__DEFAULT_BRANCH__``. This repository's own copies are rendered with the local action (``./``)
and must equal what ``render_workflows()`` gives (tests/test_workflows.py checks;
``python scripts/sync_workflows.py`` rewrites them).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from importlib import resources

from bot.errors import InputError, Problem

ACTION_PLACEHOLDER = "__IMPROVE_ACTION__"
BRANCH_PLACEHOLDER = "__DEFAULT_BRANCH__"
SHARDS_PLACEHOLDER = "__SHARDS__"
# the test workflow's actions/cache step for the setup environment (setup.cache): on or off,
# and the files its key hashes
SETUP_ON_PLACEHOLDER = "__SETUP_CACHE_ON__"
SETUP_FILES_PLACEHOLDER = "__SETUP_CACHE_FILES__"
WORKFLOWS_DIR = ".github/workflows"
# this repository runs the bot from its own checkout
SELF_ACTION = "./"

# which improve commands each workflow's trigger needs, in the order its steps run them: the
# scheduled run releases what a GITHUB_TOKEN merge (or a displaced release run) left, then
# `handle` monitors and keeps the dashboard
WORKFLOW_FILES: dict[str, tuple[str, ...]] = {
    "improve-test.yml": ("handle --results-out",),
    "improve-report.yml": ("handle --results-in",),
    "improve-commands.yml": ("handle",),
    "improve-release.yml": ("handle",),
    "improve-monitor.yml": ("release", "handle"),
    "improve-propose.yml": ("propose --from-env",),
    "improve-tune.yml": ("tune --from-env", "agent"),
}

# owner/repo[/path]@<40 hex>: anything else could move under the workflow's feet
_PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")


def workflow_templates() -> dict[str, str]:
    """The template text of each workflow, by file name (package data, read like templates)."""
    root = resources.files("bot") / "workflows"
    return {name: (root / name).read_text(encoding="utf-8") for name in WORKFLOW_FILES}


REQUEST_FORM = ".github/ISSUE_TEMPLATE/improvement-request.yml"


def request_form() -> dict[str, str]:
    """``{REQUEST_FORM: text}``: the improvement-request issue form ``improve init`` installs
    (package data; this repository's own copy is synced from it)."""
    root = resources.files("bot") / "templates"
    return {REQUEST_FORM: (root / "improvement-request.yml").read_text(encoding="utf-8")}


def setup_hash_args(globs: Sequence[str]) -> str:
    """The arguments of the cache key's ``hashFiles()``: the configuration (its setup commands)
    and the lock files, as single-quoted expression strings."""
    return ", ".join("'" + g.replace("'", "''") + "'"
                     for g in [".github/improve.yml", *globs])


def render_workflows(
    action: str = SELF_ACTION, default_branch: str = "main", version: str | None = None,
    shards: int = 1, setup_cache: Sequence[str] = (),
) -> dict[str, str]:
    """``{".github/workflows/<name>": text}`` for a repository.

    ``action`` is ``./`` (a checkout of the bot itself) or ``owner/repo@<full SHA>``; ``version``
    becomes the ``# vX.Y.Z`` comment beside a pinned SHA; ``shards`` (``test.shards``) is the
    size of the test workflow's matrix; ``setup_cache`` (``setup.cache``): the lock files whose
    hash keys the test workflow's cache of the setup environment (none: the step is off).
    """
    problems: list[Problem] = []
    if action != SELF_ACTION and not _PINNED.fullmatch(action):
        problems.append(Problem("--action", f"{action!r} is not owner/repo@<40-hex commit SHA>"))
    if not _BRANCH.fullmatch(default_branch) or default_branch.startswith("-"):
        problems.append(Problem("--default-branch", f"{default_branch!r} is not a branch name"))
    if version is not None and not re.fullmatch(r"v?[0-9A-Za-z.+-]+", version):
        problems.append(Problem("--version", f"{version!r} is not a version"))
    if not 1 <= shards <= 64:
        problems.append(Problem("test.shards", f"{shards} is not between 1 and 64"))
    if problems:
        raise InputError(problems)
    uses = action if version is None or action == SELF_ACTION else f"{action} # {version}"
    out: dict[str, str] = {}
    for name, text in workflow_templates().items():
        text = text.replace(ACTION_PLACEHOLDER, uses).replace(BRANCH_PLACEHOLDER, default_branch)
        text = text.replace(SHARDS_PLACEHOLDER, ", ".join(str(i) for i in range(1, shards + 1)))
        text = text.replace(SETUP_ON_PLACEHOLDER, "true" if setup_cache else "false")
        text = text.replace(SETUP_FILES_PLACEHOLDER, setup_hash_args(setup_cache))
        out[f"{WORKFLOWS_DIR}/{name}"] = text
    return out



TEST_WORKFLOW = f"{WORKFLOWS_DIR}/improve-test.yml"
SHARDS_DRIFT = ("the matrix runs {found} shard(s) ({listed}) but test.shards in {config} is "
                "{want}: the evaluation is shared out as the matrix says; set the matrix to "
                "shard: [{expected}] (or run improve init in a copy and take its file)")
CACHE_DRIFT = ("the setup cache step {state} but setup.cache in {config} is [{want}]: set its "
               "`if:` to {on} and its key's files to hashFiles({files}) (improve init writes "
               "the step)")


def _line_of(text: str, pattern: str) -> int | None:
    found = re.search(pattern, text, re.M)
    return text.count("\n", 0, found.start()) + 1 if found else None


def workflow_drift(text: str, shards: int, setup_cache: Sequence[str],
                   config_file: str = ".github/improve.yml") -> list[Problem]:
    """Where the installed test workflow (its ``text``) disagrees with the configuration it was
    rendered from: the matrix against ``test.shards``, the setup cache step against
    ``setup.cache``. Warnings, not errors: the workflow still runs, only not as configured."""
    import yaml

    try:
        job = yaml.safe_load(text)["jobs"]["test"]
        matrix = (job.get("strategy") or {}).get("matrix") or {}
        listed, steps = matrix.get("shard"), list(job.get("steps") or [])
    except (yaml.YAMLError, KeyError, TypeError, AttributeError):
        return []  # a workflow of the user's own making: nothing to compare with
    out: list[Problem] = []
    expected = list(range(1, shards + 1))
    if isinstance(listed, list) and listed != expected:
        out.append(Problem(TEST_WORKFLOW, SHARDS_DRIFT.format(
            found=len(listed), listed=", ".join(map(str, listed)), config=config_file,
            want=shards, expected=", ".join(map(str, expected))),
            line=_line_of(text, r"^\s*shard:"), field="jobs.test.strategy.matrix.shard"))
    state = _cache_state(steps, setup_cache)
    if state:
        out.append(Problem(TEST_WORKFLOW, CACHE_DRIFT.format(
            state=state, config=config_file, want=", ".join(setup_cache),
            on="true" if setup_cache else "false", files=setup_hash_args(setup_cache)),
            line=_line_of(text, r"^\s*- uses: actions/cache@"), field="jobs.test.steps"))
    return out


def _cache_state(steps: list, setup_cache: Sequence[str]) -> str | None:
    """How the test job's cache step differs from what ``setup.cache`` asks; None: it does not."""
    step = next((s for s in steps if isinstance(s, dict)
                 and str(s.get("uses", "")).startswith("actions/cache@")), None)
    if step is None:
        return "is missing" if setup_cache else None
    on = step.get("if") is True
    if on != bool(setup_cache):
        return "is on" if on else "is off"
    key = str((step.get("with") or {}).get("key", ""))
    if on and f"hashFiles({setup_hash_args(setup_cache)})" not in key:
        return f"hashes other files ({key})"
    return None
