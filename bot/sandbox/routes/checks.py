"""Commit statuses, check runs, and a commit."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox import gitops, merge_queue
from bot.sandbox.routes.common import (
    NOT_FOUND,
    ApiError,
    Ctx,
    Result,
    _number,
    _safe_ref,
    invalid,
    ok,
    paginate,
    route,
)
from bot.sandbox.state import (
    CheckRun,
    Repo,
    Status,
    now_iso,
)

# -- statuses and check runs ---------------------------------------------------------------

@route("POST", "/repos/{owner}/{repo}/statuses/{sha}")
def create_status(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    sha = ctx.params["sha"]
    full = gitops.resolve(repo.path, sha) if re.fullmatch(r"[0-9a-f]{7,40}", sha) else None
    if full is None:
        raise ApiError(422, f"No commit found for SHA: {sha}")
    state = ctx.field("state")
    if state not in ("error", "failure", "pending", "success"):
        raise invalid("Status", "state")
    description = ctx.field("description")
    if isinstance(description, str) and len(description) > 140:
        raise invalid("Status", "description", "custom",
                      "description is too long (maximum is 140 characters)")
    now = now_iso()
    status = Status(ctx.state.new_id(), full, state, ctx.field("context") or "default",
                    description, ctx.field("target_url"), ctx.login or "", now, now)
    repo.statuses.append(status)
    # a merge queue waiting for this commit's checks decides as they arrive
    merge_queue.settle(ctx.state, repo)
    return ok(ctx.shapes.status(repo, status), 201)


def _latest_statuses(repo: Repo, sha: str) -> list[Status]:
    latest: dict[str, Status] = {}
    for s in repo.statuses:
        if s.sha == sha:
            latest[s.context] = s
    return sorted(latest.values(), key=lambda s: s.context)


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/status")
def combined_status(ctx: Ctx) -> Result:
    repo = ctx.repo
    sha = gitops.resolve(repo.path, _safe_ref(ctx.params["ref"]))
    if sha is None:
        raise ApiError(404, NOT_FOUND)
    return ok(ctx.shapes.combined_status(repo, sha, _latest_statuses(repo, sha)))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
def list_statuses(ctx: Ctx) -> Result:
    repo = ctx.repo
    sha = gitops.resolve(repo.path, _safe_ref(ctx.params["ref"]))
    items = [s for s in reversed(repo.statuses) if s.sha == sha] if sha else []
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.status(repo, s) for s in page], headers


def _apply_check(run: CheckRun, body: dict[str, Any]) -> None:
    for k in ("name", "details_url", "external_id", "started_at", "completed_at"):
        if k in body:
            setattr(run, k, body[k])
    if "status" in body:
        run.status = body["status"]
    if body.get("conclusion") is not None:
        run.conclusion = body["conclusion"]
        run.status = "completed"
    if run.status == "completed":
        if run.conclusion is None:
            raise invalid("CheckRun", "conclusion", "missing_field")
        run.completed_at = run.completed_at or now_iso()
    if isinstance(body.get("output"), dict):
        run.output.update(body["output"])


# GitHub's answer to a person's (PAT, OAuth) token on the Checks API's writes: only a GitHub App
# (an installation token, a job's GITHUB_TOKEN) creates or updates check runs
APP_ONLY = "You must authenticate via a GitHub App."


def _require_app(ctx: Ctx) -> None:
    ctx.require("write")
    if ctx.token is not None and not ctx.token.integration:
        raise ApiError(403, APP_ONLY)


@route("POST", "/repos/{owner}/{repo}/check-runs")
def create_check(ctx: Ctx) -> Result:
    repo = ctx.repo
    _require_app(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    head = str(body.get("head_sha", ""))
    if not body.get("name"):
        raise invalid("CheckRun", "name", "missing_field")
    if not re.fullmatch(r"[0-9a-f]{40}", head) or not gitops.object_exists(repo.path, head):
        raise invalid("CheckRun", "head_sha")
    run = CheckRun(ctx.state.new_id(), head, body["name"], "queued", None, now_iso(), None,
                   None, None, {}, "github-actions[bot]")
    _apply_check(run, body)
    repo.check_runs[run.id] = run
    return ok(ctx.shapes.check_run(repo, run), 201)


def _check(ctx: Ctx) -> CheckRun:
    run = ctx.repo.check_runs.get(_number(ctx, "check_run_id"))
    if run is None:
        raise ApiError(404, NOT_FOUND)
    return run


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check(ctx: Ctx) -> Result:
    return ok(ctx.shapes.check_run(ctx.repo, _check(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check(ctx: Ctx) -> Result:
    run = _check(ctx)
    _require_app(ctx)
    _apply_check(run, ctx.body if isinstance(ctx.body, dict) else {})
    return ok(ctx.shapes.check_run(ctx.repo, run))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_checks(ctx: Ctx) -> Result:
    repo = ctx.repo
    sha = gitops.resolve(repo.path, _safe_ref(ctx.params["ref"]))
    name = ctx.q("check_name")
    status_filter = ctx.q("status")
    runs = [r for r in sorted(repo.check_runs.values(), key=lambda r: -r.id)
            if r.head_sha == sha and name in (None, r.name)
            and status_filter in (None, r.status)]
    _, page, headers = paginate(ctx, runs)
    return 200, {"total_count": len(runs),
                 "check_runs": [ctx.shapes.check_run(repo, r) for r in page]}, headers


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(ctx: Ctx) -> Result:
    repo = ctx.repo
    sha = gitops.resolve(repo.path, _safe_ref(ctx.params["ref"]))
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}")
    info = gitops.commit_info(repo.path, sha)
    parent = info.parents[0] if info.parents else "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
    return ok(ctx.shapes.commit(repo, info, gitops.diff_files(repo.path, parent, sha)))
