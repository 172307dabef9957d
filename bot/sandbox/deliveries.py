"""Webhook deliveries, recorded when the sandbox's state changes, with the payload as it is at
that moment (a pull request opened and then labelled sends ``opened`` without the label, then
``labeled``). Payloads are built by ``events.build_event`` and validated against the vendored
webhook schemas; a payload the schema rejects is recorded as a violation, so the test that
caused it fails instead of the request.

Each delivery names the kind of token that caused it: Actions starts no workflow for an event a
GITHUB_TOKEN caused (except workflow_dispatch and repository_dispatch). All functions here run
with the state lock held.
"""

from __future__ import annotations

from typing import Any

from bot.errors import InputError
from bot.sandbox import events, gitops
from bot.sandbox.state import Comment, Delivery, Issue, Repo, State, Token, now_iso

ZERO = "0" * 40


def record(state: State, repo: Repo | None, event: str, action: str | None,
           token: Token | None, **facts: Any) -> None:
    login = token.login if token else "ghost"
    user = state.user(login)
    kind = "Bot" if (token is not None and token.integration) or (user and user.type == "Bot") \
        else "User"
    if repo is not None:
        facts = {"repo": repo.full_name, "default_branch": repo.default_branch,
                 "private": repo.private, **facts}
    try:
        payload = events.build_event(event, action, sender=login, sender_type=kind, **facts)
    except InputError as exc:
        state.violations.append(f"webhook {event}.{action}: {exc}")
        return
    state.deliveries.append(Delivery(
        index=len(state.deliveries), event=event, action=action, payload=payload,
        repository=repo.full_name if repo else None, actor=login,
        via_github_token=token is not None and token.kind == "github_token",
        token_kind=token.kind if token else "none"))


def pull_facts(repo: Repo, pr: Issue) -> dict[str, Any]:
    """The pull request as it is now: its labels, head and base included."""
    base_sha = gitops.resolve(repo.path, f"refs/heads/{pr.base_ref}") or pr.head_sha
    facts: dict[str, Any] = {
        "number": pr.number, "title": pr.title, "body": pr.body, "author": pr.user,
        "labels": list(pr.labels), "head_ref": pr.head_ref, "head_sha": pr.head_sha,
        "base_ref": pr.base_ref, "base_sha": base_sha, "draft": pr.draft,
    }
    if pr.merged:
        facts.update(merged=True, merge_commit_sha=pr.merge_commit_sha)
    return facts


def issue_facts(issue: Issue) -> dict[str, Any]:
    return {"number": issue.number, "title": issue.title, "body": issue.body,
            "author": issue.user, "labels": list(issue.labels), "issue_state": issue.state}


def pull(state: State, repo: Repo, pr: Issue, action: str, token: Token | None,
         **extra: Any) -> None:
    record(state, repo, "pull_request", action, token, **{**pull_facts(repo, pr), **extra})


def issue(state: State, repo: Repo, item: Issue, action: str, token: Token | None,
          **extra: Any) -> None:
    """An ``issues`` event, or for a pull request the ``pull_request`` event GitHub sends."""
    if item.is_pull:
        pull(state, repo, item, action, token, **extra)
    else:
        record(state, repo, "issues", action, token, **{**issue_facts(item), **extra})


def labels_changed(state: State, repo: Repo, item: Issue, before: list[str],
                   token: Token | None) -> None:
    """One ``labeled`` / ``unlabeled`` per label, each with the labels as they were then."""
    now = list(item.labels)
    current = list(before)
    for name in [x for x in before if x.lower() not in {n.lower() for n in now}]:
        current = [x for x in current if x.lower() != name.lower()]
        item.labels = current
        issue(state, repo, item, "unlabeled", token, label=name)
    for name in [x for x in now if x.lower() not in {b.lower() for b in before}]:
        current = [*current, name]
        item.labels = current
        issue(state, repo, item, "labeled", token, label=name)
    item.labels = now


def comment_created(state: State, repo: Repo, item: Issue, comment: Comment,
                    token: Token | None) -> None:
    record(state, repo, "issue_comment", "created", token, number=item.number,
           body=comment.body, comment_id=comment.id, is_pull_request=item.is_pull,
           labels=list(item.labels), pr_author=item.user, issue_state=item.state,
           merged=item.merged, issue_title=item.title, issue_body=item.body)


def refs_moved(state: State, repo: Repo, before: dict[str, str], token: Token | None) -> None:
    """After a push, a merge or a ref update: a ``push`` for each ref that moved, then a
    ``synchronize`` for each open pull request whose head moved with it."""
    after = gitops.refs(repo.path)
    for ref in sorted(set(before) | set(after)):
        old, new = before.get(ref), after.get(ref)
        if old == new or not ref.startswith(("refs/heads/", "refs/tags/")):
            continue
        forced = bool(old and new and not gitops.is_ancestor(repo.path, old, new))
        facts: dict[str, Any] = {"ref": ref, "before": old or ZERO, "after": new or ZERO,
                                 "created": old is None, "deleted": new is None,
                                 "forced": forced, "commits": 0 if new is None else 1}
        if new is not None:
            facts["tree_id"] = gitops.git(repo.path, "rev-parse", f"{new}^{{tree}}").strip()
        record(state, repo, "push", None, token, **facts)
    for pr, old_head in follow_heads(repo):
        pull(state, repo, pr, "synchronize", token, before=old_head, after=pr.head_sha)


def follow_heads(repo: Repo) -> list[tuple[Issue, str]]:
    """After refs moved: open pull requests follow their head branches. Returns each pull
    request whose head moved, with its head before."""
    current = gitops.refs(repo.path)
    moved = []
    for pr in repo.issues.values():
        if not pr.is_pull or pr.state != "open":
            continue
        sha = current.get(f"refs/heads/{pr.head_ref}")
        if sha and sha != pr.head_sha:
            moved.append((pr, pr.head_sha))
            pr.head_sha = sha
            pr.updated_at = now_iso()
    return moved
