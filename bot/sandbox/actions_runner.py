"""A workflow runner for the sandbox: GitHub Actions, as far as the shipped workflows need it.

It reads the sandbox repository's own ``.github/workflows/*.yml`` (what ``improve init`` writes)
and, for each event, runs the workflows GitHub would run:

- ``on:`` with its filters (``types``, ``branches``, ``workflows``, ``cron``); events caused by
  a ``GITHUB_TOKEN`` start nothing (but ``workflow_dispatch``); a finished run is followed by
  ``workflow_run``;
- workflow- and job-level ``concurrency``: one running and one pending unit per group, a newer
  pending one cancelling the older, ``cancel-in-progress``; a workflow-level group is taken
  before any job's ``if:`` is looked at, as on GitHub;
- each job's ``if:``, its ``GITHUB_TOKEN`` minted with exactly its ``permissions:``;
- the steps: ``actions/checkout`` (a clone at the ref, credentials kept or not),
  ``actions/create-github-app-token`` (an App token narrowed by its ``permission-*`` inputs),
  ``actions/upload-artifact`` / ``download-artifact`` (artifacts per run, a second upload of a
  name refused without ``overwrite: true``), ``actions/cache`` (restored by exact key from the
  run's ref or the default branch, saved at the end of a successful job on a miss), and the
  bot's own action (``action.yml``): the real ``improve`` as a process with the step's
  arguments and the Actions environment, its outputs the ones action.yml declares; ``run:``
  steps with bash (expressions expanded first);
- re-runs: a run GitHub was asked to re-run (``POST .../rerun``) runs again as attempt 2;
- ``merge_group`` (the sandbox's merge queue, bot/sandbox/merge_queue.py): the run's SHA and
  ref are the queue's commit and branch, ``branches`` filters the group's base branch; a
  ``push`` that deletes a branch runs on the default branch's head, as GitHub documents.

Anything else (a step, an expression, a filter it does not know) fails the run with a message
that names it: never skipped in silence. It is a test stand-in, not a product: jobs run one at a
time; ``strategy.matrix`` (lists, ``include``, ``exclude``, ``fail-fast``) expands a job as
GitHub does; ``needs`` orders jobs (``needs.<job>.result`` and ``.outputs``; a failed or
skipped need skips its dependents unless their ``if:`` says otherwise); ``env`` applies
workflow < job < step; each key's expressions see the contexts GitHub allows there; services
are not supported; ``run:`` steps run with bash."""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.sandbox import permissions as permissions_mod
from bot.sandbox.events import actions_env, build_event
from bot.sandbox.expressions import (
    FUNCTIONS_KEY,
    Closed,
    ExpressionError,
    condition,
    interpolate,
    to_string,
)
from bot.sandbox.step_process import Launcher, Zygote

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox
    from bot.sandbox.state import WorkflowRun as RunRecord

WORKFLOWS_DIR = ".github/workflows"
# what the sandbox repository's workflows ``uses:`` to run the bot (``improve init --action``)
SANDBOX_ACTION = "improve-bot/improve@" + "5" * 40
ACTION_YML = Path(__file__).resolve().parents[2] / "action.yml"
# the default types of the events whose workflows may list ``types`` (GitHub's docs)
DEFAULT_TYPES = {"pull_request": {"opened", "synchronize", "reopened"}}
ARTIFACT_CONFLICT = ("Failed to CreateArtifact: Received non-retryable error: Failed request: "
                     "(409) Conflict: an artifact with this name already exists on the workflow "
                     "run")
ARTIFACT_MISSING = "Unable to download artifact(s): Artifact not found for name: {name}"
_JOB_KEYS = {"name", "if", "runs-on", "timeout-minutes", "permissions", "steps", "concurrency",
             "env", "strategy", "needs", "outputs"}
# GitHub's "context availability" table: which contexts each key's expressions may read (any
# other is "Unrecognized named-value" on GitHub, an ExpressionError here)
AVAILABLE = {
    "concurrency": ("github", "inputs", "vars"),
    "env": ("github", "secrets", "inputs", "vars"),
    "jobs.if": ("github", "needs", "vars", "inputs"),
    "jobs.concurrency": ("github", "needs", "strategy", "matrix", "inputs", "vars"),
    "jobs.env": ("github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"),
    "jobs.outputs": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
                     "secrets", "steps", "inputs"),
    # (a step's keys may also call hashFiles(), which the runner gives under FUNCTIONS_KEY)
    "steps.if": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
                 "steps", "inputs", FUNCTIONS_KEY),
    "steps": ("github", "needs", "strategy", "matrix", "job", "runner", "env", "vars",
              "secrets", "steps", "inputs", FUNCTIONS_KEY),
}
_WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "jobs", "env"}
_STRATEGY_KEYS = {"matrix", "fail-fast", "max-parallel"}
_STEP_KEYS = {"name", "id", "if", "uses", "with", "env", "continue-on-error", "timeout-minutes",
              "run", "shell", "working-directory"}


class WorkflowError(Exception):
    """A workflow the stand-in cannot run as written (names the file, job, step)."""


@dataclass
class App:
    """The GitHub App installed on the repository (the README's setup)."""

    app_id: str = "424242"
    private_key: str = "-----BEGIN RSA PRIVATE KEY-----\nsandbox\n-----END RSA PRIVATE KEY-----"
    slug: str = "improve-app"
    permissions: dict[str, str] = field(default_factory=lambda: {
        "actions": "write", "contents": "write", "issues": "write", "pull-requests": "write",
        "statuses": "write", "metadata": "read"})

    @property
    def login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class StepRecord:
    name: str
    outcome: str  # success | failure | skipped
    conclusion: str
    argv: list[str] | None = None
    out: str = ""
    err: str = ""
    message: str = ""
    seconds: float = 0.0
    code: int | None = None  # a bot step's exit code (1: the gate or check says no)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Workflow:
    file: str  # .github/workflows/<name>.yml
    name: str
    doc: dict[Any, Any]  # (YAML 1.1 reads the key ``on`` as True)

    @property
    def on(self) -> dict[str, Any]:
        on = self.doc.get("on", self.doc.get(True))
        if isinstance(on, str):
            return {on: None}
        if isinstance(on, list):
            return {e: None for e in on}
        return dict(on or {})


@dataclass
class Job:
    run: WorkflowRun
    key: str
    spec: dict[str, Any]
    state: str = "waiting"  # waiting | ready | pending | done
    conclusion: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    group: str | None = None
    api_calls: int = 0
    # a matrix job's values (``matrix.shard``) and its ``strategy`` context
    matrix: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)
    spec_key: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # its ``outputs:``, once it ran

    @property
    def needs(self) -> list[str]:
        """The jobs (their keys in ``jobs:``) this one waits for."""
        needs = self.spec.get("needs") or []
        return [needs] if isinstance(needs, str) else [str(n) for n in needs]

    @property
    def name(self) -> str:
        base = str(self.spec.get("name") or self.spec_key or self.key)
        if not self.matrix:
            return base
        # as GitHub names a matrix job: its name and its values
        return f"{base} ({', '.join(to_string(v) for v in self.matrix.values())})"

    def label(self) -> str:
        return f"{self.run.workflow.name}/{self.name}"


@dataclass
class WorkflowRun:
    id: int
    workflow: Workflow
    event: str
    payload: dict[str, Any]
    sha: str
    ref: str
    head_branch: str
    actor: str
    attempt: int = 1
    state: str = "queued"  # queued | pending | in_progress | completed
    conclusion: str | None = None
    jobs: list[Job] = field(default_factory=list)
    group: str | None = None

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return str(action) if isinstance(action, str) else None


@dataclass
class JobRecord:
    """What the journal keeps of each job that ran (or was skipped or cancelled)."""

    workflow: str
    file: str
    job: str
    run_id: int
    attempt: int
    event: str
    action: str | None
    conclusion: str
    steps: list[StepRecord]
    api_calls: int = 0  # REST requests the sandbox logged while the job ran

    def bot_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.argv is not None]


@dataclass
class _Group:
    running: Job | WorkflowRun | None = None
    pending: Job | WorkflowRun | None = None


def permissions_of(spec: Any) -> dict[str, str]:
    """A ``permissions:`` block as scope -> read|write, with the ``metadata: read`` every token
    has (``{}`` is that only); what GitHub refuses in a workflow file is a WorkflowError."""
    try:
        return {"metadata": "read", **permissions_mod.workflow_block(spec)}
    except ValueError as exc:
        raise WorkflowError(f"permissions: {exc}") from exc


def _allows(perms: Mapping[str, str], scope: str, level: str) -> bool:
    have = perms.get(scope)
    return have == "write" or (have == "read" and level == "read")


class ActionsRunner:
    """Runs the repository's workflows on the sandbox ``sb`` for ``repo``.

    ``app``: the installed GitHub App (``vars.IMPROVE_APP_ID`` and the private key secret are
    set), or None for the ``GITHUB_TOKEN``-only setup. ``bot_action``: what the workflows'
    steps ``uses:`` to run the bot (``./`` in this repository, ``owner/improve@sha`` elsewhere).
    """

    def __init__(self, sb: Sandbox, repo: str, root: Path, *, app: App | None = None,
                 bot_action: str = "./", launcher: Launcher | None = None,
                 variables: Mapping[str, str] | None = None) -> None:
        self.sb, self.repo, self.root = sb, repo, root
        self.app, self.bot_action = app, bot_action
        self.launcher: Launcher = launcher or Zygote()
        self.vars = dict(variables or {})
        self.secrets: dict[str, str] = {}
        if app is not None:
            self.vars["IMPROVE_APP_ID"] = app.app_id
            self.secrets["IMPROVE_APP_PRIVATE_KEY"] = app.private_key
        self.runs: dict[int, WorkflowRun] = {}
        self.journal: list[JobRecord] = []
        self.ready: list[Job] = []
        self.groups: dict[str, _Group] = {}
        self.artifacts: dict[tuple[int, str], Path] = {}
        # actions/cache: saved directories by (scope ref, key), and the saves a job's post step
        # will make, by (run id, attempt, job key)
        self.caches: dict[tuple[str, str], Path] = {}
        self._cache_posts: dict[tuple[int, int, str], list[tuple[str, Path]]] = {}
        self._seen_deliveries = 0
        self._apps: set[str] = set()
        root.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.launcher.close()

    # -- the repository ----------------------------------------------------------------------
    @property
    def _bare(self) -> Path:
        return Path(self.sb.root) / f"{self.repo}.git"

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", "--git-dir", str(self._bare), *args], check=True,
                              capture_output=True, text=True).stdout

    def default_branch(self) -> str:
        return str(self.sb.repo_state(self.repo)["default_branch"])

    def _head(self, ref: str) -> str:
        return self._git("rev-parse", ref).strip()

    def workflows(self, sha: str) -> list[Workflow]:
        """The workflow files at ``sha`` (GitHub reads them from the event's commit)."""
        names = self._git("ls-tree", "--name-only", f"{sha}:{WORKFLOWS_DIR}").split() \
            if WORKFLOWS_DIR in self._git("ls-tree", "-r", "--name-only", sha) else []
        out = []
        for name in sorted(names):
            if not name.endswith((".yml", ".yaml")):
                continue
            path = f"{WORKFLOWS_DIR}/{name}"
            doc = yaml.safe_load(self._git("show", f"{sha}:{path}"))
            if not isinstance(doc, dict):
                raise WorkflowError(f"{path}: not a workflow (a mapping)")
            unknown = set(doc) - _WORKFLOW_KEYS
            if unknown:
                raise WorkflowError(f"{path}: the stand-in does not know "
                                    f"{', '.join(sorted(map(str, unknown)))}")
            out.append(Workflow(path, str(doc.get("name") or path), doc))
        return out

    # -- events -----------------------------------------------------------------------------
    def pump(self) -> None:
        """Start what the sandbox's webhook deliveries since the last look call for."""
        for d in self.sb.deliveries(since=self._seen_deliveries):
            self._seen_deliveries = max(self._seen_deliveries, int(d.index) + 1)
            if d.repository not in (None, self.repo):
                continue
            self.deliver(d.event, d.payload, via_github_token=d.via_github_token)

    def deliver(self, event: str, payload: dict[str, Any], *,
                via_github_token: bool = False) -> list[WorkflowRun]:
        """The runs ``event`` starts (queued; ``run_until_idle`` runs them)."""
        if via_github_token and event not in ("workflow_dispatch", "repository_dispatch"):
            return []  # GitHub: events caused by GITHUB_TOKEN create no workflow run
        sha, ref, head_branch = self._where(event, payload)
        started = []
        for wf in self.workflows(self._workflow_sha(event, payload, sha)):
            if self._triggers(wf, event, payload):
                started.append(self._create(wf, event, payload, sha, ref, head_branch))
        return started

    def schedule(self, cron: str | None = None) -> list[WorkflowRun]:
        """The clock reaches a workflow's ``cron`` (each scheduled workflow's first, by default)."""
        sha = self._head(f"refs/heads/{self.default_branch()}")
        started = []
        for wf in self.workflows(sha):
            crons = [c.get("cron") for c in (wf.on.get("schedule") or [])]
            if crons and (cron is None or cron in crons):
                payload = build_event("schedule", None, cron=cron or crons[0])
                started.append(self._create(wf, "schedule", payload, sha,
                                            f"refs/heads/{self.default_branch()}",
                                            self.default_branch()))
        return started

    def _workflow_sha(self, event: str, payload: Mapping[str, Any], sha: str) -> str:
        if event in ("pull_request", "push", "workflow_dispatch", "merge_group"):
            return sha
        return self._head(f"refs/heads/{self.default_branch()}")

    def _where(self, event: str, payload: Mapping[str, Any]) -> tuple[str, str, str]:
        """(GITHUB_SHA, GITHUB_REF, the run's head branch) of an event."""
        default = self.default_branch()
        if event == "pull_request":
            pr = payload["pull_request"]
            # GitHub's is the merge commit of refs/pull/N/merge; the head stands in for it
            return (str(pr["head"]["sha"]), f"refs/pull/{pr['number']}/merge",
                    str(pr["head"]["ref"]))
        if event == "push":
            ref = str(payload["ref"])
            if payload.get("deleted"):
                # GitHub: "When you delete a branch, the SHA in the workflow run (and its
                # associated refs) reverts to the default branch of the repository."
                return self._head(f"refs/heads/{default}"), f"refs/heads/{default}", default
            return str(payload["after"]), ref, ref.removeprefix("refs/heads/")
        if event == "workflow_dispatch":
            ref = str(payload["ref"])
            return self._head(ref), ref, ref.removeprefix("refs/heads/")
        if event == "merge_group":
            # GitHub: GITHUB_SHA the queue's merge commit, GITHUB_REF the queue's branch
            group = payload["merge_group"]
            ref = str(group["head_ref"])
            return str(group["head_sha"]), ref, ref.removeprefix("refs/heads/")
        return self._head(f"refs/heads/{default}"), f"refs/heads/{default}", default

    def _triggers(self, wf: Workflow, event: str, payload: Mapping[str, Any]) -> bool:
        on = wf.on
        if event not in on:
            return False
        spec = on[event] or {}
        if event == "schedule":
            return False  # only the clock (``schedule()``) starts scheduled runs
        if event == "workflow_dispatch":
            # GitHub runs the one workflow the dispatch names, never every one with the trigger
            return str(payload.get("workflow")) == wf.file
        known = {"types", "branches", "workflows"}
        unknown = set(spec) - known
        if unknown:
            raise WorkflowError(f"{wf.file}: on.{event}: the stand-in does not know "
                                f"{', '.join(sorted(unknown))}")
        action = payload.get("action")
        types = set(spec.get("types") or DEFAULT_TYPES.get(event) or ())
        if types and action not in types:
            return False
        if "branches" in spec:
            if event == "push":
                branch = str(payload["ref"]).removeprefix("refs/heads/")
            elif event == "pull_request":
                branch = str(payload["pull_request"]["base"]["ref"])
            elif event == "merge_group":  # the branch the group targets (GitHub's docs)
                branch = str(payload["merge_group"]["base_ref"]).removeprefix("refs/heads/")
            else:
                branch = str((payload.get("workflow_run") or {}).get("head_branch"))
            if not any(fnmatch.fnmatchcase(branch, pat) for pat in spec["branches"]):
                return False
        if event == "workflow_run":
            return str(payload["workflow_run"]["name"]) in spec.get("workflows", [])
        return True

    # -- runs and concurrency -----------------------------------------------------------------
    def _create(self, wf: Workflow, event: str, payload: dict[str, Any], sha: str, ref: str,
                head_branch: str) -> WorkflowRun:
        pulls = [int(payload["pull_request"]["number"])] if event == "pull_request" else []
        run_id = self.sb.add_workflow_run(self.repo, head_sha=sha, head_branch=head_branch,
                                          name=wf.name, path=wf.file, event=event,
                                          status="queued", conclusion=None, pull_requests=pulls)
        actor = str((payload.get("sender") or {}).get("login") or "github-actions[bot]")
        run = WorkflowRun(run_id, wf, event, payload, sha, ref, head_branch, actor)
        self.runs[run_id] = run
        self._queue(run)
        return run

    def _queue(self, run: WorkflowRun) -> None:
        """A new run (or attempt): take the workflow's group, or wait for it."""
        spec = run.workflow.doc.get("concurrency")
        if spec is None:
            self._start(run)
            return
        ctx = _only(self._contexts(run, None), "concurrency")
        run.group, cancel = self._group_of(spec, ctx, run.workflow.file)
        self._acquire(run.group, run, cancel)

    def _group_of(self, spec: Any, ctx: Mapping[str, Any], where: str) -> tuple[str, bool]:
        if isinstance(spec, str):
            return interpolate(spec, ctx), False
        if not isinstance(spec, dict) or "group" not in spec:
            raise WorkflowError(f"{where}: concurrency: needs a group")
        cancel = spec.get("cancel-in-progress", False)
        if isinstance(cancel, str):
            cancel = condition(cancel, ctx, {})
        return interpolate(str(spec["group"]), ctx), bool(cancel)

    def _acquire(self, group: str, unit: Job | WorkflowRun, cancel_in_progress: bool) -> None:
        g = self.groups.setdefault(group, _Group())
        if cancel_in_progress:
            # the new unit cancels what is pending and what is running in the group
            for attr in ("pending", "running"):
                old = getattr(g, attr)
                setattr(g, attr, None)
                if old is not None:
                    self._cancel(old)
        if g.running is None:
            g.running = unit
            self._begin(unit)
            return
        if g.pending is not None:
            # GitHub keeps one pending run per group: the older one is cancelled
            self._cancel(g.pending)
        g.pending = unit
        unit.state = "pending"

    def _release(self, group: str | None, unit: Job | WorkflowRun) -> None:
        if group is None:
            return
        g = self.groups[group]
        if g.running is unit:
            g.running, g.pending = g.pending, None
            if g.running is not None:
                self._begin(g.running)

    def _begin(self, unit: Job | WorkflowRun) -> None:
        if isinstance(unit, WorkflowRun):
            self._start(unit)
        else:
            unit.state = "ready"
            self.ready.append(unit)

    def _cancel(self, unit: Job | WorkflowRun) -> None:
        if isinstance(unit, WorkflowRun):
            if unit.state == "completed":
                return
            unit.state = "pending"  # (no job is unblocked now) it completes as cancelled
            for job in unit.jobs:
                if job.state != "done":
                    self._finish_job(job, "cancelled", release=False)
            self._complete(unit, force="cancelled")
        elif unit.state != "done":
            self._finish_job(unit, "cancelled", release=False)
            self._maybe_complete(unit.run)

    def _start(self, run: WorkflowRun) -> None:
        """The run starts: the jobs that need none have their ``if:`` decided now, the others
        when what they need is done (_unblock); each takes its own group or waits."""
        run.state = "in_progress"
        self._set_status(run, "in_progress", None)
        specs = run.workflow.doc.get("jobs") or {}
        _check_needs(run.workflow.file, specs)
        run.jobs = [job for key, spec in specs.items() for job in self._expand(run, key, spec)]
        for job in run.jobs:
            unknown = set(job.spec) - _JOB_KEYS
            if unknown or not isinstance(job.spec.get("steps"), list):
                raise WorkflowError(f"{run.workflow.file}: jobs.{job.key}: the stand-in does not "
                                    f"run {', '.join(sorted(unknown)) or 'a job without steps'}")
        self._maybe_complete(run)

    def _unblock(self, run: WorkflowRun) -> None:
        """Decide every waiting job whose needs are all done: its ``if:`` (with the needs'
        results: a failed or skipped need skips it unless its ``if:`` calls a status function
        that says otherwise), then its group."""
        progress = True
        while progress and run.state == "in_progress":
            progress = False
            for job in run.jobs:
                if job.state != "waiting" or not self._needs_done(job):
                    continue
                progress = True
                ctx = self._contexts(run, job)
                if not condition(job.spec.get("if"), _only(ctx, "jobs.if"),
                                 self._job_status(job)):
                    self._finish_job(job, "skipped", release=False)
                elif "concurrency" in job.spec:
                    job.state = "queued"
                    job.group, cancel = self._group_of(job.spec["concurrency"],
                                                       _only(ctx, "jobs.concurrency"),
                                                       f"{run.workflow.file}: jobs.{job.key}")
                    self._acquire(job.group, job, cancel)
                else:
                    self._begin(job)

    def _instances(self, job: Job, key: str) -> list[Job]:
        """The jobs of ``key`` in ``job``'s run (a matrix job is several)."""
        return [j for j in job.run.jobs if j.spec_key == key]

    def _needs_done(self, job: Job) -> bool:
        return all(j.state == "done" for key in job.needs for j in self._instances(job, key))

    def _needs(self, job: Job) -> dict[str, Any]:
        """The ``needs`` context: each needed job's result (a matrix's worst) and outputs (of
        the instance that finished last, as on GitHub)."""
        out = {}
        for key in job.needs:
            jobs = self._instances(job, key)
            conclusions = [j.conclusion for j in jobs]
            result = next((c for c in ("failure", "cancelled") if c in conclusions),
                          "skipped" if all(c == "skipped" for c in conclusions) else "success")
            outputs: dict[str, str] = {}
            for j in jobs:
                outputs.update(j.outputs)
            out[key] = {"result": result, "outputs": outputs}
        return out

    def _job_status(self, job: Job) -> dict[str, bool]:
        """What a job's status functions see: failure() if any job it needs, directly or
        through others, failed; success() only if every need succeeded."""
        seen, todo, failed = set(), list(job.needs), False
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            for j in self._instances(job, key):
                failed = failed or j.conclusion == "failure"
                todo.extend(j.needs)
        direct = [j.conclusion for key in job.needs for j in self._instances(job, key)]
        return {"failed": failed,
                "blocked": any(c in ("skipped", "cancelled") for c in direct)}

    def _expand(self, run: WorkflowRun, key: str, spec: Any) -> list[Job]:
        """A job, or one job per combination of its ``strategy.matrix`` (expand_matrix), each
        with its ``matrix`` and ``strategy`` contexts."""
        where = f"{run.workflow.file}: jobs.{key}.strategy"
        strategy = spec.get("strategy") if isinstance(spec, dict) else None
        if strategy is None:
            return [Job(run, key, spec, spec_key=key)]
        if not isinstance(strategy, dict) or set(strategy) - _STRATEGY_KEYS:
            raise WorkflowError(f"{where}: the stand-in knows matrix, fail-fast, max-parallel")
        combos = expand_matrix(strategy.get("matrix"), f"{where}.matrix")
        total = len(combos)
        fail_fast = strategy.get("fail-fast", True) is not False
        return [Job(run, f"{key}-{i + 1}", spec, matrix=combo, spec_key=key,
                    strategy={"fail-fast": fail_fast, "job-index": i, "job-total": total,
                              "max-parallel": strategy.get("max-parallel", total)})
                for i, combo in enumerate(combos)]

    def _finish_job(self, job: Job, conclusion: str, *, release: bool = True) -> None:
        job.state, job.conclusion = "done", conclusion
        if job in self.ready:
            self.ready.remove(job)
        if job.group is not None:
            g = self.groups.get(job.group)
            if g is not None and g.pending is job:
                g.pending = None
            if release:
                self._release(job.group, job)
            elif g is not None and g.running is job:
                self._release(job.group, job)
        run = job.run
        self.journal.append(JobRecord(run.workflow.name, run.workflow.file, job.name, run.id,
                                      run.attempt, run.event, run.action, conclusion,
                                      list(job.steps), job.api_calls))

    def _maybe_complete(self, run: WorkflowRun) -> None:
        self._unblock(run)  # (a job just done may be the last need of another)
        if run.state == "in_progress" and all(j.state == "done" for j in run.jobs):
            self._complete(run)

    def _complete(self, run: WorkflowRun, force: str | None = None) -> None:
        if force is not None:
            conclusion = force
        elif any(j.conclusion == "failure" for j in run.jobs):
            conclusion = "failure"
        elif any(j.conclusion == "cancelled" for j in run.jobs):
            conclusion = "cancelled"
        elif run.jobs and all(j.conclusion == "skipped" for j in run.jobs):
            conclusion = "skipped"
        else:
            conclusion = "success"
        run.state, run.conclusion = "completed", conclusion
        if run.group is not None:
            g = self.groups[run.group]
            if g.pending is run:
                g.pending = None
            self._release(run.group, run)
        self._set_status(run, "completed", conclusion)
        self._follow(run)

    def _run_records(self) -> dict[int, RunRecord]:
        """The sandbox's records of this repository's workflow runs (hold its lock)."""
        repo = self.sb.state.repo(self.repo)
        if repo is None:
            raise WorkflowError(f"no repository {self.repo} in the sandbox")
        return repo.workflow_runs

    def _set_status(self, run: WorkflowRun, status: str, conclusion: str | None) -> None:
        with self.sb.state.lock:
            rec = self._run_records()[run.id]
            rec.status, rec.conclusion = status, conclusion

    def _follow(self, run: WorkflowRun) -> None:
        """``workflow_run`` completed, for the workflows that follow this one."""
        pulls = []
        if run.event == "pull_request":
            pr = run.payload["pull_request"]
            pulls = [{"number": pr["number"], "head_ref": pr["head"]["ref"],
                      "head_sha": pr["head"]["sha"], "base_ref": pr["base"]["ref"],
                      "base_sha": pr["base"]["sha"]}]
        head_repo = ((run.payload.get("pull_request") or {}).get("head") or {}).get("repo") or {}
        # (``name`` is build_event's own first parameter: set after)
        facts = {"event": run.event, "id": run.id}
        payload = build_event(
            "workflow_run", "completed", repo=self.repo, default_branch=self.default_branch(),
            sender=run.actor, conclusion=run.conclusion, head_sha=run.sha,
            head_branch=run.head_branch, head_repo=str(head_repo.get("full_name") or self.repo),
            pull_requests=pulls, **facts)
        payload["workflow_run"].update(name=run.workflow.name, path=run.workflow.file,
                                       run_attempt=run.attempt, status="completed")
        self.deliver("workflow_run", payload)

    def _reruns(self) -> None:
        """Runs someone asked GitHub to re-run: a new attempt, queued like a new run."""
        with self.sb.state.lock:
            recs = dict(self._run_records())
        for run_id, rec in sorted(recs.items()):
            run = self.runs.get(run_id)
            if run is not None and rec.status == "queued" and rec.run_attempt > run.attempt \
                    and run.state == "completed":
                run.attempt, run.state, run.conclusion = rec.run_attempt, "queued", None
                run.jobs, run.group = [], None
                self._queue(run)

    def run_until_idle(self, limit: int = 200) -> list[JobRecord]:
        """Run every queued job, and what their effects start, until nothing is left."""
        done = len(self.journal)
        for _ in range(limit):
            self.pump()
            self._reruns()
            if not self.ready:
                break
            job = self.ready.pop(0)
            mark = len(self.sb.requests)
            try:
                self._execute(job)
            finally:
                # jobs run one at a time: every REST call logged meanwhile is this job's
                job.api_calls = self.sb.api_calls(mark)
            # what the job caused arrived while it was running: it still holds its groups
            self.pump()
            if job.state != "done":  # (a newer run may have cancelled it meanwhile)
                self._finish_job(job, job.conclusion or "success")
            if job.conclusion == "failure" and job.strategy.get("fail-fast"):
                # fail-fast: the matrix's other jobs not yet finished are cancelled
                for other in job.run.jobs:
                    if other.spec_key == job.spec_key and other.state != "done":
                        self._cancel(other)
            self._maybe_complete(job.run)
        else:
            raise WorkflowError(f"still busy after {limit} jobs: a loop of workflows?")
        return self.journal[done:]

    # -- contexts --------------------------------------------------------------------------
    def _contexts(self, run: WorkflowRun, job: Job | None,
                  steps: Mapping[str, Any] | None = None, token: str = "") -> dict[str, Any]:
        repo_node = run.payload.get("repository") or {"full_name": self.repo}
        pr = run.payload.get("pull_request") if run.event == "pull_request" else None
        # every property the stand-in gives; any other ``github.x`` is refused by name (Closed)
        github = Closed({
            "event": run.payload, "event_name": run.event, "repository": self.repo,
            "repository_owner": self.repo.split("/")[0], "ref": run.ref, "sha": run.sha,
            "ref_name": _ref_name(run.ref), "ref_type": "tag" if run.ref.startswith(
                "refs/tags/") else "branch", "run_id": str(run.id), "run_number": str(run.id),
            "run_attempt": str(run.attempt), "actor": run.actor, "triggering_actor": run.actor,
            "workflow": run.workflow.name, "job": job.key if job else None,
            "server_url": self.sb.server_url, "api_url": self.sb.api_url,
            "token": token, "default_branch": repo_node.get("default_branch"),
            # GitHub: set for pull_request events only, the empty string otherwise
            "head_ref": str(pr["head"]["ref"]) if pr else "",
            "base_ref": str(pr["base"]["ref"]) if pr else "",
            "workspace": str(self._dir(run, job) / "workspace") if job else "",
        })
        # workflow_dispatch: the inputs (a boolean input is a boolean in the ``inputs`` context)
        inputs: dict[str, Any] = {}
        if run.event == "workflow_dispatch":
            declared = ((run.workflow.on.get("workflow_dispatch") or {}).get("inputs") or {})
            for key, value in (run.payload.get("inputs") or {}).items():
                boolean = (declared.get(key) or {}).get("type") == "boolean"
                inputs[key] = value == "true" if boolean else value
        return {"github": github, "vars": dict(self.vars), "secrets": dict(self.secrets),
                "inputs": inputs, "needs": self._needs(job) if job else {},
                "steps": dict(steps or {}), "env": {},
                "runner": Closed({"temp": str(self._temp(run, job)) if job else "",
                                  "os": "Linux", "arch": "X64"}),
                "job": {"status": "success"}, "matrix": dict(job.matrix) if job else {},
                "strategy": dict(job.strategy) if job else {},
                FUNCTIONS_KEY: {"hashfiles": _hash_files(self._dir(run, job) / "workspace")}
                if job else {}}

    def _dir(self, run: WorkflowRun, job: Job) -> Path:
        return self.root / f"run-{run.id}-{run.attempt}" / job.key

    def _temp(self, run: WorkflowRun, job: Job) -> Path:
        return self._dir(run, job) / "temp"

    # -- a job ----------------------------------------------------------------------------------
    def _execute(self, job: Job) -> None:
        run = job.run
        wf_perm = run.workflow.doc.get("permissions")
        perms = permissions_of(job.spec.get("permissions", wf_perm))
        token = self.sb.mint_token("github-actions[bot]", kind="github_token", repo=self.repo,
                                   permissions=perms)
        d = self._dir(run, job)
        shutil.rmtree(d, ignore_errors=True)
        self._temp(run, job).mkdir(parents=True)
        (d / "workspace").mkdir()
        steps: dict[str, Any] = {}
        failed = False
        job.conclusion = "success"
        env = self._job_env(job)
        for i, spec in enumerate(job.spec["steps"]):
            where = f"{run.workflow.file}: jobs.{job.key}.steps[{i}]"
            name = str(spec.get("name") or spec.get("uses") or spec.get("run") or i)
            ctx = {**self._contexts(run, job, steps, token), "env": env}
            status = {"failed": failed}
            try:
                unknown = set(spec) - _STEP_KEYS
                if unknown:
                    raise WorkflowError(f"{where}: the stand-in does not know "
                                        f"{', '.join(sorted(unknown))}")
                if not condition(spec.get("if"), _only(ctx, "steps.if"), status):
                    rec = StepRecord(name, "skipped", "skipped")
                    outputs: dict[str, str] = {}
                else:
                    started = time.monotonic()
                    rec, outputs = self._step(job, spec, ctx, token, where, name)
                    rec.seconds = time.monotonic() - started
            except (WorkflowError, ExpressionError) as exc:
                rec, outputs = StepRecord(name, "failure", "failure", message=str(exc)), {}
                job.steps.append(rec)
                job.conclusion = "failure"
                raise WorkflowError(f"{job.label()}: {exc}") from exc
            if rec.outcome == "failure" and spec.get("continue-on-error") is True:
                rec.conclusion = "success"
            job.steps.append(rec)
            if "id" in spec:
                steps[str(spec["id"])] = {"outputs": outputs, "outcome": rec.outcome,
                                          "conclusion": rec.conclusion}
            if rec.conclusion == "failure":
                failed = True
        job.conclusion = "failure" if failed else "success"
        if not failed:  # actions/cache's post step: post-if success()
            self._save_caches(job)
        job.outputs = self._job_outputs(job, {**self._contexts(run, job, steps, token),
                                              "env": env})

    def _job_outputs(self, job: Job, ctx: Mapping[str, Any]) -> dict[str, str]:
        """A job's ``outputs:``, evaluated once its steps ran (what ``needs.<job>.outputs``
        gives the jobs that need it)."""
        spec = job.spec.get("outputs") or {}
        where = f"{job.run.workflow.file}: jobs.{job.key}.outputs"
        if not isinstance(spec, dict):
            raise WorkflowError(f"{where}: a mapping of names to expressions")
        try:
            return {str(k): interpolate(to_string(v), _only(ctx, "jobs.outputs"))
                    for k, v in spec.items()}
        except ExpressionError as exc:
            raise WorkflowError(f"{where}: {exc}") from exc

    def _job_env(self, job: Job) -> dict[str, str]:
        """The ``env`` a job's steps start from: the workflow's, then the job's over it, each
        evaluated with the contexts GitHub allows there (the job's may not read ``env``)."""
        run = job.run
        ctx = self._contexts(run, job)
        where = f"{run.workflow.file}: jobs.{job.key}"
        try:
            env = _env_block(run.workflow.doc.get("env"), _only(ctx, "env"), run.workflow.file)
            return {**env, **_env_block(job.spec.get("env"), _only(ctx, "jobs.env"), where)}
        except ExpressionError as exc:
            job.conclusion = "failure"
            raise WorkflowError(f"{where}: env: {exc}") from exc

    def _step(self, job: Job, spec: Mapping[str, Any], ctx: Mapping[str, Any], token: str,
              where: str, name: str) -> tuple[StepRecord, dict[str, str]]:
        # the step's env over the job's: the process gets them all, and its ``with:`` and
        # ``run:`` read them as ``env`` (workflow < job < step, as GitHub merges them)
        ctx = {**ctx, "env": {**ctx["env"], **_env_block(spec.get("env"), _only(ctx, "steps"),
                                                         where)}}
        ctx = _only(ctx, "steps")
        env = dict(ctx["env"])
        if "run" in spec:
            return self._shell(job, spec, ctx, env, where, name)
        if "uses" not in spec:
            raise WorkflowError(f"{where}: a step needs 'uses' or 'run'")
        uses = str(spec["uses"])
        # YAML's true/false/numbers reach an action as the text GitHub gives them ("true")
        inputs = {str(k): interpolate(to_string(v), ctx)
                  for k, v in (spec.get("with") or {}).items()}
        if uses == self.bot_action:
            return self._bot(job, inputs, env, ctx, name, where)
        action = uses.split("@", 1)[0]
        if action == "actions/checkout":
            return self._checkout(job, inputs, token, name)
        if action == "actions/create-github-app-token":
            return self._app_token(inputs, name, where)
        if action == "actions/upload-artifact":
            return self._upload(job, inputs, name)
        if action == "actions/download-artifact":
            return self._download(job, inputs, name)
        if action == "actions/cache":
            return self._cache(job, inputs, name, where)
        raise WorkflowError(f"{where}: the stand-in does not know the action {uses!r}")

    def _shell(self, job: Job, spec: Mapping[str, Any], ctx: Mapping[str, Any],
               env: Mapping[str, str], where: str,
               name: str) -> tuple[StepRecord, dict[str, str]]:
        """A ``run:`` step, as a runner runs it: its ``${{ }}`` expressions expanded into the
        script first, then ``bash -e`` in the workspace with the step's ``env:`` and the
        Actions files (``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``)."""
        if spec.get("shell", "bash") != "bash":
            raise WorkflowError(f"{where}: the stand-in runs bash steps only")
        run = job.run
        script = interpolate(to_string(spec["run"]), ctx)
        logs = self._dir(run, job) / f"step-{len(job.steps)}"
        base = actions_env(run.event, run.payload, repo=self.repo, api_url=self.sb.api_url,
                           server_url=self.sb.server_url, token="", sha=run.sha, ref=run.ref,
                           workdir=logs)
        ws = self._dir(run, job) / "workspace"
        cwd = ws / str(spec.get("working-directory") or ".")
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_", "CI"))}
        proc = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True,
                              text=True, timeout=300, check=False,
                              env={**keep, **base, **env, "GITHUB_WORKSPACE": str(ws),
                                   "RUNNER_TEMP": str(self._temp(run, job))})
        outputs = _outputs(Path(base["GITHUB_OUTPUT"]))
        ok = proc.returncode == 0
        return (StepRecord(name, "success" if ok else "failure", "success" if ok else "failure",
                           out=proc.stdout, err=proc.stderr, code=proc.returncode,
                           message=f"bash: exit {proc.returncode}", outputs=outputs), outputs)

    def _checkout(self, job: Job, inputs: Mapping[str, str], token: str,
                  name: str) -> tuple[StepRecord, dict[str, str]]:
        ws = self._dir(job.run, job) / "workspace"
        use = inputs.get("token") or token
        url = f"{self.sb.server_url}/{self.repo}.git"
        basic = base64.b64encode(f"x-access-token:{use}".encode()).decode()
        header = f"http.{self.sb.server_url}/.extraheader=AUTHORIZATION: basic {basic}"
        ref = inputs.get("ref") or job.run.ref
        depth = int(inputs.get("fetch-depth") or "1")

        def git(*args: str) -> None:
            subprocess.run(["git", "-c", header, *args], cwd=ws, check=True,
                           capture_output=True, text=True,
                           env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})

        try:
            git("init", "-q")
            git("remote", "add", "origin", url)
            if depth == 0:
                git("fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*",
                    "+refs/tags/*:refs/tags/*")
            if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
                if depth:
                    git("fetch", "-q", f"--depth={depth}", "origin", ref)
                git("checkout", "-q", "--detach", ref)
            else:
                branch = ref.removeprefix("refs/heads/")
                if not ref.startswith("refs/") or ref.startswith("refs/heads/"):
                    target = f"refs/remotes/origin/{branch}"
                    fetch = f"+refs/heads/{branch}:{target}"
                else:
                    target = fetch_ref = ref.replace("refs/pull/", "refs/remotes/pull/")
                    fetch = f"+{ref}:{fetch_ref}"
                git("fetch", "-q", *([f"--depth={depth}"] if depth else []), "origin", fetch)
                if target.startswith("refs/remotes/origin/"):
                    git("checkout", "-q", "-B", branch, target)
                else:
                    git("checkout", "-q", "--detach", target)
        except subprocess.CalledProcessError as exc:
            return StepRecord(name, "failure", "failure", message=exc.stderr), {}
        if inputs.get("persist-credentials", "true") != "false":
            git("config", "--local", f"http.{self.sb.server_url}/.extraheader",
                f"AUTHORIZATION: basic {basic}")
        return StepRecord(name, "success", "success", message=f"checked out {ref}"), {}

    def _app_token(self, inputs: Mapping[str, str], name: str,
                   where: str) -> tuple[StepRecord, dict[str, str]]:
        app = self.app
        if app is None or inputs.get("app-id") != app.app_id \
                or inputs.get("private-key") != app.private_key:
            return StepRecord(name, "failure", "failure",
                              message="[@octokit/auth-app] appId option is required"), {}
        asked = {k.removeprefix("permission-"): v for k, v in inputs.items()
                 if k.startswith("permission-")}
        perms = {"metadata": "read"}
        for scope, level in asked.items():
            if not _allows(app.permissions, scope, level):
                return StepRecord(name, "failure", "failure", message=(
                    f"The permissions requested are not granted to this installation: "
                    f"{scope}: {level}")), {}
            perms[scope] = level
        if not asked:
            perms = dict(app.permissions)
        if app.slug not in self._apps:  # the App is installed when first used
            self.sb.create_app(app.slug, permissions=dict(app.permissions))
            self._apps.add(app.slug)
        token = self.sb.mint_token(app.slug, kind="app", repo=self.repo, permissions=perms)
        return (StepRecord(name, "success", "success", message=f"App token for {app.login}"),
                {"token": token, "app-slug": app.slug, "installation-id": "1"})

    def _upload(self, job: Job, inputs: Mapping[str, str],
                name: str) -> tuple[StepRecord, dict[str, str]]:
        art = inputs.get("name") or "artifact"
        # a relative path is the workspace's, as on a runner (never the stand-in's own cwd)
        src = self._dir(job.run, job) / "workspace" / inputs["path"]
        files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file()) \
            if src.is_dir() else []
        if not files:
            how = inputs.get("if-no-files-found", "warn")
            msg = f"No files were found with the provided path: {src}. No artifacts will be " \
                  "uploaded."
            return StepRecord(name, "failure" if how == "error" else "success",
                              "failure" if how == "error" else "success", message=msg), {}
        key = (job.run.id, art)
        if key in self.artifacts and inputs.get("overwrite", "false") != "true":
            return StepRecord(name, "failure", "failure", message=ARTIFACT_CONFLICT), {}
        dest = self.root / "artifacts" / f"{job.run.id}-{job.run.attempt}" / art
        shutil.rmtree(dest, ignore_errors=True)
        base = src if src.is_dir() else src.parent
        for f in files:
            (dest / f.relative_to(base)).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest / f.relative_to(base))
        self.artifacts[key] = dest
        return StepRecord(name, "success", "success",
                          message=f"uploaded {art} (attempt {job.run.attempt})"), {}

    def _download(self, job: Job, inputs: Mapping[str, str],
                  name: str) -> tuple[StepRecord, dict[str, str]]:
        art = inputs.get("name") or ""
        pattern = inputs.get("pattern") or ""
        if art and pattern:
            raise WorkflowError("download-artifact: name and pattern are exclusive")
        run_id = int(inputs["run-id"]) if inputs.get("run-id") else job.run.id
        if inputs.get("run-id"):
            # the token the step was given, with the permissions the sandbox minted it with
            given = self.sb.token_info(inputs.get("github-token", ""))
            if not permissions_mod.grants((given.permissions if given else None) or {},
                                          "actions", "read"):
                return StepRecord(name, "failure", "failure",
                                  message="Resource not accessible by integration"), {}
        dest = Path(inputs.get("path") or (self._dir(job.run, job) / "workspace"))
        if pattern:
            # every artifact of the run whose name matches; merge-multiple puts their files in
            # one folder, otherwise each goes in a folder named after it (download-artifact v4)
            found = sorted((n, p) for (r, n), p in self.artifacts.items()
                           if r == run_id and fnmatch.fnmatchcase(n, pattern))
            if not found:
                return StepRecord(name, "failure", "failure",
                                  message=ARTIFACT_MISSING.format(name=pattern)), {}
            merge = inputs.get("merge-multiple", "false") == "true"
            for n, p in found:
                shutil.copytree(p, dest if merge else dest / n, dirs_exist_ok=True)
            return StepRecord(name, "success", "success",
                              message=f"downloaded {', '.join(n for n, _ in found)}"), {}
        src = self.artifacts.get((run_id, art))
        if src is None:
            return StepRecord(name, "failure", "failure",
                              message=ARTIFACT_MISSING.format(name=art)), {}
        shutil.copytree(src, dest, dirs_exist_ok=True)
        return StepRecord(name, "success", "success", message=f"downloaded {art}"), {}

    def _cache(self, job: Job, inputs: Mapping[str, str], name: str,
               where: str) -> tuple[StepRecord, dict[str, str]]:
        """actions/cache, its restore half: the directory saved under exactly ``key`` in this
        run's scope (its ref), else the default branch's, as GitHub isolates caches (a pull
        request's never reaches another branch); ``cache-hit`` says whether it was found. On a
        miss the job's end saves ``path`` under ``key`` (:meth:`_save_caches`), as the action's
        post step does when the job succeeded. One path, no ``restore-keys``."""
        if inputs.get("restore-keys") or "\n" in inputs.get("path", "").strip():
            raise WorkflowError(f"{where}: the stand-in's actions/cache takes one path and no "
                                "restore-keys")
        missing = [k for k in ("path", "key") if not inputs.get(k)]
        if missing:  # the action's own words
            return StepRecord(name, "failure", "failure", message=(
                f"Input required and not supplied: {missing[0]}")), {}
        key, path = inputs["key"], Path(inputs["path"])
        scopes = [job.run.ref, f"refs/heads/{self.default_branch()}"]
        found = next((self.caches[(s, key)] for s in scopes if (s, key) in self.caches), None)
        if found is None:
            self._cache_posts.setdefault((job.run.id, job.run.attempt, job.key), []).append(
                (key, path))
            miss = {"cache-hit": "false"}
            return (StepRecord(name, "success", "success", outputs=miss,
                               message=f"Cache not found for input keys: {key}"), miss)
        shutil.copytree(found, path, dirs_exist_ok=True, symlinks=True)
        hit = {"cache-hit": "true"}
        return (StepRecord(name, "success", "success", outputs=hit,
                           message=f"Cache restored from key: {key}"), hit)

    def _save_caches(self, job: Job) -> None:
        """The post step of each actions/cache that missed: ``path`` saved under its key in
        the run's scope; a key already saved there is kept (GitHub never overwrites one), and a
        path that does not exist saves nothing."""
        for key, path in self._cache_posts.pop((job.run.id, job.run.attempt, job.key), []):
            if (job.run.ref, key) in self.caches or not path.is_dir():
                continue
            dest = self.root / "caches" / str(len(self.caches))
            shutil.copytree(path, dest, symlinks=True)
            self.caches[(job.run.ref, key)] = dest

    def _bot(self, job: Job, inputs: Mapping[str, str], step_env: Mapping[str, str],
             ctx: Mapping[str, Any], name: str, where: str) -> tuple[StepRecord, dict[str, str]]:
        """The composite action.yml: its inputs with their defaults, and its one step that runs
        ``improve`` (setting up Python and installing the bot are this interpreter's)."""
        if not ACTION_YML.is_file():
            raise WorkflowError(f"{where}: the bot's action.yml is not at {ACTION_YML}")
        action = yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))
        declared = action.get("inputs") or {}
        unknown = set(inputs) - set(declared)
        if unknown:
            raise WorkflowError(f"{where}: action.yml has no input {', '.join(sorted(unknown))}")
        missing = [k for k, v in declared.items() if v.get("required") and not inputs.get(k)]
        if missing:
            raise WorkflowError(f"{where}: input {', '.join(missing)} is required")
        values = {k: inputs.get(k, str(v.get("default", ""))) for k, v in declared.items()}
        run = job.run
        temp = self._temp(run, job)
        ws = self._dir(run, job) / "workspace"
        actx = {**ctx, "inputs": values,
                "github": {**ctx["github"], "action_path": str(ACTION_YML.parent)}}
        argv: list[str] | None = None
        env: dict[str, str] = {}
        step_id = ""
        for s in action["runs"]["steps"]:
            sname = s.get("name") or s.get("uses", "")
            if str(s.get("uses", "")).startswith("actions/setup-python@"):
                continue  # the stand-in's Python is this interpreter
            if sname == "Install improve":
                continue  # installed in this interpreter
            if sname == "Run improve":
                env = {str(k): interpolate(to_string(v), actx)
                       for k, v in (s.get("env") or {}).items()}
                # as its bash does: the command, then its arguments, split on blanks
                argv = f"{env.pop('IMPROVE_COMMAND', '')} {env.pop('IMPROVE_ARGS')}".split()
                step_id = str(s.get("id") or "")
                continue
            raise WorkflowError(f"action.yml: the stand-in does not know the step {sname!r}")
        if argv is None:
            raise WorkflowError("action.yml: no 'Run improve' step")
        if not argv:
            return StepRecord(name, "failure", "failure", code=2,
                              message="the action needs a command (with: command: handle)"), {}
        logs = self._dir(run, job) / f"step-{len(job.steps)}"
        base = actions_env(run.event, run.payload, repo=self.repo, api_url=self.sb.api_url,
                           server_url=self.sb.server_url, token="", sha=run.sha, ref=run.ref,
                           workdir=logs)
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_", "CI"))}
        proc_env = {**keep, **base, **step_env, **env,
                    "GITHUB_WORKSPACE": str(ws), "RUNNER_TEMP": str(temp),
                    "GITHUB_RUN_ID": str(run.id), "GITHUB_RUN_ATTEMPT": str(run.attempt),
                    "GITHUB_RUN_NUMBER": str(run.id), "GITHUB_WORKFLOW": run.workflow.name,
                    "GITHUB_WORKFLOW_REF": f"{self.repo}/{run.workflow.file}@{run.ref}",
                    "GITHUB_JOB": job.key, "GITHUB_ACTOR": run.actor,
                    "GITHUB_ACTION_PATH": str(ACTION_YML.parent), "GIT_TERMINAL_PROMPT": "0",
                    "RUNNER_OS": "Linux"}
        proc = self.launcher.run(argv, proc_env, ws, logs)
        # a composite action's outputs are the ones its action.yml declares, each mapped from
        # its inner step's (``steps.improve.outputs.tag``); nothing else leaks out
        inner = {step_id: {"outputs": _outputs(Path(base["GITHUB_OUTPUT"])),
                           "outcome": "success", "conclusion": "success"}} if step_id else {}
        outputs = {str(k): interpolate(to_string((v or {}).get("value", "")),
                                       {**actx, "steps": inner})
                   for k, v in (action.get("outputs") or {}).items()}
        ok = proc.code == 0
        return (StepRecord(name, "success" if ok else "failure", "success" if ok else "failure",
                           argv=argv, out=proc.out, err=proc.err, code=proc.code,
                           message=f"improve {' '.join(argv)}: exit {proc.code}",
                           outputs=outputs), outputs)


def _hash_files(workspace: Path) -> Callable[..., str]:
    """``hashFiles(patterns...)`` as the runner computes it: the SHA-256 of the SHA-256 of each
    file under the workspace the patterns match (files only, in path order); '' when none."""

    def hash_files(*patterns: Any) -> str:
        found = {p for pattern in patterns for p in workspace.glob(to_string(pattern))
                 if p.is_file() and ".git" not in p.relative_to(workspace).parts}
        if not found:
            return ""
        digest = hashlib.sha256()
        for path in sorted(found):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()

    return hash_files


def _outputs(path: Path) -> dict[str, str]:
    """``GITHUB_OUTPUT``: ``key=value`` lines and ``key<<DELIM`` ... ``DELIM`` blocks."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def _check_needs(file: str, specs: Mapping[str, Any]) -> None:
    """``needs:`` as GitHub validates it before any job runs: known jobs, no cycle."""
    graph: dict[str, list[str]] = {}
    for key, spec in specs.items():
        needs = spec.get("needs", []) if isinstance(spec, dict) else []
        needs = [needs] if isinstance(needs, str) else needs
        if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
            raise WorkflowError(f"{file}: jobs.{key}.needs: a job id or a list of them")
        for n in needs:
            if n not in specs:
                raise WorkflowError(f"{file}: jobs.{key}.needs: job '{key}' depends on unknown "
                                    f"job '{n}'")
        graph[str(key)] = needs
    state: dict[str, int] = {}

    def visit(key: str, path: tuple[str, ...]) -> None:
        if state.get(key) == 2:
            return
        if state.get(key) == 1:
            raise WorkflowError(f"{file}: jobs: a cycle in needs: {' -> '.join((*path, key))}")
        state[key] = 1
        for n in graph[key]:
            visit(n, (*path, key))
        state[key] = 2

    for key in graph:
        visit(key, ())


def expand_matrix(matrix: Any, where: str) -> list[dict[str, Any]]:
    """A ``strategy.matrix`` as GitHub expands it: the product of its lists (the first key
    varies slowest), minus each ``exclude`` that matches a combination (on the keys it
    names), then each ``include``: added to every combination whose original values it does
    not contradict (overwriting only values an include added), or, if it fits none, a
    combination of its own. Expressions (a matrix from ``fromJSON``) are refused by name."""
    if not isinstance(matrix, dict) or not matrix:
        raise WorkflowError(f"{where}: a mapping of lists, e.g. shard: [1, 2, 3]")
    include = matrix.get("include", [])
    exclude = matrix.get("exclude", [])
    for name, entries in (("include", include), ("exclude", exclude)):
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise WorkflowError(f"{where}.{name}: a list of mappings (an expression is not "
                                "expanded by the stand-in)")
    dims = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    for name, values in dims.items():
        if not isinstance(values, list) or not values:
            raise WorkflowError(f"{where}.{name}: the stand-in expands non-empty lists only "
                                "(no expressions)")
    combos: list[dict[str, Any]] = [{}] if dims else []
    for name, values in dims.items():
        combos = [{**c, name: v} for c in combos for v in values]
    combos = [c for c in combos
              if not any(all(c.get(k) == v for k, v in e.items()) for e in exclude)]
    # only the product's combinations take includes (one an include made takes none)
    originals = [dict(c) for c in combos]
    for entry in include:
        fits = [i for i, o in enumerate(originals)
                if all(o[k] == v for k, v in entry.items() if k in dims)]
        for i in fits:
            combos[i].update(entry)
        if not fits:
            combos.append(dict(entry))
    if not combos:
        raise WorkflowError(f"{where}: no combination is left to run")
    return combos


def _only(ctx: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The contexts GitHub lets ``key``'s expressions read (AVAILABLE)."""
    return {k: v for k, v in ctx.items() if k in AVAILABLE[key]}


def _env_block(spec: Any, ctx: Mapping[str, Any], where: str) -> dict[str, str]:
    """An ``env:`` mapping, each value's expressions expanded (YAML scalars as text)."""
    if spec is None:
        return {}
    if not isinstance(spec, dict):
        raise WorkflowError(f"{where}: env: a mapping of names to values")
    return {str(k): interpolate(to_string(v), ctx) for k, v in spec.items()}


def _ref_name(ref: str) -> str:
    """``github.ref_name``: the branch or tag, or ``<number>/merge`` for a pull request."""
    for prefix in ("refs/heads/", "refs/tags/", "refs/pull/"):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix)
    return ref


def dump_journal(records: list[JobRecord]) -> str:
    """The journal as JSON lines (for a failing test's message)."""
    return "\n".join(json.dumps({"job": f"{r.workflow}/{r.job}", "run": r.run_id,
                                 "attempt": r.attempt, "event": r.event, "action": r.action,
                                 "conclusion": r.conclusion,
                                 "steps": [(s.name, s.conclusion, s.message, round(s.seconds, 2))
                                           for s in r.steps]})
                     for r in records)
