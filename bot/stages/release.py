"""COMMIT: every merged improvement pull request not yet released becomes a release, in merge
order: version bump, changelog entry, release commit ``chore(release): vX.Y.Z``, annotated tag,
release record on the data branch, and a "Released vX.Y.Z" comment on the pull request.

gather (the pending pull requests from the forge; the changelog, version files and tags from a
private bare clone at the branch tip; the proposal file at the merge commit; the comparison the
bot posted) -> decide (``bot.core.release.plan.plan_release``, pure) -> act (commit, tag, atomic
push; on a rejection fetch, decide again on the new tip, bounded tries; record; comment).

One run releases all that is pending, not only the pull request of its event: GitHub keeps one
pending run per concurrency group, so the run for a later merge may be the only one left.

Each tag holds exactly what its entry and the earlier entries describe. When one run covers
several merges, each release but the last is committed on its own merge commit and only its tag
is pushed (the commit is off the branch, reachable from its tag); the last release goes on the
branch tip and its changelog carries every entry. The branch stays linear (no merge commit a
"require linear history" rule would refuse), and ``git diff vA vB`` shows B's change alone.
Running it again changes nothing: the changelog and the tags say what was released.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TextIO

from bot.adapters import actions
from bot.adapters.datastore import DataStore
from bot.adapters.event import Event
from bot.adapters.git import GitError, PushRejected
from bot.adapters.patch import apply_patch
from bot.adapters.release_git import Published, TagTaken, Workspace
from bot.adapters.tags import list_tags
from bot.core.config import Config
from bot.core.edits import patch_paths
from bot.core.embed import embed
from bot.core.forge import Comment, Forge, PullRequest, Unprocessable
from bot.core.limits import ReleaseSlots, release_slots
from bot.core.proposal_files import PROPOSALS_DIR
from bot.core.records import (
    RECORD_SCHEMA,
    RELEASES_DIR,
    record_json,
    release_path,
    results_path,
)
from bot.core.release.changelog import parse_history
from bot.core.release.facts import (
    MAX_LISTED,
    MergedDiff,
    handmade_facts,
    merged_pr,
    pending,
    proposal_facts,
    proposal_path_of,
    rollback_facts,
)
from bot.core.release.notes import entry_text, release_notes, rolled_back_notes
from bot.core.release.plan import (
    RELEASE_PR_BRANCH,
    TRAILER_PR,
    TRAILER_RELEASE,
    AlreadyReleased,
    ComparisonSummary,
    MergedPR,
    ReleasePlan,
    TagFacts,
    plan_release,
    release_of_message,
    tag_facts,
)
from bot.core.release.summary import COMPARE_MARKER, summary_from_comment
from bot.core.release.versioning import Version, parse_tag, tag_name
from bot.core.render import render
from bot.core.router import Router
from bot.core.yamldoc import YamlError, load_yaml
from bot.errors import GateError, ImproveError, InputError, Problem
from bot.stages.context import StageContext

RELEASED_MARKER = "released"
RELEASE_PR_LABEL = "release"
RECORD_MESSAGE = "release: record {tag}"
NOTHING_PENDING = "improve release: nothing to release"
MEASURE_FAILED = ("improve release: the release commit {commit} was not measured ({reason}); "
                  "the record says so (results: null)")
GAVE_UP = ("improve release: PR #{pr}: the branch {branch} kept moving; gave up after {tries} "
           "tries (release.push_retries). Nothing was left half-written; run it again.")
NO_MERGE = ("improve release: the release commit {release} and the commit {base} change the same "
            "lines of {file} or the version files; merge them by hand and run the release again")
# the commit a dry run imagines for a release it did not make
_IMAGINED = "0" * 40
NOT_MERGED = "PR #{pr} is not a merged pull request into {branch}"
NO_RELEASE_COMMIT = ("{file} says {version} released PR #{pr}, but no commit on {branch} carries "
                     "its '{trailer}' trailer and no merged release pull request names it; tag "
                     "the release commit by hand")

Action = Literal["released", "tagged", "planned", "release-pr", "already", "waiting",
                 "completed"]
# how far back a release without its record is completed (older tags predate the records)
COMPLETE_WITHIN_DAYS = 30


@dataclass
class Outcome:
    pr: int
    version: str
    tag: str
    action: Action
    commit: str | None = None
    detail: str = ""
    url: str | None = None


@dataclass
class ReleaseRequest:
    dry_run: bool = False
    only_pr: int | None = None
    # run the suites the merge touched on the release commit (the monitor's reference);
    # measured only when this and the configuration's release.measure both say so
    measure: bool = True


@dataclass
class _State:
    """The branch as last read (or as the dry run imagines it after the plans before)."""

    tip: str
    changelog: str | None
    version_files: dict[str, str]
    tags: dict[str, TagFacts]


# --- gather -------------------------------------------------------------------------------------


def _texts_at(ws: Workspace, config: Config, rev: str) -> tuple[str | None, dict[str, str]]:
    """The changelog and the version files at commit ``rev``."""
    rc = config.release
    files = {}
    for spec in rc.version_files:
        text = ws.text_at(rev, spec.path)
        if text is not None:
            files[spec.path] = text
    return ws.text_at(rev, rc.changelog), files


def _read_state(ws: Workspace, config: Config, rev: str | None = None) -> _State:
    tip = rev or ws.tip()
    changelog, files = _texts_at(ws, config, tip)
    return _State(tip=tip, changelog=changelog, version_files=files,
                  tags=tag_facts(list_tags(ws.path)))


def _newest_release(tags: dict[str, TagFacts], prefix: str) -> tuple[Version, str] | None:
    """The version and commit of the newest release tag (versions only move forward: the last
    release)."""
    best: tuple[Version, str] | None = None
    for name, facts in tags.items():
        v = parse_tag(name, prefix)
        if v is None or facts.pr is None or facts.commit == _IMAGINED:
            continue
        if best is None or v > best[0]:
            best = (v, facts.commit)
    return best


def _texts_for(ws: Workspace, config: Config, base: str,
               tags: dict[str, TagFacts]) -> tuple[str | None, dict[str, str]]:
    """What a release committed on ``base`` starts from: ``base``'s changelog and version files,
    merged with the newest release commit when that one is not in ``base``'s history (a release
    committed on its own merge earlier in the run, or by a run that stopped before the branch
    got its entry), so every entry and the version move forward."""
    found = _newest_release(tags, config.release.tag_prefix)
    if found is None or ws.git.is_ancestor(found[1], base):
        return _texts_at(ws, config, base)
    version, newest = found
    texts = _texts_at(ws, config, base)
    if texts[0] and any(h.version == str(version)
                        for h in parse_history(texts[0], config.release.changelog)):
        # its entry came to the branch another way: a release pull request squashed
        return texts
    merged = ws.merged(base, newest)
    if merged is None:
        raise GateError(NO_MERGE.format(release=newest[:12], base=base[:12],
                                        file=config.release.changelog))
    return _texts_at(ws, config, merged)


def _replace(state: _State, fresh: _State) -> None:
    state.tip, state.changelog = fresh.tip, fresh.changelog
    state.version_files, state.tags = fresh.version_files, fresh.tags


def _released(state: _State, config: Config) -> set[int]:
    """Pull requests released and tagged. One the changelog names without its tag is still
    pending: the release pull request of ``release.mode: pr`` merged, and the tag is due."""
    done = {t.pr for t in state.tags.values() if t.pr is not None}
    if state.changelog:
        prefix = config.release.tag_prefix
        done |= {h.pr for h in parse_history(state.changelog, config.release.changelog)
                 if h.pr and tag_name(h.version, prefix) in state.tags}
    return done


def _facts(ws: Workspace, pr: PullRequest, config: Config) -> MergedPR:
    sha = pr.merge_commit_sha
    assert sha is not None
    merged_at = datetime.fromisoformat(ws.commit_date(sha))
    rollback = rollback_facts(pr)
    if rollback is not None:
        return merged_pr(pr, merged_at, None, rollback)
    changed = ws.changed(sha)
    path = proposal_path_of(pr, changed)
    if path is None:
        return merged_pr(pr, merged_at, handmade_facts(pr, config, changed), None)
    text = ws.text_at(sha, path) or ""
    try:
        data = load_yaml(text)
    except YamlError as exc:
        raise InputError([Problem(path, f"is not YAML: {exc}", exc.line)]) from None
    diff = _merged_diff(ws, sha, changed, data)
    facts = proposal_facts(data, path, ws.messages(sha), diff, patcher=apply_patch)
    return merged_pr(pr, merged_at, facts, None)


def _merged_diff(ws: Workspace, sha: str, changed: list[str], data: Any) -> MergedDiff:
    """The texts the entry's changes are told from: before and after the merge, for the paths
    the proposal names and (the first ``MAX_LISTED``) the paths the merge changed."""
    changes = (data.get("changes") or []) if isinstance(data, dict) else []
    named = [p for c in changes if isinstance(c, dict)
             for p in (patch_paths(c["patch"]) if isinstance(c.get("patch"), str)
                       else [str(c["path"])] if c.get("path") else [])]
    listed = [p for p in changed if not p.startswith(PROPOSALS_DIR + "/")][:MAX_LISTED]
    parent = ws.first_parent(sha)
    before: dict[str, str | None] = {}
    after: dict[str, str | None] = {}
    for p in dict.fromkeys([*named, *listed]):
        with contextlib.suppress(InputError):  # not text: told as absent, never a crash
            before[p] = ws.text_at(parent, p) if parent else None
            after[p] = ws.text_at(sha, p)
    return MergedDiff(changed=tuple(changed), before=before, after=after)


def _comparison(forge: Forge, number: int, comments: list[Comment],
                facts: MergedPR) -> ComparisonSummary:
    # the bot's own comment only: anyone can paste a marker into theirs
    found = forge.find_comment(number, COMPARE_MARKER, comments)
    # the headline is the metric the proposal predicted an improvement of
    predicted = facts.proposal.predicted_metric if facts.proposal else None
    return summary_from_comment(found.body if found else None, predicted)


# --- act ----------------------------------------------------------------------------------------


def _released_comment(plan_tag: str, commit: str | None, summary: ComparisonSummary,
                      monitor_until: str | None) -> str:
    return render("released.md.j2", tag=plan_tag, commit=commit, improvement=summary.improvement,
                  metrics=summary.metrics, monitor_until=monitor_until)


def _measure(ws: Workspace, commit: str, merge_sha: str, err: TextIO) -> dict[str, Any] | None:
    """The suites the merge touched, run on the release commit itself (PR results are untrusted
    artifacts); None when no suite is selected."""
    from bot.adapters.progress import PlainProgress
    from bot.stages.evaluate import EvaluateRequest, evaluate

    parent = ws.first_parent(merge_sha) or merge_sha
    try:
        with ws.git.worktree(commit) as wt:
            results = evaluate(EvaluateRequest(repo=wt.path, ref="HEAD", changed_from=parent),
                               PlainProgress(err))
    except ImproveError as exc:
        # the release is published already: its record and comment must still be written
        print(MEASURE_FAILED.format(commit=commit[:12], reason=exc), file=err, flush=True)
        return None
    if not results.suites:
        return None
    data: dict[str, Any] = json.loads(results.model_dump_json())
    return data


def _record(ws: Workspace, config: Config, plan: ReleasePlan, commit: str, pr: PullRequest,
            results: dict[str, Any] | None) -> None:
    path = results_path(commit) if results is not None else None
    record = plan.record.model_copy(update={
        "schema_version": RECORD_SCHEMA, "release_commit": commit, "pr_url": pr.url,
        "results": path})
    files: dict[str, Any] = {plan.record_path: record_json(record)}
    if results is not None and path is not None:
        files[path] = results
    DataStore(ws.git, config.data_branch, ws.remote).write(
        files, RECORD_MESSAGE.format(tag=plan.tag))


def _find_release_commit(ws: Workspace, forge: Forge, pulls: list[PullRequest], state: _State,
                         config: Config, done: AlreadyReleased, pr: int) -> str:
    """The commit that released ``pr`` as ``done.version``: the head of the release pull request
    that carried it (the release commit the bot made: it holds this release and nothing merged
    after it, even when the pull request was squashed onto a branch that had moved on), the
    one carrying its trailers, or the merge of the release pull request."""
    from bot.core.embed import extract

    carried = []
    for p in pulls:
        if p.head_ref == RELEASE_PR_BRANCH and p.merged and p.merge_commit_sha:
            data = extract(p.body, "release")
            if isinstance(data, dict) and data.get("version") == done.version \
                    and data.get("pr") == pr:
                carried.append(p)
    for p in carried:
        # GitHub keeps a pull request's head as refs/pull/N/head after its branch is deleted
        refs = (f"refs/heads/{RELEASE_PR_BRANCH}", f"refs/pull/{p.number}/head")
        if ws.has_commit(p.head_sha, *refs) and release_of_message(ws.message(p.head_sha)) == (
                done.version, pr):
            return p.head_sha
    for sha in ws.find_commit(state.tip, f"{TRAILER_RELEASE}: {done.version}"):
        if release_of_message(ws.message(sha)) == (done.version, pr):
            return sha
    for p in carried:
        if p.merge_commit_sha:
            return p.merge_commit_sha
    raise GateError(NO_RELEASE_COMMIT.format(file=config.release.changelog, version=done.version,
                                             pr=pr, branch=ws.branch,
                                             trailer=f"{TRAILER_PR}: {pr}"))


@contextlib.contextmanager
def _group(env: StageContext, title: str) -> Iterator[None]:
    if env.in_actions:
        with actions.group(title, env.out):
            yield
    else:
        print(title, file=env.out, flush=True)
        yield


def _summary_line(env: StageContext, o: Outcome) -> None:
    words = {"released": "released", "tagged": "tagged", "planned": "would release",
             "release-pr": "opened the release PR for", "already": "already released",
             "waiting": "waits for a release slot:", "completed": "completed the release of"}
    line = f"- {words[o.action]} **{o.tag or o.detail}** (PR #{o.pr})"
    if o.commit:
        line += f" at `{o.commit[:12]}`"
    if env.in_actions:
        actions.append_summary(line)


def _release_pr(env: StageContext, ws: Workspace, plan: ReleasePlan, base: str,
                pulls_open: list[PullRequest]) -> Outcome:
    """``release.mode: pr``: the release commit on ``base`` (the branch tip, or the released
    pull request's own merge when a later merge awaits its release: then the release commit,
    and so the tag, holds this merge and not the later one) on branch ``improve-release``, and
    a pull request for it, opened or updated; an unchanged branch is not pushed again."""
    branch = plan.pr_branch
    current = ws.remote_sha(f"refs/heads/{branch}")
    reuse = False
    if current is not None:
        with contextlib.suppress(GitError):
            if ws.remote is not None:
                ws.git.fetch(f"+refs/heads/{branch}:refs/remotes/{ws.remote}/{branch}",
                             remote=ws.remote)
            reuse = (ws.first_parent(current) == base
                     and ws.tree_of(current) == ws.tree_of(
                         ws.commit_on(base, plan.files, plan.commit_message)))
    commit = current if reuse and current else ws.commit_on(base, plan.files,
                                                            plan.commit_message)
    if not reuse:
        if ws.remote is None:
            ws.git.run("update-ref", f"refs/heads/{branch}", commit)
        else:
            try:
                ws.push(f"+{commit}:refs/heads/{branch}")
            except Published as exc:
                raise PushRejected(f"git push {branch}: {exc}", [branch]) from None
    body = render("release_pr.md.j2", tag=plan.tag, pr=plan.pr, files=sorted(plan.files),
                  entry=plan.entry, data=embed("release", {"version": plan.version,
                                                           "tag": plan.tag, "pr": plan.pr}))
    existing = next((p for p in pulls_open if p.head_ref == branch), None)
    if existing is None:
        made = env.forge.create_pull(title=plan.pr_title, body=body, head=branch,
                                     base=ws.branch, labels=[RELEASE_PR_LABEL])
        url, number = made.url, made.number
    else:
        if existing.title != plan.pr_title or existing.body.rstrip() != body.rstrip():
            env.forge.update_pull(existing.number, title=plan.pr_title, body=body)
        url, number = existing.url, existing.number
    return Outcome(plan.pr, plan.version, plan.tag, "release-pr", commit,
                   f"release PR #{number}", url)


def _one(env: StageContext, ws: Workspace, state: _State, pr: PullRequest, pulls: list[PullRequest],
         req: ReleaseRequest, own_base: bool = False,
         merged_since: Callable[[str], bool] | None = None) -> Outcome:
    """Release ``pr``. ``own_base``: a later merge awaits its release in this run, so this one
    is committed on its own merge commit and only its tag is published (its tag then holds its
    change and the earlier ones, not the later merge's); the later release carries its entry to
    the branch. Otherwise the release commit goes on the branch tip. ``merged_since(tip)``:
    whether, when the branch moved under the push, a later merge awaiting a release came with
    it (then this release goes on its own merge too)."""
    config = env.config
    facts = _facts(ws, pr, config)
    comments = env.forge.list_comments(pr.number)
    summary = _comparison(env.forge, pr.number, comments, facts)
    tries = config.release.push_retries
    for attempt in range(1, tries + 1):
        # release.mode: pr too: its release pull request then merges a commit off the branch,
        # on this merge, and the tag goes on that commit (_find_release_commit)
        own = own_base and pr.merge_commit_sha is not None
        base = pr.merge_commit_sha if own and pr.merge_commit_sha else state.tip
        decided = _decide(env, ws, state, facts, summary, base, req.dry_run)
        if isinstance(decided, AlreadyReleased):
            done = _already(env, ws, state, pr, pulls, req, facts, summary, decided, attempt)
            if done is None:
                continue
            return done

        plan = decided
        if req.dry_run:
            _print_plan(env.out, plan)
            # the next pending pull request is planned on the branch as this one would leave it
            _advance(state, plan, config, None, _IMAGINED, pr.number)
            return Outcome(pr.number, plan.version, plan.tag, "planned")
        if plan.mode == "pr":
            opened = env.forge.list_pulls(state="open", head=plan.pr_branch, base=ws.branch)
            return _release_pr(env, ws, plan, base, opened)

        commit = ws.commit_on(base, plan.files, plan.commit_message)
        try:
            _publish(ws, state, base, commit, plan)
        except (Published, TagTaken) as exc:
            if not _moved(env, ws, state, exc, attempt, tries):
                break
            if not own_base and merged_since is not None and merged_since(state.tip):
                own_base = True  # the later merge's release will carry this entry
            continue
        _advance(state, plan, config, commit if base == state.tip else None, commit, pr.number)
        _finish(env, ws, plan, commit, pr, req)
        return Outcome(pr.number, plan.version, plan.tag, "released", commit)
    raise GateError(GAVE_UP.format(pr=pr.number, branch=ws.branch, tries=tries))


def _moved(env: StageContext, ws: Workspace, state: _State, exc: Exception, attempt: int,
           tries: int) -> bool:
    """The branch moved under the push (or a racing release took the tag): said, and the
    branch read again after a pause; False when that was the last try."""
    print(f"  the branch moved ({str(exc).splitlines()[0] if str(exc) else 'rejected'}); "
          f"fetching and planning again ({attempt}/{tries})", file=env.err, flush=True)
    if attempt == tries:
        return False
    time.sleep(min(0.2 * attempt, 2.0))
    ws.refresh()
    _replace(state, _read_state(ws, env.config))
    return True


def _decide(env: StageContext, ws: Workspace, state: _State, facts: MergedPR,
            summary: ComparisonSummary, base: str, dry_run: bool) -> ReleasePlan | AlreadyReleased:
    """The release of the merge on ``base`` (the changelog and version files read there; a dry
    run plans on the branch as the plans before it would leave it), or that it is released."""
    config = env.config
    if dry_run:
        changelog, version_files = state.changelog, state.version_files
    else:
        changelog, version_files = _texts_for(ws, config, base, state.tags)
    decided = plan_release(facts, summary, changelog=changelog, version_files=version_files,
                           config=config, tags=state.tags, now=env.now())
    if base != state.tip and config.release.mode == "pr" and not dry_run:
        # its release pull request merged: the entry is on the branch, not yet tagged
        on_tip = plan_release(facts, summary, changelog=state.changelog,
                              version_files=state.version_files, config=config,
                              tags=state.tags, now=env.now())
        if isinstance(on_tip, AlreadyReleased):
            return on_tip
    return decided


def _already(env: StageContext, ws: Workspace, state: _State, pr: PullRequest,
             pulls: list[PullRequest], req: ReleaseRequest, facts: MergedPR,
             summary: ComparisonSummary, decided: AlreadyReleased,
             attempt: int) -> Outcome | None:
    """A merge already released: done, or only its tag is missing (tagged now); None when the
    tags are to be read again first (a fetch may have raced the push of its tag)."""
    if not decided.tag_missing:
        return Outcome(pr.number, decided.version, decided.tag, "already", detail=decided.reason)
    if req.dry_run:
        return Outcome(pr.number, decided.version, decided.tag, "planned",
                       detail=f"would tag: {decided.reason}")
    if attempt == 1 and ws.remote is not None:
        # a tag pushed with its commit may have been missed by a fetch racing the push: look
        # again before tagging anything
        ws.refresh()
        _replace(state, _read_state(ws, env.config))
        return None
    return _tag_release(env, ws, state, pr, pulls, req, facts, summary, decided)


def _tag_release(env: StageContext, ws: Workspace, state: _State, pr: PullRequest,
                 pulls: list[PullRequest], req: ReleaseRequest, facts: MergedPR,
                 summary: ComparisonSummary, decided: AlreadyReleased) -> Outcome:
    """The changelog says ``pr`` was released but its tag is missing (a run killed between
    the release commit and its tag, or a release pull request merged): tag the release
    commit, and finish the release as it was planned then."""
    commit = _find_release_commit(ws, env.forge, pulls, state, env.config, decided, pr.number)
    replan = _replan(env, ws, state, facts, summary, decided.tag, commit)
    message = (replan.tag_message if isinstance(replan, ReleasePlan)
               else f"Release {decided.tag}\n\n{TRAILER_RELEASE}: {decided.version}\n"
               f"{TRAILER_PR}: {pr.number}\n")
    ws.tag(decided.tag, commit, message)
    ws.push_tag(decided.tag)
    state.tags[decided.tag] = TagFacts(commit=commit, pr=pr.number)
    if isinstance(replan, ReleasePlan):
        _finish(env, ws, replan, commit, pr, req)
    return Outcome(pr.number, decided.version, decided.tag, "tagged", commit, decided.reason)


def _publish(ws: Workspace, state: _State, base: str, commit: str, plan: ReleasePlan) -> None:
    """The release commit and its tag published; ``Published`` or ``TagTaken`` (with no tag
    left behind) when the branch moved under the push or a racing release took the tag. With a
    remote the tag goes in the same atomic push as the branch; locally the branch moves first
    and the tag follows (``_publish_local``), so no run killed in between leaves a tag on a
    release commit the branch was meant to have and does not."""
    local_tip = ws.remote is None and base == state.tip
    tagged = False
    try:
        if not local_tip:
            # TagTaken: a racing release made this version's tag first (locally, where the tag
            # is the publication, or fetched): planned again like a moved branch
            ws.tag(plan.tag, commit, plan.tag_message)
            tagged = True
        if local_tip:
            _publish_local(ws, state, commit, plan)
        elif base == state.tip:
            ws.publish(state.tip, commit, plan.tag)
        else:
            ws.publish_tag(plan.tag)
    except (Published, TagTaken):
        if tagged:
            ws.drop_tag(plan.tag)
        raise


def _advance(state: _State, plan: ReleasePlan, config: Config, tip: str | None, commit: str,
             pr: int) -> None:
    """The branch as the release leaves it: its tag, and when it went on the branch (``tip``)
    or is imagined by a dry run (``tip`` None, ``commit`` imagined) its changelog and version
    files."""
    if tip is not None:
        state.tip = tip
    if tip is not None or commit == _IMAGINED:
        state.changelog = plan.files.get(config.release.changelog, state.changelog)
        state.version_files.update({k: v for k, v in plan.files.items()
                                    if k in state.version_files})
    state.tags[plan.tag] = TagFacts(commit=commit, pr=pr)


def _publish_local(ws: Workspace, state: _State, commit: str, plan: ReleasePlan) -> None:
    """The branch moved to the release commit, then the tag. A tag of this version a killed
    earlier run left on a commit the branch does not have is replaced."""
    ws.publish(state.tip, commit, None)
    stale = ws.git.try_rev_parse(f"refs/tags/{plan.tag}^{{commit}}")
    if stale is not None and stale != commit and not ws.git.is_ancestor(stale, commit):
        ws.drop_tag(plan.tag)
    ws.tag(plan.tag, commit, plan.tag_message)


def _replan(env: StageContext, ws: Workspace, state: _State, facts: MergedPR,
            summary: ComparisonSummary, tag: str, commit: str) -> ReleasePlan | AlreadyReleased:
    """The plan as it was before the release commit ``commit``: it gives the tag message, the
    record and the comment of a release published by an earlier run."""
    config = env.config
    before = _read_state(ws, config, ws.first_parent(commit) or commit)
    before.tags = {k: v for k, v in state.tags.items() if k != tag}
    return plan_release(facts, summary, changelog=before.changelog,
                        version_files=before.version_files, config=config, tags=before.tags,
                        now=env.now())


def _github_release(env: StageContext, plan: ReleasePlan) -> None:
    """The release's page on GitHub's Releases list: its changelog entry as the notes, as
    release-please publishes them; a rollback's also marks the release it rolled back. Each
    release is looked for by its tag first, so a re-run completes what a killed run left and
    never makes one twice. The local forge has no Releases page: nothing to do."""
    forge = env.forge
    if not forge.publishes_releases:
        return
    rc = env.config.release
    changelog = plan.files.get(rc.changelog)
    if forge.get_release(plan.tag) is None:
        notes = release_notes(plan.tag, changelog, plan.version, rc.changelog, plan.entry)
        try:
            forge.create_release(tag=plan.tag, name=notes.name, body=notes.body)
        except Unprocessable:
            # a racing run of the same release made it between the look and the create: it
            # is there, as this run wanted (anything else refused is still an error)
            if forge.get_release(plan.tag) is None:
                raise
    rollback = plan.record.rollback
    if not rollback:
        return
    old_tag = tag_name(str(rollback["version"]), rc.tag_prefix)
    old = forge.get_release(old_tag)
    if old is None:
        return  # released before the bot published Releases: its changelog entry is marked
    marked = entry_text(changelog, str(rollback["version"]), rc.changelog) if changelog else None
    marked_notes = rolled_back_notes(old_tag, old.name, old.body, marked, plan.tag)
    if marked_notes is not None:
        forge.update_release(old.id, name=marked_notes.name, body=marked_notes.body)


def _finish(env: StageContext, ws: Workspace, plan: ReleasePlan, commit: str, pr: PullRequest,
            req: ReleaseRequest) -> None:
    """After the release is on the branch: measure, comment, GitHub Release, record (each
    idempotent). The record is last: it is the mark that the release is complete. A run killed
    before it leaves a tag without a record, which the next run completes (``_unfinished``)."""
    measure = req.measure and env.config.release.measure
    results = _measure(ws, commit, pr.merge_commit_sha or commit, env.err) if measure else None
    summary = ComparisonSummary(improvement=plan.record.comparison["improvement"],
                                metrics=list(plan.record.metrics))
    body = _released_comment(plan.tag, commit, summary,
                             plan.record.monitor.until.isoformat()[:10])
    # read again: the list read before the push may predate another job's comment
    comments = env.forge.list_comments(pr.number)
    existing = env.forge.find_comment(pr.number, RELEASED_MARKER, comments)
    posted = env.forge.upsert_comment(pr.number, RELEASED_MARKER, body, comments)
    if existing is None:
        # a job completing this release while another still finishes it may have created the
        # comment too: the younger one removes its own, so exactly the oldest stays
        oldest = env.forge.find_comment(pr.number, RELEASED_MARKER)
        if oldest is not None and oldest.id != posted.id:
            env.forge.delete_comment(posted.id)
            posted = oldest
    if env.in_actions:
        # the step's outputs: the last release of the run wins (the newest version)
        actions.set_output("version", plan.version)
        actions.set_output("tag", plan.tag)
        actions.set_output("comment-url", posted.url)
    _github_release(env, plan)
    _record(ws, env.config, plan, commit, pr, results)


def _unfinished(ws: Workspace, config: Config, state: _State,
                pulls: list[PullRequest]) -> list[tuple[PullRequest, str, str]]:
    """Releases an earlier run published (the release commit and its tag are pushed) but did
    not finish: no release record on the data branch. (PR, tag, commit), oldest
    first. Only the bot's own tags (they name their PR) of pull requests merged into the
    branch count, and only releases newer than ``COMPLETE_WITHIN_DAYS``: a repository whose
    older tags predate the records is not rewritten."""
    by_pr = {p.number: p for p in pulls if p.merged and p.merge_commit_sha}
    mine = {name: t for name, t in state.tags.items() if t.pr is not None and t.pr in by_pr}
    if not mine:
        return []
    recorded = set(DataStore(ws.git, config.data_branch, ws.remote).list(RELEASES_DIR))
    missing = {name: t for name, t in mine.items() if release_path(name) not in recorded}
    if not missing:
        return []
    # in merge order (a release's commit may be off the branch, on its own merge commit)
    order = ws.order(state.tip, {by_pr[t.pr or 0].merge_commit_sha or ""
                                 for t in missing.values()})
    now = time.time()
    out = []
    for name, t in missing.items():
        pr = by_pr[t.pr or 0]
        age = now - datetime.fromisoformat(ws.commit_date(t.commit)).timestamp()
        if pr.merge_commit_sha in order and age <= COMPLETE_WITHIN_DAYS * 86400:
            out.append((order[pr.merge_commit_sha or ""], pr, name, t.commit))
    return [(pr, name, commit) for _, pr, name, commit in sorted(out, key=lambda x: x[0])]


def _complete(env: StageContext, ws: Workspace, state: _State, pr: PullRequest, tag: str,
              commit: str, req: ReleaseRequest) -> Outcome:
    """Finish a release an earlier run published: its comment and record."""
    facts = _facts(ws, pr, env.config)
    summary = _comparison(env.forge, pr.number, env.forge.list_comments(pr.number), facts)
    replan = _replan(env, ws, state, facts, summary, tag, commit)
    if not isinstance(replan, ReleasePlan):
        return Outcome(pr.number, "", tag, "already", commit, replan.reason)
    if not req.dry_run:
        _finish(env, ws, replan, commit, pr, req)
    return Outcome(pr.number, replan.version, tag, "completed", commit,
                   "published by an earlier run; its comment and record written now")


def _print_plan(out: TextIO, plan: ReleasePlan) -> None:
    print(f"would release {plan.tag} (from {plan.previous}) for PR #{plan.pr}", file=out)
    print(f"  commit: {plan.commit_message.splitlines()[0]}", file=out)
    print(f"  files: {', '.join(sorted(plan.files))}", file=out)
    print(f"  record: {plan.record_path}", file=out)
    print("  entry:", file=out)
    for line in plan.entry.rstrip("\n").splitlines():
        print(f"    {line}", file=out)
    out.flush()


@dataclass(frozen=True)
class _Queue:
    """The merged pull requests this run releases, in merge order."""

    released: set[int]  # released already (their records, their tags)
    order: dict[str, int]  # merge commit -> its place on the branch
    todo: list[PullRequest]
    latest: int  # the place of the last merge awaiting its release (-1: none)


def _queue(ws: Workspace, state: _State, pulls: list[PullRequest], req: ReleaseRequest,
           config: Config) -> _Queue:
    branch = ws.branch
    if req.only_pr is not None and not any(p.number == req.only_pr and p.merged for p in pulls):
        raise InputError([Problem("--pr", NOT_MERGED.format(pr=req.only_pr, branch=branch))])
    released = _released(state, config)
    if req.only_pr is not None:
        released.discard(req.only_pr)  # asked for by number: let the plan say if it is done
    candidates = [p for p in pulls if p.merged and p.merge_commit_sha
                  and p.number not in released]
    order = ws.order(state.tip, {p.merge_commit_sha or "" for p in candidates})
    waiting = pending(candidates, branch=branch, released=released, order=order)
    todo = pending(candidates, branch=branch, released=released, order=order, only=req.only_pr)
    # a release with a later merge awaiting its own goes on its merge commit, not the tip
    latest = max((order[w.merge_commit_sha or ""] for w in waiting), default=-1)
    return _Queue(released, order, todo, latest)


def _merged_since(env: StageContext, ws: Workspace, released: set[int],
                  pr: PullRequest) -> Callable[[str], bool]:
    """Whether, with the branch at ``tip``, a merge after ``pr``'s awaits its release."""
    def later(tip: str) -> bool:
        fresh = [p for p in env.forge.list_pulls(state="closed", base=ws.branch)
                 if p.merged and p.merge_commit_sha and p.number not in released]
        at = ws.order(tip, {p.merge_commit_sha or "" for p in fresh} | {pr.merge_commit_sha or ""})
        mine = at.get(pr.merge_commit_sha or "", -1)
        return any(at[w.merge_commit_sha or ""] > mine
                   for w in pending(fresh, branch=ws.branch, released=released, order=at)
                   if w.number != pr.number)
    return later


def _told(env: StageContext, o: Outcome, outcomes: list[Outcome]) -> None:
    outcomes.append(o)
    print(_describe(o), file=env.out, flush=True)


def run_release(env: StageContext, req: ReleaseRequest) -> list[Outcome]:
    """Release every pending merged pull request (or only ``req.only_pr``), in merge order."""
    ws = env.open_workspace(env.default_branch)
    try:
        state = _read_state(ws, env.config)
        pulls = env.forge.list_pulls(state="closed", base=ws.branch)
        queue = _queue(ws, state, pulls, req, env.config)
        released_at = _released_times(ws, env.config)
        outcomes: list[Outcome] = []
        if req.only_pr is None:
            for pr, tag, commit in _unfinished(ws, env.config, state, pulls):
                with _group(env, f"completing the release of PR #{pr.number}"):
                    _told(env, _complete(env, ws, state, pr, tag, commit, req), outcomes)
                _summary_line(env, outcomes[-1])
        if not queue.todo and not outcomes:
            print(NOTHING_PENDING, file=env.out, flush=True)
        for pr in queue.todo:
            slots = release_slots(released_at, env.now(), env.config.limits.max_releases_per_day)
            if slots.free == 0:
                _told(env, _wait(env, pr, req, slots), outcomes)
                _summary_line(env, outcomes[-1])
                continue
            with _group(env, f"release of PR #{pr.number}"):
                o = _one(env, ws, state, pr, pulls, req,
                         own_base=queue.order[pr.merge_commit_sha or ""] < queue.latest,
                         merged_since=_merged_since(env, ws, queue.released, pr))
                if o.action in ("released", "planned") and not o.detail:
                    released_at.append(env.now())
                _told(env, o, outcomes)
            _summary_line(env, o)
            if o.action == "release-pr":
                break  # one release pull request at a time; the next follows its merge
        return outcomes
    finally:
        ws.close()


def _released_times(ws: Workspace, config: Config) -> list[datetime]:
    """When the releases on the data branch were made (``limits.max_releases_per_day``)."""
    from bot.stages.publish import data_records

    store = DataStore(ws.git, config.data_branch, ws.remote)
    return [r.released_at for r in data_records(store).cooldown]


def _wait(env: StageContext, pr: PullRequest, req: ReleaseRequest, slots: ReleaseSlots) -> Outcome:
    """The release of ``pr`` waits for a slot; its pull request says so (in the comment that
    later says which version released it)."""
    if not req.dry_run:
        env.forge.upsert_comment(pr.number, RELEASED_MARKER,
                                 render("release_waiting.md.j2", reason=slots.reason))
    return Outcome(pr.number, "", "", "waiting", detail=slots.reason)


def _describe(o: Outcome) -> str:
    if o.action == "waiting":
        return f"PR #{o.pr} waits: {o.detail}"
    if o.action == "released":
        return f"released {o.tag} for PR #{o.pr} at {o.commit}"
    if o.action == "tagged":
        return f"tagged {o.tag} for PR #{o.pr} at {o.commit} ({o.detail})"
    if o.action == "completed":
        return f"completed {o.tag} for PR #{o.pr} at {o.commit} ({o.detail})"
    if o.action == "release-pr":
        return f"opened or updated the {o.detail} for {o.tag} (PR #{o.pr}): {o.url}"
    if o.action == "planned":
        return f"dry run: {o.tag} for PR #{o.pr}" + (f" ({o.detail})" if o.detail else "")
    return f"PR #{o.pr}: {o.detail}"


# --- wiring -------------------------------------------------------------------------------------


router: Router[Event, StageContext] = Router()


@router.register("push")
def on_push(event: Event, services: StageContext) -> int:
    """A push to the default branch (a merge, or a release pull request merged)."""
    branch = event.default_branch
    ref = event.text("ref") or event.ref
    if event.get("after") is not None:
        event.commit_sha("after")  # bad input, not a release run on whatever it names
    if branch is None or ref != f"refs/heads/{branch}" or event.get("deleted"):
        print(f"improve release: a push to {ref}, not to the default branch; nothing to do",
              file=services.out)
        return 0
    run_release(services, ReleaseRequest())
    return 0


@router.register("pull_request", "closed")
def on_merged(event: Event, services: StageContext) -> int:
    number = event.get("pull_request", "number")
    if event.get("pull_request", "merged") is not True:
        print(f"improve release: pull request #{number} was closed without merging; "
              "nothing to release", file=services.out)
        return 0
    base = event.get("pull_request", "base", "ref")
    if event.default_branch is not None and base != event.default_branch:
        print(f"improve release: pull request #{number} merged into {base}, not into the "
              f"default branch {event.default_branch}; nothing to release", file=services.out)
        return 0
    run_release(services, ReleaseRequest())
    return 0

