"""MONITOR: releases still in their window are re-measured on the default branch's head and
compared with what was measured on the release commit at release; a sustained drop warns on the
release's pull request, a confident drop past the rollback threshold opens the revert pull
request (``bot/stages/rollback.py``, which ``/rollback`` and ``improve rollback`` use too).

gather (release and monitor records from the data branch in one ``git cat-file --batch``, in a
private bare clone of the default branch) -> decide (``bot.core.monitor``, pure: which releases
are watched, what a run found, warn or revert) -> act (the head measured ONCE per run with the
union of the suites the watched releases need, in a scratch worktree; the warning comment
edited by its id; the revert pull request; one write of every record).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TextIO

from bot.adapters import actions
from bot.adapters.datastore import DataStore
from bot.adapters.event import Event
from bot.adapters.record_reader import read_json_files
from bot.adapters.release_git import Workspace
from bot.core import monitor as core
from bot.core.bisect import evidence_lines as bisection_lines
from bot.core.comparison.compare import compare_results
from bot.core.comparison.stats import ci_level
from bot.core.forge import NotFound
from bot.core.records import (
    Bisection,
    MonitorRecord,
    MonitorRun,
    RecordSet,
    ReleaseRecord,
    damaged_path,
    missing_pull,
    monitor_path,
    record_json,
    release_path,
    results_path,
    set_release_state,
)
from bot.core.render import pct, render
from bot.core.results import Results
from bot.core.router import Router
from bot.errors import DamagedState, ImproveError
from bot.stages import bisect
from bot.stages.context import StageContext
from bot.stages.rollback import RollbackResult, open_rollback, read_records

RECORD_MESSAGE = "monitor: {count} release(s) at {commit}"
NOTHING_WATCHED = "improve monitor: no release is in its monitor window"
NO_REFERENCE = "no results were measured on the release commit at release: nothing to compare"
REVERT_CLOSED = "the window closed; the revert pull request #{number} was closed without merging"
WINDOW_CLOSED = "the window closed on {until} with no rollback"
ROLLED_BACK = "rolled back by {tag} (PR #{pr})"
AUTO_ROLLBACK_SKIPPED = "past the rollback threshold; {why}"
NO_SUITES = "none of the suites measured at release ({suites}) is on {commit} any more"
GONE = "the suites measured at release are not on the default branch any more"
DAMAGED_RECORDS = ("improve monitor: {count} damaged record(s) on the data branch: {paths}; "
                   "reported and left untouched (fix or remove them by hand)")
MEASURED_BY_THIS_RUN = "measured already by this run ({run_id}); counted once"

Action = Literal["measured", "warned", "revert-opened", "revert-exists", "conflict", "kept",
                 "rolled-back", "waiting", "skipped", "ended"]


@dataclass
class MonitorRequest:
    dry_run: bool = False


@dataclass
class MonitorOutcome:
    tag: str
    action: Action
    detail: str = ""
    run: MonitorRun | None = None
    revert_pr: int | None = None


# --- gather -------------------------------------------------------------------------------------


def _pull_exists(env: StageContext, number: int) -> bool:
    try:
        env.forge.get_pull(number)
    except NotFound:
        return False
    return True


def report_damaged(env: StageContext, damaged: list[str], who: str) -> None:
    """Damaged records: on stderr and in the job summary (the caller exits 3 at the end)."""
    for line in damaged:
        print(f"{who}: damaged record {line}", file=env.err, flush=True)
        if env.in_actions:
            actions.append_summary(f"- :warning: damaged record {line}")


def _measure(ws: Workspace, commit: str, suites: list[str], err: TextIO) -> Results:
    """The head, with the suites the watched releases were measured with (those it still has).
    (benchmarks/bench_monitor.py counts the calls.)"""
    return bisect.measure(ws, commit, suites, err, none_left=NO_SUITES)


def _measured_by(record: MonitorRecord, run_id: int | None) -> bool:
    return run_id is not None and any(r.run_id == run_id for r in record.runs)


def _stamp(run: MonitorRun, env: StageContext) -> MonitorRun:
    """The run, marked with the Actions run and attempt it measured for."""
    return run.model_copy(update={"run_id": env.run_id, "run_attempt": env.run_attempt})


# --- the monitor run ----------------------------------------------------------------------------


def warning_body(release: ReleaseRecord, record: MonitorRecord, run: MonitorRun,
                 env: StageContext, recovered: bool, revert_pr: int | None, note: str | None,
                 bisection: Bisection | None = None) -> str:
    rows = []
    for suite, change in sorted(run.changes.items()):
        low, high = run.change_ci.get(suite, (None, None))
        rows.append({"suite": suite, "change": pct(change),
                     "ci": f"[{pct(low)}, {pct(high)}]"})
    cfg = env.config.monitor
    return render("monitor_warning.md.j2", tag=release.tag, run=run, rows=rows,
                  level=ci_level(run.confidence),
                  recovered=recovered, runs_in_a_row=core.streak(record.runs),
                  warn_drop=cfg.warn_drop, rollback_drop=cfg.rollback_drop,
                  reference=release.results, revert_pr=revert_pr, note=note,
                  bisection=bisection, culprit_issue=bisection.issue if bisection else None,
                  bisection_lines=bisection_lines(bisection) if bisection else [])


def _write_comment(env: StageContext, release: ReleaseRecord, record: MonitorRecord,
                   body: str) -> int:
    """Edit the warning comment by the id the record keeps (one call), else find or create it."""
    if record.warning_comment is not None:
        try:
            return env.forge.edit_comment(record.warning_comment, body).id
        except NotFound:
            pass  # deleted by someone: write it again
    return env.forge.upsert_comment(release.pr, core.WARN_MARKER, body).id


@dataclass
class _Plan:
    release: ReleaseRecord
    record: MonitorRecord
    triage: core.Triage


def run_monitor(env: StageContext, req: MonitorRequest) -> list[MonitorOutcome]:
    """Every watched release measured and decided on; damaged records are reported and left
    alone, and the run ends with ``DamagedState`` (exit 6) once the others are done."""
    branch = env.default_branch
    ws = env.open_workspace(branch)
    try:
        damaged: list[str] = []
        outcomes = _run(env, ws, req, damaged)
    finally:
        ws.close()
    if damaged:
        raise DamagedState(DAMAGED_RECORDS.format(count=len(damaged), paths=", ".join(
            damaged_path(d) for d in damaged)))
    return outcomes


@dataclass
class _Run:
    """What one monitor run changes, gathered before the one write of every record."""

    changed: dict[str, MonitorRecord] = field(default_factory=dict)
    release_states: dict[str, str] = field(default_factory=dict)
    # the bisections' new measurements, stored with the records
    probed: dict[str, Any] = field(default_factory=dict)


def _run(env: StageContext, ws: Workspace, req: MonitorRequest,
         damaged: list[str]) -> list[MonitorOutcome]:
    store = DataStore(ws.git, env.config.data_branch, ws.remote)
    records = read_records(ws, store)
    damaged.extend(records.damaged)
    report_damaged(env, records.damaged, "improve monitor")
    now = env.now()
    rolled = core.rolled_back_by(records.releases)
    plans, outcomes = _triage(env, records, now, rolled, damaged)
    if not plans:
        if not outcomes:
            print(NOTHING_WATCHED, file=env.out, flush=True)
        for o in outcomes:
            print(f"improve monitor: {o.tag}: {o.action}: {o.detail}", file=env.out, flush=True)
        return outcomes
    tip = ws.tip()
    # the head measured once, with every suite a watched release needs
    refs = read_json_files(ws.git.path, store.ref, sorted({
        p.release.results or "" for p in plans if p.triage == "measure"}))
    now_results, failure = _measure_head(env, ws, tip, refs)
    run = _Run()
    for p in plans:
        if p.triage != "measure":
            outcomes.append(_settle(env, p, now, rolled, records, run))
            continue
        r, record = p.release, p.record
        reference = refs.get(r.results or "")
        if failure is not None or now_results is None or not isinstance(reference, dict):
            note = failure or f"the reference {r.results} is not readable"
            measured = _stamp(MonitorRun(at=now, commit=tip, note=note), env)
            run.changed[r.tag] = record.model_copy(update={"runs": [*record.runs, measured]})
            outcomes.append(MonitorOutcome(r.tag, "skipped", note, measured))
            continue
        outcomes.append(_one(env, ws, req, r, record, reference, now_results, now,
                             results_path(tip), records, run.changed, store.ref, run.probed))
    if req.dry_run:
        for o in outcomes:
            print(f"dry run: {o.tag}: {o.action}" + (f" ({o.detail})" if o.detail else ""),
                  file=env.out)
        return outcomes
    _write(store, run, tip, now_results)
    for o in outcomes:
        line = f"improve monitor: {o.tag}: {o.action}" + (f": {o.detail}" if o.detail else "")
        print(line, file=env.out, flush=True)
        if env.in_actions:
            actions.append_summary(f"- **{o.tag}**: {o.action}" + (
                f": {o.detail}" if o.detail else ""))
    return outcomes


def _triage(env: StageContext, records: RecordSet, now: datetime,
            rolled: dict[str, ReleaseRecord],
            damaged: list[str]) -> tuple[list[_Plan], list[MonitorOutcome]]:
    """The releases this run works on (what ``core.triage`` says of each), and those this
    Actions run measured already (a re-run: once per run, whatever the attempts); a release
    whose pull request does not exist goes to ``damaged``."""
    plans = []
    outcomes: list[MonitorOutcome] = []
    broken = {damaged_path(line) for line in records.damaged}
    for r in records.releases:
        if monitor_path(r.tag) in broken:
            continue  # its monitor record is damaged: left as it is, reported above
        record = records.monitors.get(r.tag)
        t = core.triage(r, record, now, rolled.get(r.version))
        if record is None and t != "ended" and not _pull_exists(env, r.pr):
            # checked once, before the first monitor record: a record naming a pull request
            # that does not exist starts nothing (one call per release, not per run)
            line = missing_pull(r)
            damaged.append(line)
            report_damaged(env, [line], "improve monitor")
            continue
        if t == "measure" and record is not None and _measured_by(record, env.run_id):
            # a re-run of a run that measured and wrote its record: its effects were made
            # before the record was written
            outcomes.append(MonitorOutcome(r.tag, "measured", MEASURED_BY_THIS_RUN.format(
                run_id=env.run_id)))
            continue
        if t != "ended":
            plans.append(_Plan(r, record or core.new_record(r), t))
    return plans, outcomes


def _measure_head(env: StageContext, ws: Workspace, tip: str,
                  refs: dict[str, Any]) -> tuple[Results | None, str | None]:
    """The head's results with the union of the suites measured at release, or why not."""
    wanted = sorted({s for data in refs.values() if isinstance(data, dict)
                     for s in core.suites_of(data)})
    if not wanted:
        return None, None
    try:
        return _measure(ws, tip, wanted, env.err), None
    except ImproveError as exc:
        return None, bisect.NOT_MEASURED.format(commit=tip[:12], reason=exc)


def _settle(env: StageContext, p: _Plan, now: datetime, rolled: dict[str, ReleaseRecord],
            records: RecordSet, run: _Run) -> MonitorOutcome:
    """A release that is not measured this run: its window ended (rolled back, or kept), its
    revert pull request awaited, or nothing to compare it with."""
    r, record = p.release, p.record

    def end(state: Literal["kept", "rolled_back"], why: str) -> MonitorOutcome:
        run.changed[r.tag] = core.ended(record, state, now, why)
        run.release_states[r.tag] = state
        return MonitorOutcome(r.tag, "rolled-back" if state == "rolled_back" else "kept",
                              run.changed[r.tag].ended_because or "")

    if p.triage == "rolled_back":
        by = rolled[r.version]
        return end("rolled_back", ROLLED_BACK.format(tag=by.tag, pr=by.pr))
    if p.triage == "kept":
        return end("kept", WINDOW_CLOSED.format(
            until=r.monitor.until.isoformat(timespec="minutes")))
    if p.triage == "await_revert":
        number = record.revert_pr
        pull = env.forge.get_pull(number) if number is not None else None
        if pull is not None and pull.state == "closed" and not pull.merged:
            return end("kept", REVERT_CLOSED.format(number=number))
        return MonitorOutcome(r.tag, "waiting", f"revert PR #{number}")
    # no_reference: nothing was measured at release
    if r.tag not in records.monitors:
        run.changed[r.tag] = record.model_copy(update={"state": "watching"})
    return MonitorOutcome(r.tag, "skipped", NO_REFERENCE)


def _write(store: DataStore, run: _Run, tip: str, now_results: Results | None) -> None:
    """Every record the run changed, the head's results and the bisections' measurements, in
    one commit of the data branch (computed again on its fresh tip if it moved)."""
    new_results_path = results_path(tip)

    def files() -> dict[str, Any]:
        out: dict[str, Any] = {monitor_path(tag): record_json(rec)
                               for tag, rec in run.changed.items()}
        for tag, state in run.release_states.items():
            fresh = store.read(release_path(tag))
            if isinstance(fresh, dict):
                out[release_path(tag)] = set_release_state(fresh, state)
        if now_results is not None and store.read(new_results_path) is None:
            out[new_results_path] = json.loads(now_results.model_dump_json())
        out.update({p: data for p, data in run.probed.items() if store.read(p) is None})
        return out

    if run.changed or run.release_states:
        store.write(files, RECORD_MESSAGE.format(count=len(run.changed), commit=tip[:12]))


def _one(env: StageContext, ws: Workspace, req: MonitorRequest, r: ReleaseRecord,
         record: MonitorRecord, reference: dict[str, Any], now_results: Results,
         now: datetime, stored: str, records: RecordSet, changed: dict[str, MonitorRecord],
         data_ref: str, probed: dict[str, Any]) -> MonitorOutcome:
    cfg = env.config.monitor
    ref = Results.model_validate(reference)
    ids = {s.id for s in ref.suites} & {s.id for s in now_results.suites}
    if not ids:
        run = _stamp(MonitorRun(at=now, commit=now_results.commit, note=GONE), env)
        changed[r.tag] = record.model_copy(update={"runs": [*record.runs, run]})
        return MonitorOutcome(r.tag, "skipped", GONE, run)
    comparison = compare_results(ref.only(ids), now_results.only(ids), env.config.compare)
    run = _stamp(core.summarize(comparison, cfg, now, now_results.commit, stored), env)
    decision = core.after_run(record, run, cfg, is_rollback=bool(r.rollback))
    rec = decision.record
    action: Action = "warned" if decision.warned else "measured"
    detail = f"worst {pct(run.worst)}"
    note: str | None = None
    if run.past_rollback and r.rollback:
        note = AUTO_ROLLBACK_SKIPPED.format(why="a rollback is not rolled back automatically")
    # a warned drop is bisected first: only the release's own change is reverted
    finding = None
    if (decision.warned or decision.open_revert) and cfg.bisect and not req.dry_run:
        finding, rec = _bisect(env, ws, r, rec, run, ref.only(ids), now_results, records,
                               changed, data_ref, probed)
    if finding is not None:
        b = finding.bisection
        detail += f"; bisection {b.state}" + (f": {b.culprit[:12]}" if b.culprit else "")
        if decision.open_revert and not finding.blames_release:
            note = AUTO_ROLLBACK_SKIPPED.format(why=bisect.NOT_THE_RELEASE.format(
                state=b.state, reason=b.reason))
    if decision.open_revert and (finding is None or finding.blames_release):
        evidence = core.evidence_lines(run, r.results) + (
            bisection_lines(finding.bisection) if finding is not None else [])
        result = open_rollback(env, ws, r, records.releases, reason=core.auto_reason(run, cfg),
                               evidence=evidence, requested_by=None, dry_run=req.dry_run)
        rec, action, note = _after_revert(result, rec, action, note)
        detail += f"; {result.message}"
    if note:
        run = run.model_copy(update={"note": note})
        rec = rec.model_copy(update={"runs": [*rec.runs[:-1], run]})
    if decision.write_comment and not req.dry_run:
        body = warning_body(r, rec, run, env, decision.recovered, rec.revert_pr, note,
                            rec.bisection)
        rec = rec.model_copy(update={"warning_comment": _write_comment(env, r, rec, body)})
    changed[r.tag] = rec
    return MonitorOutcome(r.tag, action, detail, run, rec.revert_pr)


def _after_revert(result: RollbackResult, rec: MonitorRecord, action: Action,
                  note: str | None) -> tuple[MonitorRecord, Action, str | None]:
    """The record, the action and the note after the automatic revert was asked for: its pull
    request kept on the record, or why it was not opened."""
    if result.number is not None:
        rec = rec.model_copy(update={"revert_pr": result.number, "state": "rollback_opened"})
        return rec, "revert-opened" if result.status == "opened" else "revert-exists", note
    action = "conflict" if result.status == "conflict" else action
    return rec, action, AUTO_ROLLBACK_SKIPPED.format(why=result.message)


def _bisect(env: StageContext, ws: Workspace, r: ReleaseRecord, rec: MonitorRecord,
            run: MonitorRun, reference: Results, now_results: Results, records: RecordSet,
            changed: dict[str, MonitorRecord], data_ref: str,
            probed: dict[str, Any]) -> tuple[bisect.Finding | None, MonitorRecord]:
    """The drop traced to its commit (or the earlier bisection's culprit): the finding, and the
    monitor record with it; an opportunity issue filed for a culprit that is not the release's
    (once: another release's bisection in this run may have filed it already)."""
    cfg = env.config.monitor
    finding = bisect.for_monitor(
        ws, env.config, data_ref, r, records.releases, rec.bisection, reference, now_results,
        core.dropped_suites(run.changes, cfg.warn_drop), env.err, env.forge, probed)
    if finding is None:
        return None, rec
    b = finding.bisection
    probed.update(finding.results)
    if finding.blames_other and b.issue is None:
        issue = next((c.bisection.issue for c in changed.values() if c.bisection
                      and c.bisection.culprit == b.culprit and c.bisection.issue), None)
        b = b.model_copy(update={"issue": issue or bisect.file_culprit_issue(env.forge, b, r)})
    return finding, rec.model_copy(update={"bisection": b})


# --- wiring -------------------------------------------------------------------------------------


router: Router[Event, StageContext] = Router()


@router.register("schedule")
@router.register("workflow_dispatch")
def on_schedule(event: Event, services: StageContext) -> int:
    # DamagedState (exit 6) goes to the router, which reports it and still runs the dashboard
    run_monitor(services, MonitorRequest())
    return 0
