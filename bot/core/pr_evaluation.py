"""The pull-request evaluation, pure: which pull requests are proposals, the artifact the
token-less half hands to the reporting half (and how it is read: as untrusted data), the verdict
of a comparison, and the comparison's machine copy embedded in the bot's comment.

No I/O here: the stage (bot/stages/pr_evaluation.py) gathers, these functions decide."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, ValidationError

from bot.core.comparison.compare import Comparison
from bot.core.comparison.sequential import Round
from bot.core.config import Config
from bot.core.embed import EmbedTooLarge, embed
from bot.core.monitor import ROLLBACK_BRANCH_PREFIX
from bot.core.proposal_files import LABEL, author_of, is_proposal_path, proposal_fields
from bot.core.results import Results, Shard
from bot.core.strict import Strict
from bot.errors import InputError, Problem

COMMENT_MARKER = "compare"
ARTIFACT_KIND = "improve-pr-results"
ARTIFACT_NAME = "results.json"
# the artifact is read whole into memory: a result file of a large suite is a few hundred kB
MAX_ARTIFACT_BYTES = 10 * 1024 * 1024
MAX_ERROR_CHARS = 4000

# what the reporting half says when it cannot use the artifact (the gate's "error" description
# is policy.DESC_ERROR; these go into the comment)
NO_ARTIFACT = "the test run ({conclusion}) left no results artifact"
TOO_LARGE = "the results artifact is {size} bytes; at most {limit} are read"
NOT_UTF8 = "the results artifact is not UTF-8 text"
WRONG_PR = "the results artifact speaks for pull request #{got}, not #{want}"
WRONG_HEAD = "the results artifact speaks for commit {got}, not for this head {want}"
WRONG_RESULTS_HEAD = "the head results in the artifact are of commit {got}, not {want}"
MISSING_SIDE = "the results artifact carries no {side} results"
TEST_FAILED = "the test run could not evaluate this pull request: {error}"


class ProposalMeta(Strict):
    """What the tier needs from a proposal file: its id, type and risk (None when unknown)."""

    id: str | None = Field(None, max_length=200)
    type: str | None = Field(None, max_length=100)
    risk: Literal["low", "medium", "high"] | None = None
    # who proposed it: they may not approve it. Self-declared in the proposal file in any case
    # (the proposer writes it), so the artifact's word is as good as the file's; the commits'
    # authors, which the forge reports, are the guard a proposer cannot write
    author: str | None = Field(None, max_length=100)


class PrArtifact(Strict):
    """What ``improve handle --results-out`` writes and ``--results-in`` reads."""

    kind: Literal["improve-pr-results"] = "improve-pr-results"
    schema_version: Literal[1] = 1
    pr_number: int = Field(ge=1)
    head_sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    base_sha: str = Field(pattern=r"^[0-9a-f]{40}$")
    proposal: ProposalMeta | None = None
    base: Results | None = None
    head: Results | None = None
    base_cached: bool = False
    # suites whose baseline came from the data branch, and the sequential evaluation's looks
    reused: list[str] = Field(default_factory=list, max_length=1000)
    rounds: list[Round] = Field(default_factory=list, max_length=100)
    error: str | None = Field(None, max_length=MAX_ERROR_CHARS)
    # the base branch's tip the comparison stood on, and, when the branch had moved past the
    # event's base, the head merged into that tip (the candidate measured instead of the head)
    base_tip: str | None = Field(None, pattern=r"^[0-9a-f]{40}$")
    merged_sha: str | None = Field(None, pattern=r"^[0-9a-f]{40}$")
    # which share of the suites' tasks this is (``test.shards``); None: all of them
    shard: Shard | None = None


def is_improvement(labels: Iterable[str], paths: Iterable[str], head_ref: str) -> bool:
    """A pull request counts as a proposal when it carries the label or a proposal file, or is
    the bot's revert of a release (branch ``improve/rollback-<tag>``): its ``opened`` event
    carries no labels yet (they are added by a second request) and a revert adds no proposal
    file, so its branch is what says so at the moment GitHub sends ``opened``."""
    if LABEL in set(labels) or head_ref.startswith(ROLLBACK_BRANCH_PREFIX):
        return True
    return any(is_proposal_path(p) for p in paths)


def proposal_meta(text: str | None, config: Config) -> ProposalMeta | None:
    """The id, type and risk of a proposal file's text; a type the configuration does not know
    counts as unknown (so never the auto tier). Unreadable files give None."""
    data = proposal_fields(text)
    if data is None:
        return None
    pid = data.get("id") if isinstance(data.get("id"), str) else None
    ptype = data.get("type") if data.get("type") in config.proposals.types else None
    risk = data.get("risk") if data.get("risk") in ("low", "medium", "high") else None
    return ProposalMeta(id=pid[:200] if pid else None, type=ptype, risk=risk,
                        author=author_of(data))


def parse_artifact(data: bytes, file: str) -> PrArtifact:
    """The artifact, validated: size-capped, UTF-8, JSON, the schema of ``PrArtifact`` (unknown
    keys refused). Every problem is an InputError naming the file and the field."""
    if len(data) > MAX_ARTIFACT_BYTES:
        raise InputError([Problem(file, TOO_LARGE.format(size=len(data),
                                                          limit=MAX_ARTIFACT_BYTES))])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(file, NOT_UTF8)]) from None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError([Problem(file, f"not JSON: {str(exc)[:200]}")]) from None
    if not isinstance(raw, dict):
        raise InputError([Problem(file, "the results artifact is not a JSON object")])
    try:
        return PrArtifact.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err["loc"])[:200]
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"][:200]
            problems.append(Problem(file, msg, field=loc or None))
        raise InputError(problems) from None


def artifact_problems(art: PrArtifact, pr_number: int, head_sha: str) -> list[str]:
    """Why an artifact (already schema-valid) cannot speak for this pull request and head.
    The PR number and head come from the forge, never from the artifact."""
    out = []
    if art.pr_number != pr_number:
        out.append(WRONG_PR.format(got=art.pr_number, want=pr_number))
    if art.head_sha != head_sha:
        out.append(WRONG_HEAD.format(got=art.head_sha[:12], want=head_sha[:12]))
    if art.error:
        out.append(TEST_FAILED.format(error=art.error))
        return out
    for side in ("base", "head"):
        if getattr(art, side) is None:
            out.append(MISSING_SIDE.format(side=side))
    if art.head is not None and art.head.commit not in (head_sha, art.merged_sha):
        out.append(WRONG_RESULTS_HEAD.format(got=art.head.commit[:12], want=head_sha[:12]))
    return out


def _trimmed(data: dict[str, Any], level: int) -> dict[str, Any]:
    """A smaller copy of the comparison's JSON: histograms, then output tails and notes, then
    per-metric details go."""
    out = json.loads(json.dumps(data))
    for suite in out.get("suites", []):
        for m in suite.get("metrics", []):
            m["histogram"] = None
            if level >= 2:
                m["missing_tasks"] = m.get("missing_tasks", [])[:10]
        if level >= 1:
            for c in suite.get("checks", []):
                c["output_tail"] = ""
                c["failures"] = c.get("failures", [])[:10]
            for t in suite.get("failed_tasks", []):
                t["output_tail"] = ""
            suite["notes"] = suite.get("notes", [])[:5]
        if level >= 2:
            suite["failed_tasks"] = suite.get("failed_tasks", [])[:10]
            suite["tasks_base_only"] = suite.get("tasks_base_only", [])[:10]
            suite["tasks_cand_only"] = suite.get("tasks_cand_only", [])[:10]
    if level >= 3:
        out["suites"] = [{k: v for k, v in s.items() if k not in ("checks", "failed_tasks")}
                         for s in out.get("suites", [])]
    return out


def embed_comparison(comparison: Comparison) -> str:
    """The hidden line carrying the comparison (``extract(body, "comparison")`` reads it back),
    trimmed step by step when the whole is too large; empty when even the smallest is."""
    data = comparison.model_dump(mode="json")
    for level in range(4):
        try:
            return embed("comparison", data if level == 0 else _trimmed(data, level))
        except EmbedTooLarge:
            continue
    return ""


def pull_facts(payload: Mapping[str, Any]) -> dict[str, Any]:
    """number, head/base SHAs and refs, labels and the author of a pull_request event."""
    pr = payload.get("pull_request") or {}
    head, base = pr.get("head") or {}, pr.get("base") or {}
    head_repo = (head.get("repo") or {}).get("full_name")
    base_repo = (base.get("repo") or {}).get("full_name")
    return {
        "number": int(pr.get("number") or payload.get("number") or 0),
        "head_sha": str(head.get("sha") or ""),
        "head_ref": str(head.get("ref") or ""),
        "base_sha": str(base.get("sha") or ""),
        "base_ref": str(base.get("ref") or ""),
        "labels": [str(lb.get("name")) for lb in pr.get("labels") or [] if isinstance(lb, dict)],
        "fork": bool(head_repo and base_repo and head_repo != base_repo),
    }
