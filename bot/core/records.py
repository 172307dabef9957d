"""The records on the data branch, as models: where each kind lives, what it holds, how it is read
and how it is written. Every record the bot keeps there is defined here and nowhere else.

Writers: the release stage (``releases/<tag>.json``, ``results/<sha>.json``), the monitor
(``monitors/<tag>.json``, and the window state of a release record), the tuner
(``tuning/<time>-<file>-<key>.json``). Readers: the monitor, the limits, the dashboard,
``improve propose``, ``improve history``, the tuner's daily limit; all read the records through
one reader, ``DataStore.records`` (bot/adapters/datastore.py), which checks them with
``sort_records`` below. Everything written goes through ``record_json``.
Records written by an older bot may carry more keys; readers keep what they know."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

# the version of the record format this bot writes and reads; a record from a newer bot
# (a higher ``schema``) is reported as damaged rather than misread
RECORD_SCHEMA = 1
RELEASES_DIR = "releases"
MONITORS_DIR = "monitors"
RESULTS_DIR = "results"
TUNING_DIR = "tuning"


def as_utc(dt: datetime) -> datetime:
    """A time as an aware one: a naive time (an older record's) is taken as UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def release_path(tag: str) -> str:
    return f"{RELEASES_DIR}/{tag}.json"


def monitor_path(tag: str) -> str:
    return f"{MONITORS_DIR}/{tag}.json"


def results_path(sha: str) -> str:
    return f"{RESULTS_DIR}/{sha}.json"


def tuning_path(at: datetime, file: str, key: str) -> str:
    """A tuner cycle's record: by its time (to the microsecond), then what it tuned."""
    slugged = re.sub(r"[^a-z0-9]+", "-", f"{file}-{key}".lower()).strip("-")[:60]
    return f"{TUNING_DIR}/{at.strftime('%Y%m%dT%H%M%S%f')}-{slugged}.json"


def is_record_path(path: str, *, tuning: bool = False) -> bool:
    """A release or monitor record's path (what ``sort_records`` reads); with ``tuning``, a
    tuner cycle's too."""
    dirs = (RELEASES_DIR, MONITORS_DIR, *((TUNING_DIR,) if tuning else ()))
    return path.endswith(".json") and path.startswith(tuple(d + "/" for d in dirs))


class Lenient(BaseModel):
    # ``schema`` is written by its name (a pydantic model has a ``schema`` method of its own)
    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


class MonitorWindow(Lenient):
    window_days: float
    until: datetime
    state: Literal["watching", "kept", "rolled_back"] = "watching"

    @field_serializer("until", when_used="json")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()  # as release records have always been written: "+00:00"


class ReleaseRecord(Lenient):
    """``releases/<tag>.json``: planned by bot/core/release/plan.py, written once by the release
    stage (with the release commit, the PR's address and the results measured on it); afterwards
    only its window's state changes (``set_release_state``)."""

    # NaN in a comparison's details is written as NaN, as json.dumps always wrote it here
    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True, ser_json_inf_nan="constants")

    kind: Literal["release"] = "release"
    schema_version: int = Field(RECORD_SCHEMA, alias="schema", le=RECORD_SCHEMA, ge=1)
    version: str
    tag: str
    previous: str | None = None
    date: str
    released_at: datetime
    pr: int
    merge_sha: str
    merged_at: datetime
    proposal: dict[str, Any] | None = None
    rollback: dict[str, Any] | None = None
    comparison: dict[str, Any] = Field(default_factory=dict)
    metrics: list[str] = Field(default_factory=list)
    monitor: MonitorWindow
    # the release commit and the results measured on it at release (the monitor's reference)
    release_commit: str | None = None
    results: str | None = None
    pr_url: str | None = None

    @field_serializer("released_at", "merged_at", when_used="json")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()  # as release records have always been written: "+00:00"


MonitorState = Literal["watching", "warned", "rollback_opened", "rolled_back", "kept"]


class MonitorRun(Lenient):
    at: datetime
    commit: str
    results: str | None = None  # results_path of this run's measurement
    # per suite: the relative change of the suite score against the reference, with its CI
    changes: dict[str, float | None] = Field(default_factory=dict)
    change_ci: dict[str, tuple[float | None, float | None]] = Field(default_factory=dict)
    worst: float | None = None  # the most negative relative change over the suites
    past_warning: bool = False
    past_rollback: bool = False  # past the rollback threshold with confidence
    failed_tasks: list[str] = Field(default_factory=list)  # "suite/task" failing in this run
    note: str | None = None
    # the GitHub Actions run this measurement was made for (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT):
    # a re-run of the same run measures again but counts once
    run_id: int | None = None
    run_attempt: int | None = None
    # the confidence of the intervals (compare.confidence); None in records written before
    confidence: float | None = None


class BisectProbe(Lenient):
    """One measurement of a commit of the bisected line against the release's measurement."""

    commit: str
    verdict: Literal["worse", "same", "unsettled"]
    changes: dict[str, float | None] = Field(default_factory=dict)
    change_ci: dict[str, tuple[float | None, float | None]] = Field(default_factory=dict)
    results: str | None = None  # results_path of the measurement
    reused: bool = False  # stored on the data branch already (no task run)
    runs: int = 0  # task runs it cost


class Bisection(Lenient):
    """Where a confirmed drop came from (see bot/core/bisect.py), kept in the monitor record."""

    state: Literal["found", "vanished", "no_culprit", "exhausted", "not_on_line"]
    reason: str
    reference: str  # the release's measured commit (index 0 of the line)
    head: str
    commits: int  # commits on the line after the release commit
    suites: list[str] = Field(default_factory=list)  # the suites that dropped, measured
    good: str | None = None  # the narrowed range: the drop is after good, at or before bad
    bad: str | None = None
    culprit: str | None = None
    culprit_is_release: bool = False  # the release's own change (its merge or squash commit)
    culprit_pr: int | None = None
    culprit_author: str | None = None
    culprit_subject: str | None = None
    culprit_release: str | None = None  # the tag, when the culprit is another improvement's
    step: dict[str, tuple[float | None, float | None, float | None]] = Field(
        default_factory=dict)  # the culprit against its parent: suite -> (change, low, high)
    probes: list[BisectProbe] = Field(default_factory=list)
    runs: int = 0  # task runs spent
    minutes: float = 0.0
    # the confidence of the intervals (compare.confidence); None in records written before
    confidence: float | None = None
    issue: int | None = None  # the opportunity issue naming the culprit


class MonitorRecord(Lenient):
    """``monitors/<tag>.json``: one per release in its window, appended by each monitor run."""

    kind: Literal["monitor"] = "monitor"
    schema_version: int = Field(RECORD_SCHEMA, alias="schema", le=RECORD_SCHEMA, ge=1)
    version: str
    tag: str
    pr: int
    state: MonitorState = "watching"
    until: datetime
    runs: list[MonitorRun] = Field(default_factory=list)
    warning_comment: int | None = None
    revert_pr: int | None = None
    ended_at: datetime | None = None
    ended_because: str | None = None
    bisection: Bisection | None = None


# a tuned value: a YAML scalar (a number, a boolean, a word)
TunedValue = bool | int | float | str | None


class TunedLine(Lenient):
    """One value a tuner cycle measured: the comparison's decision and the score change (with
    its interval) of the first suite that compared a score."""

    value: TunedValue
    decision: str
    suite: str | None = None
    delta: float | None = None
    ci: tuple[float | None, float | None] | None = None


class TuneCycle(Lenient):
    """``tuning/<time>-<file>-<key>.json``: one ``improve tune`` cycle, written once by the tuner
    whether or not its proposal went through (the daily limit counts them); enough to see why
    it chose what it did."""

    model_config = ConfigDict(extra="allow", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True, ser_json_inf_nan="constants")

    kind: Literal["tune"] = "tune"
    schema_version: int = Field(RECORD_SCHEMA, alias="schema", le=RECORD_SCHEMA, ge=1)
    at: datetime
    path: str  # the tuned file
    key: str
    candidates: list[TunedLine] = Field(default_factory=list)
    chosen: TunedValue = None  # the value proposed; None: none won with confidence
    proposal: str | None = None  # the proposal's id, when PROPOSE filed it

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return as_utc(value)

    @field_serializer("at", when_used="json")
    def _iso(self, value: datetime) -> str:
        return value.isoformat()  # as tuner records have always been written: "+00:00"


DAMAGED = "{path}: {why}; left untouched, nothing is started from it"


def missing_pull(release: ReleaseRecord) -> str:
    """The damaged-record line for a release record whose pull request does not exist (the
    forge answered 404 for it): the monitor starts nothing from it."""
    return DAMAGED.format(path=release_path(release.tag),
                          why=f"names PR #{release.pr}, which does not exist")


class RecordSet(BaseModel):
    """The release and monitor records of a data branch, and the damaged ones, by path."""

    releases: list[ReleaseRecord] = Field(default_factory=list)
    monitors: dict[str, MonitorRecord] = Field(default_factory=dict)  # tag -> record
    damaged: list[str] = Field(default_factory=list)  # one line per damaged record, path first
    # every release file that parses as JSON, by path, damaged or not: what the proposing
    # limits read leniently (a release counts for the cooldown even if its record lacks fields)
    release_data: dict[str, Any] = Field(default_factory=dict)
    # the tuner's cycles, oldest first (read only when asked: ``DataStore.records(tuning=True)``)
    tunings: list[TuneCycle] = Field(default_factory=list)


Record = ReleaseRecord | MonitorRecord | TuneCycle


def record_json(record: Record) -> dict[str, Any]:
    """A record as the data branch stores it (``DataStore.write`` encodes it): the one writer."""
    data: dict[str, Any] = json.loads(record.model_dump_json())
    return data


def set_release_state(stored: dict[str, Any], state: str) -> dict[str, Any]:
    """A release record as stored, with its window's state set: the monitor's only change to a
    release record, made on the JSON as read so every other byte stays as the release wrote it
    (keys an older or newer bot wrote included)."""
    out = dict(stored)
    out["monitor"] = {**(out.get("monitor") or {}), "state": state}
    return out


def damaged_path(line: str) -> str:
    """The path a line of ``RecordSet.damaged`` names (``DAMAGED`` puts it first; a path on the
    data branch holds no ": ", as no tag name holds a colon)."""
    return line.split(": ", 1)[0]


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err.get("loc", ())) or "the record"
    return f"{where}: {err.get('msg', 'invalid')}"


_KINDS: dict[str, tuple[str, type[Record]]] = {
    RELEASES_DIR: ("release", ReleaseRecord), MONITORS_DIR: ("monitor", MonitorRecord),
    TUNING_DIR: ("tuner cycle", TuneCycle)}


def _load(path: str, data: Any) -> Record | str:
    """The record a file's JSON holds, as its path's folder says; or why it is damaged."""
    schema = data.get("schema") if isinstance(data, dict) else None
    if isinstance(schema, int) and schema > RECORD_SCHEMA:
        return (f"has schema version {schema}; this bot reads up to {RECORD_SCHEMA} "
                "(a newer bot wrote it)")
    kind, model = _KINDS[path.split("/", 1)[0]]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return f"is not a {kind} record ({_first_error(exc)})"


def _misplaced(path: str, rec: Record, known: set[str] | None) -> str | None:
    """Why a record is not where it should be (not at its own path, or of a tag that does not
    exist), or None."""
    if isinstance(rec, TuneCycle):
        own = tuning_path(rec.at, rec.path, rec.key)
        return None if own == path else f"is the cycle of {own}, not its own path's"
    expected = release_path(rec.tag) if isinstance(rec, ReleaseRecord) else monitor_path(rec.tag)
    if expected != path:
        return f"names tag {rec.tag}, not its own path's"
    if known is not None and rec.tag not in known:
        return f"names tag {rec.tag}, which does not exist"
    return None


def sort_records(blobs: Mapping[str, bytes | str], tags: Iterable[str] | None) -> RecordSet:
    """Release (``releases/``), monitor (``monitors/``) and tuner cycle (``tuning/``) records
    from their files, checked: a file that does not parse, has an unknown schema version, is
    not the record its path says, or names a tag that does not exist (``tags``: the
    repository's tags, None when unknown) is damaged and reported, never read."""
    known = None if tags is None else set(tags)
    out = RecordSet()
    for path in sorted(blobs):
        try:
            data = json.loads(blobs[path])
        except (ValueError, UnicodeDecodeError) as exc:
            out.damaged.append(DAMAGED.format(path=path, why=f"does not parse as JSON ({exc})"))
            continue
        if path.startswith(RELEASES_DIR + "/"):
            out.release_data[path] = data
        rec = _load(path, data)
        why = rec if isinstance(rec, str) else _misplaced(path, rec, known)
        if why is not None:
            out.damaged.append(DAMAGED.format(path=path, why=why))
        elif isinstance(rec, ReleaseRecord):
            out.releases.append(rec)
        elif isinstance(rec, MonitorRecord):
            out.monitors[rec.tag] = rec
        elif isinstance(rec, TuneCycle):
            out.tunings.append(rec)
    out.releases.sort(key=lambda r: r.released_at)
    out.tunings.sort(key=lambda c: c.at)
    return out
