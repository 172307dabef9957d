"""The forge interface: what the stages ask of GitHub (or of the local, git-only stand-in).

Pure: a ``typing.Protocol``, the plain frozen models its operations return, the typed errors
they raise, and the small decisions shared by every adapter (which comment is the bot's living
comment, how statuses combine). No PyGithub or GitPython type crosses this boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from bot.core.render import find_marker
from bot.errors import ForgeError

PullState = Literal["open", "closed"]
StateFilter = Literal["open", "closed", "all"]
MergeMethod = Literal["merge", "squash", "rebase"]
StatusState = Literal["pending", "success", "failure", "error"]
Permission = Literal["none", "read", "triage", "write", "maintain", "admin"]
Reaction = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]

# who GITHUB_TOKEN acts as; with a GitHub App token the bot is "<app-slug>[bot]"
GITHUB_ACTIONS_BOT = "github-actions[bot]"

# the order GitHub ranks permissions in; "none" is an outsider
PERMISSION_ORDER: tuple[Permission, ...] = ("none", "read", "triage", "write", "maintain", "admin")
REACTIONS: tuple[Reaction, ...] = (
    "+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RepoInfo(Frozen):
    full_name: str
    default_branch: str
    private: bool = False
    html_url: str = ""


class PullRequest(Frozen):
    number: int
    title: str
    body: str
    state: PullState
    merged: bool
    merge_commit_sha: str | None
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    labels: tuple[str, ...] = ()
    author: str = ""
    url: str = ""
    draft: bool = False
    # logins asked to review and not yet reviewed (GitHub drops one when they review)
    requested_reviewers: tuple[str, ...] = ()


class Comment(Frozen):
    id: int
    body: str
    author: str
    # "User" or "Bot", as GitHub's ``user.type``: the bot ignores other bots' commands
    author_type: str = "User"
    created_at: str = ""
    updated_at: str = ""
    url: str = ""


class Issue(Frozen):
    number: int
    title: str
    body: str
    state: PullState
    labels: tuple[str, ...] = ()
    author: str = ""
    url: str = ""
    # GitHub's issues API lists pull requests too; this says which ones are
    is_pull_request: bool = False
    # GitHub's global id, which GraphQL mutations (pinning) take
    node_id: str = ""
    pinned: bool = False


class Status(Frozen):
    context: str
    state: StatusState
    description: str = ""
    target_url: str | None = None


class CombinedStatus(Frozen):
    sha: str
    # "success" only when every context succeeded; "pending" with no status at all
    state: StatusState
    statuses: tuple[Status, ...] = ()

    def get(self, context: str) -> Status | None:
        return next((s for s in self.statuses if s.context == context), None)


class WorkflowRun(Frozen):
    """One GitHub Actions run: which workflow, for which commit, and how it ended."""

    id: int
    name: str
    path: str  # ".github/workflows/improve-test.yml" (GitHub may append "@ref")
    head_sha: str
    event: str
    status: str  # queued, in_progress, completed, ...
    conclusion: str | None = None
    run_attempt: int = 1
    url: str = ""


class Release(Frozen):
    """A GitHub Release: the page of a tag, with notes (GitHub's "Releases" list)."""

    id: int
    tag: str
    name: str = ""
    body: str = ""
    draft: bool = False
    url: str = ""


class MergeResult(Frozen):
    merged: bool
    sha: str
    message: str = ""


# --- typed errors: the stages decide on these, never on HTTP status numbers -------------------


class NotFound(ForgeError):
    """The repository, pull request, issue, comment or file does not exist (404)."""


class NotMergeable(ForgeError):
    """The pull request cannot be merged as it stands: conflicts, closed, or blocked (405)."""


class StaleHead(ForgeError):
    """The pull request's head moved since the expected SHA was read (409): re-evaluate."""


class PermissionDenied(ForgeError):
    """The token may not do this (403 without a rate limit)."""


class Unprocessable(ForgeError):
    """The forge refused the request's content (422), e.g. a pull request that already exists."""


# --- the call counter every adapter carries ---------------------------------------------------


@dataclass
class CallCounter:
    """API calls made by a forge: ``operations`` the stages asked for, ``requests`` the HTTP
    requests that took (retries included), ``retries`` and seconds spent waiting on backoff."""

    operations: int = 0
    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    by_operation: dict[str, int] = field(default_factory=dict)

    def operation(self, name: str) -> None:
        self.operations += 1
        self.by_operation[name] = self.by_operation.get(name, 0) + 1

    def snapshot(self) -> dict[str, float | int]:
        return {
            "operations": self.operations,
            "requests": self.requests,
            "retries": self.retries,
            "waited": round(self.waited, 3),
        }


# --- the interface ----------------------------------------------------------------------------


@runtime_checkable
class Forge(Protocol):
    """One repository on a forge. Every method is one logical operation, counted in ``calls``.

    Errors: ``NotFound``, ``NotMergeable``, ``StaleHead``, ``PermissionDenied``,
    ``Unprocessable``, or a plain ``ForgeError`` naming the method, path, status and the forge's
    message once retries are spent.
    """

    calls: CallCounter
    # whose comments are the bot's own (a marker anyone pastes into theirs does not count)
    bot_login: str | None
    # whether the forge has a Releases page (GitHub does; the local forge has tags alone)
    publishes_releases: bool

    @property
    def full_name(self) -> str:
        """``owner/name`` of the repository."""
        ...

    def repo_info(self) -> RepoInfo:
        """The repository, with its default branch (where the configuration is read from)."""
        ...

    def read_file(self, path: str, ref: str | None = None) -> str | None:
        """The text of ``path`` at ``ref`` (a branch, tag or SHA; the default branch when None),
        or None when the file does not exist there."""
        ...

    def list_pulls(
        self,
        *,
        state: StateFilter = "open",
        head: str | None = None,
        base: str | None = None,
        label: str | None = None,
    ) -> list[PullRequest]:
        """Pull requests, filtered by head branch (a branch name in this repository), base
        branch, state and label; newest first."""
        ...

    def get_pull(self, number: int) -> PullRequest:
        ...

    def create_pull(
        self,
        *,
        title: str,
        body: str,
        head: str,
        base: str,
        labels: Sequence[str] = (),
        draft: bool = False,
    ) -> PullRequest:
        """Open a pull request from branch ``head`` into ``base``; labels are created when
        missing. An open pull request for the same head raises ``Unprocessable``."""
        ...

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
    ) -> PullRequest:
        """Change the title, body or state (close/reopen); None leaves a field as it is."""
        ...

    def add_labels(self, number: int, labels: Sequence[str]) -> tuple[str, ...]:
        """Add labels to a pull request or issue, creating missing ones; returns all labels."""
        ...

    def remove_label(self, number: int, label: str) -> None:
        """Remove a label; removing one that is not there is not an error."""
        ...

    def pull_files(self, number: int) -> list[str]:
        """Paths the pull request changes (as GitHub computes them: against the merge base)."""
        ...

    def pull_commit_authors(self, number: int) -> list[str]:
        """Logins of the authors and committers of the pull request's commits (those whose
        git identity the forge links to an account), sorted, each once."""
        ...

    def merge_pull(
        self,
        number: int,
        *,
        method: MergeMethod = "merge",
        sha: str | None = None,
        title: str | None = None,
        message: str | None = None,
    ) -> MergeResult:
        """Merge. ``sha``: merge only if the head is still this commit (else ``StaleHead``).
        Raises ``NotMergeable`` when conflicts or the state forbid it."""
        ...

    def list_comments(self, number: int) -> list[Comment]:
        """Comments on a pull request or issue, oldest first, every page."""
        ...

    def create_comment(self, number: int, body: str) -> Comment:
        ...

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        ...

    def delete_comment(self, comment_id: int) -> None:
        ...

    def find_comment(
        self, number: int, marker_name: str, comments: Sequence[Comment] | None = None
    ) -> Comment | None:
        """The bot's own comment carrying ``<!-- improve:NAME -->``, or None; from ``comments``
        when the caller has read them already."""
        ...

    def upsert_comment(
        self, number: int, marker_name: str, body: str, comments: Sequence[Comment] | None = None
    ) -> Comment:
        """The one living comment: edit the bot's comment carrying the marker, or create it.
        Two API calls when it exists (list, edit), one when ``comments`` are given; an
        unchanged body is not re-sent."""
        ...

    def add_reaction(self, comment_id: int, content: Reaction) -> bool:
        """React to an issue comment as the bot (idempotent, as on GitHub). True when the
        reaction is new, False when the bot had already made it (GitHub answers 200 instead of
        201): a free sign that an event is being delivered a second time."""
        ...

    def list_reactions(self, comment_id: int) -> list[tuple[str, str]]:
        """(content, user) pairs of the reactions on an issue comment, sorted."""
        ...

    def set_status(
        self,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> Status:
        """Set a commit status, e.g. context ``improve/gate``; the newest per context wins."""
        ...

    def combined_status(self, sha: str) -> CombinedStatus:
        ...

    def create_issue(self, *, title: str, body: str, labels: Sequence[str] = ()) -> Issue:
        ...

    def get_issue(self, number: int) -> Issue:
        ...

    def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
        labels: Sequence[str] | None = None,
    ) -> Issue:
        """Change an issue; ``labels`` replaces the whole set when given."""
        ...

    def list_issues(self, *, label: str | None = None, state: StateFilter = "open") -> list[Issue]:
        """Issues (not pull requests) with the label, newest first."""
        ...

    def pin_issue(self, issue: Issue) -> None:
        """Pin the issue to the repository's issue list (GraphQL ``pinIssue`` on GitHub; the
        REST API cannot). Pinning a pinned issue is not an error."""
        ...

    def permission(self, user: str) -> Permission:
        """The user's permission on the repository ("none" for a stranger), as
        ``GET /repos/{o}/{r}/collaborators/{user}/permission`` reports it."""
        ...

    def list_workflow_runs(self, *, head_sha: str, event: str | None = None) -> list[WorkflowRun]:
        """Actions runs for a commit (``GET /repos/{o}/{r}/actions/runs?head_sha=``), newest
        first, optionally only those started by ``event``."""
        ...

    def rerun_workflow(self, run_id: int) -> None:
        """Re-run a finished Actions run (``POST .../actions/runs/{id}/rerun``): a new attempt
        of the same workflow on the same commit, with the workflow's own permissions."""
        ...

    def branch_sha(self, branch: str) -> str | None:
        """The commit a branch points at now (``GET .../git/ref/heads/{branch}``; a pull
        request's ``base.sha`` may be older), or None when there is no such branch."""
        ...

    def request_reviewers(self, number: int, users: Sequence[str],
                          teams: Sequence[str] = ()) -> tuple[str, ...]:
        """Ask ``users`` (logins) and ``teams`` (slugs) to review a pull request
        (``POST .../requested_reviewers``); asking someone asked already changes nothing.
        Returns the logins asked now. ``Unprocessable`` when one cannot be asked (the author,
        or no collaborator)."""
        ...

    def get_release(self, tag: str) -> Release | None:
        """The published release of ``tag`` (``GET .../releases/tags/{tag}``), or None."""
        ...

    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        """Publish a release of the existing tag ``tag`` with notes ``body``. A create whose
        answer was lost is looked for by its tag before it is sent again."""
        ...

    def update_release(self, release_id: int, *, name: str | None = None,
                       body: str | None = None) -> Release:
        """Change a release's name or notes; None leaves a field as it is."""
        ...


class MarkedComments:
    """``find_comment`` and ``upsert_comment``, the same for every forge: composed from its
    ``list_comments``, ``create_comment`` and ``edit_comment``."""

    bot_login: str | None

    def list_comments(self, number: int) -> list[Comment]:
        raise NotImplementedError

    def create_comment(self, number: int, body: str) -> Comment:
        raise NotImplementedError

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        raise NotImplementedError

    def find_comment(
        self, number: int, marker_name: str, comments: Sequence[Comment] | None = None
    ) -> Comment | None:
        seen = self.list_comments(number) if comments is None else comments
        return pick_marked_comment(seen, marker_name, self.bot_login)

    def upsert_comment(
        self, number: int, marker_name: str, body: str, comments: Sequence[Comment] | None = None
    ) -> Comment:
        found = self.find_comment(number, marker_name, comments)
        if found is None:
            return self.create_comment(number, body)
        if found.body.rstrip() == body.rstrip():
            return found
        return self.edit_comment(found.id, body)


# --- pure decisions shared by the adapters ----------------------------------------------------


def pick_marked_comment(
    comments: Iterable[Comment], marker_name: str, bot_login: str | None
) -> Comment | None:
    """The bot's living comment: the oldest comment whose marker is ``marker_name`` and, when the
    bot's login is known, written by the bot (anyone can paste a marker into their comment)."""
    for c in comments:
        if find_marker(c.body) != marker_name:
            continue
        if bot_login is not None and c.author != bot_login:
            continue
        return c
    return None


def combine_statuses(sha: str, statuses: Iterable[Status]) -> CombinedStatus:
    """GitHub's combined state: the newest status per context (``statuses`` newest first);
    failure or error wins, then pending; success only when every context succeeded."""
    latest: dict[str, Status] = {}
    for s in statuses:
        latest.setdefault(s.context, s)
    states = {s.state for s in latest.values()}
    state: StatusState
    if states & {"failure", "error"}:
        state = "failure"
    elif not states or "pending" in states:
        state = "pending"
    else:
        state = "success"
    return CombinedStatus(sha=sha, state=state, statuses=tuple(latest.values()))


def permission_at_least(have: Permission, need: Permission) -> bool:
    return PERMISSION_ORDER.index(have) >= PERMISSION_ORDER.index(need)


def normalize_permission(value: str | None) -> Permission:
    """GitHub answers ``admin``/``write``/``read``/``none`` in ``permission`` and finer names in
    ``role_name`` (``maintain``, ``triage``); unknown or missing values are an outsider."""
    v = (value or "none").lower()
    aliases = {"pull": "read", "push": "write"}
    v = aliases.get(v, v)
    for p in PERMISSION_ORDER:
        if p == v:
            return p
    return "none"
