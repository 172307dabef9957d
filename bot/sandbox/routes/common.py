"""What every route module shares: GitHub's error texts, the request context, who may call
what, the route table and its matcher, and the answers' helpers."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from bot.sandbox import gitops, permissions
from bot.sandbox.shapes import Shapes
from bot.sandbox.state import (
    ROLES,
    Repo,
    State,
    Token,
)

NOT_FOUND = "Not Found"
VALIDATION_FAILED = "Validation Failed"
NOT_MERGEABLE = "Pull Request is not mergeable"
# a merge into a branch whose protection requires the merge queue
QUEUE_REQUIRED = "Changes must be made through the merge queue"
HEAD_MODIFIED = "Head branch was modified. Review and try the merge again."
BASE_MODIFIED = "Base branch was modified. Review and try the merge again."
MERGED = "Pull Request successfully merged"
NOT_FAST_FORWARD = "Update is not a fast forward"
REF_EXISTS = "Reference already exists"
REF_MISSING = "Reference does not exist"
NO_ACCESS = "Resource not accessible by integration"
# what GitHub answers a person's token that lacks the role an endpoint needs
PAT_NO_ACCESS = "Resource not accessible by personal access token"
NO_PUSH_FOR_PERMISSION = "Must have push access to view collaborator permission."
REQUIRES_AUTH = "Requires authentication"
REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None,
                 doc: str = "https://docs.github.com/rest",
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.doc = doc
        self.headers = headers or {}


@dataclass
class Ctx:
    state: State
    shapes: Shapes
    login: str | None
    params: dict[str, str]
    query: dict[str, list[str]]
    body: Any
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    token: Token | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else default

    def field(self, name: str, default: Any = None) -> Any:
        return self.body.get(name, default) if isinstance(self.body, dict) else default

    @property
    def repo(self) -> Repo:
        full = f"{self.params['owner']}/{self.params['repo']}"
        repo = self.state.repo(full)
        if repo is None or (repo.private and not can_see(self.state, self.token, repo)):
            raise ApiError(404, NOT_FOUND)
        return repo

    @property
    def role(self) -> str | None:
        """A person's role on this repository (None for integration tokens: their fine-grained
        permissions were checked against GitHub's table before the handler ran)."""
        if self.token is not None and self.token.integration:
            return None
        full = f"{self.params['owner']}/{self.params['repo']}"
        user = self.state.user(self.login) if self.login else None
        return user.role_on(full) if user else None

    def require(self, role: str) -> None:
        """A person's token must hold ``role`` or a stronger one on this repository; an
        integration token passed ``authorize`` already."""
        if self.login is None:
            raise ApiError(401, REQUIRES_AUTH)
        if self.token is not None and self.token.integration:
            return
        have = self.role
        if have is None or ROLES.index(have) < ROLES.index(role):
            raise ApiError(403, PAT_NO_ACCESS)


def can_see(state: State, token: Token | None, repo: Repo) -> bool:
    """Whether ``token`` may know ``repo`` exists (always, for a public one)."""
    if not repo.private:
        return True
    if token is None:
        return False
    if token.integration:
        return token.covers(repo.full_name)
    user = state.user(token.login)
    return user is not None and user.role_on(repo.full_name) is not None


def authorize(state: State, token: Token | None, method: str, template: str,
              params: dict[str, str]) -> ApiError | None:
    """The refusal GitHub gives an integration token (GITHUB_TOKEN, App installation) that
    lacks the permission GitHub's table requires for this endpoint, or None. Reads of a public
    repository need no permission; a private repository outside the token's scope is unknown."""
    if token is None or not token.integration:
        return None
    if "owner" not in params or "repo" not in params:
        # only a person has a user account; an installation token asking for it is refused
        if template == "/user":
            return ApiError(403, NO_ACCESS,
                            doc="https://docs.github.com/rest/users/users"
                                "#get-the-authenticated-user")
        return None
    repo = state.repo(f"{params['owner']}/{params['repo']}")
    if repo is None:
        return None  # the handler answers 404
    read = method in ("GET", "HEAD")
    if not token.covers(repo.full_name):
        if repo.private:
            return ApiError(404, NOT_FOUND)
        return None if read else ApiError(403, NO_ACCESS)
    req = permissions.requirement(method, template)
    if req is None or permissions.allows(token.permissions or {}, req):
        return None
    if read and not repo.private:
        return None
    return ApiError(403, NO_ACCESS, doc=req.doc_url,
                    headers={"X-Accepted-GitHub-Permissions": req.header()})


Result = tuple[int, Any, dict[str, str]]
Handler = Callable[[Ctx], Result]

# parameters that may hold slashes (refs, branch names like improve/<id>, file paths)
_GREEDY = {"ref", "path", "basehead", "branch", "name", "tag"}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    def pattern(m: re.Match[str]) -> str:
        name = m.group(1)
        return f"(?P<{name}>.+)" if name in _GREEDY else f"(?P<{name}>[^/]+)"

    regex = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", pattern, re.escape(template)) + "$")

    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, template, regex, fn))
        return fn

    return deco


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for r in ROUTES:
        if r.method != method:
            continue
        m = r.regex.match(path)
        if m:
            return r, {k: unquote(v) for k, v in m.groupdict().items()}
    return None


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Result:
    return status, body, headers or {}


def invalid(resource: str, fld: str, code: str = "invalid", message: str | None = None) -> ApiError:
    err: dict[str, Any] = {"resource": resource, "field": fld, "code": code}
    if message:
        err["message"] = message
    return ApiError(422, VALIDATION_FAILED, [err])


def paginate(ctx: Ctx, items: list[Any]) -> Result:
    """One page of ``items`` and a Link header, as GitHub pages lists (per_page <= 100)."""
    try:
        per_page = max(1, min(100, int(ctx.q("per_page", "30") or 30)))
        page = max(1, int(ctx.q("page", "1") or 1))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []

    def url(p: int) -> str:
        q = {k: v[-1] for k, v in ctx.query.items()}
        q.update(page=str(p), per_page=str(per_page))
        return f"<{ctx.shapes.api}{ctx.path}?{urlencode(q)}>"

    if page < last:
        links += [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"']
    if page > 1:
        links += [f'{url(1)}; rel="first"', f'{url(page - 1)}; rel="prev"']
    return 200, chunk, ({"Link": ", ".join(links)} if links else {})


def _number(ctx: Ctx, name: str) -> int:
    try:
        return int(ctx.params[name])
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None


def _safe_ref(ref: str) -> str:
    # a ref reaches git's command line; one that looks like an option is no ref at all
    if not ref or ref.startswith("-"):
        raise ApiError(404, NOT_FOUND)
    return ref


def _commit_of(repo: Repo, ref: str) -> str:
    sha = gitops.resolve(repo.path, _safe_ref(ref))
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha
