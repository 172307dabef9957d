"""The built-in tuner for ``constant_tune``: measure each candidate value of one key against the
current value and propose the best only when it beats the current value with confidence. Pure:
parsing the options, choosing, counting the day's cycles, writing the proposal.

Confidence: the comparison of the candidate with the current value decides ``accept`` AND some
benchmark suite's score delta has a confidence interval entirely above zero. Noise (an interval
that straddles zero) proposes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.comparison.models import Comparison, SuiteComparison
from bot.core.edits import format_of
from bot.core.records import TuneCycle, TunedLine
from bot.core.yamldoc import YamlError, dump_yaml, load_yaml
from bot.errors import InputError, Problem

AUTHOR = "tuner"
BAD_SET = "expected FILE:KEY (e.g. config/router.yaml:routing.threshold)"
BAD_FORMAT = "{path!r} is not a YAML, JSON or TOML file"
NO_VALUES = "give at least one value (A,B,C)"
LIMIT_REACHED = ("{count} tuner cycle(s) ran in the last 24 hours; limits.max_tune_cycles_per_day "
                 "is {limit}")


@dataclass(frozen=True)
class Candidate:
    value: Any
    comparison: Comparison


@dataclass(frozen=True)
class Choice:
    value: Any
    suite: str
    delta: float
    ci: tuple[float, float]
    metric: str
    metric_delta: float


def parse_target(spec: str) -> tuple[str, str]:
    """``FILE:KEY`` -> (file, key). The last colon splits (keys have none; paths might)."""
    path, sep, key = spec.rpartition(":")
    if not sep or not path.strip() or not key.strip():
        raise InputError([Problem("--set", BAD_SET)])
    if format_of(path) is None:
        raise InputError([Problem("--set", BAD_FORMAT.format(path=path))])
    return path.strip(), key.strip()


def parse_values(text: str) -> list[Any]:
    """``A,B,C`` as YAML scalars: ``0.6`` a number, ``true`` a boolean, ``fast`` a string."""
    out: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = load_yaml(part)
        except YamlError:
            value = part
        out.append(part if isinstance(value, dict | list) or value is None else value)
    if not out:
        raise InputError([Problem("--values", NO_VALUES)])
    return out


def _confident(suite: SuiteComparison) -> tuple[float, float] | None:
    ci = suite.score_delta_ci
    if suite.kind != "benchmark" or suite.score_delta is None or ci is None:
        return None
    if ci.low is None or ci.high is None or ci.low <= 0:
        return None
    return ci.low, ci.high


def choose(candidates: Sequence[Candidate]) -> Choice | None:
    """The candidate that beats the current value by the most, with confidence; None when none
    does (all noise, or worse)."""
    best: Choice | None = None
    for c in candidates:
        if c.comparison.decision != "accept":
            continue
        for s in c.comparison.suites:
            ci = _confident(s)
            if ci is None or s.score_delta is None:
                continue
            improved = [m for m in s.metrics if m.kind == "score" and m.delta is not None
                        and m.verdict == "improved"]
            top = max(improved, key=lambda m: m.delta or 0.0) if improved else None
            choice = Choice(value=c.value, suite=s.id, delta=s.score_delta, ci=ci,
                            metric=top.name if top else s.id,
                            metric_delta=top.delta or 0.0 if top else s.score_delta)
            if best is None or choice.delta > best.delta:
                best = choice
    return best


def cycles_in_last_day(times: Iterable[datetime], now: datetime) -> int:
    since = now - timedelta(days=1)
    return sum(1 for t in times if since <= t <= now)


def cycle_record(now: datetime, path: str, key: str, candidates: Sequence[Candidate],
                 choice: Choice | None, proposal: str | None) -> TuneCycle:
    """What the data branch keeps of one cycle: enough to count cycles and to see why."""
    def line(c: Candidate) -> TunedLine:
        s = next((s for s in c.comparison.suites if s.score_delta is not None), None)
        ci = s.score_delta_ci if s else None
        return TunedLine(value=c.value, decision=c.comparison.decision,
                         suite=s.id if s else None, delta=s.score_delta if s else None,
                         ci=(ci.low, ci.high) if ci else None)

    return TuneCycle(at=now, path=path, key=key, candidates=[line(c) for c in candidates],
                     chosen=None if choice is None else choice.value, proposal=proposal)


def proposal_text(path: str, key: str, choice: Choice, candidates: Sequence[Candidate],
                  repeat: int | None) -> str:
    """The ``constant_tune`` proposal for the chosen value (the id is generated by PROPOSE)."""
    tried = {}
    for c in candidates:
        s = next((s for s in c.comparison.suites if s.id == choice.suite), None)
        if s is not None and s.score_delta is not None:
            ci = s.score_delta_ci
            low = ci.low if ci and ci.low is not None else float("nan")
            high = ci.high if ci and ci.high is not None else float("nan")
            tried[str(c.value)] = f"{s.score_delta:+.4f} [{low:+.4f}, {high:+.4f}]"
    data = {
        "title": f"Tune {key} in {path} to {choice.value}",
        "type": "constant_tune",
        "risk": "low",
        "rationale": (f"The tuner measured {len(candidates)} value(s) of {key}; {choice.value} "
                      f"beats the current value on suite {choice.suite} by {choice.delta:+.4f} "
                      f"(95% CI [{choice.ci[0]:+.4f}, {choice.ci[1]:+.4f}])."),
        "predicted_improvement": {"metric": choice.metric,
                                  "delta": round(choice.metric_delta, 6)},
        "author": AUTHOR,
        "evidence": {"suite": choice.suite, "score_delta_by_value": tried,
                     **({"repeat": repeat} if repeat else {})},
        "changes": [{"path": path, "set": {"key": key, "value": choice.value},
                     "rationale": f"best of the values the tuner measured on {choice.suite}"}],
    }
    return dump_yaml(data)
