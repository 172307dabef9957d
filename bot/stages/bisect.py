"""BISECT: a confirmed monitor drop traced to the commit that caused it, before the release is
blamed. Called by the monitor (bot/stages/monitor.py) when a release's drop is warned.

gather (the default branch's first-parent line from the release's measured commit to the head;
every measurement of its commits already on the data branch, and this run's of the head) ->
decide (``bot.core.bisect``, pure: which commit next, a confident change or not, when to stop)
-> measure (only the suites that dropped, in scratch worktrees through the TEST path, within the
budget) -> the finding (culprit, its pull request and author, the numbers) for the monitor to
act on: the revert of the release only when it is the culprit; otherwise an opportunity issue
naming the culprit, filed once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.adapters.release_git import Workspace
from bot.core import bisect as core
from bot.core.analytics import opportunities as opp
from bot.core.comparison.compare import compare_results
from bot.core.config import Config
from bot.core.forge import Forge, NotFound
from bot.core.monitor import suite_change
from bot.core.records import (
    RESULTS_DIR,
    Bisection,
    BisectProbe,
    ReleaseRecord,
    results_path,
)
from bot.core.render import render
from bot.core.results import Results
from bot.errors import ImproveError, InputError, Problem

NOT_ON_LINE = ("the release commit {commit} is not on the first-parent line of {branch}: "
               "nothing to bisect")
NOT_MEASURED = "could not measure {commit}: {reason}"
NONE_LEFT = "none of {suites} is on {commit}"
NOT_THE_RELEASE = "the bisection ({state}) does not blame this release: {reason}"
T_CULPRIT = "Opportunity: commit {sha} lowered {suites} ({change})"
_PR_IN_SUBJECT = (re.compile(r"^Merge pull request #(\d+) "), re.compile(r"\(#(\d+)\)\s*$"))


@dataclass
class Finding:
    bisection: Bisection
    results: dict[str, Any] = field(default_factory=dict)  # new results files to store

    @property
    def blames_release(self) -> bool:
        return self.bisection.state == "found" and self.bisection.culprit_is_release

    @property
    def blames_other(self) -> bool:
        return self.bisection.state == "found" and not self.bisection.culprit_is_release


def changes_of(base: Results, cand: Results, suites: set[str],
               config: Config) -> dict[str, core.Change]:
    """COMPARE's relative change of each suite, candidate against base, read as the monitor
    reads it (a timing-only suite by its worst gating timing: the drop it warned about)."""
    comparison = compare_results(base.only(suites), cand.only(suites), config.compare)
    out: dict[str, core.Change] = {}
    for s in comparison.suites:
        if s.kind == "benchmark" and s.present == "both":
            change, (low, high) = suite_change(s)
            out[s.id] = core.Change(change, low, high)
    return out


def line_of(ws: Workspace, release_commit: str, head: str) -> list[str] | None:
    """The first-parent line from the release commit (first) to the head (last), or None when
    the release commit is not on it."""
    if ws.git.try_rev_parse(release_commit) is None or not ws.git.is_ancestor(release_commit,
                                                                               head):
        return None
    after = ws.git.run("rev-list", "--first-parent", "--reverse",
                       f"{release_commit}..{head}").split()
    line = [release_commit, *after]
    if after and ws.git.run("rev-parse", f"{after[0]}^1") != release_commit:
        return None  # reached through a side branch only
    return line


def measure(ws: Workspace, commit: str, suites: list[str], err: TextIO,
            repeat: int | None = None, none_left: str = NONE_LEFT) -> Results:
    """The suites at ``commit`` (those of ``suites`` it still has: a suite deleted since must
    not stop the others from being measured), in a scratch worktree of the private clone (the
    configuration read there is the default branch's own). None of them left is an InputError
    saying ``none_left``. The monitor measures the head through it too."""
    from bot.adapters.progress import PlainProgress
    from bot.stages.evaluate import EvaluateRequest, evaluate, read_config
    from bot.stages.suites import load_tree_suites

    with ws.git.worktree(commit) as wt:
        found, _ = load_tree_suites(wt.path, read_config(wt.path))
        present = sorted(set(suites) & {s.id for s, _ in found})
        if not present:
            raise InputError([Problem("suites", none_left.format(
                commit=commit[:12], suites=", ".join(suites)))])
        return evaluate(EvaluateRequest(repo=wt.path, ref="HEAD", suites=present,
                                        repeat=repeat), PlainProgress(err))


def _run_cost(ref: Results, suites: set[str], repeat: int | None) -> int:
    return sum(len(s.tasks) * (repeat or s.repeat) for s in ref.suites if s.id in suites)


def _stored(ws: Workspace, data_ref: str, line: Sequence[str]) -> dict[str, Results]:
    """Measurements of the line's commits already on the data branch."""
    from bot.adapters.record_reader import read_json_files

    if ws.git.try_rev_parse(data_ref) is None:
        return {}
    have = set(ws.git.list_files(data_ref))
    paths = [results_path(c) for c in line if results_path(c) in have]
    out: dict[str, Results] = {}
    for path, data in read_json_files(ws.git.path, data_ref, paths).items():
        try:
            res = Results.model_validate(data)
        except ValueError:
            continue  # a damaged measurement is measured again, not trusted
        out[path.removeprefix(RESULTS_DIR + "/").removesuffix(".json")] = res
    return out


def _pr_of(subject: str) -> int | None:
    for pattern in _PR_IN_SUBJECT:
        m = pattern.search(subject)
        if m:
            return int(m.group(1))
    return None


@dataclass
class _Search:
    """One bisection's state: the line, every measurement of its commits, each judged against
    the release's (the probes ``core.next_step`` reads, the records kept), what it cost."""

    ws: Workspace
    config: Config
    reference: Results
    suites: set[str]
    line: list[str]
    measured: dict[str, Results]
    err: TextIO
    probes: dict[int, core.Probe] = field(default_factory=dict)
    records: dict[int, BisectProbe] = field(default_factory=dict)
    steps: dict[int, bool] = field(default_factory=dict)
    step_changes: dict[str, core.Change] = field(default_factory=dict)
    new: dict[str, Any] = field(default_factory=dict)  # results measured here, to be stored
    spent: core.Spent = field(default_factory=core.Spent)

    def judge(self, i: int, res: Results, reused: bool, runs: int, attempts: int) -> None:
        changes = changes_of(self.reference, res, self.suites, self.config)
        verdict = core.classify(changes, self.config.monitor.warn_drop)
        self.probes[i] = core.Probe(verdict, attempts)
        self.records[i] = BisectProbe(
            commit=self.line[i], verdict=verdict, reused=reused,
            # the release commit's stored results are the reference, never a re-measurement
            results=results_path(self.line[i]) if i else None,
            runs=runs + (self.records[i].runs if i in self.records else 0),
            changes={k: v.change for k, v in changes.items()},
            change_ci={k: (v.low, v.high) for k, v in changes.items()})

    def judge_known(self, fresh: Mapping[str, Results], head_results: Results,
                    earlier: Bisection | None) -> None:
        """Every stored measurement judged, but the release's point of the line only as
        measured in this job (its stored one is the reference itself); the head as this run
        measured it; the re-measurements an earlier, unfinished bisection made counted."""
        index = {c: i for i, c in enumerate(self.line)}
        ref_commit = self.reference.commit
        for commit, res in self.measured.items():
            if commit in index and (commit not in (ref_commit, self.line[0]) or commit in fresh):
                self.judge(index[commit], res, True, 0, 1)
        self.judge(index[head_results.commit], head_results, True, 0, 1)
        if earlier is not None:
            for p in earlier.probes:
                i = index.get(p.commit)
                if i is not None and i in self.probes and p.verdict == "unsettled" \
                        and not p.reused:
                    self.probes[i] = core.Probe(self.probes[i].verdict, 2)

    def measure(self, i: int, again: int) -> None:
        """Measure the line's ``i``-th commit (a second time: with ``again`` repeats) and judge
        it; ImproveError when it cannot be measured."""
        attempts = self.probes[i].attempts + 1 if i in self.probes else 1
        repeat = None if attempts == 1 else again
        runs = _run_cost(self.reference, self.suites, repeat)
        started = time.monotonic()
        res = measure(self.ws, self.line[i], sorted(self.suites), self.err, repeat)
        minutes = (time.monotonic() - started) / 60
        self.spent = core.Spent(self.spent.runs + runs, self.spent.minutes + minutes,
                                self.spent.measurements + 1)
        self.measured[self.line[i]] = res
        self.new[results_path(self.line[i])] = res.model_dump(mode="json")
        self.judge(i, res, False, runs, attempts)

    def step(self, good: int, i: int) -> None:
        """Is the step from the line's ``good``-th commit to its ``i``-th a real change?"""
        self.step_changes = changes_of(self.measured[self.line[good]],
                                       self.measured[self.line[i]], self.suites, self.config)
        self.steps[i] = core.real_step(self.step_changes)

    def ending(self, step: core.Step, state: str, reason: str) -> Bisection:
        """How the bisection ended (``state``), with the range it narrowed the drop to."""
        return Bisection.model_validate({
            "state": state, "reason": reason, "reference": self.reference.commit,
            "head": self.line[-1], "commits": len(self.line) - 1,
            "suites": sorted(self.suites), "good": self.line[step.good],
            "bad": self.line[step.bad]})

    def finish(self, b: Bisection) -> Finding:
        return _finish(b, self.records, self.spent, self.new, self.config.compare.confidence)


def bisect_drop(ws: Workspace, config: Config, data_ref: str, release: ReleaseRecord,
                releases: Sequence[ReleaseRecord], reference: Results, head_results: Results,
                suites: set[str], err: TextIO,
                earlier: Bisection | None = None, forge: Forge | None = None,
                known: Mapping[str, Any] | None = None) -> Finding:
    """Bisect the drop of ``suites`` from ``reference`` (the release commit's measurement at
    release) to the head; ``head_results`` is this run's measurement of the head; ``known``:
    results files this job measured already (path -> JSON), for another release's bisection."""
    cfg = config.monitor
    head = head_results.commit
    ref_commit = reference.commit
    suite_list = sorted(suites)
    # a release that was not the last of its run has its release commit off the branch, on its
    # own merge commit: the merge stands for it on the line (they differ in the version only)
    line = line_of(ws, ref_commit, head) or line_of(ws, release.merge_sha, head)
    if line is None:
        return Finding(Bisection(state="not_on_line", reason=NOT_ON_LINE.format(
            commit=ref_commit[:12], branch=ws.branch), reference=ref_commit, head=head,
            commits=0, suites=suite_list))
    known = known or {}
    fresh = {c: Results.model_validate(known[results_path(c)]) for c in line
             if results_path(c) in known}
    search = _Search(ws, config, reference, suites, list(line),
                     {**_stored(ws, data_ref, line), **fresh, head: head_results}, err)
    search.judge_known(fresh, head_results, earlier)
    budget = core.Budget(runs=cfg.bisect_runs, minutes=cfg.bisect_minutes,
                         max_attempts=cfg.bisect_attempts)
    # measured again: with twice the repeats, so that the interval can settle; the budget
    # prices each measurement at the repeats it will really run
    again = 2 * max((s.repeat for s in reference.suites if s.id in suites), default=1)
    while True:
        step = core.next_step(line, search.probes, search.steps, budget, search.spent,
                              _run_cost(reference, suites, None),
                              _run_cost(reference, suites, again))
        if step.kind not in ("measure", "step") or step.index is None:
            break
        if step.kind == "step":
            search.step(step.good, step.index)
            continue
        try:
            search.measure(step.index, again)
        except ImproveError as exc:
            return search.finish(search.ending(step, "exhausted", NOT_MEASURED.format(
                commit=line[step.index][:12], reason=exc)))
    b = search.ending(step, step.kind, step.reason)
    if step.kind == "found" and step.index is not None:
        b = _culprit(ws, b, step.index, line, release, releases, search.step_changes, forge)
    return search.finish(b)


def _finish(b: Bisection, records: dict[int, BisectProbe], spent: core.Spent,
            new: dict[str, Any], confidence: float) -> Finding:
    b = b.model_copy(update={"probes": [records[i] for i in sorted(records)],
                             "runs": spent.runs, "minutes": round(spent.minutes, 3),
                             "confidence": confidence})
    return Finding(b, new)


def _culprit(ws: Workspace, b: Bisection, i: int, line: Sequence[str], release: ReleaseRecord,
             releases: Sequence[ReleaseRecord], step: dict[str, core.Change],
             forge: Forge | None) -> Bisection:
    """The culprit's commit, pull request and author (the pull request's, else the commit's):
    the release's own change when the release commit itself is worse now; else the commit,
    and the improvement it merged."""
    sha = release.merge_sha if i == 0 else line[i]
    author, subject = ws.git.run("log", "-1", "--format=%an%x00%s", sha).split("\x00", 1)
    other = next((r for r in releases if r.merge_sha == sha and r.tag != release.tag), None)
    pr = release.pr if i == 0 else (other.pr if other is not None else _pr_of(subject))
    if pr is not None and forge is not None:
        try:
            author = forge.get_pull(pr).author or author
        except NotFound:
            pr = None  # the number in the subject is not a pull request here
    return b.model_copy(update={
        "culprit": sha, "culprit_is_release": i == 0, "culprit_pr": pr,
        "culprit_author": author, "culprit_subject": subject,
        "culprit_release": other.tag if other is not None else None,
        "step": {k: (v.change, v.low, v.high) for k, v in step.items()}})


# --- telling it ---------------------------------------------------------------------------------


def culprit_key(sha: str) -> str:
    return f"culprit:{sha}"


def file_culprit_issue(forge: Forge, b: Bisection, release: ReleaseRecord) -> int | None:
    """The opportunity issue naming the culprit, filed once per culprit commit (found again by
    its key, open or closed). The forge labels a new issue in a second request, so one filed by
    a run killed between the two is found by its key among the unlabelled issues, labelled and
    adopted (that look costs a call only when a new issue is about to be filed)."""
    if b.culprit is None:
        return None
    key = culprit_key(b.culprit)
    for issue in forge.list_issues(label=opp.LABEL, state="all"):
        if key in opp.filed_keys([issue.body or ""]):
            return issue.number
    for issue in forge.list_issues(state="all"):
        if opp.LABEL not in issue.labels and key in opp.filed_keys([issue.body or ""]):
            forge.add_labels(issue.number, [opp.LABEL])
            return issue.number
    worst = min(((s, c) for s, (c, _, _) in b.step.items() if c is not None),
                key=lambda x: x[1], default=None)
    title = T_CULPRIT.format(sha=b.culprit[:7], suites=", ".join(b.suites),
                             change=core.pct(worst[1]) if worst else "a drop")
    body = render("opportunity_culprit.md.j2", b=b, tag=release.tag, pr=release.pr,
                  evidence=core.evidence_lines(b),
                  key_line=f"<!-- improve-opportunity-key {key} -->")
    return forge.create_issue(title=title, body=body, labels=[opp.LABEL]).number


# --- the monitor's entry ------------------------------------------------------------------------


def for_monitor(ws: Workspace, config: Config, data_ref: str, release: ReleaseRecord,
                releases: Sequence[ReleaseRecord], earlier: Bisection | None,
                reference: Results, head_results: Results, dropped: Sequence[str],
                err: TextIO, forge: Forge | None = None,
                known: Mapping[str, Any] | None = None) -> Finding | None:
    """The finding for a warned drop of ``dropped`` suites: the earlier bisection's culprit, or
    a new bisection. None when nothing dropped."""
    if not dropped:
        return None
    # a culprit stays the culprit; an ending without one is bisected again on the next warned
    # run (what was stored since makes it cheaper)
    if earlier is not None and earlier.state == "found":
        return Finding(earlier)
    return bisect_drop(ws, config, data_ref, release, releases, reference, head_results,
                       set(dropped), err, earlier, forge, known)
