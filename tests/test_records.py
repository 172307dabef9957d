"""The data branch's records: what the release stage writes is what readers can load."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.core.records import (
    MonitorRecord,
    MonitorRun,
    ReleaseRecord,
    TuneCycle,
    TunedLine,
    is_record_path,
    monitor_path,
    record_json,
    release_path,
    sort_records,
    tuning_path,
)
from bot.core.release.plan import ReleasePlan
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


AT = datetime(2026, 11, 30, 23, 40, 5, 123456, tzinfo=UTC)


def cycle(**given: object) -> dict[str, object]:
    """A tuner cycle as the tuner writes it, with ``given`` keys replaced."""
    rec = TuneCycle(at=AT, path="config/knob.yaml", key="knob", chosen=3, proposal="tune-knob",
                    candidates=[TunedLine(value=3, decision="accept", suite="s", delta=0.2,
                                          ci=(0.1, 0.3))])
    return {**record_json(rec), **given}


def test_a_tuner_cycle_is_written_as_it_always_was_with_its_schema() -> None:
    data = cycle()
    assert data == {
        "kind": "tune", "schema": 1, "at": "2026-11-30T23:40:05.123456+00:00",
        "path": "config/knob.yaml", "key": "knob", "chosen": 3, "proposal": "tune-knob",
        "candidates": [{"value": 3, "decision": "accept", "suite": "s", "delta": 0.2,
                        "ci": [0.1, 0.3]}]}
    assert tuning_path(AT, "config/knob.yaml", "knob") == \
        "tuning/20261130T234005123456-config-knob-yaml-knob.json"


OWN = tuning_path(AT, "config/knob.yaml", "knob")


@pytest.mark.parametrize(("path", "data", "damaged"), [
    (OWN, cycle(), None),
    # written before the schema key: read
    (OWN, {k: v for k, v in cycle().items() if k != "schema"}, None),
    # a time without its zone is UTC (and still its own path's)
    (OWN, cycle(at="2026-11-30T23:40:05.123456"), None),
    (OWN, cycle(schema=2), "has schema version 2; this bot reads up to 1"),
    (OWN, cycle(at="yesterday"), "is not a tuner cycle record (at: "),
    (OWN.replace("knob.json", "other.json"), cycle(), "is the cycle of " + OWN),
    (OWN, "{", "does not parse as JSON"),
])
def test_tuner_cycles_are_read_and_checked_like_every_record(
        path: str, data: object, damaged: str | None) -> None:
    blob = data if isinstance(data, str) else json.dumps(data)
    found = sort_records({path: blob}, tags=[])
    if damaged is None:
        assert found.damaged == []
        (only,) = found.tunings
        assert only.at == AT and only.chosen == 3 and only.candidates[0].ci == (0.1, 0.3)
    else:
        assert found.tunings == []
        (line,) = found.damaged
        assert line.startswith(f"{path}: {damaged}")


@pytest.mark.parametrize(("path", "tuning", "read"), [
    ("releases/v1.0.0.json", False, True),
    ("monitors/v1.0.0.json", False, True),
    ("tuning/20261130T234005123456-k.json", False, False),
    ("tuning/20261130T234005123456-k.json", True, True),
    ("results/abc.json", True, False),
    ("releases/v1.0.0.txt", True, False),
])
def test_which_files_the_reader_reads(path: str, tuning: bool, read: bool) -> None:
    assert is_record_path(path, tuning=tuning) is read
