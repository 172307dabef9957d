"""Builders for small results objects in COMPARE tests, made with the models directly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bot.core.results import Environment, Results, Sample, Shard, SuiteResult, TaskResult
from bot.core.suites import Metric

BASE_SHA = "a" * 40
CAND_SHA = "b" * 40

ENV = Environment(python="3.11.9", implementation="CPython", platform="Linux", machine="x86_64",
                  cpu_count=2, improve="0.1.0")

ACC = Metric(name="accuracy", direction="higher", kind="score", weight=2)
LAT = Metric(name="latency_ms", direction="lower", kind="timing")


def sample(**metrics: float) -> Sample:
    return Sample(status="ok", metrics=dict(metrics), duration_s=0.1)


def failed_sample(reason: str = "crashed", tail: str = "Traceback ...") -> Sample:
    return Sample(status="failed", duration_s=0.1, exit_code=1, reason=reason, output_tail=tail)


def task(tid: str, values: Mapping[str, Sequence[float]] | None = None,
         *, status: str = "ok", reason: str | None = None, tail: str = "",
         failures: Sequence[str] = ()) -> TaskResult:
    """A task whose samples carry ``values[metric][i]`` on repeat i; a failed task gets one
    failed sample with ``tail``."""
    if status == "failed":
        return TaskResult(id=tid, status="failed", reason=reason or "crashed",
                          samples=[failed_sample(reason or "crashed", tail)],
                          failures=list(failures))
    values = values or {}
    repeats = max((len(v) for v in values.values()), default=1)
    samples = []
    for i in range(repeats):
        metrics = {name: float(v[i]) for name, v in values.items() if i < len(v)}
        samples.append(Sample(status="ok", metrics=metrics, duration_s=0.1, exit_code=0))
    return TaskResult(id=tid, status="ok", samples=samples)


def check(cid: str, ok: bool = True, tail: str = "", failures: Sequence[str] = ()) -> TaskResult:
    if ok:
        return TaskResult(id=cid, status="ok", samples=[
            Sample(status="ok", duration_s=0.1, exit_code=0)])
    return TaskResult(id=cid, status="failed", reason="exit code 1", failures=list(failures),
                      samples=[Sample(status="failed", duration_s=0.1, exit_code=1,
                                      reason="exit code 1", output_tail=tail)])


def bench(sid: str, tasks: Sequence[TaskResult], metrics: Sequence[Metric] = (ACC,),
          *, minimum: float | None = None, repeat: int = 5,
          definition_hash: str = "sha256:one") -> SuiteResult:
    return SuiteResult(id=sid, kind="benchmark", path=f"benchmarks/{sid}.yaml",
                       definition_hash=definition_hash, targets=["**"], minimum=minimum,
                       repeat=repeat, metrics=list(metrics), tasks=list(tasks))


def regression(sid: str, checks: Sequence[TaskResult],
               definition_hash: str = "sha256:reg") -> SuiteResult:
    return SuiteResult(id=sid, kind="regression", path=f"regressions/{sid}.yaml",
                       definition_hash=definition_hash, targets=["**"], repeat=1, metrics=[],
                       tasks=list(checks))


def results(suites: Sequence[SuiteResult], *, commit: str = BASE_SHA, ref: str = "main",
            shard: Shard | None = None) -> Results:
    return Results(commit=commit, ref=ref, created_at="2026-11-21T00:00:00Z", environment=ENV,
                   suites=list(suites), shard=shard)


def simulated_pair(
    *, n_tasks: int, repeats: int, effect: float, noise: float, seed: int,
    base_level: tuple[float, float] = (0.55, 0.9), metric: Metric = ACC,
    timing: bool = False,
) -> tuple[Results, Results]:
    """Baseline and candidate results for one suite whose true per-task effect is ``effect``
    (in the score's units) with Gaussian noise of ``noise`` per sample."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(*base_level, size=n_tasks)
    metrics = [metric] + ([LAT] if timing else [])
    btasks, ctasks = [], []
    for i, level in enumerate(levels):
        b = level + rng.normal(0, noise, repeats)
        c = level + effect + rng.normal(0, noise, repeats)
        bv: dict[str, list[float]] = {metric.name: list(b)}
        cv: dict[str, list[float]] = {metric.name: list(c)}
        if timing:
            t = 40.0 + 10 * i
            bv["latency_ms"] = list(t * rng.lognormal(0, 0.05, repeats))
            cv["latency_ms"] = list(t * rng.lognormal(0, 0.05, repeats))
        btasks.append(task(f"t{i:04d}", bv))
        ctasks.append(task(f"t{i:04d}", cv))
    base = results([bench("sim", btasks, metrics, repeat=repeats)])
    cand = results([bench("sim", ctasks, metrics, repeat=repeats)], commit=CAND_SHA,
                   ref="improve/x")
    return base, cand
