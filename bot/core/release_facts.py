"""COMMIT, the facts: which merged pull requests await a release and in what order, and what each
one released (its proposal or the rollback it carries). Pure: the stage reads git and the forge
and hands the values here.

Decisions where the design is silent:

- A pull request awaits a release when it was merged into the default branch, carries the
  ``improvement`` or ``rollback`` label, its merge commit is on the branch, and neither the
  changelog nor a tag says it was released. Merge order is the order of the merge commits in the
  branch's history, not the forge's timestamps.
- A pull request with no proposal file (an improvement PR made by hand) is released with the
  proposal id ``pr-<number>``; its type is a label naming a configured type, else
  ``code_change`` when configured; a ``breaking`` label makes it a major release.
- A rollback pull request says what it rolls back in its body, as embedded data
  (``bot.core.embed.embed("rollback", RollbackFacts(...).model_dump())``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.core.config import Config
from bot.core.embed import extract
from bot.core.forge import PullRequest
from bot.core.release import (
    RELEASE_PR_BRANCH,
    ChangeSummary,
    MergedPR,
    ProposalFacts,
    RollbackFacts,
)
from bot.errors import InputError, Problem

LABEL = "improvement"
ROLLBACK_LABEL = "rollback"
BREAKING_LABEL = "breaking"
FALLBACK_TYPE = "code_change"
PROPOSALS_DIR = ".improve/proposals/"
BRANCH_PREFIX = "improve/"
NO_TYPE = ("PR #{number} has no proposal file and no label naming a proposal type "
           "(configured: {known}); add one of those labels and run the release again")
BAD_ROLLBACK = "PR #{number}: the rollback data in its description does not read: {reason}"
BAD_PROPOSAL = "is not a proposal (a YAML mapping with id and type)"


def pending(
    pulls: Iterable[PullRequest],
    *,
    branch: str,
    released: set[int],
    order: Mapping[str, int],
    only: int | None = None,
) -> list[PullRequest]:
    """The merged pull requests awaiting a release, in merge order (``order``: a merge commit's
    position in the branch's history, oldest first; absent: not on the branch yet)."""
    out = []
    for p in pulls:
        if only is not None and p.number != only:
            continue
        if not p.merged or not p.merge_commit_sha or p.base_ref != branch:
            continue
        if p.head_ref == RELEASE_PR_BRANCH or p.number in released:
            continue
        if only is None and not ({LABEL, ROLLBACK_LABEL} & set(p.labels)):
            continue
        if p.merge_commit_sha not in order:
            continue
        out.append(p)
    return sorted(out, key=lambda p: order[p.merge_commit_sha or ""])


def proposal_path_of(pr: PullRequest, changed: Sequence[str]) -> str | None:
    """The proposal file a merge brought: ``improve/<id>``'s own, else the only one changed."""
    if pr.head_ref.startswith(BRANCH_PREFIX):
        own = f"{PROPOSALS_DIR}{pr.head_ref[len(BRANCH_PREFIX):]}.yaml"
        if own in changed:
            return own
    files = [p for p in changed if p.startswith(PROPOSALS_DIR) and p.endswith((".yaml", ".yml"))]
    return files[0] if len(files) == 1 else None


_CHANGE_LINE = re.compile(r"^- (?P<path>[^:\n]+): (?P<what>.+)$", re.M)


def described_changes(messages: str) -> dict[str, str]:
    """``path -> description`` from the ``- path: description`` lines PROPOSE writes in its
    commit message (the first description of each path wins)."""
    out: dict[str, str] = {}
    for m in _CHANGE_LINE.finditer(messages.replace("\r\n", "\n")):
        out.setdefault(m.group("path").strip(), m.group("what").strip())
    return out


def _what(change: Mapping[str, Any]) -> str:
    spec = change.get("set")
    if isinstance(spec, dict) and "key" in spec:
        return f"{spec['key']} -> {spec.get('value')}"
    if "replace" in change:
        return "text replaced"
    if "content" in change:
        return "new content"
    if "patch" in change:
        return "patch"
    return ""


def _patch_path(patch: str) -> str:
    m = re.search(r"^\+\+\+ (?:b/)?(\S+)", patch, re.M)
    return m.group(1) if m else "(patch)"


def proposal_facts(data: Any, file: str, messages: str = "") -> ProposalFacts:
    """A proposal file's facts for the changelog: its id, type, risk, ``breaking``, title and one
    line per change (``path: what — why``; ``what`` as PROPOSE described it in the commit, else
    from the change itself)."""
    if not isinstance(data, dict) or not data.get("id") or not data.get("type"):
        raise InputError([Problem(file, BAD_PROPOSAL)])
    described = described_changes(messages)
    changes = []
    for c in data.get("changes") or []:
        if not isinstance(c, dict):
            continue
        path = str(c.get("path") or _patch_path(str(c.get("patch") or "")))
        why = str(c.get("rationale") or "").strip()
        what = described.get(path, "")
        if what and why and what.endswith(f" — {why}"):
            what = what[: -len(f" — {why}")]
        changes.append(ChangeSummary(path=path, what=what or _what(c), why=why))
    risk = data.get("risk") if data.get("risk") in ("low", "medium", "high") else "medium"
    predicted = data.get("predicted_improvement")
    metric = predicted.get("metric") if isinstance(predicted, dict) else None
    return ProposalFacts(
        id=str(data["id"]),
        type=str(data["type"]),
        risk=risk,
        breaking=bool(data.get("breaking", False)),
        title=str(data.get("title") or ""),
        rationale=str(data.get("rationale") or ""),
        author=str(data["author"]) if data.get("author") else None,
        changes=changes,
        predicted_metric=str(metric) if metric else None,
    )


def handmade_facts(pr: PullRequest, config: Config, changed: Sequence[str]) -> ProposalFacts:
    """An improvement PR without a proposal file: what its labels and files say."""
    types = config.proposals.types
    ptype = next((lb for lb in pr.labels if lb in types), None)
    if ptype is None and FALLBACK_TYPE in types:
        ptype = FALLBACK_TYPE
    if ptype is None:
        raise InputError([Problem(f"PR #{pr.number}", NO_TYPE.format(
            number=pr.number, known=", ".join(sorted(types)) or "none"), field="labels")])
    return ProposalFacts(
        id=f"pr-{pr.number}", type=ptype, breaking=BREAKING_LABEL in pr.labels, title=pr.title,
        author=pr.author or None,
        changes=[ChangeSummary(path=p) for p in changed[:20]],
    )


def rollback_facts(pr: PullRequest) -> RollbackFacts | None:
    data = extract(pr.body, "rollback")
    if data is None:
        return None
    try:
        return RollbackFacts.model_validate(data)
    except ValidationError as exc:
        raise InputError([Problem(f"PR #{pr.number}", BAD_ROLLBACK.format(
            number=pr.number, reason=exc.errors()[0]["msg"]), field="body")]) from None


def merged_pr(
    pr: PullRequest,
    merged_at: datetime,
    proposal: ProposalFacts | None,
    rollback: RollbackFacts | None,
) -> MergedPR:
    assert pr.merge_commit_sha is not None
    return MergedPR(number=pr.number, merge_sha=pr.merge_commit_sha, merged_at=merged_at,
                    proposal=None if rollback else proposal, rollback=rollback)
