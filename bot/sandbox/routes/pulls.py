"""Pull requests: list, open, update, merge, their files and commits, compare, review requests."""

from __future__ import annotations

from typing import Any

from bot.sandbox import deliveries, gitops, merge_queue, merging
from bot.sandbox.routes.common import (
    BASE_MODIFIED,
    HEAD_MODIFIED,
    MERGED,
    NOT_FOUND,
    NOT_MERGEABLE,
    QUEUE_REQUIRED,
    VALIDATION_FAILED,
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
    Issue,
    Repo,
    now_iso,
)

# -- pull requests -------------------------------------------------------------------------

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


def _reopenable(repo: Repo, pr: Issue) -> None:
    """GitHub reopens a closed pull request only if its head branch still exists and still
    holds the head it was closed with (or a descendant of it): else 422, as GitHub says it."""
    now = gitops.resolve(repo.path, f"refs/heads/{pr.head_ref}")
    if now is None:
        raise invalid("PullRequest", "state", "custom", f"state cannot be changed. The "
                      f"{pr.head_ref} branch has been deleted.")
    if now != pr.head_sha and not gitops.is_ancestor(repo.path, pr.head_sha, now):
        raise invalid("PullRequest", "state", "custom", f"state cannot be changed. The "
                      f"{pr.head_ref} branch was force-pushed or recreated.")


def change_state(ctx: Ctx, issue: Issue, state: str) -> None:
    """Close or reopen an issue or pull request (PATCH /issues/{n} and /pulls/{n} alike): a
    reopened pull request follows its head branch again (its ``reopened`` carries the head as
    it is now; nothing else is delivered for what moved while it was closed)."""
    if state not in ("open", "closed"):
        raise invalid("Issue" if not issue.is_pull else "PullRequest", "state")
    if issue.merged and state == "open":
        raise invalid("PullRequest", "state", message="A merged pull request stays closed")
    was = issue.state
    if issue.is_pull and state == "open" and was == "closed":
        _reopenable(ctx.repo, issue)
    merging.set_state(issue, state, ctx.login)
    if issue.is_pull and issue.state == "closed":
        merge_queue.drop_changed(ctx.state, ctx.repo)  # GitHub takes it out of the queue
    if issue.is_pull and state == "open":
        deliveries.follow_heads(ctx.repo)
    if issue.is_pull and issue.state != was:
        deliveries.pull(ctx.state, ctx.repo, issue,
                        "closed" if issue.state == "closed" else "reopened", ctx.token)


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
        change_state(ctx, pr, ctx.body["state"])
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
    if pr.base_ref in repo.queue_required:
        # the branch requires the merge queue: GitHub refuses a direct merge
        raise ApiError(405, QUEUE_REQUIRED)
    base_ref = f"refs/heads/{pr.base_ref}"
    base = gitops.resolve(repo.path, base_ref)
    if base is None or not mergeable(repo, pr):
        raise ApiError(405, NOT_MERGEABLE)
    new = _merge_commit(ctx, repo, pr, base, method)
    before = gitops.refs(repo.path)
    if not gitops.update_ref(repo.path, base_ref, new, base):
        raise ApiError(409, BASE_MODIFIED)
    merging.mark_merged(ctx.state, repo, pr, ctx.login, new, ctx.token, before)
    return ok({"sha": new, "merged": True, "message": MERGED})


def _merge_commit(ctx: Ctx, repo: Repo, pr: Issue, base: str, method: str) -> str:
    """The commit a merge by ``method`` makes of ``pr`` on ``base`` (not yet on the branch):
    a merge commit, a squash, or the head rebased; authored by the merging user, committed by
    GitHub, with GitHub's default title and message unless the request gives them."""
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
        return new
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
    return gitops.commit_tree(repo.path, tree.tree, parents, text, env)


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



NOT_COLLABORATOR = ("Reviews may only be requested from collaborators. One or more of the users "
                    "or teams you specified is not a collaborator of the {repo} repository.")
AUTHOR_REVIEW = "Review cannot be requested from pull request author."


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
