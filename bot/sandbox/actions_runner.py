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

import fnmatch
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.sandbox.events import actions_env, build_event
from bot.sandbox.expressions import (
    FUNCTIONS_KEY,
    Closed,
    ExpressionError,
    condition,
    interpolate,
    to_string,
)
from bot.sandbox.runner_actions import StepActions
from bot.sandbox.runner_model import App, Job, JobRecord, StepRecord, Workflow, WorkflowRun
from bot.sandbox.step_process import Launcher, Zygote
from bot.sandbox.workflow_syntax import (
    DEFAULT_TIMEOUT_MINUTES,
    JOB_KEYS,
    STEP_KEYS,
    STRATEGY_KEYS,
    WORKFLOW_KEYS,
    WorkflowError,
    check_needs,
    env_block,
    expand_matrix,
    hash_files_in,
    only,
    permissions_of,
    read_outputs,
    ref_name,
    timeout_minutes,
)

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox
    from bot.sandbox.state import WorkflowRun as RunRecord

WORKFLOWS_DIR = ".github/workflows"
# what the sandbox repository's workflows ``uses:`` to run the bot (``improve init --action``)
SANDBOX_ACTION = "improve-bot/improve@" + "5" * 40
# the default types of the events whose workflows may list ``types`` (GitHub's docs)
DEFAULT_TYPES = {"pull_request": {"opened", "synchronize", "reopened"}}
@dataclass
class _Group:
    running: Job | WorkflowRun | None = None
    pending: Job | WorkflowRun | None = None


class ActionsRunner(StepActions):
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
        # who saved each cache (run id, attempt, job spec): a matrix's jobs run at once on
        # GitHub, so none restores what a sibling saves at its end
        self.cache_savers: dict[tuple[str, str], tuple[int, int, str]] = {}
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
            unknown = set(doc) - WORKFLOW_KEYS
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
        ctx = only(self._contexts(run, None), "concurrency")
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
        check_needs(run.workflow.file, specs)
        run.jobs = [job for key, spec in specs.items() for job in self._expand(run, key, spec)]
        for job in run.jobs:
            unknown = set(job.spec) - JOB_KEYS
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
                if not condition(job.spec.get("if"), only(ctx, "jobs.if"),
                                 self._job_status(job)):
                    self._finish_job(job, "skipped", release=False)
                elif "concurrency" in job.spec:
                    job.state = "queued"
                    job.group, cancel = self._group_of(job.spec["concurrency"],
                                                       only(ctx, "jobs.concurrency"),
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
        if not isinstance(strategy, dict) or set(strategy) - STRATEGY_KEYS:
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
            "ref_name": ref_name(run.ref), "ref_type": "tag" if run.ref.startswith(
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
                FUNCTIONS_KEY: {"hashfiles": hash_files_in(self._dir(run, job) / "workspace")}
                if job else {}}

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
        minutes = timeout_minutes(job.spec, f"{run.workflow.file}: jobs.{job.spec_key or job.key}")
        job.deadline = time.monotonic() + 60 * minutes
        steps: dict[str, Any] = {}
        failed = False
        job.conclusion = "success"
        env = self._job_env(job)
        for i, spec in enumerate(job.spec["steps"]):
            rec = self._one_step(job, i, spec, steps, env, token, failed)
            if rec.conclusion == "failure":
                failed = True
            if rec.conclusion == "cancelled" or time.monotonic() >= job.deadline:
                # GitHub cancels the job past its timeout-minutes: no later step runs
                job.conclusion = "cancelled"
                return
        job.conclusion = "failure" if failed else "success"
        if not failed:  # actions/cache's post step: post-if success()
            self._save_caches(job)
        job.outputs = self._job_outputs(job, {**self._contexts(run, job, steps, token),
                                              "env": env})

    def _one_step(self, job: Job, i: int, spec: Mapping[str, Any], steps: dict[str, Any],
                  env: dict[str, str], token: str, failed: bool) -> StepRecord:
        """Step ``i`` of ``job``: run (or skipped), recorded, its outcome in ``steps``."""
        run = job.run
        where = f"{run.workflow.file}: jobs.{job.key}.steps[{i}]"
        name = str(spec.get("name") or spec.get("uses") or spec.get("run") or i)
        ctx = {**self._contexts(run, job, steps, token), "env": env}
        status = {"failed": failed}
        try:
            unknown = set(spec) - STEP_KEYS
            if unknown:
                raise WorkflowError(f"{where}: the stand-in does not know "
                                    f"{', '.join(sorted(unknown))}")
            if not condition(spec.get("if"), only(ctx, "steps.if"), status):
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
        return rec

    def _job_outputs(self, job: Job, ctx: Mapping[str, Any]) -> dict[str, str]:
        """A job's ``outputs:``, evaluated once its steps ran (what ``needs.<job>.outputs``
        gives the jobs that need it)."""
        spec = job.spec.get("outputs") or {}
        where = f"{job.run.workflow.file}: jobs.{job.key}.outputs"
        if not isinstance(spec, dict):
            raise WorkflowError(f"{where}: a mapping of names to expressions")
        try:
            return {str(k): interpolate(to_string(v), only(ctx, "jobs.outputs"))
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
            env = env_block(run.workflow.doc.get("env"), only(ctx, "env"), run.workflow.file)
            return {**env, **env_block(job.spec.get("env"), only(ctx, "jobs.env"), where)}
        except ExpressionError as exc:
            job.conclusion = "failure"
            raise WorkflowError(f"{where}: env: {exc}") from exc

    def _step(self, job: Job, spec: Mapping[str, Any], ctx: Mapping[str, Any], token: str,
              where: str, name: str) -> tuple[StepRecord, dict[str, str]]:
        # the step's env over the job's: the process gets them all, and its ``with:`` and
        # ``run:`` read them as ``env`` (workflow < job < step, as GitHub merges them)
        ctx = {**ctx, "env": {**ctx["env"], **env_block(spec.get("env"), only(ctx, "steps"),
                                                         where)}}
        ctx = only(ctx, "steps")
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
        now = time.monotonic()
        try:
            proc = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, capture_output=True,
                                  text=True, timeout=min(300.0, max(0.0, job.deadline - now)),
                                  check=False,
                                  env={**keep, **base, **env, "GITHUB_WORKSPACE": str(ws),
                                       "RUNNER_TEMP": str(self._temp(run, job))})
        except subprocess.TimeoutExpired:
            if time.monotonic() < job.deadline:
                raise  # the stand-in's own limit on one step (5 minutes), not the job's
            minutes = job.spec.get("timeout-minutes", DEFAULT_TIMEOUT_MINUTES)
            return StepRecord(name, "cancelled", "cancelled", message=f"the job ran past its "
                              f"timeout-minutes ({minutes})"), {}
        outputs = read_outputs(Path(base["GITHUB_OUTPUT"]))
        ok = proc.returncode == 0
        return (StepRecord(name, "success" if ok else "failure", "success" if ok else "failure",
                           out=proc.stdout, err=proc.stderr, code=proc.returncode,
                           message=f"bash: exit {proc.returncode}", outputs=outputs), outputs)

def dump_journal(records: list[JobRecord]) -> str:
    """The journal as JSON lines (for a failing test's message)."""
    return "\n".join(json.dumps({"job": f"{r.workflow}/{r.job}", "run": r.run_id,
                                 "attempt": r.attempt, "event": r.event, "action": r.action,
                                 "conclusion": r.conclusion,
                                 "steps": [(s.name, s.conclusion, s.message, round(s.seconds, 2))
                                           for s in r.steps]})
                     for r in records)
