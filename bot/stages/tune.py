"""The tuner: ``improve tune --set FILE:KEY --values A,B,C``.

gather (the default branch's tip and configuration, the cycles run in the last day from the data
branch) -> measure (each value committed on top of the tip as a commit no branch points at, the
selected suites run on it and on the tip, in scratch worktrees) -> decide (bot.core.tuner:
accept AND a score interval above zero) -> act (one cycle record on the data branch; the best
value filed through PROPOSE, which applies every limit, only when it wins with confidence).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from bot.adapters import proposal_git as pg
from bot.adapters.datastore import DataStore
from bot.adapters.git import GitError
from bot.adapters.progress import PlainProgress
from bot.adapters.record_reader import read_json_files
from bot.core.compare import compare_results
from bot.core.edits import EditError, set_key
from bot.core.limits import CooldownRelease, OpenProposal
from bot.core.results import Results
from bot.core.tuner import (
    LIMIT_REACHED,
    TUNING_DIR,
    Candidate,
    Choice,
    choose,
    cycle_path,
    cycle_record,
    cycles_in_last_day,
    proposal_text,
)
from bot.errors import GateError, InputError, Problem
from bot.stages.evaluate import EvaluateRequest, evaluate
from bot.stages.propose import Outcome, Publisher, propose, resolve_base

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
class TuneEnv:
    """The shell the tuner acts through; ``publish``, ``open_proposals`` and ``releases`` are
    PROPOSE's (bot/stages/publish.py builds them for the forge)."""

    store: DataStore | None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    publish: Publisher | None = None
    open_proposals: Callable[[], list[OpenProposal]] | None = None
    releases: Callable[[], list[CooldownRelease]] = list
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False


@dataclass
class TuneOutcome:
    candidates: list[Candidate]
    choice: Choice | None
    proposal: Outcome | None = None
    record: str | None = None
    notes: list[str] = field(default_factory=list)


def cycles_today(store: DataStore, now: datetime) -> int:
    """Tuner cycles recorded on the data branch in the last 24 hours."""
    paths = [p for p in store.list(TUNING_DIR) if p.endswith(".json")]
    if not paths:
        return 0
    times = []
    for data in read_json_files(store.git.path, store.ref, paths).values():
        with contextlib.suppress(KeyError, TypeError, ValueError):
            at = datetime.fromisoformat(str(data["at"]))
            times.append(at if at.tzinfo else at.replace(tzinfo=UTC))
    return cycles_in_last_day(times, now)


def _measure(repo: Path, ref: str, req: TuneRequest, suites: list[str],
             changed_from: str | None, progress: Any) -> Results:
    return evaluate(EvaluateRequest(repo=repo, ref=ref, suites=suites, changed_from=changed_from,
                                    repeat=req.repeat, jobs=req.jobs), progress)


def run_tune(req: TuneRequest, env: TuneEnv) -> TuneOutcome:
    now = env.now()
    repo = pg.toplevel(req.repo)
    branch, tip, config = resolve_base(repo)
    limit = config.limits.max_tune_cycles_per_day
    if not req.dry_run:
        count = cycles_today(env.store, now) if env.store is not None else 0
        if count >= limit:
            raise GateError(LIMIT_REACHED.format(count=count, limit=limit))
    text = pg.read_text(repo, tip, req.path)
    if text is None:
        raise InputError([Problem("--set", NO_FILE.format(path=req.path, branch=branch))])
    progress = PlainProgress(io.StringIO() if env.quiet else env.err)
    outcome = TuneOutcome(candidates=[], choice=None)
    commits: list[tuple[Any, str]] = []
    for value in req.values:
        try:
            new_text, _ = set_key(text, req.path, req.key, value)
        except EditError as exc:
            raise InputError([Problem(req.path, str(exc), field=req.key)]) from None
        if new_text == text:
            outcome.notes.append(SAME_VALUE.format(value=value))
            continue
        sha = pg.commit_files(repo, tip, {req.path: new_text},
                              f"tune: {req.key} = {value}\n")
        commits.append((value, sha))
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
    if req.dry_run:
        return outcome
    text_out = None
    if outcome.choice is not None:
        text_out = proposal_text(req.path, req.key, outcome.choice, outcome.candidates,
                                 req.repeat)
    proposal_id = None
    try:
        if text_out is not None:
            opened = env.open_proposals() if env.open_proposals is not None else None
            outcome.proposal = propose(
                repo, text_out, f"tuner:{req.path}:{req.key}", now=now, publish=env.publish,
                releases=env.releases(), open_proposals=opened)
            proposal_id = outcome.proposal.plan.id
    finally:
        # a cycle counts whether or not PROPOSE's limits let its proposal through
        record_path = cycle_path(now, req.path, req.key)
        record = cycle_record(now, req.path, req.key, outcome.candidates, outcome.choice,
                              proposal_id)
        if env.store is not None:
            try:
                env.store.write({record_path: record}, f"tune: {req.path}:{req.key}")
                outcome.record = record_path
            except GitError as exc:
                outcome.notes.append(f"the cycle was not recorded on the data branch: {exc}")
    return outcome
