"""The Markdown report of a comparison (the PR comment's and ``improve compare``'s): numbers
formatted, a chart per suite, the rendered template."""

from __future__ import annotations

import math

from bot.core.comparison.models import (
    Comparison,
    Interval,
    MetricComparison,
    SuiteComparison,
)

ICONS = {"accept": "✅", "reject": "❌", "inconclusive": "⚠️"}


def fmt_num(x: float | None) -> str:
    """A number for a table cell: four significant digits, big numbers without exponents."""
    if x is None or not math.isfinite(x):
        return "n/a"
    if abs(x) >= 10000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def fmt_signed(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return ("+" if x >= 0 else "−") + fmt_num(abs(x))


def fmt_pct(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return ("+" if x >= 0 else "−") + f"{abs(x):.3g}%"


def fmt_ci(ci: Interval | None) -> str:
    if ci is None or ci.low is None or ci.high is None:
        return "n/a"
    return f"[{fmt_signed(ci.low)}, {fmt_signed(ci.high)}]"


def fmt_ratio(x: float | None) -> str:
    return "n/a" if x is None else "×" + fmt_num(x)


def fmt_ratio_ci(ci: Interval | None) -> str:
    if ci is None or ci.low is None or ci.high is None:
        return "n/a"
    return f"[{fmt_ratio(ci.low)}, {fmt_ratio(ci.high)}]"


def fmt_tolerance(m: MetricComparison) -> str:
    if m.kind == "timing":
        return f"floor {m.tolerance:.0%}"
    return fmt_num(m.tolerance)


def chart_of(s: SuiteComparison) -> dict[str, str] | None:
    """The Mermaid bar chart of tasks by delta for the suite's heaviest gating score metric:
    the spread across tasks is what the table's single interval cannot show."""
    if s.present != "both":
        return None
    candidates = [m for m in s.metrics if m.kind == "score" and m.gate and m.histogram]
    if not candidates:
        return None
    m = max(candidates, key=lambda x: x.weight)
    h = m.histogram
    assert h is not None
    edges = [e if e is not None else 0.0 for e in h.edges]
    centers = [(edges[i] + edges[i + 1]) / 2 for i in range(len(h.counts))]
    return {
        "title": f"{m.name}: tasks by delta",
        "labels": ", ".join(f'"{fmt_signed(x)}"' for x in centers),
        "counts": ", ".join(str(n) for n in h.counts),
    }


def render_comparison_markdown(comparison: Comparison) -> str:
    """The PR comment (and job summary): a one-line verdict first, then per suite a table."""
    from bot.core.render import render

    return render(
        "compare.md.j2", c=comparison, icon=ICONS, num=fmt_num, signed=fmt_signed, pct=fmt_pct,
        ci=fmt_ci, ratio=fmt_ratio, ratio_ci=fmt_ratio_ci, tol=fmt_tolerance, chart_of=chart_of,
    )
