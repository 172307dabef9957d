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

import json
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.core.config import Config
from bot.core.edits import (
    MISSING,
    EditError,
    format_of,
    line_changes,
    navigate,
    parse_key,
    patch_paths,
    replace_once,
    set_content,
    set_key,
    show_value,
)
from bot.core.embed import extract
from bot.core.forge import PullRequest
from bot.core.proposal_files import BRANCH_PREFIX, LABEL, PROPOSALS_DIR
from bot.core.proposals import Patcher, patch_summary
from bot.core.release.plan import (
    RELEASE_PR_BRANCH,
    ChangeSummary,
    MergedPR,
    ProposalFacts,
    RollbackFacts,
)
from bot.core.yamldoc import load_yaml
from bot.errors import InputError, Problem

ROLLBACK_LABEL = "rollback"
BREAKING_LABEL = "breaking"
FALLBACK_TYPE = "code_change"
NO_TYPE = ("PR #{number} has no proposal file and no label naming a proposal type "
           "(configured: {known}); add one of those labels and run the release again")
BAD_ROLLBACK = "PR #{number}: the rollback data in its description does not read: {reason}"
BAD_PROPOSAL = "is not a proposal (a YAML mapping with id and type)"
_UNKNOWN = object()
# the most paths a merge changed that an entry lists beside the proposal's own
MAX_LISTED = 20


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
        own = f"{PROPOSALS_DIR}/{pr.head_ref.removeprefix(BRANCH_PREFIX)}.yaml"
        if own in changed:
            return own
    files = [p for p in changed
             if p.startswith(PROPOSALS_DIR + "/") and p.endswith((".yaml", ".yml"))]
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


@dataclass(frozen=True)
class MergedDiff:
    """What a merge brought to the branch: the paths it changed, and the texts of those paths
    and of the proposal's paths before it (at its first parent) and after it (None: absent)."""

    changed: tuple[str, ...]
    before: Mapping[str, str | None]
    after: Mapping[str, str | None]


def _value_at(text: str | None, path: str, key: str) -> Any:
    """The value of ``key`` in a YAML, JSON or TOML text; ``_UNKNOWN`` when it cannot be read."""
    fmt = format_of(path)
    if text is None or fmt is None:
        return _UNKNOWN
    try:
        if fmt == "json":
            root = json.loads(text)
        elif fmt == "toml":
            root = tomllib.loads(text)
        else:
            root = load_yaml(text)  # the bot's one YAML reader
        _, _, value, _ = navigate(root, parse_key(key))
    except Exception:  # any unreadable text or key: the entry then says less, never wrong
        return _UNKNOWN
    return value


def _show(value: Any) -> str:
    return "(absent)" if value is MISSING else show_value(value)


def _lines_changed(merged: MergedDiff, paths: Sequence[str]) -> str:
    """What the merge did to ``paths``, in lines added and removed (summed)."""
    counts = [line_changes(merged.before.get(p), merged.after.get(p)) for p in paths]
    return f"+{sum(c.added for c in counts)} -{sum(c.removed for c in counts)} lines"


def _paths_of(change: Mapping[str, Any], path: str) -> list[str]:
    """The paths a change writes: a patch's every path, else its own."""
    patch = change.get("patch")
    return (patch_paths(patch) or [path]) if isinstance(patch, str) else [path]


def _proposed_texts(changes: Sequence[Any], before: Mapping[str, str | None],
                    patcher: Patcher | None = None
                    ) -> tuple[dict[str, str | None], dict[int, str]]:
    """The proposal applied to the branch as it was before the merge: the texts it proposed
    (a path whose result cannot be computed is left out: a patch's without ``patcher``, or one
    that does not apply) and each change's own description as the edit makes it."""
    texts: dict[str, str | None] = {}
    described: dict[int, str] = {}
    unknown: set[str] = set()
    for i, c in enumerate(changes):
        if not isinstance(c, dict):
            continue
        if isinstance(c.get("patch"), str):
            paths = patch_paths(c["patch"])
            current = {p: texts.get(p, before.get(p)) for p in paths}
            try:
                patched = patcher(c["patch"], current) if patcher and paths else None
            except (EditError, ValueError):
                patched = None
            if patched is None:
                unknown.update(paths)
                continue
            texts.update({p: patched.get(p, current[p]) for p in paths})
            described[i] = patch_summary(c["patch"], ", ".join(paths)).description
            continue
        if not c.get("path"):
            continue
        path = str(c["path"])
        text = texts.get(path, before.get(path))
        try:
            if isinstance(c.get("set"), dict) and text is not None:
                spec = c["set"]
                text, summary = set_key(text, path, str(spec.get("key")), spec.get("value"))
            elif isinstance(c.get("replace"), dict) and text is not None:
                spec = c["replace"]
                text, summary = replace_once(text, path, str(spec.get("old")),
                                             str(spec.get("new")))
            elif "content" in c:
                text, summary = set_content(text, path, str(c["content"]))
            else:
                unknown.add(path)
                continue
        except (EditError, ValueError, TypeError):
            unknown.add(path)
            continue
        texts[path] = text
        described[i] = summary.description
    return {p: t for p, t in texts.items() if p not in unknown}, described


def _as_merged(data: dict[str, Any], proposed: list[ChangeSummary], merged: MergedDiff,
               patcher: Patcher | None = None) -> list[ChangeSummary]:
    """The changes as the merge made them: a change merged as proposed keeps its description;
    one changed in review tells what merged and keeps what was proposed in ``proposed``; a path
    the proposal did not name, or one the merge left alone, says so. A patch is compared by
    applying it with ``patcher``; without one, the entry tells the lines the merge changed."""
    raw = [c for c in data.get("changes") or [] if isinstance(c, dict)]
    texts, described = _proposed_texts(raw, merged.before, patcher)
    changed = set(merged.changed)
    out: list[ChangeSummary] = []
    named: set[str] = set()
    for i, (c, summary) in enumerate(zip(raw, proposed, strict=False)):
        path = summary.path
        paths = _paths_of(c, path)
        named.update(paths)
        what = described.get(i, summary.what)
        if not changed.intersection(paths):
            out.append(ChangeSummary(path=path, what="not changed by the merge",
                                     why=summary.why, proposed=what))
            continue
        if all(p in texts and texts[p] == merged.after.get(p) for p in paths):
            out.append(summary.model_copy(update={"what": what}))
            continue
        spec = c.get("set")
        if isinstance(spec, dict):
            key = str(spec.get("key"))
            new = _value_at(merged.after.get(path), path, key)
            old = _value_at(merged.before.get(path), path, key)
            if new is not _UNKNOWN and old is not _UNKNOWN:
                now = f"{key} {_show(old)} -> {_show(new)}"
                if now == what:  # the key merged as proposed; other lines of the file changed
                    now += " and " + str(line_changes(texts.get(path), merged.after.get(path)))
                out.append(ChangeSummary(path=path, what=now, why=summary.why, proposed=what))
                continue
        # what merged, in lines; what was proposed beside it, unless nothing tells whether
        # the two differ (a patch with no patcher to apply it)
        unknown = patcher is None and isinstance(c.get("patch"), str)
        out.append(ChangeSummary(path=path, what=_lines_changed(merged, paths), why=summary.why,
                                 proposed=None if unknown else what))
    named.update(s.path for s in proposed)
    extra = [p for p in merged.changed if p not in named and not p.startswith(PROPOSALS_DIR + "/")]
    for path in extra[:MAX_LISTED]:
        how = _lines_changed(merged, [path]) if path in merged.after else "changed"  # not text
        out.append(ChangeSummary(path=path, what=f"not in the proposal: {how}"))
    if len(extra) > MAX_LISTED:
        out.append(ChangeSummary(path=f"{len(extra) - MAX_LISTED} more files",
                                 what="not in the proposal"))
    return out


def proposal_facts(data: Any, file: str, messages: str = "",
                   merged: MergedDiff | None = None, patcher: Patcher | None = None
                   ) -> ProposalFacts:
    """A proposal file's facts for the changelog: its id, type, risk, ``breaking``, title and one
    line per change (``path: what — why``; ``what`` as PROPOSE described it in the commit, else
    from the change itself). With ``merged``, the changes are what the merge made: where review
    changed them, ``what`` says what merged and ``proposed`` what the proposal said."""
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
    if merged is not None:
        changes = _as_merged(data, changes, merged, patcher)
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
