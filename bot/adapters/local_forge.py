"""The local forge: the forge interface with git alone, so the whole loop runs with no GitHub.

A pull request is a branch plus a JSON record; comments, statuses, labels, reactions and issues
are JSON records too. All of them live under ``forge/`` on the data branch (``improve-data`` by
default) of one repository, which plays the part of the remote: use a bare repository, or one
whose checked-out branch is not written to while the forge runs (a merge into the checked-out
branch of a clean working tree moves that tree along; a dirty one is refused).

Every write is one commit on the data branch, made without touching any working tree and moved
with a compare-and-swap, so two writers never lose each other's records.

Permissions are not stored: they come from the constructor (``permissions={"alice": "write"}``;
``default_permission`` for everyone else, "none" unless said otherwise); the bot's own login has
"write". ``actor`` is who performs the operations (the bot by default): a test or a person
commenting as "alice" uses a second ``LocalForge`` on the same repository with ``actor="alice"``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from git import Blob

from bot.adapters.git import Git, GitError, MergeConflict
from bot.core.forge import (
    REACTIONS,
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
    combine_statuses,
)
from bot.errors import ForgeError

T = TypeVar("T")
ROOT = "forge"
META = f"{ROOT}/meta.json"
DEFAULT_BOT_LOGIN = "improve[bot]"
CAS_ATTEMPTS = 10
NO_RELEASES = ("the local forge has no Releases page (publishes_releases is False): a release "
               "is its tag and its changelog entry")

Records = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


class LocalForge(MarkedComments):
    """The forge interface over one local git repository."""

    # tags alone: there is no Releases page to publish a release's notes on
    publishes_releases = False

    def __init__(
        self,
        path: str | Path,
        *,
        full_name: str | None = None,
        data_branch: str = "improve-data",
        bot_login: str = DEFAULT_BOT_LOGIN,
        actor: str | None = None,
        permissions: Mapping[str, Permission] | None = None,
        default_permission: Permission = "none",
    ):
        self.git = Git(path)
        self._full_name = full_name or f"local/{Path(path).resolve().name.removesuffix('.git')}"
        self.data_branch = data_branch
        self.bot_login = bot_login
        self.actor = actor or bot_login
        self.permissions = dict(permissions or {})
        self.default_permission: Permission = default_permission
        self.calls = CallCounter()

    # --- records on the data branch -------------------------------------------------------

    def _read(self, path: str) -> Any:
        text = self.git.file_at(f"refs/heads/{self.data_branch}", path)
        return None if text is None else json.loads(text)

    def _read_dir(self, sub: str) -> list[Any]:
        ref = f"refs/heads/{self.data_branch}"
        if self.git.try_rev_parse(ref) is None:
            return []
        tree = self.git.repo.commit(ref).tree
        try:
            folder = tree / f"{ROOT}/{sub}"
        except KeyError:
            return []
        blobs = [b for b in folder.traverse() if isinstance(b, Blob)]
        return [json.loads(b.data_stream.read()) for b in blobs]

    def _transact(self, message: str, change: Callable[[], tuple[dict[str, str | None], T]]) -> T:
        """Apply ``change`` (which reads the records and returns the files to write and a
        result) and commit it; when another writer moved the branch meanwhile, do it again."""
        for _ in range(CAS_ATTEMPTS):
            files, result = change()
            try:
                self.git.commit_to_branch(self.data_branch, files, f"forge: {message}")
                return result
            except GitError as exc:
                if "update-ref" not in str(exc):
                    raise
        raise ForgeError(f"local forge: {message}: the data branch kept moving; try again")

    def _meta(self) -> dict[str, Any]:
        meta = self._read(META) or {}
        meta.setdefault("next_number", 1)
        meta.setdefault("next_comment", 1)
        meta.setdefault("labels", [])
        return meta

    def _record(self, number: int) -> dict[str, Any]:
        rec = self._read(f"{ROOT}/issues/{number}.json")
        if rec is None:
            raise NotFound(f"local forge: issue or pull request #{number} not found")
        return dict(rec)

    def _comment_record(self, comment_id: int) -> dict[str, Any]:
        rec = self._read(f"{ROOT}/comments/{comment_id}.json")
        if rec is None:
            raise NotFound(f"local forge: comment {comment_id} not found")
        return dict(rec)

    # --- conversion -----------------------------------------------------------------------

    def _branch_sha(self, branch: str) -> str | None:
        return self.git.try_rev_parse(f"refs/heads/{branch}")

    def _pull(self, rec: Mapping[str, Any]) -> PullRequest:
        live = rec["state"] == "open"
        head_sha = (self._branch_sha(rec["head_ref"]) if live else None) or rec["head_sha"]
        base_sha = (self._branch_sha(rec["base_ref"]) if live else None) or rec["base_sha"]
        return PullRequest(
            number=rec["number"],
            title=rec["title"],
            body=rec["body"],
            state=rec["state"],
            merged=rec.get("merged", False),
            merge_commit_sha=rec.get("merge_commit_sha"),
            head_ref=rec["head_ref"],
            head_sha=head_sha,
            base_ref=rec["base_ref"],
            base_sha=base_sha,
            labels=tuple(rec.get("labels", [])),
            author=rec.get("author", ""),
            url=f"local:{self._full_name}#{rec['number']}",
            draft=rec.get("draft", False),
            requested_reviewers=tuple(rec.get("requested_reviewers", [])),
        )

    def _issue(self, rec: Mapping[str, Any]) -> Issue:
        return Issue(
            number=rec["number"],
            title=rec["title"],
            body=rec["body"],
            state=rec["state"],
            labels=tuple(rec.get("labels", [])),
            author=rec.get("author", ""),
            url=f"local:{self._full_name}#{rec['number']}",
            is_pull_request=rec["kind"] == "pull",
            pinned=bool(rec.get("pinned")),
        )

    @staticmethod
    def _comment(rec: Mapping[str, Any]) -> Comment:
        return Comment(
            id=rec["id"],
            body=rec["body"],
            author=rec["author"],
            author_type=rec.get("author_type", "User"),
            created_at=rec["created_at"],
            updated_at=rec["updated_at"],
        )

    def _op(self, name: str) -> None:
        # one local operation stands for one API request, so call budgets compare across forges
        self.calls.operation(name)
        self.calls.requests += 1

    def _author_type(self) -> str:
        return "Bot" if self.actor.endswith("[bot]") else "User"

    # --- the interface --------------------------------------------------------------------

    @property
    def full_name(self) -> str:
        return self._full_name

    def _default_branch(self) -> str:
        try:
            return self.git.run("symbolic-ref", "--short", "HEAD")
        except GitError:
            return "main"

    def repo_info(self) -> RepoInfo:
        self._op("repo_info")
        return RepoInfo(full_name=self._full_name, default_branch=self._default_branch())

    def read_file(self, path: str, ref: str | None = None) -> str | None:
        self._op("read_file")
        return self.git.file_at(ref or self._default_branch(), path)

    def list_pulls(
        self,
        *,
        state: StateFilter = "open",
        head: str | None = None,
        base: str | None = None,
        label: str | None = None,
    ) -> list[PullRequest]:
        self._op("list_pulls")
        # GitHub's filter is "owner:branch"; a bare branch name is taken as this repository's
        head = head.split(":", 1)[1] if head and ":" in head else head
        out = []
        for rec in self._read_dir("issues"):
            if rec["kind"] != "pull":
                continue
            if state != "all" and rec["state"] != state:
                continue
            if head and rec["head_ref"] != head or base and rec["base_ref"] != base:
                continue
            if label and label not in rec.get("labels", []):
                continue
            out.append(self._pull(rec))
        return sorted(out, key=lambda p: -p.number)

    def get_pull(self, number: int) -> PullRequest:
        self._op("get_pull")
        rec = self._record(number)
        if rec["kind"] != "pull":
            raise NotFound(f"local forge: #{number} is an issue, not a pull request")
        return self._pull(rec)

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
        self._op("create_pull")
        head_sha = self._branch_sha(head)
        base_sha = self._branch_sha(base)
        if head_sha is None or base_sha is None:
            missing = head if head_sha is None else base
            raise Unprocessable(f"local forge: create pull request: branch {missing} not found")
        if head_sha == base_sha or self.git.is_ancestor(head_sha, base_sha):
            raise Unprocessable(f"local forge: create pull request: no commits between {base} "
                                f"and {head}")

        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            for rec in self._read_dir("issues"):
                if rec["kind"] == "pull" and rec["state"] == "open" and rec["head_ref"] == head:
                    raise Unprocessable(
                        f"local forge: a pull request already exists for {head} "
                        f"(#{rec['number']})"
                    )
            meta = self._meta()
            number = meta["next_number"]
            meta["next_number"] = number + 1
            meta["labels"] = sorted(set(meta["labels"]) | set(labels))
            rec = {
                "kind": "pull", "number": number, "title": title, "body": body,
                "state": "open", "merged": False, "merge_commit_sha": None,
                "head_ref": head, "head_sha": head_sha, "base_ref": base, "base_sha": base_sha,
                "labels": sorted(set(labels)), "author": self.actor, "draft": draft,
                "created_at": _now(),
            }
            return {META: _dump(meta), f"{ROOT}/issues/{number}.json": _dump(rec)}, rec

        return self._pull(self._transact(f"open pull request from {head}", change))

    def _update(self, number: int, what: str, apply: Callable[[dict[str, Any]], None]) -> Any:
        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            rec = self._record(number)
            apply(rec)
            rec["updated_at"] = _now()
            return {f"{ROOT}/issues/{number}.json": _dump(rec)}, rec

        return self._transact(f"{what} #{number}", change)

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
    ) -> PullRequest:
        self._op("update_pull")

        def apply(rec: dict[str, Any]) -> None:
            if rec["kind"] != "pull":
                raise NotFound(f"local forge: #{number} is not a pull request")
            if title is not None:
                rec["title"] = title
            if body is not None:
                rec["body"] = body
            if state is not None and state != rec["state"]:
                if rec.get("merged"):
                    raise Unprocessable(f"local forge: #{number} is merged; it cannot reopen")
                # freeze the shas a closed pull request shows, as GitHub does
                rec["head_sha"] = self._branch_sha(rec["head_ref"]) or rec["head_sha"]
                rec["base_sha"] = self._branch_sha(rec["base_ref"]) or rec["base_sha"]
                rec["state"] = state

        return self._pull(self._update(number, "update", apply))

    def add_labels(self, number: int, labels: Sequence[str]) -> tuple[str, ...]:
        self._op("add_labels")

        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            rec = self._record(number)
            meta = self._meta()
            meta["labels"] = sorted(set(meta["labels"]) | set(labels))
            rec["labels"] = sorted(set(rec.get("labels", [])) | set(labels))
            files: dict[str, str | None] = {
                META: _dump(meta), f"{ROOT}/issues/{number}.json": _dump(rec)
            }
            return files, rec

        return tuple(self._transact(f"label #{number}", change)["labels"])

    def remove_label(self, number: int, label: str) -> None:
        self._op("remove_label")

        def apply(rec: dict[str, Any]) -> None:
            rec["labels"] = [x for x in rec.get("labels", []) if x != label]

        self._update(number, "unlabel", apply)

    def request_reviewers(self, number: int, users: Sequence[str],
                          teams: Sequence[str] = ()) -> tuple[str, ...]:
        """As GitHub: the author cannot be asked; anyone else the local forge knows of (it
        keeps no accounts: a person is the name they act under) can."""
        self._op("request_reviewers")

        def apply(rec: dict[str, Any]) -> None:
            if rec["kind"] != "pull":
                raise NotFound(f"local forge: #{number} is not a pull request")
            if any(u.lower() == rec.get("author", "").lower() for u in users):
                raise Unprocessable("Review cannot be requested from pull request author.")
            asked = list(rec.get("requested_reviewers", []))
            rec["requested_reviewers"] = asked + [u for u in users if u not in asked]

        rec = self._update(number, "request review on", apply)
        return tuple(rec["requested_reviewers"])

    def pull_files(self, number: int) -> list[str]:
        self._op("pull_files")
        pr = self._pull(self._record(number))
        return self.git.changed_paths(pr.base_sha, pr.head_sha)

    def pull_commit_authors(self, number: int) -> list[str]:
        """The local forge has no accounts: a person is their git name (the login they act
        under with ``actor``), so the names of the branch's authors and committers."""
        self._op("pull_commit_authors")
        pr = self._pull(self._record(number))
        out = self.git.run("log", "--format=%an%n%cn", f"{pr.base_sha}..{pr.head_sha}")
        return sorted({line.strip() for line in out.splitlines() if line.strip()})

    def merge_pull(
        self,
        number: int,
        *,
        method: MergeMethod = "merge",
        sha: str | None = None,
        title: str | None = None,
        message: str | None = None,
    ) -> MergeResult:
        self._op("merge_pull")
        rec = self._record(number)
        if rec["kind"] != "pull":
            raise NotFound(f"local forge: #{number} is not a pull request")
        pr = self._pull(rec)
        if pr.state != "open":
            raise NotMergeable(f"local forge: merge #{number}: Pull Request is not mergeable "
                               f"(it is {pr.state})")
        if sha is not None and sha != pr.head_sha:
            raise StaleHead(f"local forge: merge #{number}: Head branch was modified "
                            f"(expected {sha[:12]}, head is {pr.head_sha[:12]})")
        try:
            new = self._merge_commit(pr, method, title, message)
        except MergeConflict as exc:
            raise NotMergeable(f"local forge: merge #{number}: Pull Request is not mergeable: "
                               f"conflict in {', '.join(exc.paths)}") from None
        base_ref = f"refs/heads/{pr.base_ref}"
        try:
            self.git.run("update-ref", base_ref, new, pr.base_sha)
        except GitError:
            raise StaleHead(f"local forge: merge #{number}: base branch {pr.base_ref} moved "
                            "during the merge; try again") from None
        self._follow_checked_out(pr.base_ref, pr.base_sha, new)

        def apply(r: dict[str, Any]) -> None:
            r.update(state="closed", merged=True, merge_commit_sha=new, head_sha=pr.head_sha,
                     base_sha=pr.base_sha, merged_by=self.actor, merge_method=method)

        self._update(number, "merge", apply)
        return MergeResult(merged=True, sha=new, message="Pull Request successfully merged")

    def _merge_commit(
        self, pr: PullRequest, method: MergeMethod, title: str | None, message: str | None
    ) -> str:
        with self.git.worktree(pr.base_sha) as wt:
            if method == "merge":
                subject = title or f"Merge pull request #{pr.number} from {pr.head_ref}"
                return wt.merge(pr.head_sha, f"{subject}\n\n{message or pr.title}")
            if method == "squash":
                try:
                    wt.run("merge", "--squash", "--quiet", pr.head_sha)
                except GitError:
                    paths = wt._conflicts()
                    raise MergeConflict(f"squash of #{pr.number}", paths) from None
                subject = title or f"{pr.title} (#{pr.number})"
                return wt.commit(f"{subject}\n\n{message or ''}".strip(), allow_empty=True)
            # rebase: replay the pull request's commits on the base, one by one
            commits = wt.run("rev-list", "--reverse", "--no-merges",
                             f"{pr.base_sha}..{pr.head_sha}").split()
            for c in commits:
                try:
                    wt.run("cherry-pick", "--allow-empty", c)
                except GitError:
                    paths = wt._conflicts()
                    raise MergeConflict(f"rebase of #{pr.number}", paths) from None
            return wt.rev_parse("HEAD")

    def _follow_checked_out(self, branch: str, old: str, new: str) -> None:
        """A non-bare repository with ``branch`` checked out: move its clean tree along."""
        if self.git.repo.bare or self.git.current_branch() != branch:
            return
        try:
            self.git.run("read-tree", "-m", "-u", old, new)
        except GitError as exc:
            raise ForgeError(f"local forge: merged into {branch}, but its checked-out working "
                             f"tree could not follow: {exc}") from None

    def list_comments(self, number: int) -> list[Comment]:
        self._op("list_comments")
        self._record(number)
        recs = [r for r in self._read_dir("comments") if r["number"] == number]
        return [self._comment(r) for r in sorted(recs, key=lambda r: r["id"])]

    def create_comment(self, number: int, body: str) -> Comment:
        self._op("create_comment")

        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            self._record(number)
            meta = self._meta()
            cid = meta["next_comment"]
            meta["next_comment"] = cid + 1
            now = _now()
            rec = {"id": cid, "number": number, "body": body, "author": self.actor,
                   "author_type": self._author_type(), "created_at": now, "updated_at": now,
                   "reactions": {}}
            return {META: _dump(meta), f"{ROOT}/comments/{cid}.json": _dump(rec)}, rec

        return self._comment(self._transact(f"comment on #{number}", change))

    def _edit_comment_record(
        self, comment_id: int, what: str, apply: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any]:
        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            rec = self._comment_record(comment_id)
            apply(rec)
            return {f"{ROOT}/comments/{comment_id}.json": _dump(rec)}, rec

        return self._transact(f"{what} comment {comment_id}", change)

    def edit_comment(self, comment_id: int, body: str) -> Comment:
        self._op("edit_comment")

        def apply(rec: dict[str, Any]) -> None:
            if rec["author"] != self.actor:
                raise ForgeError(f"local forge: comment {comment_id} belongs to "
                                 f"{rec['author']}, not {self.actor}")
            rec.update(body=body, updated_at=_now())

        return self._comment(self._edit_comment_record(comment_id, "edit", apply))

    def delete_comment(self, comment_id: int) -> None:
        self._op("delete_comment")
        self._comment_record(comment_id)
        self._transact(f"delete comment {comment_id}",
                       lambda: ({f"{ROOT}/comments/{comment_id}.json": None}, None))

    def add_reaction(self, comment_id: int, content: Reaction) -> bool:
        self._op("add_reaction")
        if content not in REACTIONS:
            raise Unprocessable(f"local forge: reaction {content!r} is not one of {REACTIONS}")
        if self.actor in self._comment_record(comment_id).get("reactions", {}).get(content, []):
            return False  # as GitHub's 200: the reaction was there already
        created = False

        def apply(rec: dict[str, Any]) -> None:
            nonlocal created
            users = rec.setdefault("reactions", {}).setdefault(content, [])
            created = self.actor not in users
            if created:
                users.append(self.actor)

        self._edit_comment_record(comment_id, "react to", apply)
        return created

    def list_reactions(self, comment_id: int) -> list[tuple[str, str]]:
        self._op("list_reactions")
        rec = self._comment_record(comment_id)
        return sorted((c, u) for c, users in rec.get("reactions", {}).items() for u in users)

    def set_status(
        self,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> Status:
        self._op("set_status")
        full = self.git.try_rev_parse(sha)
        if full is None:
            raise Unprocessable(f"local forge: set status: no commit {sha}")
        status = Status(context=context, state=state, description=description[:140],
                        target_url=target_url)

        def change() -> tuple[dict[str, str | None], Status]:
            path = f"{ROOT}/statuses/{full}.json"
            existing = self._read(path) or []
            return {path: _dump([status.model_dump(), *existing])}, status

        return self._transact(f"status {context} on {full[:12]}", change)

    def combined_status(self, sha: str) -> CombinedStatus:
        self._op("combined_status")
        full = self.git.try_rev_parse(sha) or sha
        recs = self._read(f"{ROOT}/statuses/{full}.json") or []
        return combine_statuses(full, [Status(**r) for r in recs])

    def create_issue(self, *, title: str, body: str, labels: Sequence[str] = ()) -> Issue:
        self._op("create_issue")

        def change() -> tuple[dict[str, str | None], dict[str, Any]]:
            meta = self._meta()
            number = meta["next_number"]
            meta["next_number"] = number + 1
            meta["labels"] = sorted(set(meta["labels"]) | set(labels))
            rec = {"kind": "issue", "number": number, "title": title, "body": body,
                   "state": "open", "labels": sorted(set(labels)), "author": self.actor,
                   "created_at": _now()}
            return {META: _dump(meta), f"{ROOT}/issues/{number}.json": _dump(rec)}, rec

        return self._issue(self._transact("open issue", change))

    def get_issue(self, number: int) -> Issue:
        self._op("get_issue")
        return self._issue(self._record(number))

    def update_issue(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: PullState | None = None,
        labels: Sequence[str] | None = None,
    ) -> Issue:
        self._op("update_issue")

        def apply(rec: dict[str, Any]) -> None:
            for key, value in (("title", title), ("body", body), ("state", state)):
                if value is not None:
                    rec[key] = value
            if labels is not None:
                rec["labels"] = sorted(set(labels))

        return self._issue(self._update(number, "update", apply))

    def pin_issue(self, issue: Issue) -> None:
        self._op("pin_issue")

        def apply(rec: dict[str, Any]) -> None:
            rec["pinned"] = True

        self._update(issue.number, "pin", apply)

    def get_release(self, tag: str) -> Release | None:
        return None

    def create_release(self, *, tag: str, name: str, body: str) -> Release:
        raise ForgeError(NO_RELEASES)

    def update_release(self, release_id: int, *, name: str | None = None,
                       body: str | None = None) -> Release:
        raise ForgeError(NO_RELEASES)

    def list_issues(self, *, label: str | None = None, state: StateFilter = "open") -> list[Issue]:
        self._op("list_issues")
        out = [
            self._issue(r)
            for r in self._read_dir("issues")
            if r["kind"] == "issue"
            and (state == "all" or r["state"] == state)
            and (label is None or label in r.get("labels", []))
        ]
        return sorted(out, key=lambda i: -i.number)

    def permission(self, user: str) -> Permission:
        self._op("permission")
        if user in self.permissions:
            return self.permissions[user]
        if user == self.bot_login:
            return "write"
        return self.default_permission

    # --- Actions runs: there is no Actions here; a re-run is recorded for whoever runs TEST --

    def list_workflow_runs(self, *, head_sha: str, event: str | None = None) -> list[WorkflowRun]:
        """Runs recorded under ``forge/runs/`` (by whatever runs TEST locally), newest first."""
        self._op("list_workflow_runs")
        recs = [r for r in self._read_dir("runs")
                if r["head_sha"] == head_sha and event in (None, r.get("event"))]
        return sorted((WorkflowRun(**{k: v for k, v in r.items() if k != "reruns"})
                       for r in recs), key=lambda r: -r.id)

    def branch_sha(self, branch: str) -> str | None:
        self._op("branch_sha")
        return self.git.try_rev_parse(f"refs/heads/{branch}")

    def rerun_workflow(self, run_id: int) -> None:
        """Record the request (``reruns`` on the run's record): nothing runs by itself here."""
        self._op("rerun_workflow")
        path = f"{ROOT}/runs/{run_id}.json"

        def change() -> tuple[dict[str, str | None], None]:
            rec = self._read(path)
            if rec is None:
                raise NotFound(f"local forge: workflow run {run_id} not found")
            rec["reruns"] = [*rec.get("reruns", []), {"by": self.actor, "at": _now()}]
            rec.update(status="queued", conclusion=None,
                       run_attempt=int(rec.get("run_attempt", 1)) + 1)
            return {path: _dump(rec)}, None

        self._transact(f"re-run workflow run {run_id}", change)

    def record_workflow_run(self, run: WorkflowRun) -> None:
        """Write a run's record (what a local TEST runner, or a test, does)."""
        self._transact(f"workflow run {run.id}",
                       lambda: ({f"{ROOT}/runs/{run.id}.json": _dump(run.model_dump())}, None))
