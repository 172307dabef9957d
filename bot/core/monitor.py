"""MONITOR and ROLLBACK, decided: which releases are still watched, what one monitor run found,
when it warns, when it opens a revert pull request, and what a rollback is. Pure: the stage
(bot/stages/monitor.py) reads the records, measures and acts.

Decisions where the design is silent:

- A run compares the results measured on the release commit at release (the record's
  ``results``) with the default branch's head now. A suite's change is COMPARE's relative
  ``score_change`` and its interval (for a suite with timings only, its worst gating timing:
  x1.25 slower is a change of -25%). "Past the warning" is the worst point estimate below
  ``-warn_drop``; "past the rollback" is an interval lying entirely below ``-rollback_drop``.
- The warning comment is written once ``warn_runs`` runs in a row were past the warning, and
  edited (never re-posted) while the release stays watched; a recovery edits it to say so.
- One automatic revert pull request per release: once one was opened (even if a person closed
  it since), the monitor does not open another; it keeps measuring and warning.
- A rollback release is watched like any release but never rolled back automatically, and
  ``/rollback`` of it is refused: bringing a change back is a new proposal, measured afresh.
- The window closing records the release as kept, unless its revert pull request is still open
  (then the monitor waits for it to be merged, which ends as rolled back, or closed).
- A monitor ends as rolled back when a rollback's release record names its version; the
  monitor run sees that (the release stage writes the record, the monitor reads it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.core.comparison.models import Comparison, SuiteComparison
from bot.core.comparison.stats import ci_level
from bot.core.config import MonitorConfig
from bot.core.records import MonitorRecord, MonitorRun, ReleaseRecord
from bot.core.render import md_escape

# a /rollback reason is one comment line; the command parser already cuts it at 200 characters
REASON_LIMIT = 500

WARN_MARKER = "monitor"
CONFLICT_MARKER = "rollback"
ROLLBACK_BRANCH_PREFIX = "improve/rollback-"
ROLLBACK_LABELS = ("improvement", "rollback")

# what /rollback and `improve rollback` say (also the reasons of refusals)
NO_RELEASE_PR = "PR #{pr} has no release record on the data branch: nothing to roll back"
NO_RELEASE_TAG = "{tag}: no release record releases/{tag}.json on the data branch"
ROLLBACK_OF_ROLLBACK = ("{tag} is itself the rollback of {of}; a rollback is not rolled back: "
                        "propose the change again, so that it is measured afresh")
ALREADY_ROLLED_BACK = "{tag} was rolled back already by {by}"
NOTHING_TO_REVERT = ("reverting {sha} on {branch} changes nothing: the change is no longer "
                     "there")
CONFLICTED = ("reverting {sha} conflicts with later changes on {branch} in: {files}; nothing "
              "was pushed")
OPENED = "opened the revert pull request #{number}: {url}"
EXISTS = "the revert pull request #{number} is already open: {url}"
DEFAULT_REASON = "requested by @{actor}"
AUTO_REASON = ("the monitor measured {suite} {drop:.1%} below its measurement at release, "
               "with confidence (rollback threshold {limit:.0%})")

Triage = Literal["measure", "no_reference", "kept", "rolled_back", "await_revert", "ended"]


def rollback_branch(tag: str) -> str:
    return f"{ROLLBACK_BRANCH_PREFIX}{tag}"


def rolled_back_by(releases: Iterable[ReleaseRecord]) -> dict[str, ReleaseRecord]:
    """Version rolled back -> the rollback release that names it (the first, by version)."""
    out: dict[str, ReleaseRecord] = {}
    for r in sorted(releases, key=lambda r: r.released_at):
        version = (r.rollback or {}).get("version")
        if version:
            out.setdefault(str(version), r)
    return out


def triage(release: ReleaseRecord, monitor: MonitorRecord | None, now: datetime,
           rolled_by: ReleaseRecord | None) -> Triage:
    """What the monitor does with a release this run, before measuring anything."""
    if release.monitor.state in ("kept", "rolled_back"):
        return "ended"
    if monitor is not None and monitor.state in ("kept", "rolled_back"):
        return "ended"
    if rolled_by is not None:
        return "rolled_back"
    if now >= release.monitor.until:
        if monitor is not None and monitor.state == "rollback_opened":
            return "await_revert"
        return "kept"
    if not release.results:
        return "no_reference"
    return "measure"


def new_record(release: ReleaseRecord) -> MonitorRecord:
    return MonitorRecord(version=release.version, tag=release.tag, pr=release.pr,
                         until=release.monitor.until)


def summarize(comparison: Comparison, cfg: MonitorConfig, at: datetime, commit: str,
              results: str | None, note: str | None = None) -> MonitorRun:
    """One run's numbers from the comparison of the reference (baseline) with now (candidate)."""
    changes: dict[str, float | None] = {}
    cis: dict[str, tuple[float | None, float | None]] = {}
    failed: list[str] = []
    for s in comparison.suites:
        if s.kind == "benchmark" and s.present == "both":
            changes[s.id], cis[s.id] = suite_change(s)
        failed += [f"{s.id}/{t.id}" for t in s.failed_tasks if t.side in ("candidate", "both")]
        failed += [f"{s.id}/{c.id}" for c in s.checks if c.verdict in ("new failure",
                                                                        "still failing")]
    known = [c for c in changes.values() if c is not None]
    worst = min(known) if known else None
    past_rollback = any(high is not None and high < -cfg.rollback_drop
                        for _, high in cis.values())
    return MonitorRun(at=at, commit=commit, results=results, changes=changes, change_ci=cis,
                      confidence=comparison.settings.confidence, worst=worst,
                      past_warning=bool(dropped_suites(changes, cfg.warn_drop)),
                      past_rollback=past_rollback, failed_tasks=sorted(failed), note=note)


def dropped_suites(changes: Mapping[str, float | None], warn_drop: float) -> list[str]:
    """The suites past the warning: their change is a drop of more than ``warn_drop`` (the
    ones a warned drop bisects)."""
    return [s for s, c in changes.items() if c is not None and c < -warn_drop]


Interval = tuple[float | None, float | None]


def suite_change(s: SuiteComparison) -> tuple[float | None, Interval]:
    """A suite's relative change against the baseline and its interval, as the monitor and the
    bisection both read it: COMPARE's ``score_change``; for a suite without a higher-is-better
    score (timings only), its worst gating timing as a relative change where slower is
    negative. (None, (None, None)) when the suite has neither."""
    if s.score_change is not None:
        ci = s.score_change_ci
        return s.score_change, ((ci.low, ci.high) if ci is not None else (None, None))
    return _timing_change(s)


def _timing_change(
    s: SuiteComparison,
) -> tuple[float | None, tuple[float | None, float | None]]:
    """The worst gating timing of a suite as a relative change in the score's sense: x1.25
    slower is -0.25, x0.8 (faster) is +0.2; its interval likewise. (None, (None, None)) when
    the suite has no timing with a ratio."""
    worst: tuple[float | None, tuple[float | None, float | None]] = (None, (None, None))
    for m in s.metrics:
        if m.kind != "timing" or not m.gate or m.ratio is None:
            continue
        slower = m.direction == "lower"
        change = (1.0 - m.ratio) if slower else (m.ratio - 1.0)
        ci: tuple[float | None, float | None] = (None, None)
        if m.ci is not None and m.ci.low is not None and m.ci.high is not None:
            ci = ((1.0 - m.ci.high, 1.0 - m.ci.low) if slower
                  else (m.ci.low - 1.0, m.ci.high - 1.0))
        if worst[0] is None or change < worst[0]:
            worst = (change, ci)
    return worst


def streak(runs: Iterable[MonitorRun]) -> int:
    """Runs in a row, counting back from the newest, that were past the warning."""
    n = 0
    for run in reversed(list(runs)):
        if not run.past_warning:
            break
        n += 1
    return n


@dataclass(frozen=True)
class RunDecision:
    record: MonitorRecord  # the run appended and the state set
    write_comment: bool  # the warning comment is to be written or edited
    open_revert: bool  # the revert pull request is to be opened
    warned: bool  # past the warning on warn_runs runs in a row
    recovered: bool  # was warned, is not past the warning any more


def after_run(record: MonitorRecord, run: MonitorRun, cfg: MonitorConfig,
              is_rollback: bool) -> RunDecision:
    """The record after ``run`` and what the stage is to do about it."""
    runs = [*record.runs, run]
    warned = streak(runs) >= cfg.warn_runs
    open_revert = run.past_rollback and record.revert_pr is None and not is_rollback
    had_comment = record.warning_comment is not None
    recovered = had_comment and not run.past_warning
    state = record.state
    if record.revert_pr is not None:
        state = "rollback_opened"
    elif warned or open_revert:
        state = "warned"
    elif state == "warned" and not run.past_warning:
        state = "watching"
    updated = record.model_copy(update={"runs": runs, "state": state})
    return RunDecision(record=updated, write_comment=warned or open_revert or (
        had_comment and (run.past_warning or recovered)), open_revert=open_revert,
        warned=warned, recovered=recovered)


def ended(record: MonitorRecord, state: Literal["kept", "rolled_back"], now: datetime,
          because: str) -> MonitorRecord:
    return record.model_copy(update={"state": state, "ended_at": now, "ended_because": because})


def suites_of(results: Mapping[str, object]) -> list[str]:
    """The suite ids of a results file as JSON (the reference's suites are the ones re-run)."""
    suites = results.get("suites")
    if not isinstance(suites, list):
        return []
    return sorted({str(s["id"]) for s in suites if isinstance(s, dict) and s.get("id")})


def evidence_lines(run: MonitorRun, reference: str | None) -> list[str]:
    """The monitor's numbers as the revert PR and the changelog entry show them."""
    when = run.at.strftime("%Y-%m-%d %H:%M")
    out = []
    for suite, change in sorted(run.changes.items()):
        if change is None:
            continue
        low, high = run.change_ci.get(suite, (None, None))
        ci = (f" ({ci_level(run.confidence)} CI {low:+.1%} to {high:+.1%})"
              if low is not None and high is not None
              else "")
        out.append(f"{suite}: {change:+.1%}{ci} at {run.commit[:7]} on {when} UTC, against "
                   f"the release's own measurement" + (f" ({reference})" if reference else ""))
    out += [f"failing at {run.commit[:7]}: {t}" for t in run.failed_tasks[:10]]
    return out


def auto_reason(run: MonitorRun, cfg: MonitorConfig) -> str:
    worst = min(((s, high) for s, (_, high) in run.change_ci.items() if high is not None),
                key=lambda x: run.changes.get(x[0]) or 0.0, default=None)
    suite = worst[0] if worst else "the suite"
    drop = -(run.changes.get(suite) or 0.0) if worst else 0.0
    return AUTO_REASON.format(suite=suite, drop=drop, limit=cfg.rollback_drop)


RollbackCheck = Literal["ok", "rollback_of_rollback", "already"]


def check_rollback(release: ReleaseRecord,
                   rolled_by: ReleaseRecord | None) -> tuple[RollbackCheck, str]:
    """Whether ``release`` may be rolled back, and why not."""
    if release.rollback:
        return "rollback_of_rollback", ROLLBACK_OF_ROLLBACK.format(
            tag=release.tag, of=release.rollback.get("version", "?"))
    if rolled_by is not None:
        return "already", ALREADY_ROLLED_BACK.format(
            tag=release.tag, by=f"{rolled_by.tag} (PR #{rolled_by.pr})")
    return "ok", ""


def rollback_title(release: ReleaseRecord) -> str:
    title = str((release.proposal or {}).get("title") or "")
    return f"Roll back {release.tag}" + (f": {title}" if title else "")[:200]


def inert(reason: str, limit: int = REASON_LIMIT) -> str:
    """A person's reason made inert where it is written down (the revert commit, the release
    commit, the changelog entry): one line, escaped as the bot's replies are (no HTML, links,
    mentions or headings)."""
    return md_escape(" ".join(reason.split()), limit)


def revert_message(release: ReleaseRecord, reason: str) -> str:
    restores = release.previous or "the version before it"
    return (f"{rollback_title(release)}\n\n{inert(reason)}\n\n"
            f"This reverts commit {release.merge_sha} (the merge of PR #{release.pr}), "
            f"restoring {restores}.\n\nImprove-Rollback-Of: {release.version}\n")
