"""Seeing and steering the loop: the dashboard issue, alerts and opportunities, run by the
scheduled workflow (``schedule`` / ``workflow_dispatch``) and by ``improve status``,
``improve report``, ``improve dashboard``.

gather (records from the data branch in one ``git cat-file --batch``; the open proposals, their
gate status and proposal file from the forge; the dashboard issue) -> decide (alerts, health,
effectiveness, opportunities: bot/core, pure) -> act (the issue created once and then edited in
place, found by its label and marker; one comment per alert raised or cleared; one issue per
opportunity).

Pinning: GitHub pins issues only through GraphQL (``pinIssue``); the bot does not call it. The
dashboard is found by the label ``improve-dashboard`` and its marker; pin it once by hand.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

from pydantic import ValidationError

from bot.adapters.event import Event
from bot.adapters.git import Git, GitError
from bot.adapters.record_reader import read_blobs, read_json_files
from bot.core.analytics import dashboard as dash
from bot.core.analytics import opportunities as opp
from bot.core.analytics.alerts import AlertUpdate, current_alerts, update_alerts
from bot.core.analytics.effectiveness import (
    Effectiveness,
    Predicted,
    effectiveness,
    release_outcomes,
)
from bot.core.analytics.trends import RunSummary, merge_runs, monitor_runs, summarize_results
from bot.core.forge import Forge, Issue
from bot.core.policy import GATE_CONTEXT
from bot.core.proposals import BRANCH_PREFIX, PROPOSALS_DIR
from bot.core.records import (
    RESULTS_DIR,
    MonitorRecord,
    ReleaseRecord,
    damaged_path,
)
from bot.core.render import find_marker, render
from bot.core.results import Results
from bot.core.router import Router
from bot.core.yamldoc import YamlError, load_yaml
from bot.errors import DamagedState, ForgeError
from bot.stages.context import StageContext
from bot.stages.dashboard_issue import adopt_dashboard, find_dashboard

PROPOSAL_LABEL = "improvement"
PIN_FAILED = "improve dashboard: could not pin #{number} ({reason}); pin it by hand"
CREATED = "created the dashboard issue #{number}"
EDITED = "edited the dashboard issue #{number}"
UNCHANGED = "the dashboard issue #{number} is up to date"
FILED = "filed opportunity #{number}: {title}"
DAMAGED_HEALTH = ("{count} damaged record(s) on the data branch ({paths}), left untouched: fix "
                  "or remove them")
RESULTS_LIMIT = 200  # the newest results files the trends read


@dataclass
class Gathered:
    releases: list[ReleaseRecord]
    monitors: list[MonitorRecord]
    runs: list[RunSummary]
    proposals: list[dash.ProposalView]
    effectiveness: Effectiveness
    issue: Issue | None
    damaged: list[str] = field(default_factory=list)  # damaged records, "path: why"


@dataclass
class RefreshOutcome:
    number: int
    action: str  # "created" | "edited" | "unchanged"
    update: AlertUpdate
    dashboard: dash.Dashboard
    filed: list[Issue] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


# --- gather -------------------------------------------------------------------------------------


def _results_paths(git: Git, ref: str) -> list[str]:
    """The results files, newest first by the commit that added them, at most RESULTS_LIMIT."""
    out = git.run("log", "--format=", "--name-only", "--diff-filter=A", ref, "--",
                  f"{RESULTS_DIR}/")
    seen: list[str] = []
    for line in out.splitlines():
        if line.endswith(".json") and line not in seen:
            seen.append(line)
        if len(seen) >= RESULTS_LIMIT:
            break
    return seen


def read_loop_records(env: StageContext, damaged: list[str] | None = None) -> tuple[
        list[ReleaseRecord], list[MonitorRecord], list[RunSummary]]:
    """The records; the damaged ones (not JSON, an unknown schema version, not the record their
    path says) go to ``damaged`` instead, for the health line."""
    store = env.store
    # the workspace may have no tags (a shallow checkout): a tag is not asked for here
    found = store.records(None)
    ref = store.ref
    if env.git.try_rev_parse(ref) is None:
        return [], [], []
    results = _results_paths(env.git, ref)
    if damaged is not None:
        damaged.extend(found.damaged)
    raw = read_json_files(env.git.path, ref, results)
    summaries = []
    for p in results:
        if p not in raw:
            continue
        with contextlib.suppress(ValidationError, TypeError, ValueError):
            s = summarize_results(Results.model_validate(raw[p]), p)
            if s is not None:
                summaries.append(s)
    mon = sorted(found.monitors.values(), key=lambda m: m.tag)
    return found.releases, mon, merge_runs(summaries, monitor_runs(mon))


def _default_rev(env: StageContext) -> str | None:
    for ref in ([f"refs/remotes/{env.remote}/{env.default_branch}"] if env.remote else []) + [
            f"refs/heads/{env.default_branch}"]:
        if env.git.try_rev_parse(ref):
            return ref
    return None


def predicted_gains(env: StageContext, ids: list[str]) -> dict[str, Predicted]:
    """Each merged proposal's ``predicted_improvement``, from its file on the default branch
    (the release record keeps the facts the changelog needs, not the prediction)."""
    rev = _default_rev(env)
    if rev is None or not ids:
        return {}
    out: dict[str, Predicted] = {}
    blobs = read_blobs(env.git.path, rev, [f"{PROPOSALS_DIR}/{i}.yaml" for i in ids])
    for pid in ids:
        blob = blobs.get(f"{PROPOSALS_DIR}/{pid}.yaml")
        with contextlib.suppress(YamlError, TypeError, ValueError, KeyError,
                                 AttributeError):
            pred = load_yaml(blob or b"")["predicted_improvement"]
            out[pid] = Predicted(metric=str(pred["metric"]), delta=float(pred["delta"]))
    return out


def open_proposals(forge: Forge) -> list[dash.ProposalView]:
    """Open improvement PRs with their state (from the ``improve/gate`` status on the head) and
    proposer and type (from the proposal file on the branch)."""
    views = []
    for pr in forge.list_pulls(state="open", label=PROPOSAL_LABEL):
        status = forge.combined_status(pr.head_sha).get(GATE_CONTEXT)
        pid = pr.head_ref.removeprefix(BRANCH_PREFIX)
        author, ptype = pr.author, ""
        with contextlib.suppress(Exception):  # a hand-made PR has no proposal file
            data = load_yaml(forge.read_file(f"{PROPOSALS_DIR}/{pid}.yaml",
                                             ref=pr.head_sha) or "") or {}
            author = str(data.get("author") or author)
            ptype = str(data.get("type") or "")
        state = dash.proposal_state(status.description if status else None)
        views.append(dash.ProposalView(number=pr.number, title=pr.title, url=pr.url,
                                       state=state, author=author, type=ptype,
                                       waits_on=dash.waits_on(state, pr.requested_reviewers)))
    return views


def gather(env: StageContext, with_issue: bool = True) -> Gathered:
    damaged: list[str] = []
    releases, monitors, runs = read_loop_records(env, damaged)
    ids = [str(r.proposal.get("id")) for r in releases if r.proposal and r.proposal.get("id")]
    eff = effectiveness(release_outcomes(releases, monitors, predicted_gains(env, ids)))
    return Gathered(releases, monitors, runs, open_proposals(env.forge), eff,
                    find_dashboard(env.forge) if with_issue else None, damaged)


# --- decide -------------------------------------------------------------------------------------


def decide(env: StageContext, g: Gathered) -> tuple[dash.Dashboard, AlertUpdate]:
    now = env.now()
    waiting = [(p.number, p.title, p.state) for p in g.proposals if p.state != "rejected"]
    alerts = current_alerts(g.releases, g.monitors, g.runs, waiting, now, env.config)
    previous = dash.alert_state(g.issue.body if g.issue else None)
    update = update_alerts(previous, alerts, now)
    d = dash.dashboard(g.releases, g.monitors, g.runs, g.proposals, update.active,
                       g.effectiveness, now, env.config)
    if g.damaged:
        d.health = "needs attention"
        d.reason = DAMAGED_HEALTH.format(count=len(g.damaged), paths=", ".join(
            damaged_path(line) for line in g.damaged)) + (f"; {d.reason}" if d.reason else "")
    return d, update


def build(env: StageContext) -> dash.Dashboard:
    """The dashboard without writing anything (``improve status``, ``improve report``)."""
    d, _ = decide(env, gather(env))
    return d


# --- act ----------------------------------------------------------------------------------------


def _without_time(body: str) -> str:
    # a refresh that changes only the "Refreshed ..." line is not worth an API call
    return re.sub(r"<sub>Refreshed [^<]*</sub>", "", body).rstrip()


def refresh_dashboard(env: StageContext, g: Gathered | None = None) -> RefreshOutcome:
    """Create the dashboard issue once, then edit it in place; announce alerts raised or
    cleared since the last refresh with one comment. The comment comes before the edit (the
    body keeps the alert state): a run killed between them finds its comment on the re-run
    (``_announce``) and announces once. A new issue is created holding the alert state as it
    was (none) and "pin pending", then pinned, announced and edited to the new state: a run
    killed anywhere on the way finishes it on its re-run (the issue is found, or adopted when
    its labelling was lost, before deciding, so its body's alert state is the one compared)."""
    g = g or gather(env)
    if g.issue is None:
        g.issue = adopt_dashboard(env.forge)
    d, update = decide(env, g)
    body = dash.render_markdown(d, update.state())
    announce = render("alert_comment.md.j2", raised=update.raised, cleared=update.cleared) \
        if update.raised or update.cleared else None
    created = g.issue is None
    if g.issue is None:
        first = dash.render_markdown(d, dash.alert_state(None), pin_pending=True)
        g.issue = env.forge.create_issue(title=dash.TITLE, body=first, labels=[dash.LABEL])
        print(CREATED.format(number=g.issue.number), file=env.out)
    issue = g.issue
    if dash.pin_pending(issue.body):
        try:
            env.forge.pin_issue(issue)
        except ForgeError as exc:
            # GitHub pins at most three issues per repository: the dashboard still works unpinned
            print(PIN_FAILED.format(number=issue.number, reason=exc), file=env.err)
    if announce is not None:
        _announce(env, issue.number, announce)
    if _without_time(issue.body) != _without_time(body):
        issue = env.forge.update_issue(issue.number, body=body)
        action = "created" if created else "edited"
        if not created:
            print(EDITED.format(number=issue.number), file=env.out)
    else:
        action = "unchanged"
        print(UNCHANGED.format(number=issue.number), file=env.out)
    return RefreshOutcome(issue.number, action, update, d)


def _announce(env: StageContext, number: int, body: str) -> None:
    """The alert comment, unless the newest comment already says it: a run killed after
    posting it and before editing the body (which keeps the alert state) is re-run with the
    same alerts to announce, and announces once."""
    comments = env.forge.list_comments(number)
    if comments and comments[-1].body.rstrip() == body.rstrip():
        return
    env.forge.create_comment(number, body)


def file_opportunities(env: StageContext, runs: list[RunSummary]) -> list[Issue]:
    """One issue per opportunity not filed before (open or closed: closing it says no)."""
    found = opp.find_opportunities(runs, env.config)
    if not found:
        return []
    filed = opp.filed_keys(i.body for i in env.forge.list_issues(label=opp.LABEL, state="all"))
    todo = opp.to_file(found, filed)
    if todo:
        # one filed by a run killed before labelling it carries its key all the same
        unlabelled = [i for i in env.forge.list_issues(state="all")
                      if opp.LABEL not in i.labels and opp.filed_keys([i.body])]
        for i in unlabelled:
            env.forge.add_labels(i.number, [opp.LABEL])
        filed = filed | opp.filed_keys(i.body for i in unlabelled)
        todo = opp.to_file(found, filed)
    out = []
    for o in todo:
        body = render("opportunity.md.j2", kind=o.kind, subject=o.subject,
                      evidence=o.evidence, key_line=o.key_line())
        issue = env.forge.create_issue(title=o.title, body=body, labels=[opp.LABEL])
        print(FILED.format(number=issue.number, title=o.title), file=env.out)
        out.append(issue)
    return out


def scheduled(env: StageContext) -> RefreshOutcome:
    """What the scheduled run does here: refresh the dashboard, file the opportunities."""
    g = gather(env)
    outcome = refresh_dashboard(env, g)
    outcome.filed = file_opportunities(env, g.runs)
    outcome.damaged = g.damaged
    return outcome


# --- wiring -------------------------------------------------------------------------------------


router: Router[Event, StageContext] = Router()


@router.register("schedule")
@router.register("workflow_dispatch")
def on_schedule(event: Event, services: StageContext) -> int:
    try:
        outcome = scheduled(services)
    except GitError as exc:
        print(f"improve dashboard: the data branch is not readable: {exc}", file=services.err)
        return exc.exit_code
    if outcome.damaged:
        # the health line says it too; the job fails so that someone looks
        return DamagedState.exit_code
    return 0


# --- improvement requests -----------------------------------------------------------------------

REQUEST_LABEL = "improvement-request"
REQUEST_MARKER = "request"


def file_request(forge: Forge, *, title: str, what: str, evidence: str, author: str,
                 target: str | None = None) -> tuple[Issue, bool]:
    """Open an improvement request issue (label ``improvement-request``), or find the open one
    with the same title that ``improve request`` filed before: (issue, created)."""
    for issue in forge.list_issues(label=REQUEST_LABEL, state="open"):
        if issue.title == title and find_marker(issue.body) == REQUEST_MARKER:
            return issue, False
    body = render("request.md.j2", what=what, evidence=evidence, target=target, author=author)
    return forge.create_issue(title=title, body=body, labels=[REQUEST_LABEL]), True
