"""The sandbox's memory: users, repositories and what GitHub keeps beside git (pull requests,
issues, comments, reactions, labels, statuses, check runs). Plain dataclasses behind one lock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# GitHub's repository roles, weakest first; `permission` (legacy) folds them to read/write/admin
ROLES = ("read", "triage", "write", "maintain", "admin")
LEGACY_PERMISSION = {"read": "read", "triage": "read", "write": "write", "maintain": "write",
                     "admin": "admin"}


def now_iso(t: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if t is None else t))


@dataclass
class User:
    login: str
    id: int
    type: str = "User"
    token: str | None = None
    # repo full name (or "*" for every repository) -> role
    roles: dict[str, str] = field(default_factory=dict)
    email: str = ""

    def role_on(self, repo: str) -> str | None:
        return self.roles.get(repo) or self.roles.get("*")


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Reaction:
    id: int
    content: str
    user: str
    created_at: str


@dataclass
class Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: str
    updated_at: str
    reactions: list[Reaction] = field(default_factory=list)


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: str
    updated_at: str
    state: str = "open"
    state_reason: str | None = None
    closed_at: str | None = None
    closed_by: str | None = None
    labels: list[str] = field(default_factory=list)
    # pull request fields (is_pull) — a pull request is an issue with a head and a base
    is_pull: bool = False
    pull_id: int = 0
    head_ref: str = ""
    head_sha: str = ""
    base_ref: str = ""
    draft: bool = False
    maintainer_can_modify: bool = False
    merged: bool = False
    merged_at: str | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    # pinned to the repository's issue list (GraphQL pinIssue)
    pinned: bool = False
    # logins asked to review the pull request and not yet reviewed
    requested_reviewers: list[str] = field(default_factory=list)


@dataclass
class Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: str
    created_at: str
    updated_at: str


@dataclass
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    details_url: str | None
    external_id: str | None
    output: dict[str, Any]
    app_owner: str


@dataclass
class WorkflowRun:
    """A GitHub Actions run, registered by a test (the sandbox runs no workflows); a re-run
    starts a new attempt, queued, as GitHub does."""

    id: int
    name: str
    path: str
    head_sha: str
    head_branch: str
    event: str
    status: str
    conclusion: str | None
    run_number: int
    created_at: str
    updated_at: str
    run_attempt: int = 1
    pull_requests: list[int] = field(default_factory=list)


@dataclass
class Release:
    """A GitHub Release: a tag's page with notes (the sandbox makes no assets)."""

    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    author: str
    created_at: str
    published_at: str | None
    draft: bool = False
    prerelease: bool = False


@dataclass
class Repo:
    full_name: str
    id: int
    path: Path
    default_branch: str
    private: bool
    created_at: str
    pushed_at: str
    next_number: int = 1
    issues: dict[int, Issue] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    workflow_runs: dict[int, WorkflowRun] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    reject_pushes: int = 0
    # the merge queue's entries (merge_queue.Entry), oldest first
    merge_queue: list[Any] = field(default_factory=list)
    # branches whose protection requires the merge queue: no direct merge into them
    queue_required: set[str] = field(default_factory=set)
    # (base sha, head sha) -> mergeable, computed by git once per pair
    mergeable_cache: dict[tuple[str, str], bool] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def label(self, name: str) -> Label | None:
        for lbl in self.labels.values():
            if lbl.name.lower() == name.lower():
                return lbl
        return None


@dataclass
class Fault:
    method: str
    path: str
    status: int
    times: int
    retry_after: float | None = None
    rate_limit_reset: float | None = None
    body: dict[str, Any] | None = None
    # "apply then fail": the request takes effect, then the answer is the fault (a gateway
    # timeout after GitHub did the work); ``every``: only every Nth matching request faults
    after: bool = False
    every: int = 1
    seen: int = 0


WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class KillPlan:
    """SIGKILL process ``pid`` at the ``at``-th write (REST write or git push) from now, after
    the write took effect (``after``) or before it reached the handler."""

    pid: int
    at: int
    after: bool = True
    seen: int = 0
    fired: bool = False


TOKEN_KINDS = ("user", "github_token", "app")


@dataclass(frozen=True)
class Token:
    """What a token stands for. A person's token ("user") carries their repository role; an
    integration token ("github_token", "app") carries fine-grained permissions (names as in
    GitHub's permission table: ``contents``, ``pull_requests``...), scoped to ``repo`` (None:
    every repository the App is installed on)."""

    value: str
    login: str
    kind: str = "user"
    repo: str | None = None
    permissions: dict[str, str] | None = None

    @property
    def integration(self) -> bool:
        return self.kind != "user"

    def covers(self, full_name: str) -> bool:
        return self.repo is None or self.repo.lower() == full_name.lower()


@dataclass
class App:
    slug: str
    id: int
    permissions: dict[str, str]

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery as GitHub would send it, recorded when the state changed.
    ``via_github_token``: the change was made with a GITHUB_TOKEN, so Actions starts no
    workflow for it (except workflow_dispatch / repository_dispatch)."""

    index: int
    event: str
    action: str | None
    payload: dict[str, Any]
    repository: str | None
    actor: str
    via_github_token: bool
    token_kind: str


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int
    user: str | None
    timestamp: float
    kind: str = "api"  # api | git | admin
    # the kind of token that made it: user | github_token | app ("" when none was given)
    token_kind: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "query": self.query,
                "status": self.status, "user": self.user, "timestamp": self.timestamp,
                "kind": self.kind, "token_kind": self.token_kind}


class State:
    """Everything the sandbox knows, guarded by ``lock`` (handlers hold it while they run)."""

    def __init__(self, root: Path):
        self.root = root
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.apps: dict[str, App] = {}
        self.deliveries: list[Delivery] = []
        self.repos: dict[str, Repo] = {}
        self.faults: list[Fault] = []
        self.kill: KillPlan | None = None
        self.log: list[LoggedRequest] = []
        self.violations: list[str] = []
        self.remaining: dict[str, int] = {}
        self._next_id = 1000

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def repo(self, full_name: str) -> Repo | None:
        for name, repo in self.repos.items():
            if name.lower() == full_name.lower():
                return repo
        return None

    def user(self, login: str) -> User | None:
        for name, user in self.users.items():
            if name.lower() == login.lower():
                return user
        return None
