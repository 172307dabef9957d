"""TEST and COMPARE for pull requests: the suites selected by the changed paths run on the PR's
base and head commits, the comparison becomes the one living ``compare`` comment, the verdict
sets ``improve/gate`` (through bot.stages.pr_state, the one place the gate is set), and the job
summary gets the report.

Three ways to run, chosen by ``improve handle``'s options:

1. single job (a token, no ``--results-out``/``--results-in``): everything here.
2. ``--results-out FILE`` on ``pull_request``: the token-less half. Evaluates and writes one
   artifact (both sides' results, the PR and head it believes in); no API call at all.
3. ``--results-in FILE`` on ``workflow_run``: the reporting half. Reads the artifact as
   untrusted data (size-capped, schema-validated, never executed), finds the PR through the
   forge by the run's head SHA (never by the artifact's word), compares with the trusted
   configuration and posts.

The baseline is the merge base of the PR's base and head (what the PR's "files changed" is
computed against). Its results come from the data branch (``results/<sha>.json``, written by
the ``push`` handler below on the default branch) when a suite's definition and inputs hash the
same and nothing it targets changed since the recorded commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from bot.adapters import actions
from bot.adapters.datastore import DataStore
from bot.adapters.event import Event
from bot.adapters.git import Git, GitError
from bot.adapters.progress import Progress, make_progress
from bot.adapters.worktree import open_repo
from bot.core.analytics.alerts import AUTO_PAUSED_NOTE
from bot.core.comparison.compare import Comparison, compare_results, render_comparison_markdown
from bot.core.comparison.sequential import Round, round_settings
from bot.core.config import ApprovalConfig, Config, read_config
from bot.core.evaluation import SuiteSource
from bot.core.forge import PullRequest
from bot.core.globs import match_any
from bot.core.policy import (
    GATE_CONTEXT,
    QUEUE_NOT_PROPOSAL,
    GateState,
    GateStatus,
    Verdict,
    queue_gate,
    queued_pull,
)
from bot.core.pr_evaluation import (
    COMMENT_MARKER,
    MAX_ARTIFACT_BYTES,
    MAX_ERROR_CHARS,
    NO_ARTIFACT,
    TOO_LARGE,
    PrArtifact,
    ProposalMeta,
    artifact_problems,
    embed_comparison,
    is_improvement,
    parse_artifact,
    proposal_meta,
    pull_facts,
)
from bot.core.proposal_files import LABEL, pick_proposal_file
from bot.core.records import results_path
from bot.core.render import render
from bot.core.results import Results, Shard, SuiteResult, parse_results
from bot.core.router import Router
from bot.core.shards import merge_artifacts
from bot.core.suites import input_paths
from bot.errors import ImproveError, InputError
from bot.stages.evaluate import evaluate_commit, evaluate_pair
from bot.stages.pr_state import LOOK_UP, publish_verdict

if TYPE_CHECKING:
    from bot.stages.context import StageContext

router: Router[Event, StageContext] = Router()

CLOSED_SINCE = ("improve: #{number} is closed or merged since {sha} was pushed: its comment and "
                "gate are left as they are")
SUPERSEDED = ("improve: {old} is no longer the head of #{number} ({new} is): the comparison "
              "comment and the state are left to the newer head's evaluation")
CACHE_DEPTH = 10  # first-parent ancestors of the baseline searched for reusable results

SKIP_NOT_PROPOSAL = "improve: pull request #{number} is not a proposal (no {label!r} label, " \
    "no proposal file): left alone"
SKIP_NO_PR = "improve: no open pull request has head {sha}: nothing to report (a newer push " \
    "supersedes this run)"
SKIP_NOT_PR_RUN = "improve: the workflow run was not for a pull request: nothing to report"
SKIP_NO_RESULTS_IN = "improve: workflow_run without --results-in: nothing to report"
DESC_RUNNING = "running the suites on the base and head commits"
DESC_NOT_PROPOSAL = "not an improvement proposal"
WROTE_ARTIFACT = "improve: wrote the results of #{number} ({head}) to {path}"
STORED = "improve: stored the results of {sha} on {branch} as {path}"
NOT_DEFAULT = "improve: push to {ref}, not the default branch {branch}: nothing to store"
ALREADY_STORED = "improve: results of {sha} are already on {branch}"
INTERNAL = "internal error while evaluating: {kind}: {message}"


# --------------------------------------------------------------------------- gathering


@dataclass
class Sides:
    base: Results
    head: Results
    base_cached: bool
    changed: list[str]
    # suites whose baseline was read from the data branch; the sequential evaluation's looks
    reused: list[str] = field(default_factory=list)
    rounds: list[Round] = field(default_factory=list)


def ensure_commits(repo: Git, *shas: str) -> None:
    """Fetch the commits the checkout lacks (a shallow or single-branch checkout)."""
    missing = [s for s in shas if repo.try_rev_parse(s) is None]
    if missing:
        repo.fetch(*missing)


def baseline(repo: Git, base_sha: str, head_sha: str) -> str:
    return repo.merge_base(base_sha, head_sha) or base_sha


QUEUE_LINE = "improve: merge queue {sha} ({pr}): improve/gate {state} ({description})"
CONFLICTS = ("the pull request conflicts with {branch} at {tip}: it cannot be measured merged "
             "into the branch as it is now; merge {branch} into it")
COMBINATION = "improve: {head} merged into {branch} at {tip}, as the merge would make it"


def _is_ancestor(repo: Git, a: str, b: str) -> bool:
    try:
        repo.run("merge-base", "--is-ancestor", a, b)
    except GitError:
        return False
    return True


@dataclass(frozen=True)
class Candidate:
    """What a pull request's evaluation measures: the base branch's tip it stands on and the
    commit measured (the head, or the head merged into the tip)."""

    base_tip: str
    base_sha: str  # what ``evaluate_sides`` takes as the base side
    sha: str
    merged: bool = False


def candidate(repo: Git, branch: str, base_sha: str, head_sha: str) -> Candidate:
    """The head against its merge base, as long as the base branch is where the event saw it.
    When the branch has moved on since (a re-run asked for because it moved, or a job that
    waited), the head merged into the branch as it is now, against the branch: the combination
    a merge would make. The checkout has every branch (``fetch-depth: 0``); nothing is fetched
    and nothing runs but git."""
    tip = repo.try_rev_parse(f"refs/remotes/origin/{branch}") if branch else None
    if not tip or tip == base_sha or not _is_ancestor(repo, base_sha, tip):
        return Candidate(base_sha, base_sha, head_sha)
    if _is_ancestor(repo, tip, head_sha):  # the head has the branch already
        return Candidate(tip, tip, head_sha)
    try:
        out = repo.run("merge-tree", "--write-tree", "--no-messages", tip, head_sha)
    except GitError:
        raise InputError(CONFLICTS.format(branch=branch, tip=tip[:12])) from None
    merged = repo.run("commit-tree", out.split()[0], "-p", tip, "-p", head_sha, "-m",
                      COMBINATION.format(head=head_sha[:12], branch=branch, tip=tip[:12]))
    return Candidate(tip, tip, merged, merged=True)


class ResultsCache:
    """Results of default-branch commits on the data branch, read as the baseline when still
    valid for a suite: same definition hash, nothing the suite targets, its file or its inputs
    changed between the recorded commit and the baseline."""

    def __init__(self, repo: Git, read: Callable[[str], Any]):
        self.repo = repo
        self._read = read
        self._loaded: dict[str, Results | None] = {}
        self._diffs: dict[tuple[str, str], list[str]] = {}

    def results(self, sha: str) -> Results | None:
        if sha not in self._loaded:
            try:
                data = self._read(results_path(sha))
                self._loaded[sha] = None if data is None else parse_results(
                    json.dumps(data), results_path(sha))
            except (ImproveError, ValueError):
                self._loaded[sha] = None  # an unreadable record is no record
        return self._loaded[sha]

    def _diff(self, older: str, newer: str) -> list[str]:
        key = (older, newer)
        if key not in self._diffs:
            out = self.repo.run("diff", "--name-only", "--no-renames", "-z", older, newer,
                                strip=False)
            self._diffs[key] = [p for p in out.split("\0") if p]
        return self._diffs[key]

    def lookup(self, base: str, sources: Sequence[SuiteSource]) -> Results | None:
        if not sources:
            return None
        chain = self.repo.run("rev-list", "--first-parent", f"--max-count={CACHE_DEPTH}",
                              base).split()
        found: dict[str, SuiteResult] = {}
        env = None
        for src in sources:
            watched = [src.path, *input_paths(src.suite)]
            for sha in chain:
                if sha != base:
                    changed = self._diff(sha, base)
                    if any(p in watched or match_any(p, src.suite.targets) for p in changed):
                        break  # older records are older still: the change sits between
                res = self.results(sha)
                suite = res.suite(src.suite.id) if res and res.shard is None else None
                if suite is not None and suite.definition_hash == src.definition_hash:
                    found[src.suite.id] = suite
                    env = env or (res.environment if res else None)
                    break
            else:
                return None
            if src.suite.id not in found:
                return None
        assert env is not None
        return Results(
            commit=base, ref=base, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            environment=env, suites=[found[k] for k in sorted(found)],
        )


def evaluate_sides(
    workspace: Path, base_sha: str, head_sha: str, config: Config, progress: Progress,
    cache: ResultsCache | None = None, shard: tuple[int, int] | None = None,
) -> Sides:
    """Both sides in one job: interleaved, timings alone on the machine, and more runs while
    the verdict is unclear (see :func:`bot.stages.evaluate.evaluate_pair`)."""
    repo = Git(workspace)
    base = baseline(repo, base_sha, head_sha)
    changed = repo.changed_paths(base, head_sha)
    raw = open_repo(workspace)
    reuse = (lambda sources: cache.lookup(base, sources)) if cache is not None else None
    pair = evaluate_pair(raw, base, head_sha, config, progress, changed=changed, reuse=reuse,
                         shard=shard)
    return Sides(base=pair.base, head=pair.head, base_cached=bool(pair.reused), changed=changed,
                 reused=pair.reused, rounds=pair.rounds)


def data_cache(workspace: Path, token: str | None, config: Config, err: Any) -> ResultsCache:
    repo = Git(workspace, token=token)
    store = DataStore(repo, branch=config.data_branch)

    def read(path: str) -> Any:
        try:
            return store.read(path)
        except GitError as exc:  # no remote, no access: evaluate instead
            print(f"improve: the data branch is not readable ({exc}); evaluating the baseline",
                  file=err)
            store._fetched = True
            store.remote = None
            return None

    return ResultsCache(repo, read)


def local_meta(repo: Git, changed: Sequence[str], head_ref: str, head_sha: str,
               config: Config) -> ProposalMeta | None:
    path = pick_proposal_file(changed, head_ref)
    return proposal_meta(repo.file_at(head_sha, path), config) if path else None


def measure_pull(services: StageContext, repo: Git, facts: dict[str, Any], config: Config,
                 token: str | None, env: dict[str, str], shard: tuple[int, int] | None = None,
                 ) -> tuple[Candidate, Sides, ProposalMeta | None]:
    """A pull request measured, the same way by the single job and by the token-less half:
    the candidate on the base branch, both sides, and the proposal file's meta. ``shard``:
    one job of the test workflow's matrix measures its share of the tasks."""
    progress = make_progress(services.err, env)
    cache = data_cache(services.workspace, token, config, services.err)
    cand = candidate(repo, facts["base_ref"], facts["base_sha"], facts["head_sha"])
    sides = evaluate_sides(services.workspace, cand.base_sha, cand.sha, config, progress, cache,
                           shard)
    meta = local_meta(repo, sides.changed, facts["head_ref"], facts["head_sha"], config)
    return cand, sides, meta


# --------------------------------------------------------------------------- deciding


def decide(base: Results, head: Results, config: Config, meta: ProposalMeta | None,
           fork: bool, paused: Callable[[], bool] | None = None,
           rounds: Sequence[Round] = ()) -> Comparison:
    """The comparison, with its tier. ``paused`` is asked only when the tier would be auto:
    while the rollback-rate alert stands, a person decides. ``rounds``: the looks of the
    sequential evaluation that measured the results; the last one's confidence is used."""
    use = meta if not fork else None
    settings = round_settings(config.compare, rounds)
    comparison = compare_results(base, head, settings,
                                 proposal_type=use.type if use else None,
                                 risk=use.risk if use else None, approval=config.approval)
    if comparison.approval.tier == "auto" and paused is not None and paused():
        approval = comparison.approval.model_copy(update={"tier": "person", "needs_person": True})
        comparison = comparison.model_copy(
            update={"approval": approval, "notes": [*comparison.notes, AUTO_PAUSED_NOTE]}
        )
    return comparison


def auto_tier_paused(services: StageContext) -> bool:
    """The rollback-rate alert, as the scheduled run left it on the dashboard issue (the same
    place ``improve propose`` reads it: ``bot.stages.dashboard_issue.auto_tier_paused``)."""
    from bot.stages.dashboard_issue import auto_tier_paused as paused

    return paused(services.forge)


def comment_body(comparison: Comparison, head_sha: str, meta: ProposalMeta | None, fork: bool,
                 base_cached: bool, warning: str = "", reused: Sequence[str] = (),
                 rounds: Sequence[Round] = ()) -> str:
    tier = comparison.approval.tier
    footer = render("pr_evaluation_footer.md.j2", tier=tier, ptype=meta.type if meta else "",
                    risk=meta.risk if meta else "", head_sha=head_sha, fork=fork,
                    base_cached=base_cached, warning=warning, reused=list(reused),
                    rounds=list(rounds))
    hidden = embed_comparison(comparison)
    return render_comparison_markdown(comparison).rstrip("\n") + "\n" + footer + \
        (f"\n{hidden}\n" if hidden else "")


def error_body(head_sha: str, problems: Sequence[str]) -> str:
    return render("pr_evaluation_error.md.j2", head_sha=head_sha, problems=list(problems))


# --------------------------------------------------------------------------- acting


def _current(services: StageContext, pull: PullRequest, head_sha: str) -> bool:
    """Whether ``head_sha`` is still the PR's head. An evaluation of an older head (a re-run,
    or a slow run overtaken by the push after it) leaves the comment and the state of the
    newer head alone; its commit still gets its own gate status."""
    if pull.state == "open" and pull.head_sha == head_sha:
        return True
    if pull.state != "open":
        print(CLOSED_SINCE.format(number=pull.number, sha=head_sha[:12]), file=services.out)
    else:
        print(SUPERSEDED.format(old=head_sha[:12], number=pull.number, new=pull.head_sha[:12]),
              file=services.out)
    return False


def post(
    services: StageContext, number: int, head_sha: str, body: str, comparison: Comparison,
    env: dict[str, str], pull: PullRequest | None = None, base: str | None = None,
    proposal_author: str | None | EllipsisType = LOOK_UP,
) -> GateStatus:
    """The one comment (created or edited), the comparison's verdict and the gate, the job
    summary: one list of the comments serves both the compare comment and the state comment.
    The approval timeout is the trusted configuration's (``services.config``)."""
    pull = pull if pull is not None else services.forge.get_pull(number)
    comments = services.forge.list_comments(number)
    if _current(services, pull, head_sha):
        made = services.forge.upsert_comment(number, COMMENT_MARKER, body, comments)
        actions.set_output("comment-url", made.url, env)
    verdict = comparison.decision
    actions.set_output("decision", verdict, env)
    gate = publish_verdict(services, number, head_sha, verdict, comparison.approval.tier,
                           comments=comments, pull=pull, base=base,
                           proposal_author=proposal_author)
    actions.append_summary(render_comparison_markdown(comparison), env)
    print(f"improve: #{number} {head_sha[:12]}: {verdict}; improve/gate {gate.state} "
          f"({gate.description})", file=services.out)
    return gate


def post_error(services: StageContext, number: int, head_sha: str, problems: Sequence[str],
               config: Config | None, env: dict[str, str], pull: PullRequest | None = None) -> int:
    body = error_body(head_sha, problems)
    # without a readable configuration: the defaults, never automerge (an error never merges)
    approval = config.approval if config else ApprovalConfig(automerge=False)
    pull = pull if pull is not None else services.forge.get_pull(number)
    comments = services.forge.list_comments(number)
    if _current(services, pull, head_sha):
        made = services.forge.upsert_comment(number, COMMENT_MARKER, body, comments)
        actions.set_output("comment-url", made.url, env)
    actions.set_output("decision", "error", env)
    publish_verdict(services, number, head_sha, "error", "person", comments=comments,
                    approval=approval, pull=pull)
    actions.append_summary(body, env)
    for p in problems:
        actions.command("error", p, services.err, title="improve")
    return 1


def _exit(gate: GateStatus) -> int:
    return 1 if gate.state in ("failure", "error") else 0


def _describe(exc: BaseException) -> list[str]:
    if isinstance(exc, InputError) and exc.problems:
        return [str(p) for p in exc.problems[:20]]
    if isinstance(exc, ImproveError):
        return [str(exc)]
    return [INTERNAL.format(kind=type(exc).__name__, message=exc)]


def pass_not_proposal(services: StageContext, head_sha: str) -> None:
    """improve/gate success on a pull request that is no proposal, so branch protection can
    require the gate without blocking every other pull request. One call."""
    services.forge.set_status(head_sha, state="success", context=GATE_CONTEXT,
                              description=DESC_NOT_PROPOSAL)


def check_pull_payload(event: Event) -> None:
    """The fields the stage cannot do without, of the types GitHub sends; otherwise bad input
    naming the field (``head: null`` from a proxy, a number sent as text)."""
    event.integer("pull_request", "number")
    event.commit_sha("pull_request", "head", "sha")
    event.commit_sha("pull_request", "base", "sha")


@router.register("pull_request", "opened", "synchronize", "reopened")
def on_pull_request(event: Event, services: StageContext) -> int:
    check_pull_payload(event)
    facts = pull_facts(event.payload)
    number, head_sha, base_sha = facts["number"], facts["head_sha"], facts["base_sha"]
    env = dict(event.env)
    out_path = services.results_out
    repo = Git(services.workspace, token=None if out_path else event.token)
    try:
        ensure_commits(repo, base_sha, head_sha)
        changed = repo.changed_paths(baseline(repo, base_sha, head_sha), head_sha)
    except GitError as exc:
        if out_path is not None:
            return write_error_artifact(services, facts, Path(out_path), _describe(exc))
        if LABEL not in facts["labels"]:
            raise
        return post_error(services, number, head_sha, _describe(exc), None, env)
    if not is_improvement(facts["labels"], changed, facts["head_ref"]):
        print(SKIP_NOT_PROPOSAL.format(number=number, label=LABEL), file=services.out)
        if out_path is None:  # the token-less half cannot: the report half does it
            pass_not_proposal(services, head_sha)
        return 0
    if out_path is not None:
        return write_artifact(event, services, facts, repo, Path(out_path), env)
    forge = services.forge
    # a re-run of the job after the PR was merged or closed, or after a newer push: the verdict
    # of the current head, and the merged PR's last gate, stay as they are
    if not _current(services, forge.get_pull(number), head_sha):
        return 0
    forge.set_status(head_sha, state="pending", context=GATE_CONTEXT, description=DESC_RUNNING)
    config: Config | None = None
    try:
        config = services.config
        cand, sides, meta = measure_pull(services, repo, facts, config, event.token, env)
        comparison = decide(sides.base, sides.head, config, meta, facts["fork"],
                            lambda: auto_tier_paused(services), rounds=sides.rounds)
    except Exception as exc:  # reported on the PR, never lost
        return post_error(services, number, head_sha, _describe(exc), config, env)
    body = comment_body(comparison, head_sha, meta, facts["fork"], sides.base_cached,
                        reused=sides.reused, rounds=sides.rounds)
    gate = post(services, number, head_sha, body, comparison, env, base=cand.base_tip,
                proposal_author=meta.author if meta else None)
    return _exit(gate)


def write_artifact(event: Event, services: StageContext, facts: dict[str, Any], repo: Git,
                   path: Path, env: dict[str, str]) -> int:
    """The token-less half: evaluate, write the artifact; no API call at all."""
    head_sha, base_sha = facts["head_sha"], facts["base_sha"]
    shard = _shard(services)
    try:
        # the configuration of the base commit: never the pull request's own
        config = read_config(lambda p: repo.file_at(base_sha, p), f" (at {base_sha[:12]})")
        cand, sides, meta = measure_pull(services, repo, facts, config, None, env, shard)
        artifact = PrArtifact(pr_number=facts["number"], head_sha=head_sha,
                              base_sha=sides.base.commit, proposal=meta, base=sides.base,
                              head=sides.head, base_cached=sides.base_cached,
                              base_tip=cand.base_tip,
                              merged_sha=cand.sha if cand.merged else None,
                              reused=sides.reused, rounds=sides.rounds,
                              shard=Shard(index=shard[0], total=shard[1]) if shard else None)
        actions.append_summary(render_comparison_markdown(decide(
            sides.base, sides.head, config, meta, facts["fork"], rounds=sides.rounds)), env)
    except Exception as exc:  # the reporting half posts it
        return write_error_artifact(services, facts, path, _describe(exc))
    _write(services, facts, path, artifact)
    return 0


def write_error_artifact(services: StageContext, facts: dict[str, Any], path: Path,
                         problems: Sequence[str]) -> int:
    for p in problems:
        actions.command("error", p, services.err, title="improve")
    base = facts["base_sha"] if len(facts["base_sha"]) == 40 else facts["head_sha"]
    shard = _shard(services)
    artifact = PrArtifact(pr_number=facts["number"], head_sha=facts["head_sha"], base_sha=base,
                          error="; ".join(problems)[:MAX_ERROR_CHARS],
                          shard=Shard(index=shard[0], total=shard[1]) if shard else None)
    _write(services, facts, path, artifact)
    return 1


def _write(services: StageContext, facts: dict[str, Any], path: Path, artifact: PrArtifact) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(artifact.model_dump_json() + "\n", encoding="utf-8")
    os.replace(tmp, path)
    actions.set_output("results", str(path))
    print(WROTE_ARTIFACT.format(number=facts["number"], head=facts["head_sha"][:12], path=path),
          file=services.out)


def _shard(services: StageContext) -> tuple[int, int] | None:
    """The share of the tasks this job of the test workflow's matrix measures (``--shard``);
    None for all of them (one shard of one is all)."""
    shard = services.shard
    return shard if shard is not None and shard[1] > 1 else None


def read_artifact(path: Path) -> PrArtifact:
    """The artifact the test job wrote; a folder holds one per shard of its matrix
    (``test.shards``), merged into the artifact of the whole evaluation before anything is
    compared (bot.core.shards)."""
    if path.is_dir() and not path.is_symlink():
        files = sorted(p for p in path.iterdir() if p.name.endswith(".json"))
        return merge_artifacts([_read_one(p) for p in files], [p.name for p in files])
    return _read_one(path)


def _read_one(path: Path) -> PrArtifact:
    """One artifact file, refused before reading when it is too large or not a plain file."""
    name = path.name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InputError(f"{name}: not a regular file")
    size = path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        raise InputError(TOO_LARGE.format(size=size, limit=MAX_ARTIFACT_BYTES))
    return parse_artifact(path.read_bytes(), name)


def find_pull(services: StageContext, head_sha: str) -> PullRequest | None:
    return next((p for p in services.forge.list_pulls(state="open") if p.head_sha == head_sha),
                None)


@router.register("workflow_run", "completed")
def on_workflow_run(event: Event, services: StageContext) -> int:
    """The reporting half: the artifact is data from a run of the PR's code."""
    in_path = services.results_in
    if in_path is None:
        print(SKIP_NO_RESULTS_IN, file=services.out)
        return 0
    run = event.mapping("workflow_run")
    if run.get("event") == "merge_group":
        return report_queue(event, services, Path(in_path))
    if run.get("event") != "pull_request":
        print(SKIP_NOT_PR_RUN, file=services.out)
        return 0
    head_sha = event.commit_sha("workflow_run", "head_sha")
    head_repo = str(event.get("workflow_run", "head_repository", "full_name", default="") or "")
    fork = bool(head_repo) and head_repo != event.repo
    env = dict(event.env)
    actions.set_output("results", str(in_path), env)
    pr = find_pull(services, head_sha)
    if pr is None:
        print(SKIP_NO_PR.format(sha=head_sha[:12]), file=services.out)
        return 0
    if LABEL not in pr.labels and not is_improvement(
            pr.labels, services.forge.pull_files(pr.number), pr.head_ref):
        print(SKIP_NOT_PROPOSAL.format(number=pr.number, label=LABEL), file=services.out)
        pass_not_proposal(services, pr.head_sha)
        return 0
    config: Config | None = None
    try:
        config = services.config
        path = Path(in_path)
        if not path.exists():
            raise InputError(NO_ARTIFACT.format(conclusion=run.get("conclusion") or "unknown"))
        art = read_artifact(path)
        problems = artifact_problems(art, pr.number, pr.head_sha)
        if problems:
            return post_error(services, pr.number, pr.head_sha, problems, config, env, pr)
        assert art.base is not None and art.head is not None
        comparison = decide(art.base, art.head, config, art.proposal, fork,
                            lambda: auto_tier_paused(services), rounds=art.rounds)
    except Exception as exc:
        return post_error(services, pr.number, pr.head_sha, _describe(exc), config, env, pr)
    body = comment_body(comparison, pr.head_sha, art.proposal, fork, art.base_cached,
                        reused=art.reused, rounds=art.rounds)
    gate = post(services, pr.number, pr.head_sha, body, comparison, env, pr, base=art.base_tip,
                proposal_author=art.proposal.author if art.proposal else LOOK_UP)
    return _exit(gate)


# --------------------------------------------------------------------------- the merge queue


def _queue_facts(event: Event) -> tuple[str, str, tuple[int, str] | None]:
    head_sha = event.commit_sha("merge_group", "head_sha")
    base_sha = event.commit_sha("merge_group", "base_sha")
    return head_sha, base_sha, queued_pull(str(event.get("merge_group", "head_ref") or ""))


def _queue_status(services: StageContext, sha: str, gate: GateStatus,
                  queued: tuple[int, str] | None) -> int:
    services.forge.set_status(sha, state=gate.state, context=GATE_CONTEXT,
                              description=gate.description)
    print(QUEUE_LINE.format(sha=sha[:12], pr=f"#{queued[0]}" if queued else "?",
                            state=gate.state, description=gate.description), file=services.out)
    return _exit(gate)


def _pr_gate(services: StageContext, queued: tuple[int, str] | None) -> GateState | None:
    """The gate on the queued pull request's own head (an approval a person gave there)."""
    if queued is None:
        return None
    found = services.forge.combined_status(queued[1]).get(GATE_CONTEXT)
    return found.state if found else None


@router.register("merge_group", "checks_requested")
def on_merge_group(event: Event, services: StageContext) -> int:
    """GitHub's merge queue made a merge commit of the queued pull request(s) on the branch's
    tip: the suites run on it and on the queue's base, and ``improve/gate`` is set on it, so the
    queue merges only a combination that was measured (with ``--results-out``: the artifact for
    the report, as for a pull request)."""
    head_sha, base_sha, queued = _queue_facts(event)
    env = dict(event.env)
    out_path = services.results_out
    repo = Git(services.workspace, token=None if out_path else event.token)
    number = queued[0] if queued else 0
    # what the artifact's writers read of a pull request; a queue's commit has no refs or fork
    facts = {"number": number or 1, "head_sha": head_sha, "base_sha": base_sha,
             "base_ref": "", "head_ref": "", "fork": False}
    try:
        ensure_commits(repo, base_sha, head_sha)
        changed = repo.changed_paths(base_sha, head_sha)
    except GitError as exc:
        if out_path is not None:
            return write_error_artifact(services, facts, Path(out_path), _describe(exc))
        raise
    if out_path is not None:
        return write_artifact(event, services, facts, repo, Path(out_path), env)
    if not is_improvement([], changed, ""):
        return _queue_status(services, head_sha,
                             GateStatus(state="success", description=QUEUE_NOT_PROPOSAL), queued)
    try:
        config = services.config
        progress = make_progress(services.err, env)
        cache = data_cache(services.workspace, event.token, config, services.err)
        sides = evaluate_sides(services.workspace, base_sha, head_sha, config, progress, cache)
        meta = local_meta(repo, sides.changed, "", head_sha, config)
        comparison = decide(sides.base, sides.head, config, meta, False,
                            rounds=sides.rounds)
        verdict: Verdict = comparison.decision
        actions.append_summary(render_comparison_markdown(comparison), env)
    except Exception as exc:  # the queue must hear of it: an error status, never silence
        for p in _describe(exc):
            actions.command("error", p, services.err, title="improve")
        verdict = "error"
    return _queue_status(services, head_sha, queue_gate(verdict, number or None,
                                                        _pr_gate(services, queued)), queued)


def report_queue(event: Event, services: StageContext, in_path: Path) -> int:
    """The reporting half for a merge queue's run: the artifact (untrusted data) for the run's
    head commit, which GitHub names (never the artifact), becomes the gate on that commit."""
    head_sha = event.commit_sha("workflow_run", "head_sha")
    queued = queued_pull(str(event.get("workflow_run", "head_branch", default="") or ""))
    env = dict(event.env)
    verdict: Verdict = "error"
    try:
        config = services.config
        art = read_artifact(in_path)
        problems = artifact_problems(art, art.pr_number, head_sha)
        if problems:
            raise InputError("; ".join(problems))
        assert art.base is not None and art.head is not None
        if art.proposal is None:  # no proposal file among the queue's changes
            return _queue_status(services, head_sha, GateStatus(
                state="success", description=QUEUE_NOT_PROPOSAL), queued)
        comparison = decide(art.base, art.head, config, art.proposal, False,
                            rounds=art.rounds)
        verdict = comparison.decision
        actions.append_summary(render_comparison_markdown(comparison), env)
    except Exception as exc:
        for p in _describe(exc):
            actions.command("error", p, services.err, title="improve")
    return _queue_status(services, head_sha, queue_gate(verdict, queued[0] if queued else None,
                                                        _pr_gate(services, queued)), queued)


@router.register("push")
def on_push(event: Event, services: StageContext) -> int:
    """On the default branch: measure every suite at the pushed commit and store the results on
    the data branch, where pull requests based on it find their baseline."""
    ref = event.text("ref")
    sha = event.commit_sha("after") if event.get("after") is not None else str(event.sha or "")
    if event.default_branch and ref != f"refs/heads/{event.default_branch}":
        # decided before reading anything: the pushed commit need not be in this checkout
        print(NOT_DEFAULT.format(ref=ref, branch=event.default_branch), file=services.out)
        return 0
    repo = Git(services.workspace, token=event.token)
    config = read_config(lambda p: repo.file_at(sha, p), f" (at {sha[:12]})")
    branch = event.default_branch or config.default_branch
    if ref != f"refs/heads/{branch}" or not sha or set(sha) == {"0"}:
        print(NOT_DEFAULT.format(ref=ref, branch=branch), file=services.out)
        return 0
    store = DataStore(repo, branch=config.data_branch)
    path = results_path(sha)
    if store.read(path) is not None:
        print(ALREADY_STORED.format(sha=sha[:12], branch=config.data_branch), file=services.out)
        return 0
    results, _ = evaluate_commit(open_repo(services.workspace), sha, config,
                                 make_progress(services.err, dict(event.env)))
    store.write({path: json.loads(results.model_dump_json())},
                f"results: {sha[:12]}\n\nImprove-Results: {sha}")
    print(STORED.format(sha=sha[:12], branch=config.data_branch, path=path), file=services.out)
    return 0

