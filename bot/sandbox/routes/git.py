"""Refs, branches, tags, file contents, a collaborator's permission."""

from __future__ import annotations

from bot.sandbox import gitops, merge_queue
from bot.sandbox.routes.common import (
    NO_PUSH_FOR_PERMISSION,
    NOT_FAST_FORWARD,
    NOT_FOUND,
    REF_EXISTS,
    REF_MISSING,
    ApiError,
    Ctx,
    Result,
    _safe_ref,
    ok,
    paginate,
    route,
)
from bot.sandbox.state import (
    ROLES,
    now_iso,
)

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
    merge_queue.refs_moved(ctx.state, repo, before, ctx.token)
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
    merge_queue.refs_moved(ctx.state, repo, before, ctx.token)
    return ok(ctx.shapes.git_ref(repo, ref, sha))


@route("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}")
def delete_ref(ctx: Ctx) -> Result:
    repo = ctx.repo
    ctx.require("write")
    ref = _ref_name(ctx)
    before = gitops.refs(repo.path)
    if ref not in before or not gitops.delete_ref(repo.path, ref):
        raise ApiError(422, REF_MISSING)
    merge_queue.refs_moved(ctx.state, repo, before, ctx.token)
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
