"""The shards of a pull request's evaluation joined into one artifact (bot/core/shards.py): the
same artifact an unsharded job writes, or an error naming the shard that is missing, failed,
doubled or measured something else."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.comparison.sequential import Round
from bot.core.pr_evaluation import PrArtifact
from bot.core.results import Results, Shard
from bot.core.shards import merge_artifacts
from bot.errors import InputError

BASE, HEAD = "b" * 40, "c" * 40
ENV = {"python": "3.12", "implementation": "CPython", "platform": "linux", "machine": "x86_64",
       "cpu_count": 2, "improve": "0.1.0"}


def results(commit: str, tasks: list[str], shard: Shard | None) -> Results:
    sample = {"status": "ok", "metrics": {"accuracy": 0.9}, "duration_s": 0.1}
    suite: dict[str, Any] = {
        "id": "s", "kind": "benchmark", "path": "benchmarks/s.yaml", "definition_hash": "h",
        "targets": ["**"], "repeat": 1, "metrics": [{"name": "accuracy"}],
        "tasks": [{"id": t, "status": "ok", "samples": [sample]} for t in tasks]}
    return Results.model_validate({"commit": commit, "ref": commit, "created_at": "2026-11-30",
                                   "environment": ENV, "shard": shard,
                                   "suites": [suite] if tasks else []})


def artifact(tasks: list[str], index: int | None, total: int = 3, **extra: Any) -> PrArtifact:
    shard = Shard(index=index, total=total) if index else None
    return PrArtifact(pr_number=7, head_sha=HEAD, base_sha=BASE, base=results(BASE, tasks, shard),
                      head=results(HEAD, tasks, shard), shard=shard, **extra)


ALL = ["t1", "t2", "t3", "t4"]
SHARDS = [artifact(["t1", "t4"], 1), artifact(["t2"], 2), artifact(["t3"], 3)]


def test_the_shards_merge_into_the_unsharded_artifact() -> None:
    whole = artifact(ALL, None)
    merged = merge_artifacts(list(reversed(SHARDS)), ["c", "b", "a"])
    assert merged.shard is None and merged.error is None
    assert merged.base == whole.base and merged.head is not None
    assert [t.id for t in merged.head.suites[0].tasks] == ALL


def test_one_unsharded_artifact_is_itself() -> None:
    whole = artifact(ALL, None)
    assert merge_artifacts([whole], ["results.json"]) is whole


def test_the_looks_are_the_longest_shard_s_with_every_shard_s_runs() -> None:
    r1 = [Round(look=1, decision="inconclusive", runs=4, tasks=2),
          Round(look=2, decision="accept", runs=2, tasks=1)]
    parts = [SHARDS[0].model_copy(update={"rounds": r1, "reused": ["x"]}),
             SHARDS[1].model_copy(update={"rounds": r1[:1]}), SHARDS[2]]
    merged = merge_artifacts(parts, ["a", "b", "c"])
    assert [(r.look, r.decision, r.runs, r.tasks) for r in merged.rounds] == [
        (1, "inconclusive", 8, 4), (2, "accept", 2, 1)]
    assert merged.reused == ["x"]


@pytest.mark.parametrize(("parts", "error"), [
    (SHARDS[:2], "shard 3/3 is missing (its job failed or uploaded nothing)"),
    ([SHARDS[0], SHARDS[1].model_copy(update={"base": None, "head": None,
                                              "error": "suite s: no such file"}), SHARDS[2]],
     "shard 2/3: suite s: no such file"),
])
def test_a_missing_or_failed_shard_makes_an_error_artifact(parts: list[PrArtifact],
                                                           error: str) -> None:
    merged = merge_artifacts(parts, [str(i) for i in range(len(parts))])
    assert merged.error == error and merged.base is None and merged.head is None


@pytest.mark.parametrize(("parts", "message"), [
    ([SHARDS[0], SHARDS[0], SHARDS[1], SHARDS[2]], "shard 1/3 is there twice"),
    ([SHARDS[0], artifact(["t2"], 2, total=4), SHARDS[2]], "different totals (3, 4)"),
    ([SHARDS[0], SHARDS[1].model_copy(update={"merged_sha": "d" * 40}), SHARDS[2]],
     "shard 2/3: merged_sha"),
    ([SHARDS[0], artifact(ALL, None)], "is not a shard"),
    ([], "uploaded nothing"),
])
def test_shards_that_do_not_belong_together_are_refused(parts: list[PrArtifact],
                                                        message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        merge_artifacts(parts, [str(i) for i in range(len(parts))])
