"""Proposals: the model, their validation (every problem at once, with file, line and field) and
the application of their changes to file texts. Pure: files are read through a callable and
patches are applied through one (git does that, in bot/adapters/patch.py).

A change is exactly one of:

- ``set: {key, value}`` of a key in a YAML, JSON or TOML file; the key must exist, or its parent
  must exist and be a mapping (a new key is allowed only under an existing mapping);
- ``replace: {old, new}``; ``old`` must occur exactly once in the file;
- ``content``: the file's whole new text (the file may be new);
- ``patch``: a unified diff, applied with ``git apply`` (``path`` optional; when given, the
  patch may touch only that path).

Every path must stay inside the repository: relative, no ``..`` leading out, nothing in
``.git``, and (checked by the reader) no symlink on the way.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ConfigDict, Field, field_validator, model_validator

from bot.core.config import Config, Risk
from bot.core.edits import (
    ChangeSummary,
    EditError,
    patch_paths,
    replace_once,
    set_content,
    set_key,
)
from bot.core.proposal_files import BRANCH_PREFIX, PROPOSALS_DIR, TRAILER_PROPOSAL
from bot.core.strict import Strict
from bot.core.yamldoc import (
    Document,
    YamlError,
    dotted,
    dump_yaml,
    load_yaml,
    parse_yaml,
    validate_document,
)
from bot.errors import InputError, Problem

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,99}$"
SLUG_MAX = 48

TRAILER_TYPE = "Improve-Type"
TRAILER_RISK = "Improve-Risk"
TRAILER_AUTHOR = "Improve-Author"

EXACTLY_ONE_KIND = "give exactly one of 'set', 'replace', 'content' or 'patch'"
PATH_REQUIRED = "'path' is required for a {kind} change"
UNKNOWN_TYPE = "unknown proposal type {type!r} (configured: {known})"
TOO_MANY_CHANGES = "{count} changes; at most {limit} are allowed (proposals.max_changes)"
PATH_EMPTY = "the path is empty"
PATH_ABSOLUTE = "{path!r} is absolute; paths are relative to the repository's root"
PATH_BACKSLASH = "{path!r} contains a backslash; write paths with '/'"
PATH_CONTROL = "{path!r} contains a control character"
PATH_ESCAPES = "{path!r} leads outside the repository"
PATH_GIT = "{path!r} is inside .git; the repository's own machinery cannot be changed"
PATH_ROOT = "{path!r} names the repository's root, not a file"
PATCH_NO_PATHS = "not a unified diff: no '---'/'+++' lines name a file"
PATCH_OTHER_PATH = "the patch touches {other!r}, but the change's path is {path!r}"
PATCH_UNSUPPORTED = "patches cannot be applied here (no git)"
NO_SUCH_FILE = "{path!r} does not exist on the default branch"
NOTHING_CHANGES = "this change leaves {path!r} as it was"
BLANK = "must not be empty"
BAD_DEPENDENCY = "{dep!r} is not a proposal id"


KINDS = ("set", "replace", "content", "patch")


class SetSpec(Strict):
    key: str = Field(min_length=1)
    value: Any


class ReplaceSpec(Strict):
    old: str = Field(min_length=1)
    new: str


class Change(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    path: str | None = None
    set_: SetSpec | None = Field(None, alias="set")
    replace: ReplaceSpec | None = None
    content: str | None = None
    patch: str | None = None
    rationale: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Change:
        kinds = [k for k in KINDS if self.value_of(k) is not None]
        if len(kinds) != 1:
            raise ValueError(EXACTLY_ONE_KIND)
        if kinds[0] != "patch" and not self.path:
            raise ValueError(PATH_REQUIRED.format(kind=kinds[0]))
        return self

    def value_of(self, kind: str) -> Any:
        return self.set_ if kind == "set" else getattr(self, kind)

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if self.value_of(k) is not None)


class PredictedImprovement(Strict):
    metric: str = Field(min_length=1)
    delta: float


def _not_blank(v: str) -> str:
    if not v.strip():
        raise ValueError(BLANK)
    return v


class Proposal(Strict):
    id: str | None = Field(None, pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    type: str
    risk: Risk
    rationale: str
    predicted_improvement: PredictedImprovement
    author: str = Field(min_length=1, max_length=100)
    depends_on: list[str] = Field(default_factory=list)
    evidence: dict[str, Any] = Field(default_factory=dict)
    breaking: bool = False
    changes: list[Change] = Field(min_length=1)

    _blank = field_validator("title", "rationale", "author")(_not_blank)

    @field_validator("depends_on")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for dep in v:
            if not re.match(ID_PATTERN, dep):
                raise ValueError(BAD_DEPENDENCY.format(dep=dep))
        return v

    @property
    def branch(self) -> str:
        return branch_name(self.id or "")


def branch_name(proposal_id: str) -> str:
    return BRANCH_PREFIX + proposal_id


def proposal_path(proposal_id: str) -> str:
    return f"{PROPOSALS_DIR}/{proposal_id}.yaml"


def slug(title: str, limit: int = SLUG_MAX) -> str:
    """Lowercase words joined by '-', cut at a word boundary: a branch-safe name."""
    words = re.findall(r"[a-z0-9]+", re.sub(r"['\u2019]", "", title.lower()))
    out = ""
    for w in words:
        candidate = f"{out}-{w}" if out else w
        if len(candidate) > limit:
            break
        out = candidate
    return out or (words[0][:limit] if words else "proposal")


def make_id(title: str, today: date) -> str:
    """``prop-YYYYMMDD-<slug of title>``; the date is passed in so the result is reproducible."""
    return f"prop-{today:%Y%m%d}-{slug(title)}"


def check_path(path: str) -> tuple[str | None, str | None]:
    """(the normalised path, None) when ``path`` stays inside the repository, else (None, why)."""
    if not path or not path.strip():
        return None, PATH_EMPTY
    if "\\" in path:
        return None, PATH_BACKSLASH.format(path=path)
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None, PATH_CONTROL.format(path=path)
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None, PATH_ABSOLUTE.format(path=path)
    norm = posixpath.normpath(path)
    if norm == "..":
        return None, PATH_ESCAPES.format(path=path)
    if norm.startswith("../"):
        return None, PATH_ESCAPES.format(path=path)
    if norm in (".", ""):
        return None, PATH_ROOT.format(path=path)
    # case-insensitive: on macOS and Windows ".GIT" is the same directory
    if any(part.lower() == ".git" for part in norm.split("/")):
        return None, PATH_GIT.format(path=path)
    return norm, None


def change_paths(change: Change) -> list[str]:
    """The paths one change touches, as written (normalised when they are valid)."""
    raw = patch_paths(change.patch) if change.patch is not None else [change.path or ""]
    return [check_path(p)[0] or p for p in raw]


def targets(proposal: Proposal) -> list[str]:
    """Every path a proposal's changes touch, sorted: what limits and suite selection look at."""
    out: set[str] = set()
    for change in proposal.changes:
        out.update(change_paths(change))
    return sorted(out)


@dataclass
class Checked:
    """A proposal as read from its file: the model (None when invalid) and every problem."""

    proposal: Proposal | None
    problems: list[Problem]
    doc: Document | None
    text: str


def check_proposal(text: str, file: str, config: Config, today: date) -> Checked:
    """Parse and validate a proposal: the model, the configured type and limits, the paths.
    The id is generated from the title and ``today`` when the file gives none."""
    try:
        doc = parse_yaml(text, file)
    except InputError as exc:
        return Checked(None, exc.problems, None, text)
    if not isinstance(doc.data, dict):
        return Checked(None, [Problem(file, "a proposal is a YAML mapping", 1)], doc, text)
    proposal, problems = validate_document(Proposal, doc)
    data = doc.data

    def problem(message: str, *path: str | int) -> None:
        problems.append(Problem(file, message, doc.line_of(path), dotted(path) or None))

    kind = data.get("type")
    if isinstance(kind, str) and kind not in config.proposals.types:
        known = ", ".join(sorted(config.proposals.types)) or "none"
        problem(UNKNOWN_TYPE.format(type=kind, known=known), "type")
    changes = data.get("changes")
    if isinstance(changes, list):
        limit = config.proposals.max_changes
        if len(changes) > limit:
            problem(TOO_MANY_CHANGES.format(count=len(changes), limit=limit), "changes")
        for i, raw in enumerate(changes):
            if not isinstance(raw, dict):
                continue
            if isinstance(raw.get("path"), str):
                _, why = check_path(raw["path"])
                if why:
                    problem(why, "changes", i, "path")
            patch = raw.get("patch")
            if isinstance(patch, str):
                found = patch_paths(patch)
                if not found:
                    problem(PATCH_NO_PATHS, "changes", i, "patch")
                for p in found:
                    norm, why = check_path(p)
                    if why:
                        problem(why, "changes", i, "patch")
                    elif isinstance(raw.get("path"), str) and norm != check_path(raw["path"])[0]:
                        problem(PATCH_OTHER_PATH.format(other=p, path=raw["path"]),
                                "changes", i, "patch")
    if problems or proposal is None:
        return Checked(None, problems, doc, text)
    if proposal.id is None:
        proposal = proposal.model_copy(update={"id": make_id(proposal.title, today)})
    return Checked(proposal, problems, doc, text)


Reader = Callable[[str], "str | None"]
# (patch text, {path: current text or None}) -> {path: new text or None for deleted};
# raises EditError naming the hunk that failed
Patcher = Callable[[str, Mapping[str, "str | None"]], dict[str, "str | None"]]


@dataclass
class Applied:
    """What a proposal does to the repository: new texts (None: deleted), one summary per
    change, and every problem found while applying."""

    files: dict[str, str | None] = field(default_factory=dict)
    originals: dict[str, str | None] = field(default_factory=dict)
    summaries: list[ChangeSummary] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def patch_summary(patch: str, path: str) -> ChangeSummary:
    added = sum(
        1 for ln in patch.splitlines() if ln.startswith("+") and not ln.startswith("+++ ")
    )
    removed = sum(
        1 for ln in patch.splitlines() if ln.startswith("-") and not ln.startswith("--- ")
    )
    return ChangeSummary(path, f"patch (+{added} -{removed} lines)")


def apply_changes(
    proposal: Proposal,
    read: Reader,
    *,
    file: str = "proposal",
    doc: Document | None = None,
    patcher: Patcher | None = None,
) -> Applied:
    """Apply every change, in order, to the texts ``read`` returns (None: no such file).
    ``read`` may raise EditError (a symlink, a binary file); that is a problem of the change."""
    result = Applied()
    state: dict[str, str | None] = {}

    def current(path: str) -> str | None:
        if path not in state:
            state[path] = read(path)
            result.originals[path] = state[path]
        return state[path]

    for i, change in enumerate(proposal.changes):
        try:
            result.summaries.append(_apply_change(change, current, state, patcher))
        except _ChangeProblem as problem:
            loc: tuple[str | int, ...] = ("changes", i, change.kind,
                                          *([problem.field] if problem.field else []))
            result.problems.append(Problem(file, str(problem),
                                           doc.line_of(loc) if doc is not None else None,
                                           dotted(loc)))
    result.files = {p: t for p, t in state.items() if t != result.originals.get(p)}
    return result


class _ChangeProblem(Exception):
    """Why a change cannot be applied, and the field of the change it is about ("" when the
    change as a whole)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _apply_change(change: Change, current: Callable[[str], str | None],
                  state: dict[str, str | None], patcher: Patcher | None) -> ChangeSummary:
    """One change applied to the texts in ``state`` (read through ``current``): what it did,
    with its rationale. _ChangeProblem when it cannot be made or changes nothing."""
    try:
        if change.patch is not None:
            summary = _apply_patch(change.patch, current, state, patcher)
        else:
            path = check_path(change.path or "")[0] or (change.path or "")
            old = current(path)
            new, summary, sub_field = _edit(change, path, old)
            if new == old:
                raise _ChangeProblem(NOTHING_CHANGES.format(path=path), sub_field)
            state[path] = new
    except EditError as exc:
        # an edit's failure is about the key it sets or the text it replaces
        field = "key" if change.set_ is not None else "old" if change.replace is not None else ""
        raise _ChangeProblem(str(exc), field) from exc
    if change.rationale:
        summary = ChangeSummary(summary.path, f"{summary.description} — {change.rationale}")
    return summary


def _apply_patch(patch: str, current: Callable[[str], str | None], state: dict[str, str | None],
                 patcher: Patcher | None) -> ChangeSummary:
    """A unified diff applied to the files it names (``state`` takes their new texts); an
    EditError when nothing can apply it or it changes nothing."""
    paths = [check_path(p)[0] or p for p in patch_paths(patch)]
    if patcher is None:
        raise EditError(PATCH_UNSUPPORTED)
    before = {p: current(p) for p in paths}
    after = patcher(patch, before)
    changed = [p for p in paths if after.get(p, before[p]) != before[p]]
    for p in paths:
        state[p] = after.get(p, before[p])
    summary = patch_summary(patch, ", ".join(changed or paths))
    if not changed:
        raise EditError(NOTHING_CHANGES.format(path=", ".join(paths)))
    return summary


def _edit(change: Change, path: str, old: str | None) -> tuple[str, ChangeSummary, str]:
    """One edit of one file (``set``, ``replace`` or whole ``content``): the new text, its
    summary and the field a problem with it names."""
    if change.set_ is not None:
        if old is None:
            raise EditError(NO_SUCH_FILE.format(path=path))
        new, summary = set_key(old, path, change.set_.key, change.set_.value)
        return new, summary, "key"
    if change.replace is not None:
        if old is None:
            raise EditError(NO_SUCH_FILE.format(path=path))
        new, summary = replace_once(old, path, change.replace.old, change.replace.new)
        return new, summary, "old"
    new, summary = set_content(old, path, change.content or "")
    return new, summary, ""


def proposal_file_text(text: str, proposal_id: str) -> str:
    """The proposal file as committed: the author's text, byte for byte, with ``id:`` added as
    the first key when absent."""
    body = text if text.endswith("\n") else text + "\n"
    data = load_yaml(body)
    if isinstance(data, dict) and data.get("id") == proposal_id:
        return body
    lines = body.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        if not line[0].isspace() and not stripped.startswith("{"):
            candidate = "".join([*lines[:i], f"id: {proposal_id}\n", *lines[i:]])
            try:
                parsed = load_yaml(candidate)
            except YamlError:
                break
            if isinstance(parsed, dict) and parsed == {"id": proposal_id, **data}:
                return candidate
        break
    # a flow mapping or an unusual layout: written out again, in the same key order
    return dump_yaml({"id": proposal_id, **data})


def one_line(text: str) -> str:
    """A trailer value or subject: one line, no control characters."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def commit_message(proposal: Proposal, summaries: list[ChangeSummary]) -> str:
    """The proposal's commit: title, rationale, the changes, and the trailers the bot reads."""
    lines = [one_line(proposal.title), "", proposal.rationale.strip(), ""]
    lines.append(
        f"Predicted: {one_line(proposal.predicted_improvement.metric)} "
        f"{proposal.predicted_improvement.delta:+g}"
    )
    if summaries:
        lines.append("")
        lines.extend(f"- {one_line(s.path)}: {one_line(s.description)}" for s in summaries)
    lines += [
        "",
        f"{TRAILER_PROPOSAL}: {proposal.id}",
        f"{TRAILER_TYPE}: {one_line(proposal.type)}",
        f"{TRAILER_RISK}: {proposal.risk}",
        f"{TRAILER_AUTHOR}: {one_line(proposal.author)}",
    ]
    return "\n".join(lines) + "\n"
