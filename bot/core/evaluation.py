"""Planning an evaluation (which task runs how often, in which shard) and assembling its samples
into a results file; merging the results of shards. Pure: the runner is elsewhere."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.render import md_escape
from bot.core.results import Environment, Results, Sample, Shard, SuiteResult, TaskResult
from bot.core.suites import BenchmarkSuite, Suite, shard_units
from bot.errors import InputError, Problem


@dataclass(frozen=True)
class SuiteSource:
    """A loaded suite with where it came from and its fingerprint."""

    suite: Suite
    path: str
    definition_hash: str


@dataclass(frozen=True, order=True)
class Unit:
    """One run of one task (or check): what the runner schedules."""

    suite_id: str
    task_id: str
    repeat: int
    # the n-th sample of one run: a task that reads its tool's results gets many from a run
    # (every round a timing tool measured), under task ids ``<task>/<entry>``
    part: int = 0


def task_ids(suite: Suite) -> list[str]:
    return (
        [t.id for t in suite.tasks]
        if isinstance(suite, BenchmarkSuite)
        else [c.id for c in suite.checks]
    )


def repeats_for(suite: Suite, override: int | None) -> int:
    if not isinstance(suite, BenchmarkSuite):
        return 1  # a check passes or fails; repeating it measures nothing
    return override or suite.repeat


def plan_units(
    sources: Sequence[SuiteSource], repeat: int | None = None, shard: tuple[int, int] | None = None
) -> list[Unit]:
    """Every run to make. Sharding splits whole tasks (all repeats stay together), so each
    shard's per-task results are complete and shards merge without arithmetic."""
    keys = [(s.suite.id, t) for s in sources for t in task_ids(s.suite)]
    if shard is not None:
        keys = shard_units(keys, *shard)
    chosen = set(keys)
    units: list[Unit] = []
    for src in sources:
        for tid in task_ids(src.suite):
            if (src.suite.id, tid) in chosen:
                units.extend(
                    Unit(src.suite.id, tid, r) for r in range(repeats_for(src.suite, repeat))
                )
    return units


def has_timing(suite: Suite) -> bool:
    """A suite with a timing metric: its runs are measured alone, base and head interleaved."""
    return isinstance(suite, BenchmarkSuite) and any(m.kind == "timing" for m in suite.metrics)


SideName = Literal["base", "head"]


def interleave(
    base: Sequence[Unit], head: Sequence[Unit], seed: int
) -> list[tuple[SideName, Unit]]:
    """The order to run timing units in: round by round (every task's first repeat, then every
    task's second, ...), the tasks of a round in a seeded random order, and each task's base and
    head run back to back in a seeded random order (A B, B A, ...). Drift over the job and a
    neighbour's load then fall on both sides alike instead of on whichever side ran later."""
    rng = random.Random(f"improve-interleave-{seed}")
    keyed: dict[tuple[int, str, str], dict[SideName, Unit]] = {}
    sides_units: tuple[tuple[SideName, Sequence[Unit]], ...] = (("base", base), ("head", head))
    for side, units in sides_units:
        for u in units:
            keyed.setdefault((u.repeat, u.suite_id, u.task_id), {})[side] = u
    order: list[tuple[SideName, Unit]] = []
    for rnd in sorted({k[0] for k in keyed}):
        keys = sorted(k for k in keyed if k[0] == rnd)
        rng.shuffle(keys)
        for k in keys:
            pair = keyed[k]
            sides: list[SideName] = ["base", "head"]
            rng.shuffle(sides)
            order.extend((side, pair[side]) for side in sides if side in pair)
    return order


def pair_share(units: Mapping[SideName, list[Unit]],
               shard: tuple[int, int]) -> dict[SideName, list[Unit]]:
    """Both sides' units cut to the K-th of N shares (``shard``) of their tasks. The share is
    drawn from both sides' tasks together, so a task's base and head stay in one shard."""
    keys = sorted({(u.suite_id, u.task_id) for side in units.values() for u in side})
    mine = set(shard_units(keys, *shard))
    return {side: [u for u in us if (u.suite_id, u.task_id) in mine] for side, us in units.items()}


def more_units(
    plan: Mapping[tuple[str, str], int], counts: Mapping[SideName, Mapping[tuple[str, str], int]],
) -> tuple[dict[SideName, list[Unit]], dict[SideName, dict[tuple[str, str], int]]]:
    """A round of more runs on both sides: ``plan`` asks k more samples of a task (or of a
    tool's entry: more runs of the task that ran the tool), ``counts`` the runs per task and
    side so far. The round's units carry on the runs' numbering; returned with the new counts."""
    runs: dict[tuple[str, str], int] = {}
    for (sid, tid), k in plan.items():
        key = (sid, parent_task(tid))
        runs[key] = max(runs.get(key, 0), k)
    extra: dict[SideName, list[Unit]] = {"base": [], "head": []}
    after: dict[SideName, dict[tuple[str, str], int]] = {
        side: dict(counts[side]) for side in ("base", "head")}
    for (sid, tid), k in sorted(runs.items()):
        for side in ("base", "head"):
            have = after[side].get((sid, tid), 0)
            extra[side] += [Unit(sid, tid, r) for r in range(have, have + k)]
            after[side][(sid, tid)] = have + k
    return extra, after


def summarize_task(
    task_id: str, samples: Sequence[Sample], failures: Iterable[str] = ()
) -> TaskResult:
    failed = [s for s in samples if s.status == "failed"]
    reason = None
    if failed:
        reason = failed[0].reason or "failed"
        if len(failed) > 1:
            reason += f" ({len(failed)} of {len(samples)} runs failed)"
    return TaskResult(
        id=task_id,
        status="failed" if failed else "ok",
        reason=reason,
        samples=list(samples),
        failures=sorted(set(failures)),
    )


def parent_task(task_id: str) -> str:
    """The suite's task a results task id belongs to: ``bench`` for ``bench/test_sort``
    (suite task ids contain no ``/``)."""
    return task_id.split("/", 1)[0]


def _result_task_ids(suite_id: str, declared: Iterable[str],
                     by_task: Mapping[tuple[str, str], object]) -> set[str]:
    """The suite's task ids and the ``<task>/<entry>`` ids its tools' results added."""
    known = set(declared)
    return known | {tid for sid, tid in by_task if sid == suite_id and parent_task(tid) in known}


def build_results(
    *,
    commit: str,
    ref: str,
    created_at: str,
    environment: Environment,
    sources: Sequence[SuiteSource],
    samples: Mapping[Unit, Sample],
    failures: Mapping[tuple[str, str], Sequence[str]] | None = None,
    repeat: int | None = None,
    shard: tuple[int, int] | None = None,
    changed_from: str | None = None,
) -> Results:
    """Assemble the results file. Suites and tasks are sorted by id so that shards merge into
    exactly what an unsharded run writes."""
    failures = failures or {}
    by_task: dict[tuple[str, str], list[Sample]] = {}
    for unit in sorted(samples):
        by_task.setdefault((unit.suite_id, unit.task_id), []).append(samples[unit])
    suites = []
    for src in sorted(sources, key=lambda s: s.suite.id):
        sid = src.suite.id
        tasks = [
            summarize_task(tid, by_task[(sid, tid)], failures.get((sid, tid), ()))
            for tid in sorted(_result_task_ids(sid, task_ids(src.suite), by_task))
            if by_task.get((sid, tid))
        ]
        if not tasks and shard is not None:
            continue  # this shard ran nothing of the suite; another shard carries it
        suites.append(_suite_result(src, tasks, repeat))
    return Results(
        commit=commit,
        ref=ref,
        created_at=created_at,
        environment=environment,
        changed_from=changed_from,
        shard=Shard(index=shard[0], total=shard[1]) if shard else None,
        suites=suites,
    )


def _suite_result(src: SuiteSource, tasks: list[TaskResult], repeat: int | None) -> SuiteResult:
    """One suite's entry in the results file: its definition as measured, and its tasks."""
    s = src.suite
    return SuiteResult(
        id=s.id,
        kind=s.kind,
        path=src.path,
        definition_hash=src.definition_hash,
        targets=list(s.targets),
        minimum=s.minimum if isinstance(s, BenchmarkSuite) else None,
        repeat=repeats_for(s, repeat),
        metrics=list(s.metrics) if isinstance(s, BenchmarkSuite) else [],
        tasks=tasks,
    )


def merge_results(parts: Sequence[Results], names: Sequence[str] | None = None) -> Results:
    """Merge shards of one evaluation into the result an unsharded run would have written
    (apart from timings). Shards of different commits or suite definitions do not merge."""
    names = list(names or [f"part {i + 1}" for i in range(len(parts))])
    if not parts:
        raise InputError("merge needs at least one results file")
    first = parts[0]
    problems: list[Problem] = []
    suites: dict[str, SuiteResult] = {}
    owner: dict[tuple[str, str], str] = {}
    for name, part in zip(names, parts, strict=True):
        if part.commit != first.commit:
            problems.append(Problem(
                name, f"commit {part.commit[:12]} differs from {first.commit[:12]}", field="commit"
            ))
            continue
        for s in part.suites:
            problems += _merge_suite(name, s, suites, owner)
    if problems:
        raise InputError(problems)
    out = [
        suites[sid].model_copy(update={"tasks": sorted(suites[sid].tasks, key=lambda t: t.id)})
        for sid in sorted(suites)
    ]
    return first.model_copy(
        update={
            "suites": out,
            "shard": None,
            "created_at": max(p.created_at for p in parts),
        }
    )


def _merge_suite(name: str, s: SuiteResult, suites: dict[str, SuiteResult],
                 owner: dict[tuple[str, str], str]) -> list[Problem]:
    """Add one part's suite to the merge (``suites``, and ``owner``: the part each task came
    from); the problems that keep it out: another definition hash, a task in two parts."""
    if s.id in suites and suites[s.id].definition_hash != s.definition_hash:
        return [Problem(name, f"suite {s.id!r} has another definition hash",
                        field="definition_hash")]
    merged = suites.setdefault(s.id, s.model_copy(update={"tasks": []}))
    problems = []
    for t in s.tasks:
        if (s.id, t.id) in owner:
            problems.append(Problem(name, f"task {s.id}/{t.id} is also in {owner[(s.id, t.id)]}"))
            continue
        owner[(s.id, t.id)] = name
        merged.tasks.append(t)
    return problems


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary_markdown(results: Results) -> str:
    """The job summary of one evaluation: a table per suite, medians over the runs."""
    lines = [f"### improve evaluate: `{results.commit[:12]}`", ""]
    if not results.suites:
        lines.append("No suite was selected.")
    for s in results.suites:
        failed = sum(1 for t in s.tasks if t.status == "failed")
        lines += [f"**{md_escape(s.id)}** ({s.kind}, {len(s.tasks)} tasks, {failed} failed)", ""]
        names = [m.name for m in s.metrics]
        lines.append(
            "| task | status | " + " | ".join(md_escape(n) for n in names) + " | median s |"
        )
        lines.append("|---|---|" + "---|" * len(names) + "---|")
        for t in s.tasks:
            cells = []
            for n in names:
                vals = t.values(n)
                cells.append(f"{_median(vals):.4g}" if vals else "–")
            dur = _median([x.duration_s for x in t.samples]) if t.samples else 0.0
            status = "ok" if t.status == "ok" else f"**failed**: {md_escape(t.reason or '', 120)}"
            lines.append(
                f"| {md_escape(t.id)} | {status} | " + " | ".join(cells) + f" | {dur:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)
