"""The actions the sandbox's runner runs as GitHub's runner would: ``actions/checkout``,
``actions/create-github-app-token``, ``actions/upload-artifact`` and ``download-artifact``,
``actions/cache``, and the bot's own composite action (action.yml). A part of ActionsRunner
(bot/sandbox/actions_runner.py), kept apart so the runner's module is about runs and jobs."""

from __future__ import annotations

import base64
import fnmatch
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.sandbox import permissions as permissions_mod
from bot.sandbox.events import actions_env
from bot.sandbox.expressions import Closed, interpolate, to_string
from bot.sandbox.runner_model import App, Job, StepRecord, WorkflowRun
from bot.sandbox.step_process import Launcher, StepProcess
from bot.sandbox.workflow_syntax import WorkflowError, allows, read_outputs

if TYPE_CHECKING:
    from bot.sandbox.server import Sandbox

ACTION_YML = Path(__file__).resolve().parents[2] / "action.yml"

ARTIFACT_CONFLICT = ("Failed to CreateArtifact: Received non-retryable error: Failed request: "
                     "(409) Conflict: an artifact with this name already exists on the workflow "
                     "run")
ARTIFACT_MISSING = "Unable to download artifact(s): Artifact not found for name: {name}"


class StepActions:
    """The actions, as methods of the runner (ActionsRunner sets these attributes)."""

    sb: Sandbox
    repo: str
    root: Path
    app: App | None
    launcher: Launcher
    artifacts: dict[tuple[int, str], Path]
    caches: dict[tuple[str, str], Path]
    _cache_posts: dict[tuple[int, int, str], list[tuple[str, Path]]]
    cache_savers: dict[tuple[str, str], tuple[int, int, str]]
    _apps: set[str]

    def default_branch(self) -> str:
        raise NotImplementedError  # the runner's

    def _dir(self, run: WorkflowRun, job: Job) -> Path:
        return self.root / f"run-{run.id}-{run.attempt}" / job.key

    def _temp(self, run: WorkflowRun, job: Job) -> Path:
        return self._dir(run, job) / "temp"

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
            if not allows(app.permissions, scope, level):
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
        # a save by a job of this matrix (same run and job spec) is not there yet: on GitHub
        # the matrix's jobs start together, each on a cold cache, where the stand-in runs them
        # one after the other
        siblings = (job.run.id, job.run.attempt, job.spec_key)
        found = next((self.caches[(s, key)] for s in scopes if (s, key) in self.caches
                      and self.cache_savers.get((s, key)) != siblings), None)
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
            self.cache_savers[(job.run.ref, key)] = (job.run.id, job.run.attempt, job.spec_key)

    def _bot(self, job: Job, inputs: Mapping[str, str], step_env: Mapping[str, str],
             ctx: Mapping[str, Any], name: str, where: str) -> tuple[StepRecord, dict[str, str]]:
        """The composite action.yml: its inputs with their defaults, and its one step that runs
        ``improve`` (setting up Python and installing the bot are this interpreter's)."""
        action, values = _action_inputs(inputs, where)
        actx = {**ctx, "inputs": values,
                "github": Closed({**ctx["github"], "action_path": str(ACTION_YML.parent)})}
        argv, env, step_id = _action_command(action, actx)
        if not argv:
            return StepRecord(name, "failure", "failure", code=2,
                              message="the action needs a command (with: command: handle)"), {}
        proc, written = self._run_bot(job, argv, {**step_env, **env})
        # a composite action's outputs are the ones its action.yml declares, each mapped from
        # its inner step's (``steps.improve.outputs.tag``); nothing else leaks out
        inner = {step_id: {"outputs": written, "outcome": "success",
                           "conclusion": "success"}} if step_id else {}
        outputs = {str(k): interpolate(to_string((v or {}).get("value", "")),
                                       {**actx, "steps": inner})
                   for k, v in (action.get("outputs") or {}).items()}
        ok = proc.code == 0
        return (StepRecord(name, "success" if ok else "failure", "success" if ok else "failure",
                           argv=argv, out=proc.out, err=proc.err, code=proc.code,
                           message=f"improve {' '.join(argv)}: exit {proc.code}",
                           outputs=outputs), outputs)

    def _run_bot(self, job: Job, argv: list[str],
                 env: Mapping[str, str]) -> tuple[StepProcess, dict[str, str]]:
        """``improve argv`` as the action's step runs it, in the job's workspace with the
        Actions environment; its result and what it wrote to GITHUB_OUTPUT."""
        run = job.run
        ws = self._dir(run, job) / "workspace"
        logs = self._dir(run, job) / f"step-{len(job.steps)}"
        base = actions_env(run.event, run.payload, repo=self.repo, api_url=self.sb.api_url,
                           server_url=self.sb.server_url, token="", sha=run.sha, ref=run.ref,
                           workdir=logs)
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_", "CI"))}
        proc_env = {**keep, **base, **env,
                    "GITHUB_WORKSPACE": str(ws), "RUNNER_TEMP": str(self._temp(run, job)),
                    "GITHUB_RUN_ID": str(run.id), "GITHUB_RUN_ATTEMPT": str(run.attempt),
                    "GITHUB_RUN_NUMBER": str(run.id), "GITHUB_WORKFLOW": run.workflow.name,
                    "GITHUB_WORKFLOW_REF": f"{self.repo}/{run.workflow.file}@{run.ref}",
                    "GITHUB_JOB": job.key, "GITHUB_ACTOR": run.actor,
                    "GITHUB_ACTION_PATH": str(ACTION_YML.parent), "GIT_TERMINAL_PROMPT": "0",
                    "RUNNER_OS": "Linux"}
        proc = self.launcher.run(argv, proc_env, ws, logs)
        return proc, read_outputs(Path(base["GITHUB_OUTPUT"]))


def _action_inputs(inputs: Mapping[str, str],
                   where: str) -> tuple[dict[str, Any], dict[str, str]]:
    """action.yml, and the step's inputs checked against it, with its defaults filled in."""
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
    return action, {k: inputs.get(k, str(v.get("default", ""))) for k, v in declared.items()}


def _action_command(action: Mapping[str, Any],
                    actx: Mapping[str, Any]) -> tuple[list[str], dict[str, str], str]:
    """The command line, env and step id of action.yml's 'Run improve' step (its other steps,
    setting up Python and installing the bot, are this interpreter's)."""
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
    return argv, env, step_id
