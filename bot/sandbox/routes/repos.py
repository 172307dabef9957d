"""Users, the rate limit and repositories."""

from __future__ import annotations

from bot.sandbox.routes.common import NOT_FOUND, REQUIRES_AUTH, ApiError, Ctx, Result, ok, route

# -- users, limits, repositories -----------------------------------------------------------

@route("GET", "/user")
def get_user(ctx: Ctx) -> Result:
    user = ctx.state.user(ctx.login) if ctx.login else None
    if user is None:
        raise ApiError(401, REQUIRES_AUTH)
    return ok(ctx.shapes.private_user(user))


@route("GET", "/users/{username}")
def get_user_by_name(ctx: Ctx) -> Result:
    user = ctx.state.user(ctx.params["username"])
    if user is None:
        raise ApiError(404, NOT_FOUND)
    obj = ctx.shapes.private_user(user)
    for k in ("plan", "private_gists", "total_private_repos", "owned_private_repos",
              "disk_usage", "collaborators", "two_factor_authentication"):
        obj.pop(k, None)
    obj["user_view_type"] = "public"
    return ok(obj)


@route("GET", "/rate_limit")
def rate_limit(ctx: Ctx) -> Result:
    remaining = ctx.state.remaining.get(ctx.login or "", 5000)
    return ok(ctx.shapes.rate_limit(remaining, int(ctx.headers.get("reset", "0"))))


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Result:
    return ok(ctx.shapes.repo(ctx.repo, ctx.login))
