"""The sandbox: a local stand-in for GitHub (REST under ``/api/v3``, git over smart HTTP,
admin routes under ``/_sandbox/``) on a threaded HTTP server bound to 127.0.0.1."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from bot.sandbox import gitops, gitserve, merge_queue, openapi, routes
from bot.sandbox import permissions as permissions_mod
from bot.sandbox.shapes import Shapes, error_body, etag
from bot.sandbox.shapes import node_id as shapes_node_id
from bot.sandbox.state import (
    ROLES,
    TOKEN_KINDS,
    WRITE_METHODS,
    App,
    Delivery,
    Fault,
    KillPlan,
    LoggedRequest,
    Repo,
    State,
    Token,
    User,
    now_iso,
)

API_PREFIX = "/api/v3"
# GitHub Enterprise Server's GraphQL endpoint; the sandbox answers the one mutation the bot uses
GRAPHQL_PATH = "/api/graphql"
ADMIN_PREFIX = "/_sandbox"
BOT_LOGIN = "github-actions[bot]"
RATE_LIMIT = 5000
RATE_LIMITED = "API rate limit exceeded for installation. If you reach out to GitHub Support " \
    "for help, please include the request ID."
BAD_CREDENTIALS = "Bad credentials"
PUSH_DENIED = "Permission to {repo}.git denied to {login}."
# GitHub's answer when a client trips a secondary rate limit: a 403 with no Retry-After and
# requests still remaining, told apart from other 403s only by its message
SECONDARY_RATE_LIMITED = "You have exceeded a secondary rate limit. Please wait a few minutes " \
    "before you try again. If you reach out to GitHub Support for help, please include the " \
    "request ID {request_id}."
SECONDARY_DOCS = "https://docs.github.com/free-pro-team@latest/rest/overview/" \
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
FAULT_MESSAGES = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout"}


def _is_write(method: str, path: str, kind: str) -> bool:
    if kind == "api":
        return method in WRITE_METHODS
    return kind == "git" and method == "POST" and path.endswith("git-receive-pack")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sandbox: Sandbox

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client killed mid-request (the crash harness does it on purpose) is not an error
        # of the sandbox's; anything else is printed as before
        import sys

        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out in two writes; with Nagle on, keep-alive clients wait for a
    # delayed ACK (~40 ms) on every response
    disable_nagle_algorithm = True
    server: _Server
    server_version = "GitHub.com"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # the sandbox keeps its own request log

    def do_GET(self) -> None:
        self.server.sandbox._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.sandbox._handle(self, "POST")

    def do_PATCH(self) -> None:
        self.server.sandbox._handle(self, "PATCH")

    def do_PUT(self) -> None:
        self.server.sandbox._handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.sandbox._handle(self, "DELETE")


def _read_body(h: BaseHTTPRequestHandler) -> bytes:
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # trailers end with an empty line
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
        return b"".join(chunks)
    length = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(length) if length else b""


class Sandbox:
    """A running sandbox. ``Sandbox.start()`` binds a random port; ``stop()`` ends it."""

    def __init__(self, validate: bool = True, root: Path | None = None, port: int = 0):
        self.validate = validate
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="improve-sandbox-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.state = State(self.root)
        self._httpd = _Server(("127.0.0.1", port), _Handler)
        self._httpd.sandbox = self
        self.port = self._httpd.server_address[1]
        self.server_url = f"http://127.0.0.1:{self.port}"
        self.api_url = self.server_url + API_PREFIX
        self.shapes = Shapes(self.state, self.api_url, self.server_url)
        self._reset_at = int(time.time()) + 3600
        self._request = threading.local()
        self._thread: threading.Thread | None = None
        self.token = self.add_user(BOT_LOGIN, "write", type="Bot")

    # -- life cycle -----------------------------------------------------------------------
    @classmethod
    def start(cls, validate: bool = True, root: Path | None = None, port: int = 0) -> Sandbox:
        if validate:
            openapi.warm()
        sb = cls(validate=validate, root=root, port=port)
        sb._thread = threading.Thread(target=sb._httpd.serve_forever, name="sandbox",
                                      kwargs={"poll_interval": 0.05}, daemon=True)
        sb._thread.start()
        return sb

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- seeding ----------------------------------------------------------------------------
    def add_user(self, login: str, permission: str = "write", *, repos: list[str] | None = None,
                 type: str = "User") -> str:  # noqa: A002
        """Create (or update) a user with ``permission`` on ``repos`` (None: every repo)."""
        if permission not in ROLES:
            raise ValueError(f"permission must be one of {', '.join(ROLES)}, not {permission!r}")
        with self.state.lock:
            user = self.state.user(login)
            if user is None:
                token = ("ghs_" if type == "Bot" else "ghp_") + secrets.token_hex(18)
                uid = self.state.new_id()
                user = User(login, uid, type, token,
                            email=f"{uid}+{login}@users.noreply.github.com")
                self.state.users[login] = user
                self.state.tokens[token] = Token(token, login, "user")
            for repo in repos or ["*"]:
                user.roles[repo] = permission
            return user.token or ""

    def create_app(self, slug: str, permissions: Mapping[str, str]) -> None:
        """Register a GitHub App (installed on every repository) with ``permissions``
        (``{"contents": "write", "pull-requests": "write"}``; either spelling)."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
            raise ValueError(f"an App slug is lower-case letters, digits and '-', not {slug!r}")
        perms = permissions_mod.normalize(permissions)
        with self.state.lock:
            app = App(slug, self.state.new_id(), perms)
            self.state.apps[slug] = app
            if self.state.user(app.bot_login) is None:
                uid = self.state.new_id()
                self.state.users[app.bot_login] = User(
                    app.bot_login, uid, "Bot",
                    email=f"{uid}+{app.bot_login}@users.noreply.github.com")

    def mint_token(self, login: str, *, kind: Literal["user", "github_token", "app"],
                   repo: str | None = None,
                   permissions: Mapping[str, str] | str | None = None) -> str:
        """A token as GitHub issues it.

        - ``user``: ``login``'s personal token; it carries their repository role.
        - ``github_token``: a job's GITHUB_TOKEN on ``repo`` (required), acting as
          github-actions[bot], with exactly ``permissions`` (the job's ``permissions:`` block:
          a mapping, ``read-all``, ``write-all`` or ``{}``; None: no block, so GitHub's default
          for new repositories, contents and packages read). ``metadata: read`` is always
          granted.
        - ``app``: an installation token of the App whose slug is ``login``, acting as
          ``<slug>[bot]``, on ``repo`` (None: every repository), with the App's permissions
          narrowed to ``permissions`` (the ``permission-*`` inputs of
          actions/create-github-app-token) when given.
        """
        if kind not in TOKEN_KINDS:
            raise ValueError(f"kind must be one of {', '.join(TOKEN_KINDS)}, not {kind!r}")
        value = ("ghp_" if kind == "user" else "ghs_") + secrets.token_hex(18)
        with self.state.lock:
            full = None
            if repo is not None:
                found = self.state.repo(repo)
                if found is None:
                    raise ValueError(f"no repository {repo}")
                full = found.full_name
            if kind == "user":
                user = self.state.user(login)
                if user is None:
                    raise ValueError(f"no user {login}; add_user first")
                token = Token(value, user.login, "user")
            elif kind == "github_token":
                if full is None:
                    raise ValueError("a GITHUB_TOKEN belongs to one repository: pass repo")
                perms = permissions_mod.normalize(
                    permissions_mod.DEFAULT_WORKFLOW if permissions is None else permissions)
                perms["metadata"] = "read"
                token = Token(value, BOT_LOGIN, "github_token", full, perms)
            else:
                app = self.state.apps.get(login)
                if app is None:
                    raise ValueError(f"no App {login}; create_app first")
                asked = None if permissions is None else permissions_mod.normalize(permissions)
                perms = permissions_mod.narrow(app.permissions, asked)
                perms["metadata"] = "read"
                token = Token(value, app.bot_login, "app", full, perms)
            self.state.tokens[value] = token
        return value

    def token_info(self, token: str) -> Token | None:
        with self.state.lock:
            return self.state.tokens.get(token)

    def create_repo(self, full_name: str, files: dict[str, str | bytes] | None = None,
                    default_branch: str = "main", private: bool = False) -> Path:
        """A bare repository with one commit of ``files``; returns its path."""
        with self.state.lock:
            path = self._new_repo_path(full_name)
            gitops.init_bare(path, default_branch, files or {"README.md": "# sandbox\n"})
            self._register_repo(full_name, path, default_branch, private)
        return path

    def _new_repo_path(self, full_name: str) -> Path:
        """Where a new repository ``full_name`` goes; refuses a bad or taken name (hold the
        state lock)."""
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", full_name):
            raise ValueError(f"repository name must be owner/name, not {full_name!r}")
        if self.state.repo(full_name) is not None:
            raise ValueError(f"repository {full_name} already exists")
        return self.root / f"{full_name}.git"

    def _register_repo(self, full_name: str, path: Path, default_branch: str,
                       private: bool) -> None:
        """Record the repository made at ``path`` (under the same hold of the state lock as
        ``_new_repo_path``: a second create of the name cannot slip in between)."""
        now = now_iso()
        owner = full_name.split("/")[0]
        owner_user = self.state.user(owner)
        if owner_user is None:
            uid = self.state.new_id()
            self.state.users[owner] = User(owner, uid, "Organization", roles={full_name: "admin"})
        else:
            owner_user.roles.setdefault(full_name, "admin")
        self.state.repos[full_name] = Repo(full_name, self.state.new_id(), path, default_branch,
                                           private, now, now)

    def import_repo(self, full_name: str, source: Path, private: bool = False) -> Path:
        """A repository copied from the git repository at ``source`` with its whole history:
        every branch and tag as they are, the default branch the one ``source`` has checked
        out (``improve sandbox serve --seed`` with a folder that is a repository)."""
        with self.state.lock:
            path = self._new_repo_path(full_name)
            default_branch = gitops.import_bare(path, source)
            self._register_repo(full_name, path, default_branch, private)
        return path

    def git_url(self, full_name: str, token: str | None = None) -> str:
        return (f"http://x-access-token:{token or self.token}@127.0.0.1:{self.port}/"
                f"{full_name}.git")

    def inject_fault(self, method: str = "*", path: str = ".*", status: int = 502,
                     times: int = 1, retry_after: float | None = None,
                     rate_limit_reset: float | None = None,
                     body: dict[str, Any] | None = None, after: bool = False,
                     every: int = 1) -> None:
        """The next ``times`` REST requests matching ``method`` and ``path`` (a regex searched
        in the path without /api/v3) answer ``status``. ``method`` "WRITE" matches POST, PATCH,
        PUT and DELETE. ``retry_after`` sets Retry-After; ``rate_limit_reset`` (seconds from
        now) sets X-RateLimit-Remaining: 0 and X-RateLimit-Reset. ``after``: "apply then
        fail", the request takes effect and only its answer is the fault (a write whose answer
        was lost). ``every``: only every Nth matching request faults."""
        re.compile(path)
        if every < 1:
            raise ValueError("every must be 1 or more")
        with self.state.lock:
            self.state.faults.append(Fault(method.upper(), path, status, times, retry_after,
                                           rate_limit_reset, body, after, every))

    def kill_at_write(self, pid: int, at: int, *, after: bool = True) -> None:
        """SIGKILL process ``pid`` at the ``at``-th write from now (a REST POST, PATCH, PUT or
        DELETE, or a git push): after the write took effect (``after``), or before. The crash
        harness's way to kill a step at a known point; ``kill_fired`` tells whether it came."""
        with self.state.lock:
            self.state.kill = KillPlan(pid, at, after)

    def kill_fired(self) -> bool:
        with self.state.lock:
            plan, self.state.kill = self.state.kill, None
            return plan is not None and plan.fired

    def writes(self, since: int = 0) -> int:
        """REST writes and git pushes logged from index ``since`` of the request log."""
        with self.state.lock:
            return sum(1 for r in self.state.log[since:] if _is_write(r.method, r.path, r.kind))

    def inject_secondary_rate_limit(self, method: str = "*", path: str = ".*",
                                    times: int = 1) -> None:
        """The next ``times`` matching REST requests trip GitHub's secondary rate limit: 403,
        GitHub's own body, no Retry-After, X-RateLimit-Remaining above 0."""
        body = {"message": SECONDARY_RATE_LIMITED.format(
                    request_id="E8A0:2A5B:1C2D3E4:1F2A3B4:6751C2D3"),
                "documentation_url": SECONDARY_DOCS}
        self.inject_fault(method, path, 403, times, body=body)

    def add_workflow_run(self, full_name: str, *, head_sha: str, head_branch: str,
                         name: str = "improve-test",
                         path: str = ".github/workflows/improve-test.yml",
                         event: str = "pull_request", status: str = "completed",
                         conclusion: str | None = "success",
                         pull_requests: list[int] | None = None) -> int:
        """Register a finished (by default) Actions run for a head commit, as if a workflow
        had run; returns its id. The sandbox runs no workflows: tests set the scene."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise ValueError(f"no repository {full_name}")
            run = routes.add_workflow_run(repo, self.state.new_id(), name=name, path=path,
                                          head_sha=head_sha, head_branch=head_branch,
                                          event=event, status=status, conclusion=conclusion,
                                          pull_requests=pull_requests)
            return run.id

    def enqueue(self, full_name: str, number: int, by: str,
                required: tuple[str, ...] = ("improve/gate",)) -> str:
        """``by`` adds pull request ``number`` to the merge queue of its base branch (GitHub's
        "Merge when ready"; they need write access), which waits for the ``required`` status
        contexts on the queue's commit (see merge_queue). Returns that commit's SHA."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            user = self.state.user(by)
            if repo is None or user is None:
                raise ValueError(f"no repository {full_name} or no user {by}")
            role = user.role_on(repo.full_name)
            if role is None or ROLES.index(role) < ROLES.index("write"):
                raise merge_queue.QueueError(f"{by} may not merge into {full_name}")
            pr = repo.issues.get(number)
            if pr is None:
                raise merge_queue.QueueError(f"no pull request #{number} in {full_name}")
            return merge_queue.enqueue(self.state, repo, pr, by, required).sha

    def require_merge_queue(self, full_name: str, branch: str | None = None) -> None:
        """Protect ``branch`` (the default one) with "Require merge queue": pull requests into
        it merge only through the queue (``enqueue``); the merge endpoint refuses them."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise ValueError(f"no repository {full_name}")
            repo.queue_required.add(branch or repo.default_branch)

    def merge_queue(self, full_name: str) -> list[dict[str, Any]]:
        """The queue's entries, oldest first."""
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise KeyError(full_name)
            return [asdict(e) for e in repo.merge_queue]

    def workflow_runs(self, full_name: str) -> list[dict[str, Any]]:
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise KeyError(full_name)
            return [asdict(r) for r in sorted(repo.workflow_runs.values(), key=lambda r: r.id)]

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def reject_pushes(self, full_name: str, times: int = 1) -> None:
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise ValueError(f"no repository {full_name}")
            repo.reject_pushes += times

    # -- reading -----------------------------------------------------------------------------
    @property
    def requests(self) -> list[LoggedRequest]:
        with self.state.lock:
            return list(self.state.log)

    def deliveries(self, since: int = 0) -> list[Delivery]:
        """Webhook deliveries recorded from index ``since`` on, oldest first."""
        with self.state.lock:
            return list(self.state.deliveries[since:])

    def api_calls(self, since: int = 0) -> int:
        """REST requests (not git, not admin) logged from index ``since`` of the request log."""
        with self.state.lock:
            return sum(1 for r in self.state.log[since:] if r.kind == "api")

    @property
    def violations(self) -> list[str]:
        with self.state.lock:
            return list(self.state.violations)

    def repo_state(self, full_name: str) -> dict[str, Any]:
        with self.state.lock:
            repo = self.state.repo(full_name)
            if repo is None:
                raise KeyError(full_name)
            refs = gitops.refs(repo.path)
            pulls, issues = [], []
            for i in sorted(repo.issues.values(), key=lambda x: x.number):
                base = {"number": i.number, "title": i.title, "body": i.body, "user": i.user,
                        "state": i.state, "labels": list(i.labels), "pinned": i.pinned}
                if i.is_pull:
                    base.update(head=i.head_ref, head_sha=i.head_sha, base=i.base_ref,
                                merged=i.merged, merge_commit_sha=i.merge_commit_sha,
                                merged_by=i.merged_by, draft=i.draft,
                                requested_reviewers=list(i.requested_reviewers))
                    pulls.append(base)
                else:
                    issues.append(base)
            return {
                "full_name": repo.full_name,
                "default_branch": repo.default_branch,
                "pulls": pulls,
                "issues": issues,
                "comments": [
                    {"id": c.id, "issue_number": c.issue_number, "body": c.body, "user": c.user,
                     "reactions": [{"id": r.id, "content": r.content, "user": r.user}
                                   for r in c.reactions]}
                    for c in sorted(repo.comments.values(), key=lambda c: c.id)
                ],
                "labels": [{"name": lbl.name, "color": lbl.color,
                            "description": lbl.description} for lbl in repo.labels.values()],
                "statuses": [{k: v for k, v in asdict(s).items()} for s in repo.statuses],
                "check_runs": [{k: v for k, v in asdict(r).items()}
                               for r in repo.check_runs.values()],
                "workflow_runs": [asdict(r) for r in sorted(repo.workflow_runs.values(),
                                                            key=lambda r: r.id)],
                "releases": [{"id": r.id, "tag_name": r.tag_name, "name": r.name,
                              "body": r.body, "draft": r.draft, "author": r.author}
                             for r in sorted(repo.releases.values(), key=lambda r: r.id)],
                "refs": {k: v for k, v in refs.items() if not k.startswith("refs/tags/")},
                "tags": {k[len("refs/tags/"):]: v for k, v in refs.items()
                         if k.startswith("refs/tags/")},
            }

    # -- HTTP ------------------------------------------------------------------------------
    def _log(self, method: str, path: str, query: str, status: int, user: str | None,
             kind: str) -> None:
        with self.state.lock:
            self.state.log.append(LoggedRequest(method, path, query, status, user, time.time(),
                                                kind, getattr(self._request, "token_kind", "")))

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes,
              headers: dict[str, str]) -> None:
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD" and body:
            h.wfile.write(body)

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        self._request.token_kind = ""
        url = urlsplit(h.path)
        path, query = url.path, url.query
        try:
            body = _read_body(h)
        except (ValueError, OSError):
            self._send(h, 400, b"bad request body", {"Content-Type": "text/plain"})
            return
        if path.startswith(ADMIN_PREFIX + "/"):
            self._admin(h, method, path[len(ADMIN_PREFIX):], query, body)
        elif path == GRAPHQL_PATH and method == "POST":
            self._graphql(h, body)
        elif path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            self._api(h, method, path[len(API_PREFIX):] or "/", query, body)
        elif gitserve.GIT_PATH.match(path):
            self._git(h, method, path, query, body)
        else:
            self._log(method, path, query, 404, None, "other")
            self._send(h, 404, b"Not Found", {"Content-Type": "text/plain"})

    def _graphql(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        """``pinIssue`` only, as GitHub answers it: ``{"data": ...}`` or ``{"errors": [...]}``.
        GraphQL is outside the REST description, so it is not validated against it."""
        token, _ = self._token(h)
        login = token.login if token else None
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if token is None:
            self._log("POST", "/graphql", "", 401, None, "api")
            self._send(h, 401, json.dumps({"message": BAD_CREDENTIALS}).encode(), headers)
            return
        try:
            doc = json.loads(body or b"{}")
            query = str(doc.get("query", ""))
            issue_id = str(((doc.get("variables") or {}).get("input") or {}).get("issueId", ""))
        except (ValueError, AttributeError):
            query, issue_id = "", ""
        answer: dict[str, Any]
        if "pinIssue(" not in query:
            answer = {"errors": [{"message": "the sandbox answers only the pinIssue mutation"}]}
        else:
            found = None
            with self.state.lock:
                for repo in self.state.repos.values():
                    for issue in repo.issues.values():
                        if shapes_node_id("Issue", issue.id) == issue_id and not issue.is_pull:
                            found = (repo, issue)
                if found is not None:
                    if token.integration:
                        # pinIssue needs issues: write on the issue's repository
                        allowed = token.covers(found[0].full_name) and permissions_mod.grants(
                            token.permissions or {}, "issues", "write")
                    else:
                        user = self.state.user(token.login)
                        role = user.role_on(found[0].full_name) if user else None
                        allowed = role in ("triage", "write", "maintain", "admin")
                    if not allowed:
                        found = None
                        answer = {"errors": [{"type": "FORBIDDEN", "message":
                                              f"{login} does not have permission to pin issues"}]}
                    else:
                        found[1].pinned = True
                        answer = {"data": {"pinIssue": {"issue": {"id": issue_id}}}}
                else:
                    answer = {"errors": [{"type": "NOT_FOUND", "message":
                                          f"Could not resolve to a node with the global id of "
                                          f"'{issue_id}'"}]}
        self._log("POST", "/graphql", "", 200, login, "api")
        self._send(h, 200, json.dumps(answer).encode(), headers)

    def _token(self, h: BaseHTTPRequestHandler) -> tuple[Token | None, bool]:
        """(token, credentials given): Authorization as GitHub takes it."""
        auth = h.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        token = None
        if scheme.lower() in ("token", "bearer"):
            token = value.strip()
        elif scheme.lower() == "basic":
            try:
                _, _, token = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None, True
        if token is None:
            return None, False
        with self.state.lock:
            found = self.state.tokens.get(token)
        # each request runs on its own thread: the log line written for it names the kind
        self._request.token_kind = found.kind if found else ""
        return found, True

    def _rate_headers(self, login: str | None) -> dict[str, str]:
        with self.state.lock:
            key = login or ""
            remaining = max(0, self.state.remaining.get(key, RATE_LIMIT) - 1)
            self.state.remaining[key] = remaining
        return {"X-RateLimit-Limit": str(RATE_LIMIT), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Used": str(RATE_LIMIT - remaining),
                "X-RateLimit-Reset": str(self._reset_at), "X-RateLimit-Resource": "core"}

    def _kill_point(self, after: bool) -> bool:
        """Count a write for the kill plan (``after`` False: before the write, True: after it)
        and kill its process group when it is the planned one (as a cancelled job's whole
        process tree goes, git children included); True when it killed."""
        with self.state.lock:
            plan = self.state.kill
            if plan is None or plan.fired:
                return False
            if not after:
                plan.seen += 1
            if plan.seen != plan.at or plan.after != after:
                return False
            plan.fired = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(plan.pid, signal.SIGKILL)
        # let the kill land before an answer could reach the process
        time.sleep(0.05)
        return True

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.state.lock:
            for fault in self.state.faults:
                wanted = fault.method in ("*", method) or (
                    fault.method == "WRITE" and method in WRITE_METHODS)
                if fault.times > 0 and wanted and re.search(fault.path, path):
                    fault.seen += 1
                    if fault.seen % fault.every:
                        continue
                    fault.times -= 1
                    if fault.times == 0:
                        self.state.faults.remove(fault)
                    return fault
        return None

    def _api(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
             body: bytes) -> None:
        token, given = self._token(h)
        login = token.login if token else None
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "X-GitHub-Media-Type": "github.v3; format=json",
                   "X-GitHub-Request-Id": secrets.token_hex(8).upper()}
        if given and login is None:
            self._finish_api(h, method, path, query, None, 401,
                             error_body(401, BAD_CREDENTIALS), headers, None)
            return
        headers.update(self._rate_headers(login))
        writing = method in WRITE_METHODS
        if writing and self._kill_point(after=False):
            return  # killed before the write: it never reaches the handler
        fault = self._take_fault(method, path)
        if fault is not None and not fault.after:
            self._fault(h, method, path, query, login, fault, headers)
            return
        found = routes.match(method, path)
        if found is None:
            self._finish_api(h, method, path, query, login, 404,
                             error_body(404, routes.NOT_FOUND), headers, None)
            return
        route, params = found
        qs = parse_qs(query, keep_blank_values=True)
        checked = self.validate and openapi.operation_exists(method, route.template)
        data, refusal = self._read_request(h, method, route, params, qs, body, checked)
        if refusal is not None:
            self._finish_api(h, method, path, query, login, *refusal, headers, None)
            return
        ctx = routes.Ctx(self.state, self.shapes, login, params, qs, data, path,
                         {"reset": str(self._reset_at)}, token)
        status, result, extra = self._dispatch(route, ctx)
        headers.update(extra)
        if writing:
            self._kill_point(after=True)
        if fault is not None:
            # the write took effect; its answer is lost
            self._fault(h, method, path, query, login, fault, headers)
            return
        self._finish_api(h, method, path, query, login, status, result, headers,
                         (route, params) if checked else None)

    def _read_request(self, h: BaseHTTPRequestHandler, method: str, route: routes.Route,
                      params: dict[str, str], qs: dict[str, list[str]], body: bytes,
                      checked: bool) -> tuple[Any, tuple[int, Any] | None]:
        """The request's JSON body, or GitHub's answer to a request it cannot take: one that
        breaks GitHub's description (422, and a violation recorded) or is not JSON (400)."""
        if checked:
            ctype = h.headers.get("Content-Type", "application/json")
            problem = openapi.validate_request(method, route.template, params, qs, body, ctype)
            if problem:
                self._violation(problem)
                return None, (422, error_body(422, "Invalid request.\n\n" + problem))
        try:
            return (json.loads(body) if body.strip() else None), None
        except ValueError:
            return None, (400, error_body(400, "Problems parsing JSON"))

    def _dispatch(self, route: routes.Route, ctx: routes.Ctx) -> tuple[int, Any, dict[str, str]]:
        """The route's answer, or GitHub's error: a token without the permission the endpoint
        needs, the route's own refusal, a git failure (500)."""
        try:
            with self.state.lock:
                refused = routes.authorize(self.state, ctx.token, route.method, route.template,
                                           ctx.params)
                if refused is not None:
                    raise refused
                return route.handler(ctx)
        except routes.ApiError as exc:
            return exc.status, error_body(exc.status, exc.message, exc.doc,
                                          exc.errors), exc.headers
        except gitops.GitFailed as exc:
            return 500, error_body(500, f"Server Error: {exc}"), {}

    def _finish_api(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
                    login: str | None, status: int, result: Any, headers: dict[str, str],
                    check: tuple[routes.Route, dict[str, str]] | None) -> None:
        data = b"" if result is None else json.dumps(result).encode()
        if result is None:
            headers.pop("Content-Type", None)
        elif 200 <= status < 300:
            # GitHub tags every successful answer; reads get a weak tag (their bodies are
            # compressed in transit), writes a strong one
            tag = etag(data)
            headers["ETag"] = f"W/{tag}" if method == "GET" else tag
        if check is not None:
            route, params = check
            problem = openapi.validate_response(method, route.template, params, status, data,
                                                "application/json")
            if problem:
                self._violation(problem)
        self._log(method, path, query, status, login, "api")
        self._send(h, status, data, headers)

    def _violation(self, problem: str) -> None:
        with self.state.lock:
            self.state.violations.append(problem)

    def _fault(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
               login: str | None, fault: Fault, headers: dict[str, str]) -> None:
        if fault.body is not None:
            body = fault.body
        elif fault.status in (403, 429):
            body = error_body(fault.status, RATE_LIMITED,
                              "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api")
        else:
            body = error_body(fault.status, FAULT_MESSAGES.get(fault.status, "Server Error"))
        if fault.retry_after is not None:
            headers["Retry-After"] = str(int(math.ceil(fault.retry_after)))
        if fault.rate_limit_reset is not None:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(math.ceil(time.time()
                                                             + fault.rate_limit_reset)))
        self._log(method, path, query, fault.status, login, "api")
        self._send(h, fault.status, json.dumps(body).encode(), headers)

    # -- git over HTTP ---------------------------------------------------------------------------
    def _git(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
             body: bytes) -> None:
        m = gitserve.GIT_PATH.match(path)
        assert m is not None
        service = gitserve.service_of(m["rest"], query)
        token, given = self._token(h)
        login = token.login if token else None
        with self.state.lock:
            repo = self.state.repo(f"{m['owner']}/{m['repo']}")
            user = self.state.user(login) if (login and token and not token.integration) \
                else None
            role = user.role_on(repo.full_name) if (user and repo) else None

        def deny(status: int, text: str) -> None:
            self._log(method, path, query, status, login, "git")
            # a 401 asks for credentials, as GitHub's git server does
            extra = {"WWW-Authenticate": 'Basic realm="GitHub"'} if status == 401 else {}
            self._send(h, status, text.encode(), {**extra, "Content-Type": "text/plain"})

        refusal = git_refusal(given, token, repo, role, service)
        if refusal is not None:
            return deny(*refusal)
        assert repo is not None
        try:
            payload = gitserve.decode_body(body, h.headers.get("Content-Encoding"))
        except OSError:
            return deny(400, "Cannot decode the request body.")
        if service == "receive-pack" and method == "POST":
            return self._git_push(h, method, path, query, m["rest"], repo, payload, token)
        status, headers, out = gitserve.run_backend(
            self.root, method, f"/{repo.full_name}.git{m['rest']}", query, payload,
            h.headers.get("Content-Type", ""), login or "anonymous",
            h.headers.get("Git-Protocol"))
        self._log(method, path, query, status, login, "git")
        self._send(h, status, out, headers)
        return None

    def _git_push(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
                  rest: str, repo: Repo, payload: bytes, token: Token | None) -> None:
        """A push: killed before it (a fault), refused as non-fast-forward (a fault), or run by
        git, then delivered as the ``push`` (and ``synchronize``) events it makes."""
        login = token.login if token else None
        if self._kill_point(after=False):
            return None  # killed before the push: it never reaches git
        with self.state.lock:
            before = gitops.refs(repo.path)
            reject = repo.reject_pushes > 0
            if reject:
                repo.reject_pushes -= 1
        if reject:
            out = gitserve.reject_non_fast_forward(payload)
            self._log(method, path, query, 200, login, "git")
            self._send(h, 200, out, {"Content-Type": "application/x-git-receive-pack-result",
                                     "Cache-Control": "no-cache"})
            return None
        status, headers, out = gitserve.run_backend(
            self.root, method, f"/{repo.full_name}.git{rest}", query, payload,
            h.headers.get("Content-Type", ""), login or "anonymous",
            h.headers.get("Git-Protocol"))
        with self.state.lock:
            repo.pushed_at = now_iso()
            merge_queue.refs_moved(self.state, repo, before, token)
        self._kill_point(after=True)
        self._log(method, path, query, status, login, "git")
        self._send(h, status, out, headers)
        return None

    # -- admin ---------------------------------------------------------------------------------
    def _admin(self, h: BaseHTTPRequestHandler, method: str, path: str, query: str,
               body: bytes) -> None:
        try:
            data = json.loads(body) if body.strip() else {}
            status, result = self._admin_route(method, path, parse_qs(query), data)
        except (ValueError, KeyError, TypeError) as exc:
            status, result = 400, {"message": str(exc)}
        self._log(method, ADMIN_PREFIX + path, query, status, None, "admin")
        self._send(h, status, json.dumps(result).encode(), {"Content-Type": "application/json"})

    def _admin_route(self, method: str, path: str, query: dict[str, list[str]],
                     data: dict[str, Any]) -> tuple[int, Any]:
        for part in (self._admin_world, self._admin_faults, self._admin_reads):
            answer = part(method, path, query, data)
            if answer is not None:
                return answer
        return 404, {"message": f"no admin route {method} {path}"}

    def _admin_world(self, method: str, path: str, query: dict[str, list[str]],
                     data: dict[str, Any]) -> tuple[int, Any] | None:
        """What sets the scene: repositories, users, Apps, tokens, workflow runs."""
        if (method, path) == ("POST", "/repos"):
            files = {k: base64.b64decode(v) if data.get("base64") else v
                     for k, v in (data.get("files") or {}).items()}
            repo_path = self.create_repo(data["full_name"], files,
                                         data.get("default_branch", "main"),
                                         bool(data.get("private", False)))
            return 201, {"path": str(repo_path), "git_url": self.git_url(data["full_name"])}
        if (method, path) == ("POST", "/users"):
            token = self.add_user(data["login"], data.get("permission", "write"),
                                  repos=data.get("repos"), type=data.get("type", "User"))
            return 201, {"login": data["login"], "token": token}
        if (method, path) == ("POST", "/apps"):
            self.create_app(data["slug"], data.get("permissions") or {})
            return 201, {"slug": data["slug"]}
        if (method, path) == ("POST", "/tokens"):
            token = self.mint_token(data["login"], kind=data["kind"], repo=data.get("repo"),
                                    permissions=data.get("permissions"))
            return 201, {"token": token}
        if (method, path) == ("POST", "/runs"):
            keys = ("head_sha", "head_branch", "name", "path", "event", "status", "conclusion",
                    "pull_requests")
            run_id = self.add_workflow_run(data["repo"], **{k: data[k] for k in keys
                                                            if k in data})
            return 201, {"id": run_id}
        return None

    def _admin_faults(self, method: str, path: str, query: dict[str, list[str]],
                      data: dict[str, Any]) -> tuple[int, Any] | None:
        """Faults to inject: errors, rate limits, rejected pushes."""
        if (method, path) == ("POST", "/reject-pushes"):
            self.reject_pushes(data["repo"], int(data.get("times", 1)))
            return 201, {"repo": data["repo"]}
        if (method, path) == ("POST", "/faults"):
            self.inject_fault(**{k: data[k] for k in ("method", "path", "status", "times",
                                                      "retry_after", "rate_limit_reset",
                                                      "body", "after", "every") if k in data})
            return 201, {"faults": len(self.state.faults)}
        if (method, path) == ("POST", "/faults/secondary-rate-limit"):
            self.inject_secondary_rate_limit(**{k: data[k] for k in ("method", "path", "times")
                                                if k in data})
            return 201, {"faults": len(self.state.faults)}
        if (method, path) == ("DELETE", "/faults"):
            self.clear_faults()
            return 200, {"faults": 0}
        return None

    def _admin_reads(self, method: str, path: str, query: dict[str, list[str]],
                     data: dict[str, Any]) -> tuple[int, Any] | None:
        """What a test reads back: deliveries, requests, violations, a repository's state."""
        if (method, path) == ("GET", "/deliveries"):
            since = int((query.get("since") or ["0"])[0])
            return 200, [asdict(d) for d in self.deliveries(since)]
        if (method, path) == ("GET", "/requests"):
            since = int((query.get("since") or ["0"])[0])
            return 200, [r.as_dict() for r in self.requests[since:]]
        if (method, path) == ("GET", "/violations"):
            return 200, self.violations
        if (method, path) == ("GET", "/info"):
            return 200, {"server_url": self.server_url, "api_url": self.api_url,
                         "token": self.token, "repos": sorted(self.state.repos)}
        if method == "GET" and path.startswith("/state/"):
            full = path[len("/state/"):]
            try:
                return 200, self.repo_state(full)
            except KeyError:
                return 404, {"message": f"no repository {full}"}
        return None

def git_refusal(given: bool, token: Token | None, repo: Repo | None, role: str | None,
                service: str) -> tuple[int, str] | None:
    """What GitHub's git server answers a clone, fetch or push it refuses (status, text), or
    None: a bad token, an unknown (or unseen private) repository, a push without write."""
    login = token.login if token else None
    if given and login is None:
        return 401, "Invalid username or token."
    if repo is None:
        return 404, "Repository not found."
    if (service == "receive-pack" or repo.private) and login is None:
        return 401, "Authentication required."
    push = service == "receive-pack"
    if token is not None and token.integration:
        # a GITHUB_TOKEN or installation token: its scope and its contents permission
        have = token.permissions or {}
        if repo.private and (not token.covers(repo.full_name)
                             or not permissions_mod.grants(have, "contents", "read")):
            return 404, "Repository not found."
        if push and not (token.covers(repo.full_name)
                         and permissions_mod.grants(have, "contents", "write")):
            return 403, PUSH_DENIED.format(repo=repo.full_name, login=login)
        return None
    if repo.private and role is None:
        return 404, "Repository not found."
    if push and (role is None or ROLES.index(role) < 2):
        return 403, PUSH_DENIED.format(repo=repo.full_name, login=login)
    return None
