"""Releases: a tag's page with notes."""

from __future__ import annotations

from typing import Any

from bot.sandbox import deliveries, gitops, permissions
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
    ROLES,
    Release,
    now_iso,
)

# -- releases: a tag's page with notes ----------------------------------------------------------

RELEASE_EXISTS = "already_exists"


def _sees_drafts(ctx: Ctx) -> bool:
    """Drafts are shown only to those who may push (GitHub: "Information about published
    releases are available to everyone. Only users with push access will receive listings for
    draft releases")."""
    if ctx.token is not None and ctx.token.integration:
        return permissions.grants(ctx.token.permissions or {}, "contents", "write")
    role = ctx.role
    return role is not None and ROLES.index(role) >= ROLES.index("write")


def _release(ctx: Ctx) -> Release:
    rel = ctx.repo.releases.get(_number(ctx, "release_id"))
    if rel is None or (rel.draft and not _sees_drafts(ctx)):
        raise ApiError(404, NOT_FOUND)
    return rel


def _release_fields(ctx: Ctx, rel: Release | None) -> dict[str, Any]:
    """The fields of a create or update, checked as GitHub checks them."""
    repo = ctx.repo
    out: dict[str, Any] = {}
    for name in ("tag_name", "target_commitish", "name", "body"):
        value = ctx.field(name)
        if value is not None and not isinstance(value, str):
            raise invalid("Release", name)
        if value is not None:
            out[name] = value
    for name in ("draft", "prerelease"):
        value = ctx.field(name)
        if value is not None:
            if not isinstance(value, bool):
                raise invalid("Release", name)
            out[name] = value
    tag = out.get("tag_name")
    if rel is None and not tag:
        raise invalid("Release", "tag_name", "missing_field")
    if tag is not None:
        rc, _ = gitops.git_rc(repo.path, "check-ref-format", f"refs/tags/{tag}")
        if rc != 0:
            raise invalid("Release", "tag_name")
        if any(r.tag_name == tag and r is not rel for r in repo.releases.values()):
            raise invalid("Release", "tag_name", RELEASE_EXISTS)
    target = out.get("target_commitish")
    if target is not None and gitops.resolve(repo.path, _safe_ref(target)) is None:
        raise invalid("Release", "target_commitish")
    return out


def _tag_release(ctx: Ctx, rel: Release) -> None:
    """A published release's tag exists: GitHub creates it from ``target_commitish`` (the
    default branch) when it is missing, as a push of that tag."""
    repo = ctx.repo
    if rel.draft or gitops.resolve(repo.path, f"refs/tags/{rel.tag_name}") is not None:
        return
    sha = gitops.resolve(repo.path, _safe_ref(rel.target_commitish))
    if sha is None:
        raise invalid("Release", "target_commitish")
    before = gitops.refs(repo.path)
    gitops.update_ref(repo.path, f"refs/tags/{rel.tag_name}", sha, "0" * 40)
    deliveries.refs_moved(ctx.state, repo, before, ctx.token)


@route("GET", "/repos/{owner}/{repo}/releases")
def list_releases(ctx: Ctx) -> Result:
    repo = ctx.repo
    drafts = _sees_drafts(ctx)
    items = sorted((r for r in repo.releases.values() if drafts or not r.draft),
                   key=lambda r: (r.created_at, r.id), reverse=True)
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.release(repo, r) for r in page], headers


@route("POST", "/repos/{owner}/{repo}/releases")
def create_release(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    fields = _release_fields(ctx, None)
    now = now_iso()
    draft = bool(fields.get("draft", False))
    rel = Release(id=ctx.state.new_id(), tag_name=fields["tag_name"],
                  target_commitish=fields.get("target_commitish") or repo.default_branch,
                  name=fields.get("name"), body=fields.get("body"), author=ctx.login or "",
                  created_at=now, published_at=None if draft else now, draft=draft,
                  prerelease=bool(fields.get("prerelease", False)))
    _tag_release(ctx, rel)
    repo.releases[rel.id] = rel
    return ok(ctx.shapes.release(repo, rel), 201,
              {"Location": f"{ctx.shapes.api}/repos/{repo.full_name}/releases/{rel.id}"})


@route("GET", "/repos/{owner}/{repo}/releases/tags/{tag}")
def get_release_by_tag(ctx: Ctx) -> Result:
    repo = ctx.repo
    # "Get a published release with the specified tag": drafts are not found by their tag
    for rel in repo.releases.values():
        if rel.tag_name == ctx.params["tag"] and not rel.draft:
            return ok(ctx.shapes.release(repo, rel))
    raise ApiError(404, NOT_FOUND)


@route("GET", "/repos/{owner}/{repo}/releases/{release_id}")
def get_release(ctx: Ctx) -> Result:
    return ok(ctx.shapes.release(ctx.repo, _release(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/releases/{release_id}")
def update_release(ctx: Ctx) -> Result:
    rel = _release(ctx)
    ctx.require("write")
    fields = _release_fields(ctx, rel)
    for name, value in fields.items():
        setattr(rel, name, value)
    if not rel.draft and rel.published_at is None:
        rel.published_at = now_iso()
    _tag_release(ctx, rel)
    return ok(ctx.shapes.release(ctx.repo, rel))
