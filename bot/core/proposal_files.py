"""Where a pull request's proposal file is, and what little the gate reads from it without
validating the whole proposal (the commands stage imports this: it must stay light). The one
home of the names that tie a branch, label, file or commit to a proposal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROPOSALS_DIR = ".improve/proposals"
# a proposal's branch is BRANCH_PREFIX + its id
BRANCH_PREFIX = "improve/"
# the commit trailer that names the proposal a commit applies
TRAILER_PROPOSAL = "Improve-Proposal"
# the label that makes a pull request a proposal (with or without a proposal file)
LABEL = "improvement"


def is_proposal_path(path: str) -> bool:
    return path.startswith(PROPOSALS_DIR + "/") and path.endswith(".yaml") \
        and "/" not in path[len(PROPOSALS_DIR) + 1:]


def pick_proposal_file(paths: Iterable[str], head_ref: str) -> str | None:
    """The proposal file of the pull request: the one its branch ``improve/<id>`` names, else
    the first (sorted) one it adds."""
    found = sorted(p for p in paths if is_proposal_path(p))
    wanted = f"{PROPOSALS_DIR}/{head_ref.removeprefix(BRANCH_PREFIX)}.yaml"
    if wanted in found:
        return wanted
    return found[0] if found else None


def proposal_fields(text: str | None) -> dict[str, Any] | None:
    """The top-level mapping of a proposal file's text, or None when there is no file or it is
    not a YAML mapping (the gate then reads nothing from it)."""
    if text is None:
        return None
    from bot.core.yamldoc import YamlError, load_yaml

    try:
        data = load_yaml(text)
    except YamlError:
        return None
    return data if isinstance(data, dict) else None


def author_of(fields: Mapping[str, Any] | None) -> str | None:
    """The ``author`` a proposal's fields name (a person or an agent), or None."""
    author = fields.get("author") if fields is not None else None
    if not isinstance(author, str):
        return None
    return author.strip()[:100] or None


def proposal_author(text: str | None) -> str | None:
    """The ``author`` a proposal file names (a person or an agent), or None."""
    return author_of(proposal_fields(text))
