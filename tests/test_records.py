"""The data branch's records: what the release stage writes is what readers can load."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.core.records import (
    MonitorRecord,
    MonitorRun,
    ReleaseRecord,
    monitor_path,
    record_json,
    release_path,
)
from bot.core.release import ReleasePlan
from tests.test_release_plan import merged, plan


def test_a_release_plans_record_loads_as_a_release_record() -> None:
    result = plan(merged())
    assert isinstance(result, ReleasePlan)
    # through JSON, as the data branch stores it
    record = ReleaseRecord.model_validate(json.loads(json.dumps(record_json(result.record))))
    assert record.tag == result.tag and record.pr == result.pr
    assert record.monitor.state == "watching" and record.monitor.until > record.merged_at
    assert result.record_path == release_path(result.tag)


def test_a_monitor_record_round_trips() -> None:
    at = datetime(2026, 11, 21, 12, tzinfo=UTC)
    rec = MonitorRecord(version="1.4.0", tag="v1.4.0", pr=42, until=at)
    rec.runs.append(
        MonitorRun(
            at=at,
            commit="a" * 40,
            changes={"s": -0.04},
            worst=-0.04,
            past_warning=True,
            change_ci={"s": (-0.06, -0.02)},
        )
    )
    again = MonitorRecord.model_validate_json(rec.model_dump_json())
    assert again == rec and again.runs[0].change_ci["s"] == (-0.06, -0.02)
    assert monitor_path("v1.4.0") == "monitors/v1.4.0.json"
