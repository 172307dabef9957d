"""What a release's changelog entry says about the measurement: the comparison the bot posted on
the pull request, as the design's two kinds of lines.

``**Improvement**: accuracy +0.031 [+0.012, +0.050], no regression`` (the headline) and
``- accuracy: 0.842 -> 0.873 (+3.7%)`` (one per measured metric). A pull request that was never
evaluated (an improvement PR opened by hand and merged before the bot commented) is still
released: its entry says ``not measured`` instead of inventing numbers. Pure.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from bot.core.comparison.models import Comparison, MetricComparison, SuiteComparison
from bot.core.embed import extract
from bot.core.release.plan import ComparisonSummary
from bot.core.render import signed

EMBED_NAME = "comparison"
COMPARE_MARKER = "compare"
NOT_MEASURED = "not measured (the pull request carries no comparison by the bot)"
UNREADABLE = "not measured (the bot's comparison on the pull request could not be read)"
NOTHING_COMPARED = "nothing compared"
NO_REGRESSION = "no regression"
REGRESSED = "regressed: {names}"
UNCHANGED = "unchanged"
UNCHANGED_HEADLINE = "{name} unchanged ({estimate}: no change shown with confidence)"


def fmt_value(x: float) -> str:
    """Three significant digits, at least one decimal: 0.842, 41.0, 1234.5, 0.0123."""
    if x == 0 or not math.isfinite(x):
        return "0.0" if x == 0 else str(x)
    decimals = max(1, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{decimals}f}"


def _label(suite: SuiteComparison, m: MetricComparison, many: bool) -> str:
    return f"{suite.id}/{m.name}" if many else m.name


def _unchanged(m: MetricComparison) -> bool:
    """The comparison could not tell this metric's change from no change (its interval holds
    no change; a timing's, the floor): its point estimate is noise, and the entry says so."""
    return m.change == "unchanged"


def _estimate(m: MetricComparison) -> str:
    if m.kind == "timing" and m.ratio is not None:
        text = f"x{m.ratio:.2f}"
        if m.ci is not None and m.ci.low is not None and m.ci.high is not None:
            text += f" [{m.ci.low:.2f}, {m.ci.high:.2f}]"
        return text
    assert m.delta is not None
    text = signed(m.delta)
    if m.ci is not None and m.ci.low is not None and m.ci.high is not None:
        text += f" [{signed(m.ci.low)}, {signed(m.ci.high)}]"
    return text


def _headline(suite: SuiteComparison, m: MetricComparison, many: bool) -> str:
    name = _label(suite, m, many)
    if _unchanged(m):
        return UNCHANGED_HEADLINE.format(name=name, estimate=_estimate(m))
    return f"{name} {_estimate(m)}"


def _metric_line(suite: SuiteComparison, m: MetricComparison, many: bool) -> str | None:
    if m.base is None or m.cand is None:
        return None
    line = f"{_label(suite, m, many)}: {fmt_value(m.base)} -> {fmt_value(m.cand)}"
    notes = []
    if m.delta_pct is not None and math.isfinite(m.delta_pct):
        notes.append(f"{m.delta_pct:+.1f}%")
    if _unchanged(m):
        notes.append(UNCHANGED)
    return line + (f" ({', '.join(notes)})" if notes else "")


def _predicted(metrics: list[tuple[SuiteComparison, MetricComparison]], predicted: str | None
               ) -> tuple[SuiteComparison, MetricComparison] | None:
    """The measured metric the proposal predicted an improvement of (``accuracy`` or
    ``suite/accuracy``), when it was measured on both sides."""
    if not predicted:
        return None
    for s, m in metrics:
        if predicted in (m.name, f"{s.id}/{m.name}") and (
                m.delta is not None or (m.kind == "timing" and m.ratio is not None)):
            return s, m
    return None


_Pair = tuple[SuiteComparison, MetricComparison]


def _headline_metric(metrics: list[_Pair], predicted: str | None) -> _Pair | None:
    """The metric the headline tells (see :func:`comparison_summary`): the predicted one when it
    was measured; else the improved score that moved most, the timing that improved most, the
    score that moved most, the timing that moved most; None when nothing was measured."""
    chosen = _predicted(metrics, predicted)
    if chosen is not None:
        return chosen
    scores = [(s, m) for s, m in metrics if m.kind == "score" and m.delta is not None]
    improved = [p for p in scores if p[1].verdict == "improved" and not _unchanged(p[1])]
    if improved:
        return max(improved, key=lambda p: p[1].delta or 0.0)
    timings = [(s, m) for s, m in metrics if m.kind == "timing" and m.ratio is not None
               and m.verdict == "improved" and not _unchanged(m)]
    if timings:
        return min(timings, key=lambda p: p[1].ratio or 1.0)
    if scores:
        return max(scores, key=lambda p: abs(p[1].delta or 0.0))
    measured = [(s, m) for s, m in metrics
                if m.kind == "timing" and m.ratio is not None and m.ratio > 0]
    if measured:  # only timings, none faster with confidence: the one that moved most
        return max(measured, key=lambda p: abs(math.log(p[1].ratio or 1.0)))
    return None


def comparison_summary(comparison: Comparison, predicted: str | None = None) -> ComparisonSummary:
    """The headline and the metric lines of a comparison; the comparison itself is kept whole in
    ``details`` for the release record (the monitor compares against it later).

    The headline is the metric the proposal predicted (``predicted``), whatever it did: a reader
    checks the prediction against it. Without one, or when it was not measured, it is the
    improved score metric with the largest delta (a timing when only timings improved; else the
    score metric that moved most). A metric the comparison found ``unchanged`` (its interval
    holds no change) is never picked as an improvement and reads "unchanged", in the headline
    and in its line, whatever its point estimate. Then ``no regression`` or the metrics and
    checks that regressed."""
    suites = [s for s in comparison.suites if s.present == "both"]
    many = len({s.id for s in suites if s.metrics}) > 1
    metrics = [(s, m) for s in suites for m in s.metrics]
    lines = [line for s, m in metrics if (line := _metric_line(s, m, many)) is not None]
    chosen = _headline_metric(metrics, predicted)
    head = _headline(*chosen, many) if chosen is not None else None
    regressed = [_label(s, m, many) for s, m in metrics if m.verdict == "regressed"]
    regressed += [f"check {c.id}" for s in comparison.suites for c in s.checks
                  if c.verdict in ("new failure", "still failing")]
    tail = REGRESSED.format(names=", ".join(regressed)) if regressed else NO_REGRESSION
    if head is None and not any(s.checks for s in suites):
        improvement = NOTHING_COMPARED
    else:
        improvement = f"{head}, {tail}" if head else tail
    if comparison.decision != "accept":
        # merged anyway (a person approved an inconclusive result, or overrode a rejection)
        improvement += f" (the comparison said {comparison.decision})"
    return ComparisonSummary(
        improvement=improvement,
        metrics=lines,
        decision=comparison.decision,
        details=comparison.model_dump(mode="json"),
    )


def summary_from_comment(body: str | None, predicted: str | None = None) -> ComparisonSummary:
    """The summary of the comparison embedded in the bot's ``compare`` comment; ``not measured``
    when there is no such comment or its data does not read as a comparison. ``predicted``: the
    metric the proposal predicted, the headline's."""
    if body is None:
        return ComparisonSummary(improvement=NOT_MEASURED)
    data: Any = extract(body, EMBED_NAME)
    if not isinstance(data, dict):
        return ComparisonSummary(improvement=UNREADABLE)
    try:
        comparison = Comparison.model_validate(data)
    except ValidationError:
        return ComparisonSummary(improvement=UNREADABLE)
    return comparison_summary(comparison, predicted)
