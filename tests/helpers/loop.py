"""Builders for the dashboard, alerts, effectiveness and tuner tests: records made with the
data-branch models (bot/core/records.py), runs, and a small tunable repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.analytics.trends import RunSummary
from bot.core.records import MonitorRecord, MonitorRun, ReleaseRecord

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def release(version: str, days_ago: float, *, rollback_of: str | None = None,
            author: str = "tuner", ptype: str = "constant_tune", pid: str | None = None,
            path: str = "config/router.yaml", what: str = "routing.threshold 0.55 -> 0.62",
            decision: str = "accept", delta: float | None = 0.03,
            state: str = "watching") -> ReleaseRecord:
    at = NOW - timedelta(days=days_ago)
    proposal = None if rollback_of else {
        "id": pid or f"prop-{version.replace('.', '-')}", "type": ptype, "risk": "low",
        "breaking": False, "title": f"Tune to {version}", "rationale": "r", "author": author,
        "changes": [{"path": path, "what": what, "why": "because"}]}
    metrics = [] if delta is None else [{"name": "accuracy", "delta": delta}]
    return ReleaseRecord(
        version=version, tag=f"v{version}", previous=None, date=at.date().isoformat(),
        released_at=at, pr=int(version.replace(".", "")) or 1, merge_sha="a" * 40, merged_at=at,
        proposal=proposal,
        rollback={"version": rollback_of, "restores": "1.0.0", "reason": "accuracy fell",
                  "evidence": []} if rollback_of else None,
        comparison={"decision": decision, "improvement": "accuracy +0.030",
                    "details": {"suites": [{"id": "s", "metrics": metrics}]}},
        monitor={"window_days": 7, "until": at + timedelta(days=7), "state": state})


def monitor(tag: str, worsts: list[float | None], state: str = "watching",
            failed: list[list[str]] | None = None) -> MonitorRecord:
    runs = []
    for i, w in enumerate(worsts):
        runs.append(MonitorRun(
            at=NOW - timedelta(hours=len(worsts) - i), commit=f"{i + 1:040x}",
            changes={"router-v1": w}, worst=w,
            failed_tasks=(failed[i] if failed else [])))
    return MonitorRecord(version=tag.lstrip("v"), tag=tag, pr=1, state=state,  # type: ignore[arg-type]
                         until=NOW + timedelta(days=3), runs=runs)


def runs(failed: list[set[str]], scores: list[float] | None = None,
         suite: str = "s") -> list[RunSummary]:
    """Runs an hour apart, oldest first, ending an hour before NOW."""
    n = len(failed)
    out = []
    for i, f in enumerate(failed):
        sc = {suite: scores[i]} if scores else {}
        out.append(RunSummary(at=NOW - timedelta(hours=n - i), commit=f"{i + 1:040x}",
                              source="x", scores=sc, suites=frozenset({suite}),
                              failed=frozenset(f)))
    return out


TUNE_CONFIG = "compare:\n  resamples: 1000\nlimits:\n  max_tune_cycles_per_day: {cycles}\n"
SCORE_PY = '''\
"""A scored task: "true" mode scores the knob (best at 3), "noise" mode ignores it and returns
noise seeded by the file's text and the task, so each value gets its own draw."""
import hashlib
import json
import os
import sys
from pathlib import Path

text = Path("config/knob.yaml").read_text()
knob = float(text.split(":", 1)[1].split("#")[0])
task = os.environ["IMPROVE_TASK"]
if sys.argv[1] == "true":
    score = 1 - abs(knob - 3) / 10
else:
    h = hashlib.sha256((text + task).encode()).digest()
    score = 0.5 + (h[0] - 127.5) / 255 * 0.2
print(json.dumps({"score": score}))
'''


def suite_yaml(sid: str, mode: str, targets: str, tasks: int = 6) -> str:
    lines = [f"id: {sid}", f"targets: [{targets}]", "repeat: 1",
             "metrics:", "  - {name: score, direction: higher}", "tasks:"]
    lines += [f"  - {{id: t{i}, run: python score.py {mode}}}" for i in range(1, tasks + 1)]
    return "\n".join(lines) + "\n"


def tune_files(cycles: int = 4) -> dict[str, str]:
    return {".github/improve.yml": TUNE_CONFIG.format(cycles=cycles),
            "config/knob.yaml": "knob: 1  # the tuned constant\n",
            "score.py": SCORE_PY,
            "benchmarks/knob.yaml": suite_yaml("knob-v1", "true", "config/knob.yaml"),
            "benchmarks/noise.yaml": suite_yaml("noise-v1", "noise", "score.py"),
            "README.md": "tunable\n"}


def as_json(record: Any) -> Any:
    return record.model_dump(mode="json")
