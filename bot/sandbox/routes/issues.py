"""Issues, their comments and the comments' reactions, labels."""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox import deliveries
from bot.sandbox.routes.common import (
    NOT_FOUND,
    REACTIONS,
    ApiError,
    Ctx,
    Result,
    _number,
    invalid,
    ok,
    paginate,
    route,
)
from bot.sandbox.routes.pulls import change_state
from bot.sandbox.state import (
    Comment,
    Issue,
    Label,
    Reaction,
    now_iso,
)

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
        # (a pull request's too: reopened here, it follows its head as through /pulls)
        change_state(ctx, issue, body["state"])
        if body["state"] == "closed":
            issue.state_reason = body.get("state_reason") or "completed"
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
