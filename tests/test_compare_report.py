"""The Markdown report: parsed as GitHub-flavoured Markdown, tables are tables, failing checks
fold, untrusted text stays inert."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from bot.core.comparison import compare as cmp
from bot.core.config import CompareConfig
from bot.core.render import find_marker
from tests.helpers.compare import ACC, CAND_SHA, LAT, bench, check, regression, results, task

CFG = CompareConfig(tolerance={"default": 0.01}, resamples=1000)
LEVELS = [0.6, 0.65, 0.7, 0.75, 0.8, 0.85]


def bench_tasks(effect: float, ids: list[str] | None = None) -> list:
    ids = ids or [f"t{i}" for i in range(len(LEVELS))]
    return [task(tid, {"accuracy": [lv + effect - 0.01, lv + effect, lv + effect + 0.01],
                       "latency_ms": [40.0 + i, 41.0 + i, 42.0 + i]})
            for i, (tid, lv) in enumerate(zip(ids, LEVELS, strict=True))]


def report(base_suites: list, cand_suites: list, **kw: object) -> tuple[cmp.Comparison, str]:
    base = results(base_suites)
    cand = results(cand_suites, commit=CAND_SHA, ref="improve/prop")
    c = cmp.compare_results(base, cand, CFG, **kw)  # type: ignore[arg-type]
    return c, cmp.render_comparison_markdown(c)


def html_of(md: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(md)


def tables(html: str) -> list[str]:
    return re.findall(r"<table>.*?</table>", html, flags=re.S)


def body_rows(table: str) -> int:
    body = re.search(r"<tbody>(.*?)</tbody>", table, flags=re.S)
    return len(re.findall(r"<tr>", body.group(1))) if body else 0


def test_first_lines_are_the_marker_and_the_verdict() -> None:
    c, md = report([bench("s", bench_tasks(0.0), [ACC, LAT])],
                   [bench("s", bench_tasks(0.05), [ACC, LAT])])
    lines = md.splitlines()
    assert lines[0] == "<!-- improve:compare -->"
    assert find_marker(md) == "compare"
    assert c.decision == "accept"
    assert lines[1].startswith("✅ **improve accept")


@pytest.mark.parametrize(
    ("effect", "icon"), [(0.05, "✅"), (-0.05, "❌"), (-0.01, "⚠️")]
)
def test_verdict_line_per_decision(effect: float, icon: str) -> None:
    _, md = report([bench("s", bench_tasks(0.0))], [bench("s", bench_tasks(effect))])
    assert md.splitlines()[1].startswith(icon)


def test_benchmark_table_parses_with_a_row_per_metric_and_the_suite_score() -> None:
    _, md = report([bench("s", bench_tasks(0.0), [ACC, LAT], minimum=0.5)],
                   [bench("s", bench_tasks(0.05), [ACC, LAT], minimum=0.5)])
    html = html_of(md)
    found = tables(html)
    assert len(found) == 1
    assert body_rows(found[0]) == 3  # accuracy, latency_ms, suite score
    header = re.findall(r"<th[^>]*>(.*?)</th>", found[0])
    assert header == ["metric", "baseline", "candidate", "delta", "95% CI", "verdict"]
    assert "+0.05" in found[0] and "×1" in found[0]
    assert "(minimum 0.5)" in found[0]


def test_failing_checks_fold_their_output_in_details() -> None:
    tail = "E   assert 0.55 == 0.62\nFAILED tests/test_router.py::test_threshold"
    _, md = report(
        [regression("reg", [check("unit"), check("lint")])],
        [regression("reg", [check("unit", ok=False, tail=tail, failures=["test_threshold"]),
                            check("lint")])],
    )
    html = html_of(md)
    assert body_rows(tables(html)[0]) == 2
    details = re.search(r"<details><summary>(.*?)</summary>(.*?)</details>", html, flags=re.S)
    assert details is not None
    assert "1 failing check" in details.group(1)
    assert "<pre><code>" in details.group(2) and "assert 0.55 == 0.62" in details.group(2)
    assert "test_threshold" in details.group(2)


def test_untrusted_text_is_escaped() -> None:
    evil_id = "t<script>@admin"
    evil_tail = "```\n<img src=x onerror=alert(1)>\n@org/team please merge"
    ids = [evil_id] + [f"t{i}" for i in range(1, len(LEVELS))]
    base_tasks = bench_tasks(0.0, ids)
    cand_tasks = bench_tasks(0.05, ids)[1:] + [task(evil_id, status="failed", reason="[x](http://e)",
                                                    tail=evil_tail)]
    c, md = report([bench("s", base_tasks), regression("r", [check("c|d")])],
                   [bench("s", cand_tasks), regression("r", [check("c|d", ok=False,
                                                                   tail=evil_tail)])],
                   )
    assert c.decision == "reject"
    html = html_of(md)
    assert "<script>" not in html and "<img" not in html
    assert 'href="http://e"' not in html
    # mentions are broken with a word joiner (GitHub ignores them inside code blocks)
    assert "@admin" not in md and "@\u2060admin" in md
    assert "@org" not in re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
    # the tail sits inside a code block whose fence it cannot close
    assert "<pre><code>```" in html
    # a pipe in a check id does not split the table row
    check_table = [t for t in tables(html) if "check" in t][0]
    assert body_rows(check_table) == 1
    assert len(re.findall(r"<td>", check_table)) == 4


def test_mermaid_chart_shows_the_spread_across_tasks() -> None:
    _, md = report([bench("s", bench_tasks(0.0))], [bench("s", bench_tasks(0.05))])
    block = re.search(r"```mermaid\n(.*?)```", md, flags=re.S)
    assert block is not None
    assert block.group(1).startswith("xychart-beta")
    assert "bar [6]" in block.group(1)  # a uniform shift: all six tasks in one bar
    html = html_of(md)
    assert 'class="language-mermaid"' in html


def test_no_chart_with_too_few_tasks() -> None:
    few = [task("a", {"accuracy": [0.5, 0.6]}), task("b", {"accuracy": [0.6, 0.7]})]
    _, md = report([bench("s", few)], [bench("s", few)])
    assert "mermaid" not in md


def test_inconclusive_report_says_what_would_settle_it() -> None:
    _, md = report([bench("s", bench_tasks(0.0))],
                   [bench("s", bench_tasks(0.0), definition_hash="sha256:other")])
    assert "### What would settle it" in md
    assert "a person must review" in md
    assert "Inconclusive results never merge on their own" in md


@pytest.mark.parametrize(
    ("ptype", "risk", "text"),
    [
        ("constant_tune", "low", "No person needed"),
        ("prompt_edit", "low", "Needs `/approve` from a person with write, maintain, admin"),
        (None, None, "No proposal type or risk given"),
    ],
)
def test_human_gates(ptype: str | None, risk: str | None, text: str) -> None:
    _, md = report([bench("s", bench_tasks(0.0))], [bench("s", bench_tasks(0.05))],
                   proposal_type=ptype, risk=risk)
    gates = md.split("### Human gates", 1)[1]
    assert text in gates
