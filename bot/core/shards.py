"""A pull request's evaluation sharded over an Actions matrix (``test.shards``), joined again
(pure): each shard job measures its share of the suites' tasks on both sides and writes its own
artifact; the report merges them into the artifact one unsharded job would have written, and
only then compares. A shard that is missing, failed, or measured another candidate is an error
naming it, never a comparison of part of the work."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.comparison.sequential import Round
from bot.core.evaluation import merge_results
from bot.core.pr_evaluation import MAX_ERROR_CHARS, PrArtifact
from bot.core.results import Shard
from bot.errors import InputError, Problem

MISSING = "shard {index}/{total} is missing (its job failed or uploaded nothing)"
TWICE = "shard {index}/{total} is there twice"
TOTALS = "the shards say different totals ({totals})"
DIFFERS = "{name}: {field} {value} differs from the other shards' {other}"
FAILED = "shard {index}/{total}: {error}"


def shard_name(shard: Shard | None) -> str:
    return f"shard {shard.index}/{shard.total}" if shard else "unsharded"


def merge_artifacts(parts: Sequence[PrArtifact], names: Sequence[str]) -> PrArtifact:
    """The artifact of the whole evaluation from its shards' (``names``: the files, for the
    messages). One unsharded artifact is returned as it is. The shards must be of one pull
    request, head, base and candidate, and all there; a shard that failed makes the merged one
    an error artifact carrying its message."""
    if not parts:
        raise InputError("no results to merge: the test job uploaded nothing")
    if len(parts) == 1 and parts[0].shard is None:
        return parts[0]
    first = next((p for p in parts if not p.error), parts[0])
    problems = _mismatches(parts, names, first)
    if problems:
        raise InputError(problems)
    totals = sorted({p.shard.total for p in parts if p.shard is not None})
    if len(totals) != 1:
        raise InputError(TOTALS.format(totals=", ".join(map(str, totals))))
    problems, errors = _coverage(parts, names, totals[0])
    if problems:
        raise InputError(problems)
    if errors:
        return first.model_copy(update={"base": None, "head": None, "shard": None,
                                        "error": "; ".join(errors)[:MAX_ERROR_CHARS]})
    bases = [p.base for p in parts]
    heads = [p.head for p in parts]
    if any(b is None for b in bases) or any(h is None for h in heads):
        raise InputError("a shard without an error carries no results")
    base = merge_results([b for b in bases if b is not None], list(names))
    head = merge_results([h for h in heads if h is not None], list(names))
    return first.model_copy(update={
        "base": base, "head": head, "shard": None,
        "proposal": next((p.proposal for p in parts if p.proposal is not None), None),
        "base_cached": any(p.base_cached for p in parts),
        "reused": sorted({s for p in parts for s in p.reused}),
        "rounds": _rounds(parts),
    })


def _mismatches(parts: Sequence[PrArtifact], names: Sequence[str], first: PrArtifact
                ) -> list[Problem]:
    """Each part that is not a shard, or a shard of another pull request, head, base or
    candidate than ``first``."""
    problems: list[Problem] = []
    for name, part in zip(names, parts, strict=True):
        if part.shard is None:
            problems.append(Problem(name, "is not a shard, but there are several results"))
        # a shard that failed may not have got as far as choosing the candidate
        fields = ("pr_number", "head_sha") if part.error else (
            "pr_number", "head_sha", "base_sha", "base_tip", "merged_sha")
        for field in fields:
            value, other = getattr(part, field), getattr(first, field)
            if value != other:
                problems.append(Problem(name, DIFFERS.format(name=shard_name(part.shard),
                                                             field=field, value=value,
                                                             other=other)))
    return problems


def _coverage(parts: Sequence[PrArtifact], names: Sequence[str], total: int
              ) -> tuple[list[Problem], list[str]]:
    """Whether the shards cover the work once: the shards there twice (bad input), and the
    shards that failed or are missing (an error the merged artifact carries)."""
    problems: list[Problem] = []
    seen = [p.shard.index for p in parts if p.shard is not None]
    for index in sorted(set(seen)):
        if seen.count(index) > 1:
            problems.append(Problem(names[seen.index(index)], TWICE.format(index=index,
                                                                          total=total)))
    missing = [i for i in range(1, total + 1) if i not in seen]
    errors = [FAILED.format(index=p.shard.index, total=total, error=p.error)
              for p in parts if p.error and p.shard is not None]
    errors += [MISSING.format(index=i, total=total) for i in missing]
    return problems, errors


def _rounds(parts: Sequence[PrArtifact]) -> list[Round]:
    """The looks of the sharded evaluation: as many as the shard that looked most often (the
    confidence of the comparison is set for that many looks), each with the runs and tasks
    of every shard that made it."""
    longest = max(parts, key=lambda p: len(p.rounds))
    out = []
    for i, r in enumerate(longest.rounds):
        same = [p.rounds[i] for p in parts if len(p.rounds) > i]
        out.append(r.model_copy(update={"runs": sum(x.runs for x in same),
                                        "tasks": sum(x.tasks for x in same)}))
    return out
