"""Actions: workflow runs (recorded by add_workflow_run) and workflow_dispatch."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from bot.sandbox import deliveries, gitops
from bot.sandbox.routes.common import (
    NOT_FOUND,
    ApiError,
    Ctx,
    Result,
    _number,
    invalid,
    paginate,
    route,
)
from bot.sandbox.state import (
    Repo,
    WorkflowRun,
    now_iso,
)

# -- Actions runs (recorded by add_workflow_run: the workflow runner's runs, or a test's) ------

@route("GET", "/repos/{owner}/{repo}/actions/runs")
def list_workflow_runs(ctx: Ctx) -> Result:
    repo = ctx.repo
    filters = {k: ctx.q(k) for k in ("head_sha", "event", "status", "branch")}
    runs = []
    for run in sorted(repo.workflow_runs.values(), key=lambda r: -r.id):
        if filters["head_sha"] not in (None, run.head_sha):
            continue
        if filters["event"] not in (None, run.event):
            continue
        if filters["branch"] not in (None, run.head_branch):
            continue
        if filters["status"] not in (None, run.status, run.conclusion):
            continue
        runs.append(run)
    _, page, headers = paginate(ctx, runs)
    return 200, {"total_count": len(runs),
                 "workflow_runs": [ctx.shapes.workflow_run(repo, r) for r in page]}, headers


@route("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun")
def rerun_workflow(ctx: Ctx) -> Result:
    repo = ctx.repo
    run = repo.workflow_runs.get(_number(ctx, "run_id"))
    if run is None:
        raise ApiError(404, NOT_FOUND)
    ctx.require("write")
    if run.status != "completed":
        # GitHub refuses to re-run a run that has not finished
        raise ApiError(403, f"This workflow run is not complete (status: {run.status}).")
    run.run_attempt += 1
    run.status, run.conclusion = "queued", None
    run.updated_at = now_iso()
    return 201, {}, {}


def add_workflow_run(repo: Repo, run_id: int, *, name: str, path: str, head_sha: str,
                     head_branch: str, event: str = "pull_request", status: str = "completed",
                     conclusion: str | None = "success",
                     pull_requests: list[int] | None = None) -> WorkflowRun:
    now = now_iso()
    number = 1 + sum(1 for r in repo.workflow_runs.values() if r.path == path)
    run = WorkflowRun(run_id, name, path, head_sha, head_branch, event, status,
                      conclusion if status == "completed" else None, number, now, now,
                      pull_requests=list(pull_requests or []))
    repo.workflow_runs[run_id] = run
    return run


@route("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")
def dispatch_workflow(ctx: Ctx) -> Result:
    """``workflow_dispatch``, as GitHub checks it: the workflow file (by file name) at ``ref``
    must declare the trigger; inputs it does not declare, a required one missing, or a choice
    outside its options are refused (422); the others take their defaults. The event names the
    workflow, and only that workflow runs for it."""
    repo = ctx.repo
    ctx.require("write")
    name = unquote(ctx.params["workflow_id"])
    if "/" in name or not name.endswith((".yml", ".yaml")):
        raise ApiError(404, NOT_FOUND)
    ref = ctx.field("ref")
    if not isinstance(ref, str) or not ref:
        raise invalid("Workflow", "ref", code="missing_field")
    full_ref = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
    path = f".github/workflows/{name}"
    declared = _declared_inputs(repo, full_ref, path)
    given = ctx.field("inputs") or {}
    if not isinstance(given, dict):
        raise invalid("Workflow", "inputs")
    inputs = _dispatch_inputs(declared, given)
    deliveries.record(ctx.state, repo, "workflow_dispatch", None, ctx.token, ref=full_ref,
                      inputs=inputs, workflow=path)
    return 204, None, {}


def _declared_inputs(repo: Repo, full_ref: str, path: str) -> dict[str, Any]:
    """The ``workflow_dispatch`` inputs the workflow file at ``full_ref`` declares; 404 when
    there is no such file, 422 when it has no ``workflow_dispatch`` trigger (GitHub's)."""
    import yaml

    try:
        kind, _, blob = gitops.read_path(repo.path, full_ref, path)
    except KeyError:
        raise ApiError(404, NOT_FOUND) from None
    if kind != "blob" or not isinstance(blob, bytes):
        raise ApiError(404, NOT_FOUND)
    doc = yaml.safe_load(blob.decode("utf-8")) or {}
    on = doc.get("on", doc.get(True)) if isinstance(doc, dict) else None
    if isinstance(on, str | list):
        on = {e: None for e in ([on] if isinstance(on, str) else on)}
    if not isinstance(on, dict) or "workflow_dispatch" not in on:
        raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
    return dict((on.get("workflow_dispatch") or {}).get("inputs") or {})


def _dispatch_inputs(declared: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The inputs a dispatch carries, as GitHub checks them: none undeclared, every required
    one given, a choice among its options; the others take their defaults (as text)."""
    unexpected = sorted(set(given) - set(declared))
    if unexpected:
        raise ApiError(422, f"Unexpected inputs provided: {unexpected}")
    inputs: dict[str, Any] = {}
    for key, spec in declared.items():
        spec = spec or {}
        if key in given:
            value = given[key]
        elif spec.get("required"):
            raise ApiError(422, f"Required input '{key}' not provided")
        elif "default" in spec:
            value = spec["default"]
        else:
            continue
        value = value if isinstance(value, str) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        if spec.get("type") == "choice" and value not in [str(o) for o in spec.get("options")
                                                          or []]:
            raise ApiError(422, f"Provided value '{value}' for input '{key}' not in the list "
                                "of allowed values")
        inputs[key] = value
    return inputs
