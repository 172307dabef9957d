"""TEST: run the selected suites on one commit, in a scratch worktree, tasks in parallel.

gather: resolve the commit, the changed paths, the suites at that commit and their inputs;
decide: which runs to make (core: selection, sharding, repeats);
act: run them (adapters: worktree, runner, progress) and assemble the results (core)."""

from __future__ import annotations

import itertools
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.adapters import runner
from bot.adapters.progress import Progress
from bot.adapters.setup_env import set_up
from bot.adapters.worktree import changed_paths, open_repo, resolve, scratch_worktree
from bot.core.cases import BatchScores, batch_metrics, batch_stdin, score_batch
from bot.core.comparison.sequential import Round, SequentialConfig, TaskKey, run_sequential
from bot.core.config import Config
from bot.core.evaluation import (
    SideName,
    SuiteSource,
    Unit,
    build_results,
    has_timing,
    interleave,
    more_units,
    pair_share,
    parent_task,
    plan_units,
    task_ids,
)
from bot.core.formats import FORMATS, FormatError
from bot.core.formats import parse as parse_tool_results
from bot.core.measure import (
    case_stdin,
    junit_failures,
    parse_metrics,
    score_case_run,
    tail,
    tool_samples,
)
from bot.core.results import Environment, Results, Sample
from bot.core.suites import (
    BenchmarkSuite,
    Check,
    RegressionSuite,
    Task,
    command_argv,
    select_suites,
    shard_units,
)
from bot.errors import InputError
from bot.stages.context import local_config
from bot.stages.suites import Prepared, inside, load_tree_suites, prepare

if TYPE_CHECKING:
    import git  # the adapter's repository handle, passed through


@dataclass
class EvaluateRequest:
    repo: Path = Path(".")
    ref: str = "HEAD"
    suites: list[str] = field(default_factory=list)
    changed_from: str | None = None
    repeat: int | None = None
    jobs: int = 0  # 0: the number of cores
    shard: tuple[int, int] | None = None


def environment() -> Environment:
    return Environment(
        python=platform.python_version(),
        implementation=platform.python_implementation(),
        platform=platform.platform(terse=True),
        machine=platform.machine(),
        cpu_count=os.cpu_count() or 1,
        improve=__version__,
    )


def read_config(repo_root: Path) -> Config:
    """The configuration of the checkout the bot runs in (the trusted one), never the tree under
    test: a pull request cannot change how it is judged."""
    return local_config(repo_root)[0]


def evaluate(req: EvaluateRequest, progress: Progress) -> Results:
    repo = open_repo(req.repo)
    commit = resolve(repo, req.ref)
    changed = changed_paths(repo, req.changed_from, commit) if req.changed_from else None
    results, _ = evaluate_commit(
        repo, commit, read_config(Path(repo.working_dir)), progress,
        suites=req.suites, changed=changed, repeat=req.repeat, jobs=req.jobs, shard=req.shard,
        ref=req.ref, changed_from=req.changed_from,
    )
    return results


# results already measured for these suites at this commit (a cache), or None to run them
Reuse = Callable[[list[SuiteSource]], Results | None]


def evaluate_commit(
    repo: git.Repo,
    commit: str,
    config: Config,
    progress: Progress,
    *,
    suites: Sequence[str] = (),
    changed: Sequence[str] | None = None,
    repeat: int | None = None,
    jobs: int = 0,
    shard: tuple[int, int] | None = None,
    ref: str | None = None,
    changed_from: str | None = None,
    reuse: Reuse | None = None,
) -> tuple[Results, bool]:
    """The suites (``suites`` by id, and those targeting ``changed`` when given) run on
    ``commit`` in a scratch worktree; (results, True) when ``reuse`` had them already."""
    with scratch_worktree(repo, commit) as tree:
        prepared = _prepare_tree(tree, config, changed, suites, setup=(commit, "scratch", progress))
        if reuse is not None:
            hit = reuse(prepared.sources)
            if hit is not None:
                return hit, True
        units = plan_units(prepared.sources, repeat, shard)
        samples, failures = run_units(units, prepared, tree, commit, jobs, progress)
    results = build_results(
        commit=commit,
        ref=ref or commit,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment(),
        sources=prepared.sources,
        samples=samples,
        failures=failures,
        repeat=repeat,
        shard=shard,
        changed_from=changed_from,
    )
    return results, False


@dataclass
class PairResults:
    """Both sides of a pull request, measured in one job. ``reused``: suites whose baseline came
    from the data branch (score-only suites: timings are always measured beside the
    candidate). ``rounds``: the looks of the sequential evaluation."""

    base: Results
    head: Results
    reused: list[str]
    rounds: list[Round]


def _prepare_tree(tree: Path, config: Config, changed: Sequence[str] | None,
                  suites: Sequence[str] = (),
                  setup: tuple[str, str, Progress] | None = None) -> Prepared:
    """The suites of the worktree chosen by id (``suites``) or by ``changed`` paths, with
    their inputs; bad suites are an InputError. ``setup`` (commit, side, progress): when a
    suite is chosen, the configuration's ``setup:`` runs first in the worktree (the trusted
    configuration's commands: never the tree's own), so that the suites' commands are found
    in, and run with, the environment it made."""
    found, problems = load_tree_suites(tree, config)
    if problems:
        raise InputError(problems)
    chosen = {s.id for s in select_suites([s for s, _ in found], suites, changed)}
    extra: dict[str, str] = {}
    if chosen and setup is not None:
        commit, side, progress = setup
        extra = set_up(tree, commit, side, config.setup, progress)
    env = runner.task_env(os.environ, extra)
    prepared = prepare(tree, config, [(s, p) for s, p in found if s.id in chosen], env["PATH"])
    if prepared.problems:
        raise InputError(prepared.problems)
    prepared.env = extra
    return prepared


Side = tuple[Path, Prepared, str]  # (worktree, its suites, its commit)
Samples = dict[Unit, Sample]
Failures = dict[tuple[str, str], list[str]]
# a task that reads its tool's results: its samples by results task id (``<task>/<entry>``)
Parts = dict[str, list[Sample]]
# what one run gives: its sample, the failing tests its JUnit XML names, and its tool's results
Ran = tuple[Sample, list[str], Parts | None]


def record(samples: Samples, failures: Failures, unit: Unit, ran: Ran) -> None:
    """One run's outcome into ``samples``: the run's own sample, or, when its tool's results
    were read, their samples under their own task ids."""
    sample, failed_tests, parts = ran
    if parts is None:
        samples[unit] = sample
    else:
        for tid, got in parts.items():
            for i, part in enumerate(got):
                samples[Unit(unit.suite_id, tid, unit.repeat, i)] = part
    if failed_tests:
        failures[(unit.suite_id, unit.task_id)] = failed_tests


def run_sides(units: dict[SideName, list[Unit]], sides: dict[SideName, Side], jobs: int,
              progress: Progress, seed: int) -> dict[SideName, tuple[Samples, Failures]]:
    """Runs of both sides. Suites without timings run in parallel, side by side. Suites with
    timings run afterwards, one run at a time (nothing else on the machine while one is
    measured), base and head interleaved in a seeded order."""
    out: dict[SideName, tuple[Samples, Failures]] = {"base": ({}, {}), "head": ({}, {})}
    timed: dict[SideName, list[Unit]] = {"base": [], "head": []}
    for side in ("head", "base"):
        tree, prepared, commit = sides[side]
        by_id = {src.suite.id: src for src in prepared.sources}
        plain = [u for u in units[side] if not has_timing(by_id[u.suite_id].suite)]
        timed[side] = [u for u in units[side] if has_timing(by_id[u.suite_id].suite)]
        if plain:
            samples, failures = run_units(plain, prepared, tree, commit, jobs, progress)
            out[side][0].update(samples)
            out[side][1].update(failures)
    order = interleave(timed["base"], timed["head"], seed)
    if not order:
        return out
    progress.start(len(order), "Timing base and head, interleaved, one run at a time")
    try:
        for side, unit in order:
            tree, prepared, commit = sides[side]
            src = next(s for s in prepared.sources if s.suite.id == unit.suite_id)
            ran = run_unit(unit, src, prepared, tree, commit)
            record(out[side][0], out[side][1], unit, ran)
            sample = ran[0]
            label = f"{side}: {unit.suite_id}/{unit.task_id}#{unit.repeat + 1}"
            detail = " ".join(f"{k}={v:g}" for k, v in sorted(sample.metrics.items()))
            progress.done(label, sample.status == "ok", sample.duration_s, detail)
    except BaseException:
        runner.kill_all()
        raise
    finally:
        runner.reset()
    progress.finish(f"{len(order)} timed run(s)")
    return out


def evaluate_pair(
    repo: git.Repo, base_sha: str, head_sha: str, config: Config, progress: Progress, *,
    changed: Sequence[str] | None, reuse: Reuse | None = None, jobs: int = 0,
    shard: tuple[int, int] | None = None,
) -> PairResults:
    """Base and head of a pull request in one job, each in its own scratch worktree: the runs
    interleaved (see :func:`run_sides`), then, while the comparison is unclear and more runs
    could settle it, more runs of the tasks carrying the noise
    (:mod:`bot.core.comparison.sequential`).

    ``shard`` (K, N): only the K-th of N shares of the tasks (``test.shards``), the same share
    on both sides, so each task's base and head are measured in one job; a baseline from the
    data branch is not reused then (its suites are whole, the shard's are not)."""
    with scratch_worktree(repo, head_sha) as htree, scratch_worktree(repo, base_sha) as btree:
        if shard is not None and _share_is_empty((htree, btree), config, changed, shard):
            return _empty_share(base_sha, head_sha, config, shard)
        sides: dict[SideName, Side] = {
            "head": _prepared_side("head", htree, head_sha, config, changed, progress),
            "base": _prepared_side("base", btree, base_sha, config, changed, progress)}
        cached, reused, fresh = _reusable_baseline(reuse if shard is None else None,
                                                   sides["base"][1].sources)
        units: dict[SideName, list[Unit]] = {
            "head": plan_units(sides["head"][1].sources), "base": plan_units(fresh)}
        if shard is not None:
            units = pair_share(units, shard)
        got = run_sides(units, sides, jobs, progress, config.compare.seed)
        head = _assemble(head_sha, sides["head"][1].sources, *got["head"], shard=shard)
        base = _assemble(base_sha, fresh, *got["base"], shard=shard)
        if cached is not None:
            base = base.model_copy(update={"suites": sorted([*base.suites, *cached.suites],
                                                            key=lambda s: s.id)})
        # runs per task and side so far (a reused baseline's included): a round's runs carry
        # on their numbering (IMPROVE_REPEAT)
        counts: dict[SideName, dict[TaskKey, int]] = {"base": _runs_by_task(base),
                                                      "head": _runs_by_task(head)}
        # a fresh seeded order for each round's interleaving: the seed plus the look's number
        seeds = itertools.count(config.compare.seed + 2)

        def more(plan: dict[TaskKey, int]) -> tuple[dict, dict]:
            nonlocal counts
            extra, counts = more_units(plan, counts)
            ran = run_sides(extra, sides, jobs, progress, next(seeds))
            return _by_task(ran["base"][0]), _by_task(ran["head"][0])

        outcome = run_sequential(base, head, config.compare, SequentialConfig.of(config.compare),
                                 more)
    return PairResults(base=outcome.base, head=outcome.cand, reused=reused,
                       rounds=outcome.rounds)


def _prepared_side(name: SideName, tree: Path, sha: str, config: Config,
                   changed: Sequence[str] | None, progress: Progress) -> Side:
    """One side of the pair, set up and its suites prepared in its worktree."""
    return tree, _prepare_tree(tree, config, changed, setup=(sha, name, progress)), sha


def _reusable_baseline(reuse: Reuse | None, sources: list[SuiteSource],
                       ) -> tuple[Results | None, list[str], list[SuiteSource]]:
    """The base side's results reused from the data branch (``reuse``), if any, the ids of its
    suites, and the suites still to run fresh. Only suites without timings are reused: a
    baseline measured on another runner at another time is fine for scores only."""
    scores_only = [src for src in sources if not has_timing(src.suite)]
    cached = reuse(scores_only) if reuse is not None and scores_only else None
    reused = sorted(s.id for s in cached.suites) if cached else []
    return cached, reused, [src for src in sources if src.suite.id not in reused]


def _share_is_empty(trees: tuple[Path, Path], config: Config, changed: Sequence[str] | None,
                    shard: tuple[int, int]) -> bool:
    """Whether this shard's share of the chosen suites' tasks (both sides') is empty: more
    shards than tasks, or a pull request that selects a small suite. Then neither side is set
    up nor prepared (on a cold cache a setup can take minutes, here for nothing). False when
    a suite does not load: :func:`_prepare_tree` names the problem as on any shard."""
    keys: set[tuple[str, str]] = set()
    for tree in trees:
        found, problems = load_tree_suites(tree, config)
        if problems:
            return False
        chosen = select_suites([s for s, _ in found], (), changed)
        keys |= {(s.id, t) for s in chosen for t in task_ids(s)}
    return not shard_units(sorted(keys), *shard)


def _empty_share(base_sha: str, head_sha: str, config: Config,
                 shard: tuple[int, int]) -> PairResults:
    """The results of a shard with no task: no suite on either side, one look that compared
    nothing (what measuring an empty share gives, without the setup)."""
    base = _assemble(base_sha, [], {}, {}, shard=shard)
    head = _assemble(head_sha, [], {}, {}, shard=shard)
    outcome = run_sequential(base, head, config.compare, SequentialConfig.of(config.compare),
                             lambda plan: ({}, {}))
    return PairResults(base=outcome.base, head=outcome.cand, reused=[], rounds=outcome.rounds)


def _runs_by_task(results: Results) -> dict[TaskKey, int]:
    """Runs made per suite task (a tool's entries counted by their task: an over-count that
    only moves the numbering of later runs on)."""
    out: dict[TaskKey, int] = {}
    for s in results.suites:
        for t in s.tasks:
            key = (s.id, parent_task(t.id))
            out[key] = max(out.get(key, 0), len(t.samples))
    return out


def _by_task(samples: Samples) -> dict[TaskKey, list[Sample]]:
    out: dict[TaskKey, list[Sample]] = {}
    for unit in sorted(samples):
        out.setdefault((unit.suite_id, unit.task_id), []).append(samples[unit])
    return out


def _assemble(commit: str, sources: list[SuiteSource], samples: Samples,
              failures: Failures, shard: tuple[int, int] | None = None) -> Results:
    return build_results(
        commit=commit, ref=commit, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        environment=environment(), sources=sources, samples=samples, failures=failures,
        shard=shard)


def run_units(
    units: list[Unit],
    prepared: Prepared,
    tree: Path,
    commit: str,
    jobs: int,
    progress: Progress,
) -> tuple[dict[Unit, Sample], dict[tuple[str, str], list[str]]]:
    by_id = {src.suite.id: src for src in prepared.sources}
    samples: dict[Unit, Sample] = {}
    failures: dict[tuple[str, str], list[str]] = {}
    workers = jobs or os.cpu_count() or 1
    progress.start(len(units), f"Evaluating {commit[:12]}")

    def job(unit: Unit) -> Ran:
        return run_unit(unit, by_id[unit.suite_id], prepared, tree, commit)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="improve-task")
    try:
        pending: dict[Future[Ran], Unit] = {pool.submit(job, u): u for u in units}
        while pending:
            # a timed wait keeps the main thread responsive to Ctrl-C
            done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for fut in done:
                unit = pending.pop(fut)
                ran = fut.result()
                record(samples, failures, unit, ran)
                sample = ran[0]
                label = f"{unit.suite_id}/{unit.task_id}#{unit.repeat + 1}"
                detail = " ".join(f"{k}={v:g}" for k, v in sorted(sample.metrics.items()))
                progress.done(label, sample.status == "ok", sample.duration_s, detail)
                if sample.status == "failed":
                    progress.failure(
                        label,
                        sample.reason or "failed",
                        sample.output_tail,
                        by_id[unit.suite_id].path,
                    )
    except BaseException:
        runner.kill_all()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        runner.reset()
    pool.shutdown(wait=True)
    failed = sum(1 for s in samples.values() if s.status == "failed")
    # runs, not samples: a run that read its tool's results gives many samples
    progress.finish(f"{len(units)} run(s), {failed} failed")
    return samples, failures


def _env(unit: Unit, commit: str, tree: Path, extra: dict[str, str]) -> dict[str, str]:
    return runner.task_env(
        os.environ,
        {
            "IMPROVE_SUITE": unit.suite_id,
            "IMPROVE_TASK": unit.task_id,
            "IMPROVE_REPEAT": str(unit.repeat),
            "IMPROVE_COMMIT": commit,
            "IMPROVE_WORKTREE": str(tree),
            **extra,
        },
    )


def run_unit(unit: Unit, src: SuiteSource, prepared: Prepared, tree: Path, commit: str) -> Ran:
    suite = src.suite
    if isinstance(suite, RegressionSuite):
        check = next(c for c in suite.checks if c.id == unit.task_id)
        sample, failed = run_check(check, suite.timeout_for(check), tree,
                                   _env(unit, commit, tree, {**prepared.env, **check.env}))
        return sample, failed, None
    task = next(t for t in suite.tasks if t.id == unit.task_id)
    env = _env(unit, commit, tree, {**prepared.env, **task.env})
    if task.cases:
        cases = prepared.cases[(suite.id, task.id)]
        run = run_batch if task.batch else run_cases
        return run(task, suite, cases, prepared.schemas, tree, env), [], None
    if task.results is not None:
        return run_tool(task, suite, tree, env)
    return run_task(task, suite, tree, env), [], None


def _failed_start(outcome: runner.Outcome, timeout: float) -> Sample | None:
    """The sample for a run that did not finish normally, or None when it did."""
    if outcome.error:
        return Sample(
            status="failed",
            failure="not_found",
            reason=outcome.error,
            duration_s=outcome.duration_s,
        )
    if outcome.timed_out:
        return Sample(
            status="failed",
            failure="timeout",
            reason=f"timed out after {timeout:g} s",
            duration_s=outcome.duration_s,
            output_tail=tail(outcome.output_tail),
        )
    return None


def run_task(task: Task, suite: BenchmarkSuite, tree: Path, env: dict[str, str]) -> Sample:
    timeout = suite.timeout_for(task)
    outcome = runner.run(command_argv(task.run), cwd=tree, timeout=timeout, env=env)
    bad = _failed_start(outcome, timeout)
    if bad:
        return bad
    if outcome.exit_code != 0:
        return _crashed(outcome)
    parsed = parse_metrics(outcome.stdout, [m.name for m in suite.metrics])
    if parsed.reason:
        return Sample(
            status="failed",
            failure=parsed.failure,
            reason=parsed.reason,
            exit_code=0,
            duration_s=outcome.duration_s,
            output_tail=tail(outcome.output_tail),
        )
    return Sample(status="ok", metrics=parsed.metrics, exit_code=0, duration_s=outcome.duration_s)


def _crashed(outcome: runner.Outcome) -> Sample:
    code = outcome.exit_code or 0
    how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return Sample(
        status="failed",
        failure="crashed",
        reason=f"crashed: {how}",
        exit_code=outcome.exit_code,
        duration_s=outcome.duration_s,
        output_tail=tail(outcome.output_tail),
    )


def _read_tree(target: Path, root: Path) -> dict[str, bytes]:
    """A results file, or every file under a results directory, by path in the repository."""
    if target.is_file():
        return {target.relative_to(root).as_posix(): target.read_bytes()}
    # only files that are inside the repository: a link in the tree under test may point anywhere
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(target.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.resolve().is_relative_to(root)}


_file_locks: dict[Path, threading.Lock] = {}
_file_locks_guard = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    """One lock per results file: two runs of a task in one worktree (its repeats run in
    parallel) would write, remove and read the same file."""
    with _file_locks_guard:
        return _file_locks.setdefault(path, threading.Lock())


def run_tool(task: Task, suite: BenchmarkSuite, tree: Path, env: dict[str, str]) -> Ran:
    """See :func:`_run_tool`; runs writing the same results file take turns."""
    spec = task.results
    assert spec is not None
    target = inside(tree, spec.file)
    if target is None:
        reason = f"results file {spec.file!r} is outside the repository"
        return Sample(status="failed", failure="not_found", reason=reason, duration_s=0.0), [], None
    with _file_lock(target):
        return _run_tool(task, suite, tree, target, env)


def _run_tool(task: Task, suite: BenchmarkSuite, tree: Path, target: Path,
              env: dict[str, str]) -> Ran:
    """A task whose tool writes its own results (``results: {file, format}``): run it, then
    read the file with its format's parser (bot/core/formats). When the tool wrote its file,
    the file speaks for a failing test or eval case whatever the exit code (promptfoo exits
    100, pytest 1, when a case fails); a timing tool that exits non-zero has crashed."""
    spec = task.results
    assert spec is not None
    fmt = FORMATS[spec.format]
    timeout = suite.timeout_for(task)
    root = tree.resolve()
    # a stale report must not speak for this run (the worktree is a scratch copy)
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists() or target.is_symlink():
        target.unlink()
    # tools write the file but seldom make its folder (pytest-benchmark does not)
    target.parent.mkdir(parents=True, exist_ok=True)
    outcome = runner.run(command_argv(task.run), cwd=tree, timeout=timeout, env=env)
    bad = _failed_start(outcome, timeout)
    if bad:
        return bad, [], None
    wrote = target.exists() and (target.is_file() or any(target.rglob("*")))
    if outcome.exit_code != 0 and not (wrote and fmt.failures_in_file):
        return _crashed(outcome), [], None
    if not wrote:
        reason = f"wrote no {spec.format} results at {spec.file}"
        missing = Sample(status="failed", failure="no_metrics", reason=reason, exit_code=0,
                         duration_s=outcome.duration_s, output_tail=tail(outcome.output_tail))
        return missing, [], None
    try:
        entries = parse_tool_results(spec.format, _read_tree(target, root), spec.metrics)
    except FormatError as exc:
        reason = f"malformed {spec.format} results: {exc}"
        return Sample(status="failed", failure="malformed_metrics", reason=reason,
                      exit_code=outcome.exit_code, duration_s=outcome.duration_s,
                      output_tail=tail(outcome.output_tail)), [], None
    parts = tool_samples(task.id, entries, [m.name for m in suite.metrics], outcome.duration_s)
    sample = Sample(status="ok", exit_code=outcome.exit_code, duration_s=outcome.duration_s)
    if not parts:
        names = ", ".join(m.name for m in suite.metrics)
        reason = f"its {spec.format} results report none of the declared metrics ({names})"
        return Sample(status="failed", failure="no_metrics", reason=reason,
                      exit_code=outcome.exit_code, duration_s=outcome.duration_s), [], None
    return sample, [], parts


def run_cases(
    task: Task,
    suite: BenchmarkSuite,
    cases: list[dict],
    schemas: dict,
    tree: Path,
    env: dict[str, str],
    clock: Callable[[], float] = time.monotonic,
) -> Sample:
    """A data-driven task: one run per case, each scored by the built-in scorer. The task's
    timeout covers all its cases together."""
    assert task.scorer is not None
    timeout = suite.timeout_for(task)
    deadline = clock() + timeout
    start = clock()
    scores: list[float] = []
    notes: list[str] = []
    for i, case in enumerate(cases, start=1):
        remaining = deadline - clock()
        if remaining <= 0:
            return Sample(
                status="failed",
                failure="timeout",
                reason=f"timed out after {timeout:g} s ({i - 1} of {len(cases)} cases)",
                duration_s=clock() - start,
                output_tail=tail("\n".join(notes)),
            )
        outcome = runner.run(command_argv(task.run), cwd=tree, timeout=remaining, env=env,
                             stdin=case_stdin(case, task.scorer))
        bad = _failed_start(outcome, timeout)
        if bad:
            return bad.model_copy(update={"duration_s": clock() - start})
        score, note = score_case_run(task.scorer, case, case.get("id", i), outcome.exit_code,
                                     outcome.stdout, schemas)
        scores.append(score)
        notes += [note] if note else []
    elapsed = clock() - start
    return Sample(
        status="ok",
        metrics=_case_metrics(task, suite, scores, elapsed),
        exit_code=0,
        duration_s=elapsed,
        output_tail=tail("\n".join(notes)),
    )


def _case_metrics(task: Task, suite: BenchmarkSuite, scores: list[float],
                  elapsed: float) -> dict[str, float]:
    """A data-driven run's metrics: its score metric is the share of cases scored right, each
    timing metric milliseconds per case."""
    metric = suite.score_metric(task)
    assert metric is not None
    metrics = {metric: sum(scores) / len(scores)}
    for m in suite.metrics:
        if m.kind == "timing":
            metrics[m.name] = 1000.0 * elapsed / len(scores)
    return metrics


def run_batch(
    task: Task,
    suite: BenchmarkSuite,
    cases: list[dict],
    schemas: dict,
    tree: Path,
    env: dict[str, str],
) -> Sample:
    """A data-driven task in batch mode: one process gets every case as a JSON line on stdin
    and prints one JSON line per case (bot/core/cases.py), scored as one run per case would
    be, or (no scorer) carrying the case's metrics. The task's timeout covers the whole batch,
    as it covers all cases run one by one."""
    timeout = suite.timeout_for(task)
    outcome = runner.run_streaming(command_argv(task.run), cwd=tree, timeout=timeout, env=env,
                                   stdin=batch_stdin(cases, task.scorer))
    bad = _failed_start(outcome, timeout) or (_crashed(outcome) if outcome.exit_code else None)
    if bad:
        # how far the batch got: a crash or timeout mid-way is never a partial score
        lines = sum(1 for line in outcome.stdout.splitlines() if line.strip())
        return bad.model_copy(update={"reason": f"{bad.reason} (batch of {len(cases)} cases, "
                                                f"{lines} answered)"})
    got, metrics = _batch_metrics(task, suite, cases, schemas, outcome)
    if got.error is not None:
        return Sample(status="failed", failure="malformed_metrics",
                      reason=f"batch output breaks the protocol: {got.error}", exit_code=0,
                      duration_s=outcome.duration_s, output_tail=tail(outcome.output_tail))
    return Sample(status="ok", metrics=metrics, exit_code=0, duration_s=outcome.duration_s,
                  output_tail=tail("\n".join(got.notes)))


def _batch_metrics(task: Task, suite: BenchmarkSuite, cases: list[dict], schemas: dict,
                   outcome: runner.Outcome) -> tuple[BatchScores, dict[str, float]]:
    """The batch's output read (scored by the task's scorer, or its own metrics per case) and
    the run's metrics: each the mean over the cases; a timing metric the task did not report
    on every case is milliseconds per case of the whole batch."""
    if task.scorer is not None:
        got = score_batch(cases, outcome.stdout, task.scorer, schemas)
        if got.error is not None:
            return got, {}
        return got, _case_metrics(task, suite, got.scores, outcome.duration_s)
    required = [m.name for m in suite.metrics if m.kind != "timing"]
    timing = [m.name for m in suite.metrics if m.kind == "timing"]
    got = batch_metrics(cases, outcome.stdout, required, timing)
    metrics = {name: sum(v) / len(v) for name, v in got.metrics.items()}
    for name in timing:
        metrics.setdefault(name, 1000.0 * outcome.duration_s / len(cases))
    return got, metrics


def run_check(
    check: Check, timeout: float, tree: Path, env: dict[str, str]
) -> tuple[Sample, list[str]]:
    junit = inside(tree, check.junit) if check.junit else None
    if junit is not None and junit.exists():
        junit.unlink()  # a stale report must not speak for this run
    outcome = runner.run(command_argv(check.run), cwd=tree, timeout=timeout, env=env)
    bad = _failed_start(outcome, timeout)
    if bad:
        return bad, []
    failed_tests = (
        junit_failures(junit.read_text(errors="replace")) if junit and junit.is_file() else []
    )
    if outcome.exit_code == 0:
        return Sample(status="ok", exit_code=0, duration_s=outcome.duration_s), failed_tests
    reason = f"failed: exited with code {outcome.exit_code}"
    if failed_tests:
        shown = ", ".join(failed_tests[:5]) + (" …" if len(failed_tests) > 5 else "")
        reason += f"; failing tests: {shown}"
    return (
        Sample(
            status="failed",
            failure="check_failed",
            reason=reason,
            exit_code=outcome.exit_code,
            duration_s=outcome.duration_s,
            output_tail=tail(outcome.output_tail),
        ),
        failed_tests,
    )


def write_results(results: Results, path: Path) -> None:
    """Written whole or not at all: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(results.model_dump_json(indent=2) + "\n")
    os.replace(tmp, path)
