"""Where a pull request's proposal file is, and what little the gate reads from it without
validating the whole proposal (the commands stage imports this: it must stay light)."""

from __future__ import annotations

from collections.abc import Iterable

PROPOSALS_DIR = ".improve/proposals"


def is_proposal_path(path: str) -> bool:
    return path.startswith(PROPOSALS_DIR + "/") and path.endswith(".yaml") \
        and "/" not in path[len(PROPOSALS_DIR) + 1:]


def pick_proposal_file(paths: Iterable[str], head_ref: str) -> str | None:
    """The proposal file of the pull request: the one its branch ``improve/<id>`` names, else
    the first (sorted) one it adds."""
    found = sorted(p for p in paths if is_proposal_path(p))
    wanted = f"{PROPOSALS_DIR}/{head_ref.removeprefix('improve/')}.yaml"
    if wanted in found:
        return wanted
    return found[0] if found else None


def proposal_author(text: str | None) -> str | None:
    """The ``author`` a proposal file names (a person or an agent), or None."""
    if text is None:
        return None
    from bot.core.yamldoc import YamlError, load_yaml

    try:
        data = load_yaml(text)
    except YamlError:
        return None
    author = data.get("author") if isinstance(data, dict) else None
    if not isinstance(author, str):
        return None
    return author.strip()[:100] or None
