"""The forge interface on GitHub, through PyGithub.

The base URL is an argument (callers pass ``GITHUB_API_URL``, so GitHub Enterprise Server and
the sandbox work). PyGithub's own retry and throttling are off (``seconds_between_*=None``);
``BotRetry`` (bot/adapters/http_retry.py) retries, bounds the wait and counts every request.
Responses are read as GitHub's JSON (``raw_data``) and turned into the core's models here, so no
PyGithub type leaves this module. After retries, errors become the core's typed errors, or a
``ForgeError`` naming the method, the path, the status and GitHub's message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException
from github.GithubObject import NonCompletableGithubObject
from github.PaginatedList import PaginatedList

from bot.adapters.http_retry import BotRetry, RetryPolicy
from bot.core.forge import (
    GITHUB_ACTIONS_BOT,
    CallCounter,
    CombinedStatus,
    Comment,
    Issue,
    MarkedComments,
    MergeMethod,
    MergeResult,
    NotFound,
    NotMergeable,
    Permission,
    PermissionDenied,
    PullRequest,
    PullState,
    Reaction,
    Release,
    RepoInfo,
    StaleHead,
    StateFilter,
    Status,
    StatusState,
    Unprocessable,
    WorkflowRun,
    normalize_permission,
)
from bot.errors import ForgeError, InputError, Problem

# how many times a POST whose answer was lost is looked for and, when not found, sent again
LOST_ANSWER_TRIES = 4
# a comment or issue with the very body the bot just sent, made this recently, is the bot's own
ADOPT_WINDOW_S = 120.0


class AnswerLost(ForgeError):
    """A POST got a 5xx or no answer: it may or may not have taken effect."""

DEFAULT_API_URL = "https://api.github.com"
# the most items GitHub gives in one page of a list
PER_PAGE = 100


class _Raw(NonCompletableGithubObject):
    """Any JSON object GitHub returns, kept as it came (for PaginatedList)."""

    def _initAttributes(self) -> None:
        pass

    def _useAttributes(self, attributes: dict[str, Any]) -> None:
        pass


def _pull(d: Mapping[str, Any]) -> PullRequest:
    return PullRequest(
        number=d["number"],
        title=d.get("title") or "",
        body=d.get("body") or "",
        state=d["state"],
        merged=bool(d.get("merged") or d.get("merged_at")),
        merge_commit_sha=d.get("merge_commit_sha") if d.get("merged_at") else None,
        head_ref=d["head"]["ref"],
        head_sha=d["head"]["sha"],
        base_ref=d["base"]["ref"],
        base_sha=d["base"]["sha"],
        labels=tuple(lb["name"] for lb in d.get("labels") or []),
        author=(d.get("user") or {}).get("login", ""),
        url=d.get("html_url") or "",
        draft=bool(d.get("draft")),
        requested_reviewers=tuple(u["login"] for u in d.get("requested_reviewers") or []
                                  if isinstance(u, dict) and u.get("login")),
    )


def _issue(d: Mapping[str, Any]) -> Issue:
    return Issue(
        number=d["number"],
        title=d.get("title") or "",
        body=d.get("body") or "",
        state=d["state"],
        labels=tuple(lb["name"] for lb in d.get("labels") or []),
        author=(d.get("user") or {}).get("login", ""),
        url=d.get("html_url") or "",
        is_pull_request="pull_request" in d and d["pull_request"] is not None,
        node_id=d.get("node_id") or "",
    )


def _comment(d: Mapping[str, Any]) -> Comment:
    user = d.get("user") or {}
    return Comment(
        id=d["id"],
        body=d.get("body") or "",
        author=user.get("login", ""),
        author_type=user.get("type", "User"),
        created_at=d.get("created_at") or "",
        updated_at=d.get("updated_at") or "",
        url=d.get("html_url") or "",
    )


def _status(d: Mapping[str, Any]) -> Status:
    return Status(
        context=d.get("context") or "default",
        state=d["state"],
        description=d.get("description") or "",
        target_url=d.get("target_url"),
    )


def _release(d: Mapping[str, Any]) -> Release:
    return Release(id=d["id"], tag=d["tag_name"], name=d.get("name") or "",
                   body=d.get("body") or "", draft=bool(d.get("draft")),
                   url=d.get("html_url") or "")


def _message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    msg = str(data.get("message") or exc.message or "")
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        details = [e.get("message") or e.get("code") if isinstance(e, dict) else str(e)
                   for e in errors]
        msg += " (" + "; ".join(str(d) for d in details if d) + ")"
    return msg or "no message"


class GitHubForge(MarkedComments):
    """One repository on GitHub (or GHES, or the sandbox)."""

    publishes_releases = True

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        bot_login: str | None = GITHUB_ACTIONS_BOT,
        max_wait: float = 60.0,
        timeout: int = 30,
        policy: RetryPolicy | None = None,
    ):
        if repo.count("/") != 1:
            raise ForgeError(f"repository {repo!r}: expected owner/name")
        self._full_name = repo
        self.bot_login = bot_login
        self.calls = CallCounter()
        self.policy = policy or RetryPolicy(max_wait=max_wait)
        self.policy.counter = self.calls
        self.gh = Github(
            auth=Auth.Token(token),
            base_url=api_url.rstrip("/"),
            timeout=timeout,
            per_page=PER_PAGE,
            retry=BotRetry(self.policy),
            # PyGithub's pauses between requests are off; the bot's policy paces retries
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            user_agent="improve-bot",
        )
        self._req = self.gh.requester
        self._base = f"/repos/{repo}"

    @property
    def full_name(self) -> str:
        return self._full_name

    def close(self) -> None:
        self.gh.close()

    # --- calling --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _call(self, name: str, method: str, path: str) -> Iterator[None]:
        """Count one operation; turn whatever PyGithub raises into the core's errors."""
        self.calls.operation(name)
        self.policy.last_giveup = ""
        try:
            yield
        except GithubException as exc:
            status = exc.status
            where = f"{method} {path}: {status} {_message(exc)}"
            if self.policy.last_giveup:
                where += f" [{self.policy.last_giveup}]"
            if method == "POST" and status >= 500:
                raise AnswerLost(where) from None
            raise self._typed(name, status, where) from None
        except requests.RequestException as exc:
            why = self.policy.last_giveup or type(exc).__name__
            error = AnswerLost if method == "POST" else ForgeError
            raise error(f"{method} {path}: no answer from GitHub ({why})") from None

    def _post(self, name: str, path: str, body: Mapping[str, Any] | None,
              find: Callable[[], Any] | None = None) -> Any:
        """A POST that may be repeated safely: when its answer is lost, ``find`` looks for its
        effect (the comment by its body, the pull request by its branch) and what it finds is
        adopted; only when nothing is found is the POST sent again. Without ``find`` the POST
        is one whose repetition changes nothing (a label, a reaction, a status)."""
        return self._again(lambda: self._json(name, "POST", path, body), name, find)

    def _again(self, fn: Callable[[], Any], name: str = "",
               find: Callable[[], Any] | None = None) -> Any:
        """``fn``, a POST, sent again when its answer is lost, after a pause; with ``find``,
        its effect is looked for first and, when found, adopted instead (see ``_post``)."""
        for attempt in range(LOST_ANSWER_TRIES):
            try:
                return fn()
            except AnswerLost:
                if attempt + 1 == LOST_ANSWER_TRIES:
                    raise
                self.policy.sleep(min(self.policy.max_backoff,
                                      self.policy.backoff * 2 ** attempt))
                if find is not None:
                    found = find()
                    if found is not None:
                        # counted apart: an adoption is not an operation a stage asked for
                        key = f"{name}_adopted"
                        self.calls.by_operation[key] = self.calls.by_operation.get(key, 0) + 1
                        return found
        raise AssertionError("unreachable")

    def _recent(self, created_at: str, since: float) -> bool:
        with contextlib.suppress(ValueError):
            made = datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp()
            return made >= since - ADOPT_WINDOW_S
        return True

    @staticmethod
    def _typed(name: str, status: int, message: str) -> ForgeError:
        if status == 404:
            return NotFound(message)
        if status == 409 and name == "merge_pull":
            return StaleHead(message)
        if status == 405:
            return NotMergeable(message)
        if status == 403:
            return PermissionDenied(message)
        if status == 422:
            return Unprocessable(message)
        return ForgeError(message)

    def _json(
        self, name: str, method: str, path: str, body: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        with self._call(name, method, path):
            _, data = self._req.requestJsonAndCheck(
                method, path, parameters=dict(params) if params else None,
                input=dict(body) if body is not None else None,
            )
        return data

    def _list(self, name: str, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every page of a list (PyGithub follows the Link headers)."""
        with self._call(name, "GET", path):
            pages = PaginatedList(_Raw, self._req, path, dict(params or {}))
            return [item.raw_data for item in pages]

    # --- the interface --------------------------------------------------------------------

    def repo_info(self) -> RepoInfo:
        d = self._json("repo_info", "GET", self._base)
        return RepoInfo(full_name=d["full_name"], default_branch=d["default_branch"],
                        private=bool(d.get("private")), html_url=d.get("html_url") or "")

    def read_file(self, path: str, ref: str | None = None) -> str | None:
        url = f"{self._base}/contents/{quote(path.lstrip('/'))}"
        try:
            d = self._json("read_file", "GET", url, params={"ref": ref} if ref else None)
        except NotFound:
            return None
        if isinstance(d, list) or d.get("type") != "file":
            return None
        if d.get("encoding") == "base64":
            return base64.b64decode(d.get("content") or "").decode("utf-8", errors="replace")
        return str(d.get("content") or "")

    def list_pulls(
        self,
        *,
        state: StateFilter = "open",
        head: str | None = None,
        base: str | None = None,
        label: str | None = None,
    ) -> list[PullRequest]:
        params: dict[str, Any] = {"state": state, "sort": "created", "direction": "desc",
                                  "per_page": PER_PAGE}
        if head:
            # GitHub filters by "owner:branch"; a bare branch means this repository's
            params["head"] = head if ":" in head else f"{self._full_name.split('/')[0]}:{head}"
        if base:
            params["base"] = base
        pulls = [_pull(d) for d in self._list("list_pulls", f"{self._base}/pulls", params)]
        return [p for p in pulls if label is None or label in p.labels]

    def get_pull(self, number: int) -> PullRequest:
        return _pull(self._json("get_pull", "GET", f"{self._base}/pulls/{number}"))

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
        def find() -> Any:
            owner = self._full_name.split("/")[0]
            found = self._list("list_pulls", f"{self._base}/pulls",
                               {"state": "open", "head": f"{owner}:{head}", "base": base})
            return found[0] if found else None

        d = self._post("create_pull", f"{self._base}/pulls",
                       {"title": title, "body": body, "head": head, "base": base,
                        "draft": draft}, find)
        pr = _pull(d)
        if labels:
            names = self.add_labels(pr.number, labels)
            pr = pr.model_copy(update={"labels": names})
        return pr

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
    ) -> PullRequest:
        patch = {k: v for k, v in (("title", title), ("body", body), ("state", state))
                 if v is not None}
        return _pull(self._json("update_pull", "PATCH", f"{self._base}/pulls/{number}", patch))

    def add_labels(self, number: int, labels: Sequence[str]) -> tuple[str, ...]:
        path = f"{self._base}/issues/{number}/labels"
        existing = {d["name"] for d in self._list("list_labels", f"{self._base}/labels")}
        for name in labels:
            if name not in existing:
                with contextlib.suppress(Unprocessable):  # created meanwhile: fine
                    self._post("create_label", f"{self._base}/labels",
                               {"name": name, "color": "ededed",
                                "description": "Created by the improve bot"})
        d = self._post("add_labels", path, {"labels": list(labels)})
        return tuple(lb["name"] for lb in d)

    def remove_label(self, number: int, label: str) -> None:
        path = f"{self._base}/issues/{number}/labels/{quote(label, safe='')}"
        with contextlib.suppress(NotFound):
            self._json("remove_label", "DELETE", path)

    def pull_files(self, number: int) -> list[str]:
        files = self._list("pull_files", f"{self._base}/pulls/{number}/files",
                           {"per_page": PER_PAGE})
        out: set[str] = set()
        for f in files:
            out.add(f["filename"])
            if f.get("previous_filename"):
                out.add(f["previous_filename"])
        return sorted(out)

    def pull_commit_authors(self, number: int) -> list[str]:
        commits = self._list("pull_commits", f"{self._base}/pulls/{number}/commits",
                             {"per_page": PER_PAGE})
        found = {(c.get(role) or {}).get("login") for c in commits
                 for role in ("author", "committer") if isinstance(c, dict)}
        return sorted(str(login) for login in found if login)

    def merge_pull(
        self,
        number: int,
        *,
        method: MergeMethod = "merge",
        sha: str | None = None,
        title: str | None = None,
        message: str | None = None,
    ) -> MergeResult:
        body: dict[str, Any] = {"merge_method": method}
        for key, value in (("sha", sha), ("commit_title", title), ("commit_message", message)):
            if value is not None:
                body[key] = value
        try:
            d = self._json("merge_pull", "PUT", f"{self._base}/pulls/{number}/merge", body)
        except ForgeError:  # NotMergeable and StaleHead among them
            # a merge whose answer was lost is retried and refused as "already merged": the
            # pull request tells whether it was merged, and with the approved head
            pr = self.get_pull(number)
            if pr.merged and pr.merge_commit_sha and (sha is None or pr.head_sha == sha):
                return MergeResult(merged=True, sha=pr.merge_commit_sha,
                                   message="Pull Request successfully merged")
            raise
        return MergeResult(merged=bool(d.get("merged")), sha=d.get("sha") or "",
                           message=d.get("message") or "")

    def list_comments(self, number: int) -> list[Comment]:
        path = f"{self._base}/issues/{number}/comments"
        return [_comment(d) for d in self._list("list_comments", path, {"per_page": PER_PAGE})]

    def create_comment(self, number: int, body: str) -> Comment:
        path = f"{self._base}/issues/{number}/comments"
        since = time.time()

        def find() -> Any:
            mine = [d for d in self._list("list_comments", path, {"per_page": PER_PAGE})
                    if (d.get("body") or "") == body
                    and self._recent(d.get("created_at") or "", since)]
            return mine[-1] if mine else None

        return _comment(self._post("create_comment", path, {"body": body}, find))

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        path = f"{self._base}/issues/comments/{comment_id}"
        return _comment(self._json("edit_comment", "PATCH", path, {"body": body}))

    def delete_comment(self, comment_id: int) -> None:
        # a retried DELETE whose first answer was lost finds the comment gone: that is done
        with contextlib.suppress(NotFound):
            self._json("delete_comment", "DELETE",
                       f"{self._base}/issues/comments/{comment_id}")

    def add_reaction(self, comment_id: int, content: Reaction) -> bool:
        path = f"{self._base}/issues/comments/{comment_id}/reactions"
        # repeating a reaction changes nothing (GitHub answers 200 for one it has)
        return bool(self._again(lambda: self._react(path, content)))

    def _react(self, path: str, content: Reaction) -> bool:
        with self._call("add_reaction", "POST", path):
            # requestJson rather than requestJsonAndCheck: the status tells new from existing
            status, headers, output = self._req.requestJson("POST", path,
                                                             input={"content": content})
            if status >= 400:
                data: Any = None
                with contextlib.suppress(ValueError):
                    data = json.loads(output) if output else None
                raise self._req.createException(status, headers, data)
        # 201: a new reaction; 200: the bot had already reacted so (a redelivered event)
        return status == 201

    def list_reactions(self, comment_id: int) -> list[tuple[str, str]]:
        path = f"{self._base}/issues/comments/{comment_id}/reactions"
        return sorted((d["content"], (d.get("user") or {}).get("login", ""))
                      for d in self._list("list_reactions", path))

    def set_status(
        self,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> Status:
        body: dict[str, Any] = {"state": state, "context": context,
                                "description": description[:140]}
        if target_url:
            body["target_url"] = target_url
        return _status(self._post("set_status", f"{self._base}/statuses/{sha}", body))

    def combined_status(self, sha: str) -> CombinedStatus:
        d = self._json("combined_status", "GET", f"{self._base}/commits/{sha}/status",
                       params={"per_page": PER_PAGE})
        statuses = tuple(_status(s) for s in d.get("statuses") or [])
        # GitHub says "pending" for a commit with no status at all, as the local forge does
        return CombinedStatus(sha=d.get("sha") or sha, state=d["state"], statuses=statuses)

    def create_issue(self, *, title: str, body: str, labels: Sequence[str] = ()) -> Issue:
        since = time.time()

        def find() -> Any:
            mine = [d for d in self._list("list_issues", f"{self._base}/issues",
                                          {"state": "open", "per_page": PER_PAGE})
                    if d.get("title") == title and (d.get("body") or "") == body
                    and "pull_request" not in d
                    and self._recent(d.get("created_at") or "", since)]
            return mine[0] if mine else None

        issue = _issue(self._post("create_issue", f"{self._base}/issues",
                                  {"title": title, "body": body}, find))
        if labels:
            issue = issue.model_copy(update={"labels": self.add_labels(issue.number, labels)})
        return issue

    def get_issue(self, number: int) -> Issue:
        return _issue(self._json("get_issue", "GET", f"{self._base}/issues/{number}"))

    def pin_issue(self, issue: Issue) -> None:
        node = issue.node_id or self.get_issue(issue.number).node_id
        url = self._req.graphql_url

        def pin() -> Any:
            with self._call("pin_issue", "POST", url):
                _, out = self._req.graphql_query(
                    "mutation($input: PinIssueInput!) { pinIssue(input: $input) "
                    "{ issue { id } } }", {"input": {"issueId": node}},
                )
            return out

        data = self._again(pin)  # pinning a pinned issue changes nothing
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors:
            message = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict))
            raise ForgeError(f"POST {url}: pinIssue #{issue.number}: {message}")

    def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
        labels: Sequence[str] | None = None,
    ) -> Issue:
        patch: dict[str, Any] = {k: v for k, v in
                                 (("title", title), ("body", body), ("state", state))
                                 if v is not None}
        if labels is not None:
            patch["labels"] = list(labels)
        return _issue(self._json("update_issue", "PATCH", f"{self._base}/issues/{number}",
                                 patch))

    def list_issues(self, *, label: str | None = None, state: StateFilter = "open") -> list[Issue]:
        params: dict[str, Any] = {"state": state, "per_page": PER_PAGE}
        if label:
            params["labels"] = label
        items = [_issue(d) for d in self._list("list_issues", f"{self._base}/issues", params)]
        return [i for i in items if not i.is_pull_request]

    def list_workflow_runs(self, *, head_sha: str, event: str | None = None) -> list[WorkflowRun]:
        params: dict[str, Any] = {"head_sha": head_sha, "per_page": PER_PAGE}
        if event:
            params["event"] = event
        d = self._json("list_workflow_runs", "GET", f"{self._base}/actions/runs", params=params)
        runs = [
            WorkflowRun(id=r["id"], name=r.get("name") or "", path=r.get("path") or "",
                        head_sha=r["head_sha"], event=r.get("event") or "",
                        status=r.get("status") or "", conclusion=r.get("conclusion"),
                        run_attempt=r.get("run_attempt") or 1, url=r.get("html_url") or "")
            for r in d.get("workflow_runs") or []
        ]
        return sorted(runs, key=lambda r: -r.id)

    def branch_sha(self, branch: str) -> str | None:
        try:
            d = self._json("branch_sha", "GET",
                           f"{self._base}/git/ref/heads/{quote(branch, safe='/')}")
        except NotFound:
            return None
        return str(d["object"]["sha"]) if isinstance(d, dict) else None

    def request_reviewers(self, number: int, users: Sequence[str],
                          teams: Sequence[str] = ()) -> tuple[str, ...]:
        body: dict[str, Any] = {"reviewers": list(users)}
        if teams:
            body["team_reviewers"] = list(teams)
        # asking again asks nobody twice: a lost answer is simply sent again
        d = self._post("request_reviewers",
                       f"{self._base}/pulls/{number}/requested_reviewers", body)
        return tuple(u["login"] for u in d.get("requested_reviewers") or []
                     if isinstance(u, dict) and u.get("login"))

    def get_release(self, tag: str) -> Release | None:
        path = f"{self._base}/releases/tags/{quote(tag, safe='')}"
        try:
            return _release(self._json("get_release", "GET", path))
        except NotFound:
            return None

    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        def find() -> Any:
            with contextlib.suppress(NotFound):
                return self._json("get_release", "GET",
                                  f"{self._base}/releases/tags/{quote(tag, safe='')}")
            return None

        return _release(self._post("create_release", f"{self._base}/releases",
                                   {"tag_name": tag, "name": name, "body": body}, find))

    def update_release(self, release_id: int, *, name: str | None = None,
                       body: str | None = None) -> Release:
        patch = {k: v for k, v in (("name", name), ("body", body)) if v is not None}
        return _release(self._json("update_release", "PATCH",
                                   f"{self._base}/releases/{release_id}", patch))

    def rerun_workflow(self, run_id: int) -> None:
        self._post("rerun_workflow", f"{self._base}/actions/runs/{run_id}/rerun", None)

    def permission(self, user: str) -> Permission:
        path = f"{self._base}/collaborators/{quote(user, safe='')}/permission"
        try:
            d = self._json("permission", "GET", path)
        except NotFound:
            return "none"
        # role_name tells maintain and triage apart; permission folds them into write/read
        role = normalize_permission(d.get("role_name"))
        return role if role != "none" else normalize_permission(d.get("permission"))


# what `--forge github` needs from the environment, as a workflow step has it
NEEDS_ENV = "is not set; --forge github needs it (or use --forge local in a plain repository)"


def forge_for(
    full_name: str, token: str, env: Mapping[str, str], api_url: str | None = None
) -> GitHubForge:
    """The forge as a workflow step sees it: the API from ``GITHUB_API_URL`` (GitHub Enterprise
    Server), and the bot's login from ``IMPROVE_BOT_LOGIN`` (a GitHub App token writes as
    ``<app-slug>[bot]``, and the bot must recognise its own comments)."""
    return GitHubForge(
        full_name,
        token,
        api_url=api_url or env.get("GITHUB_API_URL") or DEFAULT_API_URL,
        bot_login=env.get("IMPROVE_BOT_LOGIN") or GITHUB_ACTIONS_BOT,
    )


def forge_from_env(env: Mapping[str, str]) -> GitHubForge:
    """``forge_for`` the repository and token of ``GITHUB_REPOSITORY`` and ``GITHUB_TOKEN``."""
    missing = [v for v in ("GITHUB_REPOSITORY", "GITHUB_TOKEN") if not env.get(v)]
    if missing:
        raise InputError([Problem(v, NEEDS_ENV) for v in missing])
    return forge_for(env["GITHUB_REPOSITORY"], env["GITHUB_TOKEN"], env)
