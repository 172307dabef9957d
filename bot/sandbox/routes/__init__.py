"""The REST endpoints the bot uses, as GitHub answers them, one module per resource: repos
(users, the rate limit, a repository), pulls (pull requests, compare, review requests), issues
(issues, comments, reactions, labels), checks (statuses, check runs, a commit), git (refs,
branches, tags, contents, permissions), releases, actions (workflow runs, dispatch). What they
share, the request context and the route table, is in common. Each handler runs with the state
lock held and returns (status, JSON body, extra headers) or raises ApiError.

Importing the resource modules registers their routes, in this order; the first route that
matches a request answers it, so a module whose templates overlap another's (``commits/{ref}``
after ``commits/{ref}/status``) keeps its place."""

from __future__ import annotations

# isort: off
# registers the routes, in this order
from bot.sandbox.routes import repos  # noqa: F401
from bot.sandbox.routes import pulls  # noqa: F401
from bot.sandbox.routes import issues  # noqa: F401
from bot.sandbox.routes import checks  # noqa: F401
from bot.sandbox.routes import git  # noqa: F401
from bot.sandbox.routes import releases  # noqa: F401
from bot.sandbox.routes import actions  # noqa: F401
# isort: on
from bot.sandbox.routes.actions import add_workflow_run
from bot.sandbox.routes.common import (
    BASE_MODIFIED,
    HEAD_MODIFIED,
    MERGED,
    NO_ACCESS,
    NO_PUSH_FOR_PERMISSION,
    NOT_FAST_FORWARD,
    NOT_FOUND,
    NOT_MERGEABLE,
    PAT_NO_ACCESS,
    QUEUE_REQUIRED,
    REACTIONS,
    REF_EXISTS,
    REF_MISSING,
    REQUIRES_AUTH,
    ROUTES,
    VALIDATION_FAILED,
    ApiError,
    Ctx,
    Handler,
    Result,
    Route,
    authorize,
    can_see,
    invalid,
    match,
    ok,
    paginate,
    route,
)
from bot.sandbox.routes.pulls import AUTHOR_REVIEW, NOT_COLLABORATOR, mergeable
from bot.sandbox.routes.releases import RELEASE_EXISTS

__all__ = [
    "AUTHOR_REVIEW", "BASE_MODIFIED", "HEAD_MODIFIED", "MERGED", "NOT_COLLABORATOR", "NO_ACCESS",
    "NO_PUSH_FOR_PERMISSION", "NOT_FAST_FORWARD", "NOT_FOUND", "NOT_MERGEABLE", "PAT_NO_ACCESS",
    "QUEUE_REQUIRED", "REACTIONS", "REF_EXISTS", "REF_MISSING", "RELEASE_EXISTS", "REQUIRES_AUTH",
    "ROUTES",
    "VALIDATION_FAILED", "ApiError", "Ctx", "Handler", "Result", "Route", "add_workflow_run",
    "authorize", "can_see", "invalid", "match", "mergeable", "ok", "paginate", "route",
]
