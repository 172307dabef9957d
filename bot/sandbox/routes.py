"""The REST endpoints the bot uses, as GitHub answers them. Each handler runs with the state
lock held and returns (status, JSON body, extra headers) or raises ApiError."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from bot.sandbox import deliveries, gitops, permissions
from bot.sandbox.shapes import Shapes
from bot.sandbox.state import (
    ROLES,
    CheckRun,
    Comment,
    Issue,
    Label,
    Reaction,
    Release,
    Repo,
    State,
    Status,
    Token,
    WorkflowRun,
    now_iso,
)

NOT_FOUND = "Not Found"
VALIDATION_FAILED = "Validation Failed"
NOT_MERGEABLE = "Pull Request is not mergeable"
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


def mergeable(repo: Repo, pr: Issue) -> bool | None:
    if pr.merged or pr.state != "open":
        return None
    base = gitops.resolve(repo.path, f"refs/heads/{pr.base_ref}")
    if base is None or not pr.head_sha:
        return False
    key = (base, pr.head_sha)
    if key not in repo.mergeable_cache:
        repo.mergeable_cache[key] = gitops.merge_tree(repo.path, base, pr.head_sha).clean
    return repo.mergeable_cache[key]


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


# -- pull requests -------------------------------------------------------------------------

def _pull(ctx: Ctx) -> Issue:
    pr = ctx.repo.issues.get(_number(ctx, "pull_number"))
    if pr is None or not pr.is_pull:
        raise ApiError(404, NOT_FOUND)
    return pr


def _pull_json(ctx: Ctx, pr: Issue) -> dict[str, Any]:
    return ctx.shapes.pull(ctx.repo, pr, mergeable(ctx.repo, pr))


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Result:
    repo = ctx.repo
    state = ctx.q("state", "open")
    head = ctx.q("head")
    base = ctx.q("base")
    items = []
    for pr in sorted(repo.issues.values(), key=lambda i: -i.number):
        if not pr.is_pull or (state != "all" and pr.state != state):
            continue
        if head:
            owner, _, branch = head.partition(":")
            if not branch:
                owner, branch = repo.owner, owner
            if owner.lower() != repo.owner.lower() or branch != pr.head_ref:
                continue
        if base and pr.base_ref != base:
            continue
        items.append(pr)
    status, page, headers = paginate(ctx, items)
    return status, [_pull_json(ctx, pr) for pr in page], headers


@route("POST", "/repos/{owner}/{repo}/pulls")
def create_pull(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    head = str(ctx.field("head", ""))
    base = str(ctx.field("base", ""))
    title = ctx.field("title")
    if ":" in head:
        owner, _, head = head.partition(":")
        if owner.lower() != repo.owner.lower():
            raise invalid("PullRequest", "head")
    head_sha = gitops.resolve(repo.path, f"refs/heads/{head}") if head else None
    base_sha = gitops.resolve(repo.path, f"refs/heads/{base}") if base else None
    if head_sha is None:
        raise invalid("PullRequest", "head")
    if base_sha is None:
        raise invalid("PullRequest", "base")
    if not title:
        raise invalid("PullRequest", "title", "missing_field")
    for other in repo.issues.values():
        if other.is_pull and other.state == "open" and other.head_ref == head \
                and other.base_ref == base:
            raise ApiError(422, VALIDATION_FAILED, [{
                "resource": "PullRequest", "code": "custom",
                "message": f"A pull request already exists for {repo.owner}:{head}."}])
    if gitops.is_ancestor(repo.path, head_sha, base_sha):
        raise ApiError(422, VALIDATION_FAILED, [{
            "resource": "PullRequest", "code": "custom",
            "message": f"No commits between {base} and {head}"}])
    now = now_iso()
    number = repo.next_number
    repo.next_number += 1
    pr = Issue(number=number, id=ctx.state.new_id(), title=str(title),
               body=ctx.field("body"), user=ctx.login or "", created_at=now, updated_at=now,
               is_pull=True, pull_id=ctx.state.new_id(), head_ref=head, head_sha=head_sha,
               base_ref=base, draft=bool(ctx.field("draft", False)),
               maintainer_can_modify=bool(ctx.field("maintainer_can_modify", False)))
    repo.issues[number] = pr
    deliveries.pull(ctx.state, repo, pr, "opened", ctx.token)
    return ok(_pull_json(ctx, pr), 201,
              {"Location": f"{ctx.shapes.api}/repos/{repo.full_name}/pulls/{number}"})


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> Result:
    return ok(_pull_json(ctx, _pull(ctx)))


def _close(issue: Issue, state: str, login: str | None) -> None:
    if state == issue.state:
        return
    issue.state = state
    if state == "closed":
        issue.closed_at = now_iso()
        issue.closed_by = login
    else:
        issue.closed_at = None
        issue.closed_by = None
        issue.state_reason = "reopened"


@route("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}")
def update_pull(ctx: Ctx) -> Result:
    pr = _pull(ctx)
    if ctx.login != pr.user:
        ctx.require("write")
    for k in ("title", "body"):
        if k in (ctx.body or {}):
            setattr(pr, k, ctx.body[k])
    if "base" in (ctx.body or {}):
        if gitops.resolve(ctx.repo.path, f"refs/heads/{ctx.body['base']}") is None:
            raise invalid("PullRequest", "base")
        pr.base_ref = ctx.body["base"]
    if "state" in (ctx.body or {}):
        if pr.merged:
            raise invalid("PullRequest", "state", message="A merged pull request stays closed")
        was = pr.state
        _close(pr, ctx.body["state"], ctx.login)
        if ctx.body["state"] == "open":
            # a reopened PR follows its head branch again (its `reopened` below carries the
            # head as it is now; nothing else is delivered for what moved while it was closed)
            deliveries.follow_heads(ctx.repo)
        if pr.state != was:
            deliveries.pull(ctx.state, ctx.repo, pr,
                            "closed" if pr.state == "closed" else "reopened", ctx.token)
    pr.updated_at = now_iso()
    return ok(_pull_json(ctx, pr))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def check_merged(ctx: Ctx) -> Result:
    if _pull(ctx).merged:
        return 204, None, {}
    raise ApiError(404, NOT_FOUND)


@route("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge")
def merge_pull(ctx: Ctx) -> Result:
    repo, pr = ctx.repo, _pull(ctx)
    ctx.require("write")
    method = ctx.field("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        raise invalid("PullRequest", "merge_method")
    if pr.state != "open" or pr.merged:
        raise ApiError(405, NOT_MERGEABLE)
    sha = ctx.field("sha")
    if sha is not None and sha != pr.head_sha:
        raise ApiError(409, HEAD_MODIFIED)
    base_ref = f"refs/heads/{pr.base_ref}"
    base = gitops.resolve(repo.path, base_ref)
    if base is None or not mergeable(repo, pr):
        raise ApiError(405, NOT_MERGEABLE)
    user = ctx.state.user(ctx.login or "")
    author = gitops.ident_env(ctx.login or "sandbox", user.email if user else "")
    # GitHub commits merges as the merging user, committed by GitHub itself
    env = {**author, "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
    title = ctx.field("commit_title")
    message = ctx.field("commit_message")
    if method == "rebase":
        new = gitops.rebase_onto(repo.path, base, pr.head_sha, env)
        if new is None:
            raise ApiError(405, NOT_MERGEABLE)
    else:
        tree = gitops.merge_tree(repo.path, base, pr.head_sha)
        if method == "merge":
            title = title or f"Merge pull request #{pr.number} from {repo.owner}/{pr.head_ref}"
            body = pr.title if message is None else message
            parents = [base, pr.head_sha]
        else:
            title = title or f"{pr.title} (#{pr.number})"
            if message is None:
                commits = gitops.commits_between(repo.path, base, pr.head_sha)
                body = "\n\n".join(f"* {c.message}" for c in commits)
            else:
                body = message
            parents = [base]
        text = f"{title}\n\n{body}\n" if body else f"{title}\n"
        new = gitops.commit_tree(repo.path, tree.tree, parents, text, env)
    before = gitops.refs(repo.path)
    if not gitops.update_ref(repo.path, base_ref, new, base):
        raise ApiError(409, BASE_MODIFIED)
    now = now_iso()
    pr.merged, pr.merged_at, pr.merged_by, pr.merge_commit_sha = True, now, ctx.login, new
    pr.state, pr.closed_at, pr.closed_by, pr.updated_at = "closed", now, ctx.login, now
    repo.pushed_at = now
    deliveries.pull(ctx.state, repo, pr, "closed", ctx.token)
    deliveries.refs_moved(ctx.state, repo, before, ctx.token)
    if pr.base_ref == repo.default_branch:
        _close_linked_issues(repo, pr, ctx.login)
    return ok({"sha": new, "merged": True, "message": MERGED})


# GitHub's closing keywords ("Linking a pull request to an issue using a keyword"): a pull
# request merged into the default branch closes the issues its body names this way
_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?[ \t]+#(\d+)\b", re.I)


def _close_linked_issues(repo: Repo, pr: Issue, login: str | None) -> None:
    for number in dict.fromkeys(int(n) for n in _CLOSING.findall(pr.body or "")):
        issue = repo.issues.get(number)
        if issue is not None and not issue.is_pull and issue.state == "open":
            _close(issue, "closed", login)
            issue.state_reason = "completed"
            issue.updated_at = now_iso()


def _merge_base_of(repo: Repo, pr: Issue) -> str:
    base = gitops.resolve(repo.path, f"refs/heads/{pr.base_ref}") or pr.head_sha
    if pr.merged and pr.merge_commit_sha:
        # after the merge the base contains the head; compare with the base before it
        parents = gitops.commit_info(repo.path, pr.merge_commit_sha).parents
        base = parents[0] if parents else base
    return gitops.merge_base(repo.path, base, pr.head_sha) or base


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def pull_files(ctx: Ctx) -> Result:
    repo, pr = ctx.repo, _pull(ctx)
    files = gitops.diff_files(repo.path, _merge_base_of(repo, pr), pr.head_sha)
    status, page, headers = paginate(ctx, files)
    return status, [ctx.shapes.diff_entry(repo, f, pr.head_sha) for f in page], headers


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/commits")
def pull_commits(ctx: Ctx) -> Result:
    repo, pr = ctx.repo, _pull(ctx)
    commits = gitops.commits_between(repo.path, _merge_base_of(repo, pr), pr.head_sha)
    status, page, headers = paginate(ctx, commits)
    return status, [ctx.shapes.commit(repo, c) for c in page], headers


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> Result:
    repo = ctx.repo
    base_name, sep, head_name = ctx.params["basehead"].partition("...")
    if not sep:
        raise ApiError(404, NOT_FOUND)
    base = gitops.resolve(repo.path, _safe_ref(base_name.split(":")[-1]))
    head = gitops.resolve(repo.path, _safe_ref(head_name.split(":")[-1]))
    if base is None or head is None:
        raise ApiError(404, NOT_FOUND)
    mb = gitops.merge_base(repo.path, base, head)
    if mb is None:
        raise ApiError(404, f"No common ancestor between {base_name} and {head_name}.")
    ahead = gitops.commits_between(repo.path, base, head)
    behind = len(gitops.commits_between(repo.path, head, base))
    files = gitops.diff_files(repo.path, mb, head)
    status = ("identical" if not ahead and not behind else "ahead" if not behind
              else "behind" if not ahead else "diverged")
    api = f"{ctx.shapes.api}/repos/{repo.full_name}"
    html = f"{ctx.shapes.server}/{repo.full_name}"
    spec = ctx.params["basehead"]
    body = {
        "url": f"{api}/compare/{spec}", "html_url": f"{html}/compare/{spec}",
        "permalink_url": f"{html}/compare/{repo.owner}:{base}...{repo.owner}:{head}",
        "diff_url": f"{html}/compare/{spec}.diff", "patch_url": f"{html}/compare/{spec}.patch",
        "base_commit": ctx.shapes.commit(repo, gitops.commit_info(repo.path, base)),
        "merge_base_commit": ctx.shapes.commit(repo, gitops.commit_info(repo.path, mb)),
        "status": status, "ahead_by": len(ahead), "behind_by": behind,
        "total_commits": len(ahead), "commits": [ctx.shapes.commit(repo, c) for c in ahead],
        "files": [ctx.shapes.diff_entry(repo, f, head) for f in files],
    }
    return ok(body)


# -- issues, comments, reactions, labels ---------------------------------------------------

def _issue(ctx: Ctx) -> Issue:
    issue = ctx.repo.issues.get(_number(ctx, "issue_number"))
    if issue is None:
        raise ApiError(404, NOT_FOUND)
    return issue


def _ensure_labels(ctx: Ctx, names: list[Any]) -> list[str]:
    repo = ctx.repo
    out = []
    for raw in names:
        name = raw.get("name") if isinstance(raw, dict) else raw
        if not isinstance(name, str) or not name:
            raise invalid("Label", "name")
        lbl = repo.label(name)
        if lbl is None:
            # GitHub creates a label that does not exist yet when it is added to an issue
            lbl = Label(ctx.state.new_id(), name)
            repo.labels[name] = lbl
        out.append(lbl.name)
    return out


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx) -> Result:
    repo = ctx.repo
    state = ctx.q("state", "open")
    wanted = [x.strip().lower() for x in (ctx.q("labels") or "").split(",") if x.strip()]
    items = []
    for issue in sorted(repo.issues.values(), key=lambda i: -i.number):
        if state != "all" and issue.state != state:
            continue
        if wanted and not set(wanted) <= {name.lower() for name in issue.labels}:
            continue
        items.append(issue)
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.issue(repo, i) for i in page], headers


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("read")
    title = ctx.field("title")
    if not title:
        raise invalid("Issue", "title", "missing_field")
    now = now_iso()
    number = repo.next_number
    repo.next_number += 1
    issue = Issue(number=number, id=ctx.state.new_id(), title=str(title),
                  body=ctx.field("body"), user=ctx.login or "", created_at=now, updated_at=now)
    repo.issues[number] = issue
    labels = ctx.field("labels")
    if labels:
        issue.labels = _ensure_labels(ctx, labels)
    # GitHub sends `opened` with the labels given at creation, and `labeled` for each
    deliveries.issue(ctx.state, repo, issue, "opened", ctx.token)
    for name in list(issue.labels):
        deliveries.issue(ctx.state, repo, issue, "labeled", ctx.token, label=name)
    return ok(ctx.shapes.issue(repo, issue), 201,
              {"Location": f"{ctx.shapes.api}/repos/{repo.full_name}/issues/{number}"})


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(ctx: Ctx) -> Result:
    return ok(ctx.shapes.issue(ctx.repo, _issue(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(ctx: Ctx) -> Result:
    issue = _issue(ctx)
    if ctx.login != issue.user:
        ctx.require("triage")
    body = ctx.body or {}
    # GitHub's `changes` hold the text before (an empty body reads as "")
    changes = {k: {"from": getattr(issue, k) or ""} for k in ("title", "body")
               if k in body and body[k] != getattr(issue, k)}
    for k in ("title", "body"):
        if k in body:
            setattr(issue, k, body[k])
    if changes and not issue.is_pull:
        # a pull request's `edited` is not among the vendored examples; the bot never edits one
        deliveries.issue(ctx.state, ctx.repo, issue, "edited", ctx.token, changes=changes)
    if "labels" in body:
        before = list(issue.labels)
        issue.labels = _ensure_labels(ctx, body["labels"] or [])
        deliveries.labels_changed(ctx.state, ctx.repo, issue, before, ctx.token)
    if "state" in body:
        if issue.merged and body["state"] == "open":
            raise invalid("Issue", "state")
        was = issue.state
        _close(issue, body["state"], ctx.login)
        if body["state"] == "closed":
            issue.state_reason = body.get("state_reason") or "completed"
        if issue.is_pull and issue.state != was:
            deliveries.pull(ctx.state, ctx.repo, issue,
                            "closed" if issue.state == "closed" else "reopened", ctx.token)
    issue.updated_at = now_iso()
    return ok(ctx.shapes.issue(ctx.repo, issue))


def _comment(ctx: Ctx) -> Comment:
    comment = ctx.repo.comments.get(_number(ctx, "comment_id"))
    if comment is None:
        raise ApiError(404, NOT_FOUND)
    return comment


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Result:
    repo, issue = ctx.repo, _issue(ctx)
    items = [c for c in sorted(repo.comments.values(), key=lambda c: c.id)
             if c.issue_number == issue.number]
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.comment(repo, c) for c in page], headers


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Result:
    repo, issue = ctx.repo, _issue(ctx)
    ctx.require("read")
    body = ctx.field("body")
    if not isinstance(body, str) or not body:
        raise invalid("IssueComment", "body", "missing_field")
    if len(body) > 65536:
        raise invalid("IssueComment", "body", "custom", "Body is too long (maximum is 65536 "
                      "characters)")
    now = now_iso()
    comment = Comment(ctx.state.new_id(), issue.number, body, ctx.login or "", now, now)
    repo.comments[comment.id] = comment
    issue.updated_at = now
    deliveries.comment_created(ctx.state, repo, issue, comment, ctx.token)
    return ok(ctx.shapes.comment(repo, comment), 201, {
        "Location": f"{ctx.shapes.api}/repos/{repo.full_name}/issues/comments/{comment.id}"})


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Result:
    return ok(ctx.shapes.comment(ctx.repo, _comment(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def edit_comment(ctx: Ctx) -> Result:
    comment = _comment(ctx)
    if ctx.login != comment.user:
        ctx.require("maintain")
    body = ctx.field("body")
    if not isinstance(body, str) or not body:
        raise invalid("IssueComment", "body", "missing_field")
    comment.body = body
    comment.updated_at = now_iso()
    return ok(ctx.shapes.comment(ctx.repo, comment))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Result:
    comment = _comment(ctx)
    if ctx.login != comment.user:
        ctx.require("maintain")
    del ctx.repo.comments[comment.id]
    return 204, None, {}


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def list_reactions(ctx: Ctx) -> Result:
    comment = _comment(ctx)
    content = ctx.q("content")
    items = [r for r in comment.reactions if content in (None, r.content)]
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.reaction(r) for r in page], headers


@route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def create_reaction(ctx: Ctx) -> Result:
    comment = _comment(ctx)
    ctx.require("read")
    content = ctx.field("content")
    if content not in REACTIONS:
        raise invalid("Reaction", "content")
    for r in comment.reactions:
        if r.user == ctx.login and r.content == content:
            return ok(ctx.shapes.reaction(r), 200)
    reaction = Reaction(ctx.state.new_id(), content, ctx.login or "", now_iso())
    comment.reactions.append(reaction)
    return ok(ctx.shapes.reaction(reaction), 201)


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}")
def delete_reaction(ctx: Ctx) -> Result:
    comment = _comment(ctx)
    rid = _number(ctx, "reaction_id")
    for r in comment.reactions:
        if r.id == rid:
            if r.user != ctx.login:
                ctx.require("admin")
            comment.reactions.remove(r)
            return 204, None, {}
    raise ApiError(404, NOT_FOUND)


@route("GET", "/repos/{owner}/{repo}/labels")
def list_labels(ctx: Ctx) -> Result:
    repo = ctx.repo
    status, page, headers = paginate(ctx, sorted(repo.labels.values(), key=lambda x: x.id))
    return status, [ctx.shapes.label(repo, lbl) for lbl in page], headers


@route("POST", "/repos/{owner}/{repo}/labels")
def create_label(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("triage")
    name = ctx.field("name")
    if not isinstance(name, str) or not name:
        raise invalid("Label", "name", "missing_field")
    if repo.label(name) is not None:
        raise invalid("Label", "name", "already_exists")
    color = str(ctx.field("color") or "ededed").lstrip("#")
    if not re.fullmatch(r"[0-9a-fA-F]{6}", color):
        raise invalid("Label", "color")
    lbl = Label(ctx.state.new_id(), name, color.lower(), ctx.field("description"))
    repo.labels[name] = lbl
    return ok(ctx.shapes.label(repo, lbl), 201)


@route("GET", "/repos/{owner}/{repo}/labels/{name}")
def get_label(ctx: Ctx) -> Result:
    lbl = ctx.repo.label(ctx.params["name"])
    if lbl is None:
        raise ApiError(404, NOT_FOUND)
    return ok(ctx.shapes.label(ctx.repo, lbl))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def issue_labels(ctx: Ctx) -> Result:
    repo, issue = ctx.repo, _issue(ctx)
    status, page, headers = paginate(ctx, issue.labels)
    return status, ctx.shapes._labels(repo, page), headers


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_labels(ctx: Ctx) -> Result:
    repo, issue = ctx.repo, _issue(ctx)
    ctx.require("triage")
    names = ctx.body.get("labels") if isinstance(ctx.body, dict) else ctx.body
    if not isinstance(names, list):
        raise invalid("Label", "labels", "missing_field")
    before = list(issue.labels)
    for name in _ensure_labels(ctx, names):
        if name.lower() not in {x.lower() for x in issue.labels}:
            issue.labels.append(name)
    deliveries.labels_changed(ctx.state, repo, issue, before, ctx.token)
    issue.updated_at = now_iso()
    return ok(ctx.shapes._labels(repo, issue.labels))


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_label(ctx: Ctx) -> Result:
    repo, issue = ctx.repo, _issue(ctx)
    ctx.require("triage")
    name = ctx.params["name"]
    for existing in issue.labels:
        if existing.lower() == name.lower():
            before = list(issue.labels)
            issue.labels.remove(existing)
            deliveries.labels_changed(ctx.state, repo, issue, before, ctx.token)
            issue.updated_at = now_iso()
            return ok(ctx.shapes._labels(repo, issue.labels))
    raise ApiError(404, "Label does not exist")


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


@route("POST", "/repos/{owner}/{repo}/check-runs")
def create_check(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
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
    ctx.require("write")
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


# -- refs, branches, tags, contents ----------------------------------------------------------

def _ref_name(ctx: Ctx) -> str:
    ref = ctx.params["ref"]
    ref = ref[5:] if ref.startswith("refs/") else ref
    return "refs/" + ref


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(ctx: Ctx) -> Result:
    repo = ctx.repo
    ref = _ref_name(ctx)
    found = gitops.raw_refs(repo.path).get(ref)
    if found is None:
        raise ApiError(404, NOT_FOUND)
    return ok(ctx.shapes.git_ref(repo, ref, *found))


@route("GET", "/repos/{owner}/{repo}/git/matching-refs/{ref}")
def matching_refs(ctx: Ctx) -> Result:
    repo = ctx.repo
    prefix = _ref_name(ctx)
    return ok([ctx.shapes.git_ref(repo, name, sha, kind)
               for name, (sha, kind) in sorted(gitops.raw_refs(repo.path).items())
               if name.startswith(prefix)])


@route("POST", "/repos/{owner}/{repo}/git/refs")
def create_ref(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    ref, sha = ctx.field("ref"), ctx.field("sha")
    if not isinstance(ref, str) or not ref.startswith("refs/") or ref.count("/") < 2:
        raise ApiError(422, "Reference name must start with 'refs/' and have at least two "
                       "slashes.")
    if not isinstance(sha, str) or not gitops.object_exists(repo.path, sha):
        raise ApiError(422, "Object does not exist")
    rc, _ = gitops.git_rc(repo.path, "check-ref-format", ref)
    if rc != 0:
        raise ApiError(422, f"{ref} is not a valid ref name.")
    before = gitops.refs(repo.path)
    if not gitops.update_ref(repo.path, ref, sha, "0" * 40):
        raise ApiError(422, REF_EXISTS)
    deliveries.refs_moved(ctx.state, repo, before, ctx.token)
    kind = gitops.git(repo.path, "cat-file", "-t", sha).strip()
    return ok(ctx.shapes.git_ref(repo, ref, sha, kind), 201)


@route("PATCH", "/repos/{owner}/{repo}/git/refs/{ref}")
def update_ref(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    ref = _ref_name(ctx)
    sha = ctx.field("sha")
    current = gitops.refs(repo.path).get(ref)
    if current is None:
        raise ApiError(422, REF_MISSING)
    if not isinstance(sha, str) or gitops.resolve(repo.path, sha) is None:
        raise ApiError(422, "Object does not exist")
    if not ctx.field("force", False) and not gitops.is_ancestor(repo.path, current, sha):
        raise ApiError(422, NOT_FAST_FORWARD)
    before = gitops.refs(repo.path)
    if not gitops.update_ref(repo.path, ref, sha, current):
        raise ApiError(422, NOT_FAST_FORWARD)
    repo.pushed_at = now_iso()
    deliveries.refs_moved(ctx.state, repo, before, ctx.token)
    return ok(ctx.shapes.git_ref(repo, ref, sha))


@route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}")
def delete_ref(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    ref = _ref_name(ctx)
    before = gitops.refs(repo.path)
    if ref not in before or not gitops.delete_ref(repo.path, ref):
        raise ApiError(422, REF_MISSING)
    deliveries.refs_moved(ctx.state, repo, before, ctx.token)
    return 204, None, {}


@route("GET", "/repos/{owner}/{repo}/branches")
def list_branches(ctx: Ctx) -> Result:
    repo = ctx.repo
    items = sorted((name[len("refs/heads/"):], sha) for name, sha in
                   gitops.refs(repo.path).items() if name.startswith("refs/heads/"))
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.short_branch(repo, n, s) for n, s in page], headers


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(ctx: Ctx) -> Result:
    repo = ctx.repo
    name = ctx.params["branch"]
    sha = gitops.refs(repo.path).get(f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    return ok(ctx.shapes.branch(repo, name, gitops.commit_info(repo.path, sha)))


@route("GET", "/repos/{owner}/{repo}/tags")
def list_tags(ctx: Ctx) -> Result:
    repo = ctx.repo
    out = gitops.git(repo.path, "for-each-ref", "--sort=-creatordate",
                     "--format=%(refname:short)%00%(objectname)%00%(*objectname)", "refs/tags")
    items = []
    for line in out.splitlines():
        name, obj, peeled = line.split("\0")
        items.append((name, peeled or obj))
    status, page, headers = paginate(ctx, items)
    return status, [ctx.shapes.tag(repo, n, s) for n, s in page], headers


@route("GET", "/repos/{owner}/{repo}/contents/{path}")
def get_contents(ctx: Ctx) -> Result:
    repo = ctx.repo
    ref = ctx.q("ref") or repo.default_branch
    path = ctx.params["path"].strip("/")
    if gitops.resolve(repo.path, _safe_ref(ref)) is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    try:
        kind, sha, content = gitops.read_path(repo.path, ref, path)
    except KeyError:
        raise ApiError(404, NOT_FOUND) from None
    if isinstance(content, bytes):
        return ok(ctx.shapes.content_file(repo, path, sha, content, ref))
    return ok([ctx.shapes.content_entry(repo, f"{path}/{name}".lstrip("/"), t, s, ref)
               for name, t, s in content])


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def collaborator_permission(ctx: Ctx) -> Result:
    repo = ctx.repo
    if ctx.token is not None and not ctx.token.integration:
        # a person must have push access to read anyone's permission (an integration token
        # needs metadata: read, which it always has)
        have = ctx.role
        if have is None or ROLES.index(have) < ROLES.index("write"):
            raise ApiError(403, NO_PUSH_FOR_PERMISSION,
                           doc="https://docs.github.com/rest/collaborators/collaborators"
                               "#get-repository-permissions-for-a-user")
    login = ctx.params["username"]
    user = ctx.state.user(login)
    if user is None:
        raise ApiError(404, f"{login} is not a user")
    role = user.role_on(repo.full_name)
    if role is None and not repo.private:
        # anyone may read a public repository; GitHub reports such users as "read"
        role = "read"
    return ok(ctx.shapes.permission(user.login, role))


# -- releases: a tag's page with notes ----------------------------------------------------------

RELEASE_EXISTS = "already_exists"
NOT_COLLABORATOR = ("Reviews may only be requested from collaborators. One or more of the users "
                    "or teams you specified is not a collaborator of the {repo} repository.")
AUTHOR_REVIEW = "Review cannot be requested from pull request author."


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


# -- review requests -------------------------------------------------------------------------

@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def list_requested_reviewers(ctx: Ctx) -> Result:
    return ok(ctx.shapes.review_requests(_pull(ctx)))


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers")
def request_reviewers(ctx: Ctx) -> Result:
    repo, pr = ctx.repo, _pull(ctx)
    ctx.require("triage")
    logins, teams = ctx.field("reviewers", []), ctx.field("team_reviewers", [])
    if not isinstance(logins, list) or not all(isinstance(x, str) for x in logins):
        raise invalid("PullRequest", "reviewers")
    if teams:
        # the sandbox has no teams: every slug is one GitHub would not find either
        raise ApiError(422, NOT_COLLABORATOR.format(repo=repo.full_name))
    for login in logins:
        if login.lower() == pr.user.lower():
            raise ApiError(422, AUTHOR_REVIEW)
        user = ctx.state.user(login)
        if user is None or user.role_on(repo.full_name) is None:
            raise ApiError(422, NOT_COLLABORATOR.format(repo=repo.full_name))
    # no `review_requested` delivery: no shipped workflow listens for it, and the vendored
    # webhook examples have no payload to build it from
    for login in logins:
        user = ctx.state.user(login)
        assert user is not None
        if user.login not in pr.requested_reviewers:
            pr.requested_reviewers.append(user.login)
    pr.updated_at = now_iso()
    return ok(ctx.shapes.pull_simple(repo, pr), 201)


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
    import yaml

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
    declared = (on.get("workflow_dispatch") or {}).get("inputs") or {}
    given = ctx.field("inputs") or {}
    if not isinstance(given, dict):
        raise invalid("Workflow", "inputs")
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
    deliveries.record(ctx.state, repo, "workflow_dispatch", None, ctx.token, ref=full_ref,
                      inputs=inputs, workflow=path)
    return 204, None, {}
