"""The workflows ``improve init`` writes into a repository, from one source: ``bot/workflows/``.

The templates are plain workflow YAML with two placeholders, so that zizmor and the schema can
read them almost as they are: ``__IMPROVE_ACTION__`` (what a step ``uses:`` to run the bot) and
``__DEFAULT_BRANCH__``. This repository's own copies are rendered with the local action (``./``)
and must equal what ``render_workflows()`` gives (tests/test_workflows.py checks;
``python scripts/sync_workflows.py`` rewrites them).
"""

from __future__ import annotations

import re
from importlib import resources

from bot.errors import InputError, Problem

ACTION_PLACEHOLDER = "__IMPROVE_ACTION__"
BRANCH_PLACEHOLDER = "__DEFAULT_BRANCH__"
SHARDS_PLACEHOLDER = "__SHARDS__"
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


def render_workflows(
    action: str = SELF_ACTION, default_branch: str = "main", version: str | None = None,
    shards: int = 1,
) -> dict[str, str]:
    """``{".github/workflows/<name>": text}`` for a repository.

    ``action`` is ``./`` (a checkout of the bot itself) or ``owner/repo@<full SHA>``; ``version``
    becomes the ``# vX.Y.Z`` comment beside a pinned SHA; ``shards`` (``test.shards``) is the
    size of the test workflow's matrix.
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
        out[f"{WORKFLOWS_DIR}/{name}"] = text
    return out
