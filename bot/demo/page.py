"""The demo's HTML page: one self-contained file (inline CSS and SVG, no script, nothing fetched)
with the transcript, every pull request and its comments rendered from Markdown, the changelog,
and the metric history of the default branch (each commit's results on the data branch)."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

from bot.core.render import render
from bot.demo.story import Step

# tags the bot's own comments use; everything else stays escaped text (comments are untrusted)
_ALLOWED = re.compile(r"&lt;(/?)(details|summary|br|sub|sup)&gt;")
# the bot's markers and embedded data: hidden on GitHub, hidden here
_HIDDEN = re.compile(r"<!--.*?-->", re.S)
_COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df"]


def markdown_html(text: str) -> str:
    """Markdown as GitHub shows a comment, with raw HTML escaped but for a few inert tags."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.enable("strikethrough")
    return _ALLOWED.sub(r"<\1\2>", md.render(_HIDDEN.sub("", text)))


@dataclass(frozen=True)
class Point:
    label: str  # the tag at the commit, else its short SHA
    commit: str
    values: dict[str, float]  # "suite/metric" -> the mean over its tasks


def point_of(label: str, results: dict[str, Any]) -> Point:
    """The mean of each benchmark metric over a results file's tasks."""
    values: dict[str, float] = {}
    for suite in results.get("suites", []):
        if suite.get("kind") != "benchmark":
            continue
        for metric in suite.get("metrics", []):
            name = metric["name"]
            per_task = []
            for task in suite.get("tasks", []):
                got = [s["metrics"][name] for s in task.get("samples", [])
                       if name in s.get("metrics", {})]
                if got:
                    per_task.append(sum(got) / len(got))
            if per_task:
                values[f"{suite['id']}/{name}"] = sum(per_task) / len(per_task)
    return Point(label, str(results.get("commit", "")), values)


def chart_svg(points: Sequence[Point], width: int = 760, height: int = 280) -> str:
    """A line per metric over the points, as inline SVG (values in [0, 1] on a fixed axis)."""
    names = sorted({k for p in points for k in p.values})
    left, right, top, bottom = 50, 180, 20, 60
    w, h = width - left - right, height - top - bottom
    n = max(len(points) - 1, 1)
    lo = min((v for p in points for v in p.values.values()), default=0.0)
    lo = min(0.5, max(0.0, (int(lo * 10) / 10)))

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + w * i / n, top + h * (1 - (v - lo) / (1 - lo or 1))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
             "<title>Metric history of main</title>"]
    for k in range(6):
        v = lo + (1 - lo) * k / 5
        _, y = xy(0, v)
        parts.append(f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#d0d7de"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{v:.2f}</text>')
    for i, p in enumerate(points):
        x, _ = xy(i, lo)
        parts.append(f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="end" font-size="10" '
                     f'transform="rotate(-35 {x:.1f} {top + h + 16})">'
                     f"{html.escape(p.label)}</text>")
    for j, name in enumerate(names):
        color = _COLORS[j % len(_COLORS)]
        coords = [xy(i, p.values[name]) for i, p in enumerate(points) if name in p.values]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline class="series" data-metric="{html.escape(name)}" fill="none" '
                     f'stroke="{color}" stroke-width="2" points="{path}"/>')
        for x, y in coords:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
        ly = top + 14 + 18 * j
        parts.append(f'<rect x="{left + w + 14}" y="{ly - 9}" width="10" height="10" '
                     f'fill="{color}"/><text x="{left + w + 30}" y="{ly}" font-size="12">'
                     f"{html.escape(name)}</text>")
    parts.append("</svg>")
    return "\n".join(parts)


def page(steps: Sequence[Step], state: dict[str, Any], changelog: str,
         points: Sequence[Point]) -> str:
    """The whole page from what the demo ended with (the sandbox's state of the repository)."""
    pulls = []
    for pr in state["pulls"]:
        comments = [{"user": c["user"], "html": markdown_html(c["body"])}
                    for c in state["comments"] if c["issue_number"] == pr["number"]]
        status = "merged" if pr["merged"] else pr["state"]
        pulls.append({"number": pr["number"], "title": pr["title"], "status": status,
                      "labels": pr["labels"], "head": pr["head"], "user": pr["user"],
                      "body": markdown_html(pr["body"] or ""), "comments": comments})
    table = [{"label": p.label, "values": p.values} for p in points]
    names = sorted({k for p in points for k in p.values})
    return render("demo.html.j2", repo=state["full_name"], steps=steps, pulls=pulls,
                  changelog=markdown_html(changelog), chart=chart_svg(points), history=table,
                  metrics=names, tags=sorted(state["tags"]))
