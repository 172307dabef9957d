"""What a pull request's merge does, whoever merges it (``PUT /pulls/{n}/merge`` or the merge
queue): the pull request is marked merged and closed, its ``closed`` and the refs' ``push``
are delivered, and a merge into the default branch closes the issues its body links by keyword.
All functions here run with the state lock held."""

from __future__ import annotations

import re

from bot.sandbox import deliveries
from bot.sandbox.state import Issue, Repo, State, Token, now_iso

# GitHub's closing keywords ("Linking a pull request to an issue using a keyword"): a pull
# request merged into the default branch closes the issues its body names this way
_CLOSING = re.compile(r"\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?[ \t]+#(\d+)\b", re.I)


def set_state(issue: Issue, state: str, login: str | None) -> None:
    """Close or reopen ``issue`` (nothing delivered here)."""
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


def mark_merged(state: State, repo: Repo, pr: Issue, by: str | None, sha: str,
                token: Token | None, before: dict[str, str]) -> None:
    """After the base branch moved to ``sha`` (its refs were ``before``): ``pr`` is merged."""
    now = now_iso()
    pr.merged, pr.merged_at, pr.merged_by, pr.merge_commit_sha = True, now, by, sha
    pr.state, pr.closed_at, pr.closed_by, pr.updated_at = "closed", now, by, now
    repo.pushed_at = now
    deliveries.pull(state, repo, pr, "closed", token)
    deliveries.refs_moved(state, repo, before, token)
    if pr.base_ref == repo.default_branch:
        _close_linked_issues(repo, pr, by)


def _close_linked_issues(repo: Repo, pr: Issue, login: str | None) -> None:
    for number in dict.fromkeys(int(n) for n in _CLOSING.findall(pr.body or "")):
        issue = repo.issues.get(number)
        if issue is not None and not issue.is_pull and issue.state == "open":
            set_state(issue, "closed", login)
            issue.state_reason = "completed"
            issue.updated_at = now_iso()
