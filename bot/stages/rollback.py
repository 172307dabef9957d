"""ROLLBACK: the revert pull request of a release, shared by the three ways to ask for one:
``/rollback`` on the release's pull request (``bot/stages/comment_commands.py``), ``improve
rollback vX.Y.Z`` (``bot/commands/rollback.py``) and the monitor when a confident drop passes
the rollback threshold (``bot/stages/monitor.py``).

gather (the release and monitor records from the data branch, in a private bare clone of the
default branch) -> decide (``bot.core.monitor``, pure: may this release be rolled back, the
branch, title and message) -> act (the revert commit in a scratch worktree, the branch, the
pull request; a conflict is reported on the release's pull request and nothing is pushed).

A revert is of the improvement's own change: its merge commit against the first parent, or its
squashed commit; never the release commit (that would undo the version and the changelog).
The proposal file the merge brought stays: ``.improve/proposals`` is the audit trail of intent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.adapters.datastore import DataStore
from bot.adapters.git import Git, GitError, MergeConflict
from bot.adapters.release_git import Published, Workspace
from bot.core import monitor as core
from bot.core.embed import embed
from bot.core.forge import PullRequest, Unprocessable
from bot.core.proposals import PROPOSALS_DIR
from bot.core.records import (
    MonitorRecord,
    RecordSet,
    ReleaseRecord,
)
from bot.core.release.plan import RollbackFacts
from bot.core.render import render
from bot.stages.context import StageContext

NOT_ON_BRANCH = "the change of {tag} ({sha}) is not on {branch}: nothing to revert"

RollbackStatus = Literal["opened", "exists", "refused", "conflict", "planned", "unknown"]


@dataclass
class RollbackResult:
    status: RollbackStatus
    message: str
    number: int | None = None
    url: str | None = None
    files: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("opened", "exists", "planned")


# --- gather -------------------------------------------------------------------------------------


def read_records(ws: Workspace, store: DataStore) -> RecordSet:
    """The release and monitor records, checked against the tags; the damaged ones named
    ("path: why"), reported, never read."""
    tags = ws.git.run("for-each-ref", "--format=%(refname:lstrip=2)", "refs/tags").split()
    return store.records(tags)


# --- act ----------------------------------------------------------------------------------------


def _conflicts(wt: Git) -> list[str]:
    try:
        out = wt.run("diff", "--name-only", "--diff-filter=U")
    except GitError:
        return []
    return [p for p in out.splitlines() if p]


def revert_commit(ws: Workspace, tip: str, release: ReleaseRecord, message: str) -> str | None:
    """A commit on ``tip`` that reverts the improvement's own change (no ref moved); None when
    the revert changes nothing. Raises ``MergeConflict`` with the files in conflict."""
    sha = release.merge_sha
    parents = ws.git.run("rev-list", "--parents", "-n", "1", sha).split()[1:]
    with ws.git.worktree(tip) as wt:
        args = ["revert", "--no-commit", *(["-m", "1"] if len(parents) > 1 else []), sha]
        try:
            wt.run(*args, env=ws.ident)
        except GitError:
            paths = _conflicts(wt)
            try:
                wt.run("revert", "--abort")
            except GitError:
                wt.run("reset", "--hard", "--quiet", tip)
            raise MergeConflict(f"revert of {sha[:12]}", paths) from None
        # the proposal file stays: .improve/proposals is the audit trail of intent
        kept = [p for p in wt.run("diff", "--cached", "--name-only", "HEAD", "--",
                                  PROPOSALS_DIR + "/").splitlines() if p]
        if kept:
            wt.run("reset", "--quiet", "HEAD", "--", *kept)
            wt.run("checkout", "HEAD", "--", *kept)
        tree = wt.run("write-tree")
    if tree == ws.tree_of(tip):
        return None
    return ws.git.run("commit-tree", tree, "-p", tip, "-m", message.rstrip("\n"), env=ws.ident)


def _publish_branch(ws: Workspace, branch: str, commit: str) -> None:
    if ws.remote is None:
        ws.git.run("update-ref", f"refs/heads/{branch}", commit)
        return
    try:
        # the bot's own branch, with no open pull request: a leftover of an earlier try is replaced
        ws.push(f"+{commit}:refs/heads/{branch}")
    except Published as exc:
        raise GitError(f"git push {branch}: {exc}") from None


def _ensure_labels(env: StageContext, pr: PullRequest, dry_run: bool) -> None:
    """An earlier run may have opened the revert pull request and died before labelling it."""
    missing = [lb for lb in core.ROLLBACK_LABELS if lb not in pr.labels]
    if missing and not dry_run:
        env.forge.add_labels(pr.number, missing)


def _open_revert(env: StageContext, branch: str) -> PullRequest | None:
    found = env.forge.list_pulls(state="open", head=branch)
    return next((p for p in found if p.head_ref == branch), None)


def open_rollback(
    env: StageContext,
    ws: Workspace,
    release: ReleaseRecord,
    releases: list[ReleaseRecord],
    *,
    reason: str,
    evidence: list[str],
    requested_by: str | None = None,
    dry_run: bool = False,
) -> RollbackResult:
    """The revert pull request of ``release``: opened, or the open one pointed at, or refused
    with the reason, or the conflict reported on the release's pull request."""
    rolled = core.rolled_back_by(releases).get(release.version)
    check, why = core.check_rollback(release, rolled)
    if check != "ok":
        return RollbackResult("refused", why)
    branch = core.rollback_branch(release.tag)
    existing = _existing(env, branch, dry_run)
    if existing is not None:
        return existing
    tip = ws.tip()
    if ws.git.try_rev_parse(release.merge_sha) is None or not ws.git.is_ancestor(
            release.merge_sha, tip):
        return RollbackResult("refused", NOT_ON_BRANCH.format(
            tag=release.tag, sha=release.merge_sha[:12], branch=ws.branch))
    reason = " ".join(reason.split()) or core.DEFAULT_REASON.format(actor=requested_by or "?")
    try:
        commit = revert_commit(ws, tip, release, core.revert_message(release, reason))
    except MergeConflict as exc:
        return _conflict(env, ws, release, reason, exc, dry_run)
    if commit is None:
        return RollbackResult("refused", core.NOTHING_TO_REVERT.format(
            sha=release.merge_sha[:12], branch=ws.branch))
    if dry_run:
        return RollbackResult("planned", f"would open {branch} reverting "
                              f"{release.merge_sha[:12]}")
    _publish_branch(ws, branch, commit)
    return _open_pull(env, ws, release, branch, _pull_body(release, reason, evidence,
                                                           requested_by))


def _open_pull(env: StageContext, ws: Workspace, release: ReleaseRecord, branch: str,
               body: str) -> RollbackResult:
    try:
        pr = env.forge.create_pull(title=core.rollback_title(release), body=body, head=branch,
                                   base=ws.branch, labels=list(core.ROLLBACK_LABELS))
    except Unprocessable:
        # opened meanwhile by another delivery of the same request
        again = _existing(env, branch, False)
        if again is None:
            raise
        return again
    return RollbackResult("opened", core.OPENED.format(number=pr.number, url=pr.url),
                          pr.number, pr.url)


def _existing(env: StageContext, branch: str, dry_run: bool) -> RollbackResult | None:
    """The revert pull request of ``branch`` already open (its labels made sure of), or None."""
    found = _open_revert(env, branch)
    if found is None:
        return None
    _ensure_labels(env, found, dry_run)
    return RollbackResult("exists", core.EXISTS.format(number=found.number, url=found.url),
                          found.number, found.url)


def _conflict(env: StageContext, ws: Workspace, release: ReleaseRecord, reason: str,
              exc: MergeConflict, dry_run: bool) -> RollbackResult:
    """The revert does not apply: said on the release's pull request (once, kept up to date)."""
    message = core.CONFLICTED.format(sha=release.merge_sha[:12], branch=ws.branch,
                                     files=", ".join(exc.paths) or "(unknown files)")
    if not dry_run:
        body = render("rollback_conflict.md.j2", tag=release.tag, merge_sha=release.merge_sha,
                      branch=ws.branch, files=exc.paths, reason=reason)
        env.forge.upsert_comment(release.pr, core.CONFLICT_MARKER, body)
    return RollbackResult("conflict", message, files=list(exc.paths))


def _pull_body(release: ReleaseRecord, reason: str, evidence: list[str],
               requested_by: str | None) -> str:
    """The revert pull request's body, with the facts the release stage reads back when it
    merges (embedded)."""
    facts = RollbackFacts(version=release.version, restores=release.previous or "unknown",
                          reason=reason, evidence=evidence,
                          proposal_id=str((release.proposal or {}).get("id") or "") or None)
    return render("rollback_pr.md.j2", tag=release.tag, pr=release.pr,
                  proposal_id=facts.proposal_id, merge_sha=release.merge_sha,
                  restores=facts.restores, version=release.version, reason=reason,
                  evidence=evidence, requested_by=f"@{requested_by}" if requested_by else None,
                  data=embed("rollback", facts.model_dump()))


def evidence_of(monitor: MonitorRecord | None, release: ReleaseRecord) -> list[str]:
    """The monitor's latest numbers, when it measured anything."""
    if monitor is None or not monitor.runs:
        return []
    return core.evidence_lines(monitor.runs[-1], release.results)


def rollback_release(env: StageContext, *, tag: str | None = None, pr: int | None = None,
                     reason: str = "", requested_by: str | None = None,
                     dry_run: bool = False) -> RollbackResult:
    """``improve rollback vX.Y.Z`` and ``/rollback`` on a merged PR: find the release, open its
    revert pull request (or point at the open one)."""
    branch = env.default_branch
    ws = env.open_workspace(branch)
    try:
        store = DataStore(ws.git, env.config.data_branch, ws.remote)
        records = read_records(ws, store)
        if tag is not None:
            release = next((r for r in records.releases if r.tag == tag), None)
            missing = core.NO_RELEASE_TAG.format(tag=tag)
        else:
            release = next((r for r in records.releases if r.pr == pr), None)
            missing = core.NO_RELEASE_PR.format(pr=pr)
        if release is None:
            return RollbackResult("unknown", missing)
        return open_rollback(env, ws, release, records.releases, reason=reason,
                             evidence=evidence_of(records.monitors.get(release.tag), release),
                             requested_by=requested_by, dry_run=dry_run)
    finally:
        ws.close()
