"""PROPOSE: a proposal file becomes the branch ``improve/<id>`` with one commit (the changes and
``.improve/proposals/<id>.yaml``, with trailers), then, through a publisher, a pushed branch
and a pull request.

gather (the default branch's tip, the configuration there, the files the changes name, the
open proposals) -> decide (validation, the changes applied in memory, the limits, the message
and body; pure) -> act (the commit built in a temporary index, the branch created only if it
does not exist, the publisher). The user's working tree and index are never touched.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from bot.adapters import proposal_git as pg
from bot.adapters.patch import apply_patch
from bot.core.analytics.proposer import ProposerContext, proposer_context
from bot.core.config import Config, read_config
from bot.core.edits import ChangeSummary
from bot.core.issue_proposals import CLOSES
from bot.core.limits import CooldownRelease, OpenProposal, check_limits
from bot.core.proposal_files import LABEL
from bot.core.proposals import (
    BRANCH_PREFIX,
    PROPOSALS_DIR,
    TRAILER_PROPOSAL,
    Applied,
    Proposal,
    apply_changes,
    branch_name,
    check_proposal,
    commit_message,
    one_line,
    proposal_file_text,
    proposal_path,
    slug,
    targets,
)
from bot.core.records import MonitorRecord, ReleaseRecord
from bot.core.render import render
from bot.core.tiers import Tier, approval_tier
from bot.core.yamldoc import dump_yaml
from bot.errors import GateError, InputError, Problem

NOTHING_TO_DO = "the proposal changes nothing on {base}"
BASE_MISSING = "the default branch {branch!r} has no commit here (neither refs/heads/{branch} " \
    "nor refs/remotes/origin/{branch})"
FOREIGN_COMMITS = "branch {branch} has commits improve did not make ({commits}); " \
    "it is left as it is (never forced over)"
OTHER_VERSION = "branch {branch} already holds a different version of proposal {id}; " \
    "give the changed proposal a new id, or delete the branch if it is abandoned"
REFUSED = "proposal {id} refused: {reasons}"


@dataclass(frozen=True)
class PublishRequest:
    """What the forge needs to push the branch and open (or find) the pull request."""

    proposal_id: str
    branch: str
    base_branch: str
    commit: str
    title: str
    body: str
    labels: tuple[str, ...] = (LABEL,)


# pushes the branch (never forced) and opens or finds the pull request; returns its URL.
# Wired to the forge next: bot/commands/propose.py refuses --forge without --no-push until then.
Publisher = Callable[[PublishRequest], "str | None"]


@dataclass
class Plan:
    """Everything PROPOSE will do, decided before anything is written."""

    proposal: Proposal
    base_branch: str
    base: str
    applied: Applied
    proposal_file: str
    proposal_text: str
    message: str
    tier: Tier
    body: str
    config: Config
    generated_id: bool

    @property
    def id(self) -> str:
        return self.proposal.id or ""

    @property
    def branch(self) -> str:
        return branch_name(self.id)

    @property
    def title(self) -> str:
        return one_line(self.proposal.title)

    @property
    def files(self) -> dict[str, str | None]:
        """Every file the commit writes: the changes and the proposal file."""
        return {**self.applied.files, self.proposal_file: self.proposal_text}

    def request(self, commit: str) -> PublishRequest:
        return PublishRequest(self.id, self.branch, self.base_branch, commit, self.title, self.body)


@dataclass
class Outcome:
    status: Literal["dry-run", "created", "unchanged"]
    plan: Plan
    commit: str | None = None
    url: str | None = None
    notes: list[str] = field(default_factory=list)


def resolve_base(repo: Path) -> tuple[str, str, Config]:
    """The default branch, its tip, and the configuration read there (never from a PR).

    The forge's word (origin's HEAD, which a clone records) wins over the configuration's
    ``default_branch``: that one has a default ("main") a newcomer never wrote, and a
    repository whose default is master would be proposed against a branch it does not have.
    The configured one counts only where the forge's is not known and it was written down."""
    branch = pg.default_branch(repo)
    tip = pg.branch_tip(repo, branch)
    if tip is None:
        raise InputError(BASE_MISSING.format(branch=branch))
    first = tip
    config = read_config(lambda p: pg.read_text(repo, first, p), f" (on {branch})")
    if (pg.remote_default_branch(repo) is None and "default_branch" in config.model_fields_set
            and config.default_branch != branch):
        branch = config.default_branch
        tip = pg.branch_tip(repo, branch)
        if tip is None:
            raise InputError(BASE_MISSING.format(branch=branch))
    return branch, tip, config


def pr_body(
    proposal: Proposal,
    summaries: list[ChangeSummary],
    tier: Tier,
    context: ProposerContext | None = None,
) -> str:
    evidence = dump_yaml(proposal.evidence).rstrip()
    return render(
        "pr_body.md.j2",
        proposal=proposal,
        summaries=summaries,
        tier=tier,
        context=context,
        evidence=evidence,
        proposal_file=proposal_path(proposal.id or ""),
        branch=branch_name(proposal.id or ""),
    )


def plan_proposal(repo: Path, text: str, file: str, today: date) -> Plan:
    """Validate and apply in memory; every problem at once as an InputError (nothing written)."""
    base_branch, base, config = resolve_base(repo)
    checked = check_proposal(text, file, config, today)
    if checked.proposal is None:
        raise InputError(checked.problems)
    proposal = checked.proposal
    reader = pg.TreeReader(repo, base)
    reader.prefetch(targets(proposal))
    applied = apply_changes(proposal, reader, file=file, doc=checked.doc, patcher=apply_patch)
    if applied.problems:
        raise InputError(applied.problems)
    if not applied.files:
        raise InputError([Problem(file, NOTHING_TO_DO.format(base=base_branch), None, "changes")])
    pid = proposal.id or ""
    tier = approval_tier(proposal.type, proposal.risk, config.approval)
    return Plan(
        proposal=proposal,
        base_branch=base_branch,
        base=base,
        applied=applied,
        proposal_file=proposal_path(pid),
        proposal_text=proposal_file_text(text, pid),
        message=commit_message(proposal, applied.summaries),
        tier=tier,
        body=pr_body(proposal, applied.summaries, tier),
        config=config,
        generated_id=not (isinstance(checked.doc.data, dict) and "id" in checked.doc.data)
        if checked.doc is not None else True,
    )


# the data branch's full records: releases and monitors (bot.core.records), for the proposer's
# track record, resemblance to rolled-back changes and the auto tier's pause
History = tuple[Sequence[ReleaseRecord], Sequence[MonitorRecord]]


def with_history(plan: Plan, history: History, now: datetime,
                 paused: bool | None = None) -> None:
    """Let the history decide the tier and add what it says to the PR body; ``paused``: the
    auto tier's pause as the dashboard issue has it (None: from the history)."""
    releases, monitors = history
    p = plan.proposal
    ctx = proposer_context(
        ptype=p.type, risk=p.risk, author=p.author,
        changes=[(s.path, s.description) for s in plan.applied.summaries],
        releases=releases, monitors=monitors, config=plan.config, now=now, paused=paused,
    )
    plan.tier = ctx.tier
    plan.body = pr_body(p, plan.applied.summaries, ctx.tier, ctx)


def unified_diff(plan: Plan, repo: Path | None = None) -> str:
    """The diff the commit will make, as ``git diff`` shows it (a/ and b/ prefixes)."""
    out: list[str] = []
    originals = dict(plan.applied.originals)
    if plan.proposal_file not in originals and repo is not None:
        originals[plan.proposal_file] = pg.read_text(repo, plan.base, plan.proposal_file)
    for path, new in sorted(plan.files.items()):
        old = originals.get(path)
        out.extend(difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            (new or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if old is not None else "/dev/null",
            tofile=f"b/{path}" if new is not None else "/dev/null",
        ))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                   for line in out)


def merged_ids(repo: Path, base: str) -> set[str]:
    """Proposals merged into the default branch: their files are there (git-native, and it
    survives squash merges)."""
    names = pg.list_dir(repo, base, PROPOSALS_DIR)
    return {Path(n).stem for n in names if n.endswith(".yaml")}


def local_open_proposals(repo: Path, base: str, merged: set[str]) -> list[OpenProposal]:
    """Local ``improve/*`` branches not merged: the open proposals when no forge is asked.
    Their targets are the paths they change, as git sees them."""
    found = []
    for name, tip in sorted(pg.branches(repo, BRANCH_PREFIX + "*").items()):
        pid = name.removeprefix(BRANCH_PREFIX)
        if pid in merged or pg.is_ancestor(repo, tip, base):
            continue
        fork = pg.merge_base(repo, base, tip) or base
        changed = pg.git(repo, "diff", "--name-only", "-z", fork, tip, "--").split("\0")
        paths = [p for p in changed if p and not p.startswith(PROPOSALS_DIR + "/")]
        found.append(OpenProposal(id=pid, targets=paths))
    return found


def _existing(repo: Path, plan: Plan) -> tuple[str, str] | None:
    """The branch already holding this proposal, with its tip: ``improve/<id>``, or for a
    proposal without an id, a branch of the same title made on an earlier day whose proposal
    file is this one (so proposing again another day changes nothing either)."""
    tip = pg.rev_parse(repo, f"refs/heads/{plan.branch}")
    if tip is not None:
        return plan.branch, tip
    if not plan.generated_id:
        return None
    pattern = f"{BRANCH_PREFIX}prop-*-{slug(plan.proposal.title)}"
    for name, sha in sorted(pg.branches(repo, pattern).items()):
        other = name.removeprefix(BRANCH_PREFIX)
        on_branch = pg.read_text(repo, sha, proposal_path(other))
        if on_branch is not None and on_branch == proposal_file_text_for(plan, other):
            return name, sha
    return None


def proposal_file_text_for(plan: Plan, other_id: str) -> str:
    # the proposal file as it would read under another id: only the id line differs
    return plan.proposal_text.replace(f"id: {plan.id}", f"id: {other_id}", 1)


def _check_branch(repo: Path, plan: Plan, branch: str, tip: str) -> bool:
    """True when the branch is this proposal's, made by improve; raises when it holds commits
    the bot did not make or another version of the proposal."""
    pid = branch.removeprefix(BRANCH_PREFIX)
    fork = pg.merge_base(repo, plan.base, tip) or plan.base
    commits = pg.commits_between(repo, fork, tip, TRAILER_PROPOSAL)
    foreign = [c for c in commits if c.proposal != pid]
    if foreign or not commits:
        shown = ", ".join(f"{c.sha[:7]} {c.subject!r}" for c in foreign[:3]) or "none by improve"
        raise GateError(FOREIGN_COMMITS.format(branch=branch, commits=shown))
    on_branch = pg.read_text(repo, tip, proposal_path(pid))
    expected = proposal_file_text_for(plan, pid)
    if on_branch != expected:
        raise GateError(OTHER_VERSION.format(branch=branch, id=pid))
    return True


def _unchanged(repo: Path, plan: Plan, branch: str, tip: str,
               publish: Publisher | None) -> Outcome:
    """The proposal is on ``branch`` at ``tip`` already (under its id, or proposed earlier
    under another): nothing is committed; its pull request is found or opened."""
    _check_branch(repo, plan, branch, tip)
    outcome = Outcome("unchanged", plan, commit=tip)
    if branch != plan.branch:
        outcome.notes.append(f"proposed earlier as {branch}")
        outcome.plan.proposal = plan.proposal.model_copy(
            update={"id": branch.removeprefix(BRANCH_PREFIX)}
        )
    if publish is not None:
        outcome.url = publish(outcome.plan.request(tip))
    return outcome


def _check_limits(repo: Path, plan: Plan, releases: Iterable[CooldownRelease],
                  open_proposals: Iterable[OpenProposal] | None, now: datetime) -> None:
    """GateError with every limit the proposal is over (the open proposals: the forge's, or
    without one the local branches)."""
    merged = merged_ids(repo, plan.base)
    opened = (
        list(open_proposals) if open_proposals is not None
        else local_open_proposals(repo, plan.base, merged)
    )
    refusals = check_limits(
        plan.id, plan.applied.files, plan.proposal.depends_on, opened, releases, merged, now,
        plan.config,
    )
    if refusals:
        raise GateError(REFUSED.format(id=plan.id, reasons="; ".join(r.message for r in refusals)))


def propose(
    repo: Path,
    text: str,
    file: str,
    *,
    today: date | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    publish: Publisher | None = None,
    releases: Iterable[CooldownRelease] = (),
    open_proposals: Iterable[OpenProposal] | None = None,
    history: History | None = None,
    paused: bool | None = None,
    source_issue: int | None = None,
) -> Outcome:
    """Run PROPOSE for one proposal file's ``text``. ``open_proposals`` and ``releases`` come
    from the forge and the data branch when wired; without them, local branches are the open
    proposals and there are no releases."""
    now = now or datetime.now(UTC)
    repo = pg.toplevel(repo)
    plan = plan_proposal(repo, text, file, today or now.date())
    if history is not None:
        with_history(plan, history, now, paused)
    if source_issue is not None:
        # GitHub closes the issue when the pull request merges into the default branch
        plan.body = plan.body.rstrip("\n") + "\n\n" + CLOSES.format(issue=source_issue) + "\n"
    if dry_run:
        return Outcome("dry-run", plan)
    existing = _existing(repo, plan)
    if existing is not None:
        return _unchanged(repo, plan, *existing, publish)
    _check_limits(repo, plan, releases, open_proposals, now)
    commit = pg.commit_files(repo, plan.base, plan.files, plan.message)
    pg.create_branch(repo, plan.branch, commit)
    outcome = Outcome("created", plan, commit=commit)
    if publish is not None:
        outcome.url = publish(plan.request(commit))
    return outcome
