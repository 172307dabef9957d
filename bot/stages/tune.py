"""The tuner: ``improve tune --set FILE:KEY --values A,B,C``.

gather (the default branch's tip and configuration, the cycles run in the last day from the data
branch) -> measure (each value committed on top of the tip as a commit no branch points at, the
selected suites run on it and on the tip, in scratch worktrees) -> decide (bot.core.tuner:
accept AND a score interval above zero) -> act (one cycle record on the data branch; the best
value filed through PROPOSE, which applies every limit, only when it wins with confidence).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from bot.adapters import proposal_git as pg
from bot.adapters.datastore import DataStore
from bot.adapters.git import GitError
from bot.adapters.progress import PlainProgress
from bot.core.comparison.compare import compare_results
from bot.core.edits import EditError, set_key
from bot.core.records import record_json, tuning_path
from bot.core.results import Results
from bot.core.tuner import (
    LIMIT_REACHED,
    Candidate,
    Choice,
    choose,
    cycle_record,
    cycles_in_last_day,
    proposal_text,
)
from bot.errors import GateError, InputError, Problem
from bot.stages.context import StageContext
from bot.stages.evaluate import EvaluateRequest, evaluate
from bot.stages.propose import Outcome, propose, resolve_base
from bot.stages.publish import (
    forge_publisher,
    open_proposals,
    release_records,
    sync_proposal_branches,
)

NO_FILE = "{path!r} does not exist on {branch}"
NO_SUITE = "no suite targets {path}; name one with --suite"
SAME_VALUE = "value {value!r} is the current value; skipped"


@dataclass
class TuneRequest:
    repo: Path
    path: str
    key: str
    values: list[Any]
    suites: list[str] = field(default_factory=list)
    repeat: int | None = None
    dry_run: bool = False
    jobs: int = 0


@dataclass
class TuneOutcome:
    candidates: list[Candidate]
    choice: Choice | None
    proposal: Outcome | None = None
    record: str | None = None
    notes: list[str] = field(default_factory=list)


def cycles_today(store: DataStore, now: datetime) -> int:
    """Tuner cycles recorded on the data branch in the last 24 hours (a damaged record, one
    that does not read as a cycle, counts for none, as it always has)."""
    cycles = store.records(None, tuning=True).tunings
    return cycles_in_last_day((c.at for c in cycles), now)


def _measure(repo: Path, ref: str, req: TuneRequest, suites: list[str],
             changed_from: str | None, progress: Any) -> Results:
    return evaluate(EvaluateRequest(repo=repo, ref=ref, suites=suites, changed_from=changed_from,
                                    repeat=req.repeat, jobs=req.jobs), progress)


def _candidates(repo: Path, tip: str, text: str, req: TuneRequest,
                outcome: TuneOutcome) -> list[tuple[Any, str]]:
    """Each value committed on top of ``tip`` (a commit no branch points at): (value, commit);
    a value that changes nothing is noted and skipped."""
    commits: list[tuple[Any, str]] = []
    for value in req.values:
        try:
            new_text, _ = set_key(text, req.path, req.key, value)
        except EditError as exc:
            raise InputError([Problem(req.path, str(exc), field=req.key)]) from None
        if new_text == text:
            outcome.notes.append(SAME_VALUE.format(value=value))
            continue
        commits.append((value, pg.commit_files(repo, tip, {req.path: new_text},
                                               f"tune: {req.key} = {value}\n")))
    return commits


def measure(req: TuneRequest, err: TextIO) -> TuneOutcome:
    """Measure each value against the default branch's tip and choose (``--dry-run`` stops
    here): nothing is recorded or proposed, no forge is needed."""
    repo = pg.toplevel(req.repo)
    branch, tip, config = resolve_base(repo)
    text = pg.read_text(repo, tip, req.path)
    if text is None:
        raise InputError([Problem("--set", NO_FILE.format(path=req.path, branch=branch))])
    progress = PlainProgress(err)
    outcome = TuneOutcome(candidates=[], choice=None)
    commits = _candidates(repo, tip, text, req, outcome)
    suites = list(req.suites)
    first: Results | None = None
    if commits and not suites:
        # the suites whose targets match the tuned file, as a pull request would select them
        first = _measure(repo, commits[0][1], req, [], tip, progress)
        suites = [s.id for s in first.suites]
        if not suites:
            raise InputError([Problem("--set", NO_SUITE.format(path=req.path))])
    if commits:
        base = _measure(repo, tip, req, suites, None, progress)
        for i, (value, sha) in enumerate(commits):
            cand = first if (i == 0 and first is not None) else _measure(
                repo, sha, req, suites, None, progress)
            comparison = compare_results(base, cand, config.compare,
                                         proposal_type="constant_tune", risk="low",
                                         approval=config.approval)
            outcome.candidates.append(Candidate(value, comparison))
    outcome.choice = choose(outcome.candidates)
    return outcome


def run_tune(req: TuneRequest, ctx: StageContext, *, warning: str | None = None) -> TuneOutcome:
    """One tuner cycle: the daily limit checked on the data branch, every value measured, the
    winner proposed through PROPOSE (every limit applies) and the cycle recorded, whether or
    not a proposal went through. ``ctx``: the forge the proposal is published on and the
    checkout (with ``ctx.remote``, the remote it is pushed to; none for the local forge);
    ``warning``: the GITHUB_TOKEN warning the pull request carries."""
    now = ctx.now()
    repo = pg.toplevel(req.repo)
    _, _, config = resolve_base(repo)
    store = ctx.store
    limit = config.limits.max_tune_cycles_per_day
    count = cycles_today(store, now)
    if count >= limit:
        raise GateError(LIMIT_REACHED.format(count=count, limit=limit))
    outcome = measure(req, ctx.err)
    proposal_id = None
    try:
        if outcome.choice is not None:
            outcome.proposal = _propose(repo, req, ctx, store, outcome.choice,
                                        outcome.candidates, now, warning)
            proposal_id = outcome.proposal.plan.id
    finally:
        # a cycle counts whether or not PROPOSE's limits let its proposal through
        record_path = tuning_path(now, req.path, req.key)
        record = cycle_record(now, req.path, req.key, outcome.candidates, outcome.choice,
                              proposal_id)
        try:
            store.write({record_path: record_json(record)}, f"tune: {req.path}:{req.key}")
            outcome.record = record_path
        except GitError as exc:
            outcome.notes.append(f"the cycle was not recorded on the data branch: {exc}")
    return outcome


def _propose(repo: Path, req: TuneRequest, ctx: StageContext, store: DataStore, choice: Choice,
             candidates: list[Candidate], now: datetime, warning: str | None) -> Outcome:
    """The chosen value filed through PROPOSE on the context's forge (pushed first to
    ``ctx.remote`` when there is one), its limits read from the forge and the data branch."""
    pusher = ctx.git if ctx.remote is not None else None
    if pusher is not None:
        sync_proposal_branches(pusher, ctx.default_branch, ctx.remote or "origin")
    forge = ctx.forge
    text = proposal_text(req.path, req.key, choice, candidates, req.repeat)
    return propose(
        repo, text, f"tuner:{req.path}:{req.key}", now=now,
        publish=forge_publisher(forge, pusher, remote=ctx.remote or "origin", warning=warning),
        releases=release_records(store), open_proposals=list(open_proposals(forge)))
