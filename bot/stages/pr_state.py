"""The gate of a pull request, in one place: the bot's state comment (verdict, approval, hold)
and the ``improve/gate`` status computed from it by ``bot.core.policy``.

Two stages write the gate: the comment commands (``bot/stages/comment_commands.py``) and the
pull-request stage's report of a comparison, which calls ``publish_verdict``. Both read the
state comment, let the pure policy decide, then write the state comment and the status; neither
computes a gate itself. (The pull-request stage wrote the first, smallest ``publish_verdict``;
this is the fuller one, with the same signature.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from types import EllipsisType

from bot.adapters.git import Git, GitError
from bot.core import workflows
from bot.core.config import ApprovalConfig
from bot.core.forge import (
    GITHUB_ACTIONS_BOT,
    Comment,
    Forge,
    NotMergeable,
    PermissionDenied,
    PullRequest,
    StaleHead,
    Unprocessable,
    WorkflowRun,
)
from bot.core.policy import (
    GATE_CONTEXT,
    GateStatus,
    PrState,
    PrStatus,
    Tier,
    Verdict,
    automerge_sha,
    awaits_approval,
    base_moved,
    find_state,
    gate_for,
    merge_stale_message,
    record_verdict,
    render_state,
    replied_to,
)
from bot.core.proposal_files import pick_proposal_file, proposal_author
from bot.core.render import render
from bot.core.reviewers import CODEOWNERS_PATHS, reviewers_for
from bot.stages.context import StageContext

# the login GITHUB_TOKEN's comments and statuses are made as (an App token: "<slug>[bot]")

MERGE_BLOCKED = (
    "The gate is green for {sha}, but GitHub would not merge it: {why}. "
    "Resolve that and merge by hand, or `/approve` again."
)
# a 403: the job's token may not merge (no contents: write, or a rule only the App may bypass)
MERGE_FORBIDDEN = (
    "The gate is green for {sha}, but this workflow's token may not merge it ({why}). "
    "Give the job `contents: write`, or install the GitHub App the README describes; until "
    "then, merge by hand."
)


# the workflow GitHub names by its file: the one path the templates install it at
TEST_WORKFLOW = PurePosixPath(workflows.TEST_WORKFLOW).name
RETEST_NO_RUN = "found no finished run of the test workflow ({workflow}) for {sha} to re-run"
RETEST_RUNNING = "the test of {sha} is still running"
REEVALUATING_MARKER = "reevaluating"
REEVALUATING_STATUS = "{branch} moved since the comparison: measuring the combination again"


def forge_login(forge: Forge) -> str:
    """Whose comments are the bot's own: the adapters know the login their token acts as."""
    return forge.bot_login or GITHUB_ACTIONS_BOT


def bot_login(services: StageContext) -> str:
    return forge_login(services.forge)


@dataclass(frozen=True)
class StoredState:
    """The state comment as found on the PR: its id (None: not written yet), the record, and
    the comments the bot has already answered (from its replies)."""

    comment_id: int | None
    state: PrState
    replied: frozenset[str]

    @property
    def head(self) -> str | None:
        """The head commit the gate last stood on: the one whose comparison was recorded.
        ``publish_verdict`` records only the PR's current head, so this is the current head
        unless a push is being tested right now."""
        return self.state.verdict.sha if self.state.verdict else None


def read_state(
    forge: Forge, number: int, comments: Sequence[Comment] | None = None
) -> StoredState:
    """One API call (none when the caller has just listed the ``comments``): the PR's comments,
    searched for the bot's own state comment and replies."""
    login = forge_login(forge)
    listed = forge.list_comments(number) if comments is None else comments
    triples = [(c.id, c.author, c.body) for c in listed]
    comment_id, state = find_state(triples, login)
    return StoredState(comment_id, state, frozenset(replied_to(triples, login)))


def write_state(
    forge: Forge, number: int, stored: StoredState, state: PrState, head_sha: str,
    services: StageContext, timeout_days: float | None = None,
) -> None:
    """Edit the state comment in place (or create it): one API call."""
    days = services.config.approval.timeout_days if timeout_days is None else timeout_days
    body = render_state(state, head_sha, services.now(), days)
    if stored.comment_id is None:
        forge.create_comment(number, body)
    else:
        forge.edit_comment(stored.comment_id, body)


def set_gate(forge: Forge, head_sha: str, gate: GateStatus, target_url: str | None = None) -> None:
    forge.set_status(head_sha, state=gate.state, context=GATE_CONTEXT,
                     description=gate.description, target_url=target_url or None)


def merge_approved(forge: Forge, number: int, sha: str) -> str | None:
    """Merge with the approved head ``sha`` (GitHub answers 409 if the head moved meanwhile).
    Returns the comment posted on the PR when the merge did not happen, else None."""
    try:
        forge.merge_pull(number, sha=sha)
    except StaleHead:
        text = merge_stale_message(sha)
    except NotMergeable as exc:
        text = MERGE_BLOCKED.format(sha=f"`{sha[:7]}`", why=str(exc).split(": ", 1)[-1])
    except PermissionDenied as exc:
        text = MERGE_FORBIDDEN.format(sha=f"`{sha[:7]}`", why=str(exc).split(": ", 1)[-1])
    else:
        return None
    body = render("merge_refused.md.j2", text=text)
    forge.create_comment(number, body)
    return body


def run_to_rerun(runs: list[WorkflowRun], sha: str) -> tuple[WorkflowRun | None, str]:
    """The newest run of the TEST workflow for ``sha`` and, when there is none to re-run, why."""
    mine = [r for r in runs if r.path.split("@", 1)[0].endswith(f"/{TEST_WORKFLOW}")
            and r.head_sha == sha]
    if not mine:
        return None, RETEST_NO_RUN.format(workflow=TEST_WORKFLOW, sha=sha[:7])
    newest = max(mine, key=lambda r: r.id)
    if newest.status != "completed":
        return None, RETEST_RUNNING.format(sha=sha[:7])
    return newest, ""


def merge_when_current(forge: Forge, number: int, sha: str, state: PrState,
                       pull: Callable[[], PullRequest], gate: GateStatus | None = None,
                       target_url: str | None = None) -> GateStatus | None:
    """Set the green ``gate`` and merge with the approved head ``sha``, unless the base branch
    moved on since the comparison recorded for it: the merge would then make a combination
    nobody measured.

    This job must not run the pull request's code (it holds a write token), so instead it asks
    GitHub to re-run the TEST workflow's run for ``sha``. TEST runs with its own read-only token,
    finds the branch moved past its event's base, and measures the head merged into the branch
    as it is now against the branch; its report sets the gate again and merges if it holds. The
    gate is set pending instead of green meanwhile (never green for a moment), so branch
    protection keeps a person from merging the stale combination either. Returns the gate set
    (None when none was given and the merge went ahead)."""
    if state.verdict is not None and state.verdict.sha == sha and state.verdict.base:
        branch = pull().base_ref
        tip = forge.branch_sha(branch) or ""
        old = base_moved(state, sha, tip)
        if old is not None and pull().merged and pull().head_sha == sha:
            # an earlier attempt merged it and was stopped before its end: the branch moved by
            # this very merge, so there is nothing to measure again and nothing to merge
            if gate is not None:
                set_gate(forge, sha, gate, target_url)
            return gate
        if old is not None:
            run, why_not = run_to_rerun(
                forge.list_workflow_runs(head_sha=sha, event="pull_request"), sha)
            if run is not None:
                forge.rerun_workflow(run.id)
            waiting = GateStatus(state="pending",
                                 description=REEVALUATING_STATUS.format(branch=branch))
            set_gate(forge, sha, waiting, target_url)
            body = render("reevaluating.md.j2", branch=branch, old=old[:12], new=tip[:12],
                          sha=sha[:12], why_not=why_not)
            forge.upsert_comment(number, REEVALUATING_MARKER, body)
            return waiting
    if gate is not None:
        set_gate(forge, sha, gate, target_url)
    merge_approved(forge, number, sha)
    return gate


# a caller that does not know the proposal's author: pr_authors looks it up
LOOK_UP = ...


def pr_authors(forge: Forge, pr: PullRequest,
               proposal_author_: str | None | EllipsisType = LOOK_UP) -> tuple[str, ...]:
    """Everyone who may not approve the PR: its opener, the ``author`` its proposal file names
    (read from the head through the forge, never from a run's artifact, unless the caller read
    it from the head itself) and the authors and committers of its commits. One to three API
    calls."""
    found = {pr.author, *forge.pull_commit_authors(pr.number)}
    if proposal_author_ is LOOK_UP:
        path = pick_proposal_file(forge.pull_files(pr.number), pr.head_ref)
        if path is not None:
            found.add(proposal_author(forge.read_file(path, ref=pr.head_sha)) or "")
    elif isinstance(proposal_author_, str):
        found.add(proposal_author_)
    return tuple(sorted({a.lower() for a in found if a}))


def _codeowners(services: StageContext, pr: PullRequest) -> str | None:
    """The CODEOWNERS file of the pull request's base commit, as GitHub reads it (the first of
    its three places). From the job's checkout when it holds that commit (no API call: the
    report job checks out the default branch, the single job fetched the base), else through
    the API at the base branch."""
    with contextlib.suppress(GitError):
        git = Git(services.workspace)
        if git.try_rev_parse(f"{pr.base_sha}^{{commit}}") is not None:
            return next((text for path in CODEOWNERS_PATHS
                         if (text := git.file_at(pr.base_sha, path)) is not None), None)
    for path in CODEOWNERS_PATHS:
        text = services.forge.read_file(path, ref=pr.base_ref)
        if text is not None:
            return text
    return None


ASK_FORBIDDEN = ("improve: could not ask {who} to review #{number} ({why}); the job needs "
                 "`pull-requests: write`")
ASK_REFUSED = "improve: GitHub would not ask {who} to review #{number}: {why}"


def ask_reviewers(services: StageContext, pr: PullRequest,
                  authors: Sequence[str]) -> tuple[str, ...]:
    """Ask the configured reviewers (``approval.reviewers``), or the code owners of the changed
    paths, to review ``pr``; returns who was asked. Calls: the CODEOWNERS file (up to three
    places) and the changed paths when no reviewers are configured, then one request. Someone
    GitHub will not ask (no collaborator, a team it does not know) is left out, the others are
    still asked; a token that may not ask is reported, never fatal."""
    forge = services.forge
    configured = services.config.approval.reviewers
    codeowners: str | None = None
    changed: list[str] = []
    if not configured:
        codeowners = _codeowners(services, pr)
        if codeowners is None:
            return ()
        changed = forge.pull_files(pr.number)
    who = reviewers_for(configured, changed, codeowners,
                        [*authors, pr.author, forge_login(forge)])
    if who.empty:
        return ()
    try:
        forge.request_reviewers(pr.number, who.users, who.teams)
        return who.names()
    except PermissionDenied as exc:
        print(ASK_FORBIDDEN.format(who=", ".join(who.names()), number=pr.number, why=exc),
              file=services.err, flush=True)
        return ()
    except Unprocessable:
        pass
    # one of them cannot be asked: each on their own, so the others still are
    asked: list[str] = []
    for users, teams, name in [([u], [], u) for u in who.users] + \
            [([], [t], f"@{t}") for t in who.teams]:
        try:
            forge.request_reviewers(pr.number, users, teams)
            asked.append(name)
        except Unprocessable as exc:
            print(ASK_REFUSED.format(who=name, number=pr.number, why=exc), file=services.err,
                  flush=True)
        except PermissionDenied:
            break
    return tuple(asked)


def pr_status(state: str, merged: bool) -> PrStatus:
    if merged:
        return "merged"
    return "open" if state == "open" else "closed"


def publish_verdict(
    services: StageContext,
    pr_number: int,
    head_sha: str,
    verdict: Verdict,
    tier: Tier,
    *,
    comments: Sequence[Comment] | None = None,
    approval: ApprovalConfig | None = None,
    pull: PullRequest | None = None,
    target_url: str | None = None,
    base: str | None = None,
    proposal_author: str | None | EllipsisType = LOOK_UP,
) -> GateStatus:
    """What the report of a comparison calls: record ``verdict`` for ``head_sha`` and set the
    ``improve/gate`` status from the state (approval, hold, expiry), merging when the gate turns
    green and ``approval.automerge`` is on.

    A verdict for a commit that is no longer the PR's head (a push landed while it was tested)
    still gets its own gate status, but is not recorded: the record stays with the current head.

    ``base``: the base branch's tip the comparison stood on; the merge waits for a new
    comparison when the branch has moved since (``merge_when_current``).

    ``comments`` (the PR's comments) and ``pull`` (the PR), when the caller has just read them,
    save a call each; ``approval`` (timeout, automerge) defaults to the trusted configuration's,
    and is given where that configuration could not be read (the error path must not read it
    again, or the gate would stay pending);
    ``proposal_author``, when the caller read the proposal file at the head, saves two.
    Calls otherwise: the PR, the comments, the status, the state comment (and the merge).
    """
    forge = services.forge
    pr = pull if pull is not None else forge.get_pull(pr_number)
    stored = read_state(forge, pr_number, comments)
    approval = services.config.approval if approval is None else approval
    days = approval.timeout_days
    now = services.now()
    authors = pr_authors(forge, pr, proposal_author) if pr.head_sha == head_sha else ()
    state = record_verdict(stored.state, head_sha, verdict, tier, base, authors, now)
    gate = gate_for(state, head_sha, now, days)
    current = pr.head_sha == head_sha
    sha = automerge_sha(gate, approval.automerge, pr_status(pr.state, pr.merged), head_sha) \
        if current else None
    if sha is None:  # a merge sets the gate itself: pending, when the base moved meanwhile
        set_gate(forge, head_sha, gate, target_url)
    if not current:
        return gate
    return _on_head(services, pr_number, pr, stored, state, gate, sha=sha, authors=authors,
                    now=now, days=days, target_url=target_url)


def _on_head(services: StageContext, pr_number: int, pr: PullRequest, stored: StoredState,
             state: PrState, gate: GateStatus, *, sha: str | None, authors: Sequence[str],
             now: datetime, days: float, target_url: str | None) -> GateStatus:
    """What a verdict on the pull request's current head sets going: the reviewers asked
    (once) when it waits on a person, the state recorded (``days``: the approval's timeout),
    the merge when the gate says so (``sha``: the head to merge)."""
    forge, head_sha = services.forge, pr.head_sha
    if state.asked is None and pr.state == "open" and \
            awaits_approval(state, head_sha, now, days):
        # people are asked, not left waiting: once, whoever the proposal waits on
        state = state.model_copy(update={"asked": ask_reviewers(services, pr, authors)})
    if state != stored.state or stored.comment_id is None:
        write_state(forge, pr_number, stored, state, head_sha, services, days)
    if sha is not None:
        gate = merge_when_current(forge, pr_number, sha, state, lambda: pr, gate,
                                  target_url) or gate
    return gate
