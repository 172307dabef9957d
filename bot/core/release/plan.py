"""COMMIT, decided: from the facts of a merged pull request to everything the release writes.

``plan_release`` is pure. The stage gathers the facts (the merged PR, the comparison's summary,
the changelog and version files at the branch tip, the tags with the PR each tagged commit
releases), calls it, and acts on the plan: commit, tag, push, record, comment. When a push is
rejected the stage fetches and calls it again on the new tip; the plan then either moves to the
next version or says the PR is already released, which is what makes racing merges end as
consecutive versions in merge order and a second run a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import Field, model_validator

from bot.core.config import Config, ReleaseConfig, VersionFile
from bot.core.proposal_files import TRAILER_PROPOSAL
from bot.core.records import MonitorWindow, ReleaseRecord, as_utc, release_path
from bot.core.release.changelog import (
    ChangeNote,
    HistoryEntry,
    Insertion,
    ReleaseEntry,
    mark_rolled_back,
    one_line,
    parse_changelog,
    parse_history,
    plan_insertion,
)
from bot.core.release.history import TagRef
from bot.core.release.pep440 import Pep440Version
from bot.core.release.version_files import read_versions, write_versions
from bot.core.release.versioning import Version, bump_kind, is_valid, parse_tag, tag_name
from bot.core.render import md_escape
from bot.core.strict import Strict
from bot.errors import GateError, InputError, Problem

TRAILER_RELEASE = "Improve-Release"
TRAILER_PR = "Improve-PR"
TRAILER_ROLLBACK_OF = "Improve-Rollback-Of"
RELEASE_SUBJECT = "chore(release): {tag}"
RELEASE_PR_BRANCH = "improve-release"
# when nothing says what the current version is, the first release bumps from here
INITIAL_VERSION = "0.0.0"


class ChangeSummary(Strict):
    """One change of the proposal as the changelog tells it: ``path: what — why``."""

    path: str
    what: str = ""
    why: str = ""
    # what the proposal said, when what merged differs from it (changed in review); None: as
    # proposed (``what`` always tells what merged)
    proposed: str | None = None


class ProposalFacts(Strict):
    id: str
    type: str
    risk: Literal["low", "medium", "high"] = "medium"
    breaking: bool = False
    title: str = ""
    rationale: str = ""
    author: str | None = None
    changes: list[ChangeSummary] = Field(default_factory=list)
    # the metric of ``predicted_improvement``: the changelog entry's headline
    predicted_metric: str | None = None


class RollbackFacts(Strict):
    version: str  # the release rolled back
    restores: str  # the release whose behaviour it restores
    reason: str
    evidence: list[str] = Field(default_factory=list)
    proposal_id: str | None = None  # the proposal that is reverted


class MergedPR(Strict):
    number: int = Field(ge=1)
    merge_sha: str
    merged_at: datetime
    proposal: ProposalFacts | None = None
    rollback: RollbackFacts | None = None

    @model_validator(mode="after")
    def _one(self) -> MergedPR:
        if (self.proposal is None) == (self.rollback is None):
            raise ValueError("a merged PR releases either a proposal or a rollback")
        return self


class ComparisonSummary(Strict):
    """What the comparison engine says, as the lines the changelog shows; ``details`` is the
    comparison as recorded, kept whole in the release record for the monitor."""

    improvement: str | None = None
    metrics: list[str] = Field(default_factory=list)
    decision: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class TagFacts(Strict):
    """A tag as the adapter sees it: the commit it points at, and the PR that commit releases
    (its ``Improve-PR`` trailer), when it is a release commit."""

    commit: str
    pr: int | None = None


class ReleasePlan(Strict):
    version: str
    previous: str | None
    tag: str
    tag_message: str
    commit_message: str
    date: str
    pr: int
    entry: str
    # path -> new text, for the changelog and every version file that changes
    files: dict[str, str]
    record_path: str
    # the release's record as planned; the release stage adds what it learns when it acts
    record: ReleaseRecord
    mode: Literal["push", "pr"]
    pr_branch: str
    pr_title: str


class AlreadyReleased(Strict):
    """The PR's release exists; ``tag_missing`` when the commit landed but the tag did not (the
    stage then tags the release commit and does nothing else)."""

    version: str
    tag: str
    tag_missing: bool = False
    reason: str


class ReleaseConflict(GateError):
    """The repository's state contradicts itself (a tag where the changelog says there is no
    release); nothing is written, a person looks."""


def tag_facts(refs: Iterable[TagRef]) -> dict[str, TagFacts]:
    """The tags as ``plan_release`` takes them, from what ``bot.adapters.tags`` reads."""
    return {r.name: TagFacts(commit=r.commit, pr=r.pr) for r in refs}


def parse_trailers(message: str) -> dict[str, str]:
    """The ``Key: value`` trailers of a commit or tag message's last paragraph."""
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", message.strip().replace("\r\n", "\n")) if p]
    if not paragraphs:
        return {}
    out: dict[str, str] = {}
    for line in paragraphs[-1].splitlines():
        m = re.match(r"([A-Za-z0-9-]+):[ \t]*(.*?)[ \t]*$", line)
        if m is None:
            return {}
        out[m.group(1)] = m.group(2)
    return out


def release_of_message(message: str) -> tuple[str, int | None] | None:
    """(version, PR) when the message is a release commit's or tag's, else None."""
    t = parse_trailers(message)
    if TRAILER_RELEASE not in t:
        return None
    pr = t.get(TRAILER_PR, "")
    return t[TRAILER_RELEASE], int(pr) if pr.isdigit() else None


def _is_default_only(specs: list[VersionFile]) -> bool:
    return [(s.path, s.pattern) for s in specs] == [
        (s.path, s.pattern) for s in ReleaseConfig().version_files
    ]


def current_version(
    version_files: Mapping[str, str],
    config: Config,
    changelog: str | None,
    tags: Mapping[str, TagFacts],
    given: str | None = None,
) -> Version | Pep440Version:
    """The version being released from: the version files (SemVer or PEP 440, per their
    ``scheme``); when the default ``pyproject.toml`` is simply absent, the ``given`` one, the
    changelog's newest release, the newest tag, 0.0.0."""
    specs = list(config.release.version_files)
    file = config.release.changelog
    if specs and not any(s.path in version_files for s in specs) and _is_default_only(specs):
        specs = []  # the default was never chosen by anyone: no version file is fine
    from_files = read_versions(version_files, specs)
    if from_files is not None:
        # the exact version, build metadata included, as read_versions compares the files
        # with each other: the bot writes this text, so 1.3.2+a and 1.3.2+b are not the same
        # release although SemVer gives them the same precedence
        if given is not None and str(type(from_files).parse(given)) != str(from_files):
            raise ReleaseConflict(f"the version files say {from_files} but the current "
                                  f"version was given as {given}")
        return from_files
    if given is not None:
        return Version.parse(given)
    if changelog:
        log = parse_changelog(changelog, file)
        if log.releases:
            return Version.parse(log.releases[0].version or "")
    tagged = [v for v in (parse_tag(t, config.release.tag_prefix) for t in tags) if v]
    return max(tagged) if tagged else Version.parse(INITIAL_VERSION)


def _trailers(pr: MergedPR, version: str) -> list[str]:
    proposal_id = pr.proposal.id if pr.proposal else (pr.rollback.proposal_id
                                                      if pr.rollback else None)
    out = []
    if proposal_id:
        out.append(f"{TRAILER_PROPOSAL}: {one_line(proposal_id)}")
    out.append(f"{TRAILER_RELEASE}: {version}")
    out.append(f"{TRAILER_PR}: {pr.number}")
    if pr.rollback:
        out.append(f"{TRAILER_ROLLBACK_OF}: {one_line(pr.rollback.version)}")
    return out


def _summary(pr: MergedPR) -> str:
    if pr.rollback:
        rb = pr.rollback
        return one_line(f"Roll back {rb.version} (restores {rb.restores}): "
                        f"{md_escape(rb.reason, 200)}")[:200]
    assert pr.proposal is not None
    p = pr.proposal
    return one_line(f"{p.id} (#{pr.number})" + (f": {p.title}" if p.title else ""))[:200]


AS_MERGED = "{what} (as merged; the proposal said: {proposed})"


def _merged_what(c: ChangeSummary) -> str:
    """What merged, and what was proposed when review changed it."""
    return AS_MERGED.format(what=c.what, proposed=c.proposed) if c.proposed else c.what


def plan_release(
    pr: MergedPR,
    comparison: ComparisonSummary,
    *,
    changelog: str | None,
    version_files: Mapping[str, str],
    config: Config,
    tags: Mapping[str, TagFacts],
    now: datetime,
    current: str | None = None,
) -> ReleasePlan | AlreadyReleased:
    """Everything the release of ``pr`` writes, or ``AlreadyReleased`` when it exists.

    ``version_files`` maps each configured version file that exists to its text; ``tags`` maps
    tag names to what they point at. Raises ``ReleaseConflict`` when a tag contradicts the
    changelog, ``InputError`` for a changelog or version file it cannot read with confidence.
    """
    history = parse_history(changelog, config.release.changelog) if changelog else []
    # idempotence: the changelog and the tags say whether this PR was released already
    done = released_already(pr.number, history, tags, config)
    if done is not None:
        return done
    cur = current_version(version_files, config, changelog, tags, current)
    version, tag = next_release(pr, cur, config, version_files, tags)
    date = as_utc(now).astimezone(UTC).date().isoformat()
    insertion, files = _release_files(pr, _entry(pr, comparison, version, date), changelog,
                                      version_files, config)
    subject = RELEASE_SUBJECT.format(tag=tag)
    commit_message, tag_message = _messages(pr, subject, tag, version)
    return ReleasePlan(
        version=version,
        previous=str(cur),
        tag=tag,
        tag_message=tag_message,
        commit_message=commit_message,
        date=date,
        pr=pr.number,
        # the entry as written into the file: its format, heading style, line endings aside
        entry=insertion.chunk.replace("\r\n", "\n").strip("\n") + "\n",
        files=files,
        record_path=release_path(tag),
        record=_record(pr, comparison, config, version=version, tag=tag, previous=str(cur),
                       date=date, now=now),
        mode=config.release.mode,
        pr_branch=RELEASE_PR_BRANCH,
        pr_title=subject,
    )


def _release_files(pr: MergedPR, entry: ReleaseEntry, changelog: str | None,
                   version_files: Mapping[str, str], config: Config
                   ) -> tuple[Insertion, dict[str, str]]:
    """What the release writes into its files: the changelog with the entry inserted (and, for a
    rollback, the release it rolls back marked), each configured version file with the new
    version. The insertion too: the plan keeps the entry as it was written."""
    rc = config.release
    file = rc.changelog
    rb = pr.rollback
    text = changelog
    if rb is not None and text and parse_changelog(text, file).release(rb.version) is not None:
        text = mark_rolled_back(text, rb.version, file)
    insertion = plan_insertion(text, entry, file)
    files = {file: insertion.apply(text)}
    specs = [s for s in rc.version_files if s.path in version_files]
    files.update(write_versions(version_files, specs, entry.version))
    return insertion, files


def _messages(pr: MergedPR, subject: str, tag: str, version: str) -> tuple[str, str]:
    """The release commit's message and the annotated tag's: the summary and the trailers."""
    trailers = "\n".join(_trailers(pr, version))
    summary = _summary(pr)
    return (f"{subject}\n\n{summary}\n\n{trailers}\n",
            f"Release {tag}\n\n{summary}\n\n{trailers}\n")


def released_already(number: int, history: Sequence[HistoryEntry], tags: Mapping[str, TagFacts],
                     config: Config) -> AlreadyReleased | None:
    """Idempotence: whether the changelog and the tags say PR ``number`` was released already
    (``tag_missing`` when the changelog says so and its tag is not there). Raises
    ``ReleaseConflict`` when the tag of that version releases something else."""
    rc = config.release
    file = rc.changelog
    done = next((h for h in history if h.pr == number), None)
    if done is not None:
        tag = tag_name(done.version, rc.tag_prefix)
        facts = tags.get(tag)
        if facts is None:
            return AlreadyReleased(version=done.version, tag=tag, tag_missing=True,
                                   reason=f"{file} has {done.version} for PR #{number}; "
                                   f"its tag {tag} is missing")
        if facts.pr != number:
            raise ReleaseConflict(
                f"tag {tag} points at {facts.commit[:12]}, "
                + (f"a release of PR #{facts.pr}" if facts.pr else "which is not a release "
                   "commit")
                + f", but {file} says {done.version} released PR #{number}; fix the tag or "
                "the changelog by hand (tags are never moved by the bot)")
        return AlreadyReleased(version=done.version, tag=tag,
                               reason=f"PR #{number} was released as {done.version}")
    for name, facts in tags.items():
        v = parse_tag(name, rc.tag_prefix)
        if v is not None and facts.pr == number:
            return AlreadyReleased(version=str(v), tag=name,
                                   reason=f"tag {name} already releases PR #{number}")
    return None


def next_release(pr: MergedPR, cur: Version | Pep440Version, config: Config,
                 version_files: Mapping[str, str],
                 tags: Mapping[str, TagFacts]) -> tuple[str, str]:
    """The version and tag the release of ``pr`` takes after ``cur`` (the bump its proposal's
    type says; a rollback is a patch). Bad input for a version the changelog cannot hold; a
    ``ReleaseConflict`` when that tag exists already."""
    rc = config.release
    file = rc.changelog
    if pr.rollback:
        kind = bump_kind(None, config.proposals.types, rollback=True)
    else:
        assert pr.proposal is not None
        kind = bump_kind(pr.proposal.type, config.proposals.types,
                         breaking=pr.proposal.breaking)
    version = str(cur.bump(kind))
    if not is_valid(version):
        # a PEP 440 epoch (``1!2.0.1``): the changelog and the tags hold SemVer versions only
        raise InputError([Problem(
            next((s.path for s in rc.version_files if s.path in version_files), file),
            f"the next version {version} is not MAJOR.MINOR.PATCH (a PEP 440 epoch?); the "
            "changelog and tags need SemVer: release it by hand", field="release.version_files")])
    tag = tag_name(version, rc.tag_prefix)
    if tag in tags:
        facts = tags[tag]
        raise ReleaseConflict(
            f"tag {tag} already exists and points at {facts.commit[:12]}"
            + (f" (PR #{facts.pr})" if facts.pr else "")
            + f", but the version files and {file} say the current version is {cur}; fetch the "
            "branch and its tags, or make them agree by hand")
    return version, tag


def _entry(pr: MergedPR, comparison: ComparisonSummary, version: str, date: str) -> ReleaseEntry:
    """The changelog entry of the release: the proposal's changes, or the rollback's reason."""
    p, rb = pr.proposal, pr.rollback
    return ReleaseEntry(
        version=version,
        date=date,
        proposal_id=p.id if p else (rb.proposal_id if rb else None),
        pr=pr.number,
        improvement=comparison.improvement,
        changes=tuple(ChangeNote(c.path, _merged_what(c), c.why) for c in (p.changes if p else [])),
        metrics=tuple(comparison.metrics),
        rollback_of=rb.version if rb else None,
        restores=rb.restores if rb else None,
        # a person's words (the /rollback reason): the changelog escapes it for its format
        reason=rb.reason if rb else None,
        evidence=tuple(rb.evidence) if rb else (),
        title=p.title if p and p.title else None,
    )


def _record(pr: MergedPR, comparison: ComparisonSummary, config: Config, *, version: str,
            tag: str, previous: str, date: str, now: datetime) -> ReleaseRecord:
    """The release record the data branch keeps (its monitor window opens at the merge)."""
    p, rb = pr.proposal, pr.rollback
    merged_at = as_utc(pr.merged_at)
    return ReleaseRecord(
        version=version,
        tag=tag,
        previous=previous,
        date=date,
        released_at=as_utc(now),
        pr=pr.number,
        merge_sha=pr.merge_sha,
        merged_at=merged_at,
        proposal=p.model_dump() if p else None,
        rollback=rb.model_dump() if rb else None,
        comparison={
            "decision": comparison.decision,
            "improvement": comparison.improvement,
            "details": comparison.details,
        },
        metrics=list(comparison.metrics),
        monitor=MonitorWindow(
            window_days=config.monitor.window_days,
            until=merged_at + timedelta(days=config.monitor.window_days),
            state="watching",
        ),
    )
