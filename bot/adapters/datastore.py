"""The data branch (``improve-data`` by default): the bot's machine records as JSON files in git.
Results per commit, release records, monitor runs. Nothing is remembered anywhere else.

Writes are compare-and-swap: commit on the branch as last fetched, push without force; when
another job pushed first, fetch and write again on the new tip (bounded tries)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.adapters.git import Git, GitError, PushRejected
from bot.adapters.record_reader import read_blobs
from bot.core.records import RecordSet, is_record_path, sort_records
from bot.errors import ForgeError

Files = Mapping[str, Any]  # path -> JSON value (None deletes the file)


class DataStore:
    def __init__(self, git: Git, branch: str = "improve-data", remote: str | None = "origin"):
        self.git = git
        self.branch = branch
        self.remote = remote
        self.ref = f"refs/heads/{branch}"
        self._fetched = False

    def refresh(self) -> None:
        """Bring the local copy of the branch to the remote's tip (no-op without a remote)."""
        if self.remote is None:
            return
        tracking = f"refs/remotes/{self.remote}/{self.branch}"
        try:
            self.git.fetch(f"+{self.ref}:{tracking}", remote=self.remote)
        except GitError as exc:
            if "couldn't find remote ref" not in str(exc).lower():
                raise
            # no data branch on the remote yet: the first write creates it there. A local one
            # is kept (never deleted: with the local forge it holds the only copy of the
            # records, and a ref deleted by update-ref leaves no reflog to recover it from)
            self._fetched = True
            return
        self.git.run("update-ref", self.ref, self.git.rev_parse(tracking))
        self._fetched = True

    def _ensure(self) -> None:
        if not self._fetched:
            self.refresh()

    def read(self, path: str) -> Any | None:
        self._ensure()
        if self.git.try_rev_parse(self.ref) is None:
            return None
        text = self.git.file_at(self.ref, path)
        return None if text is None else json.loads(text)

    def list(self, prefix: str = "") -> list[str]:
        self._ensure()
        if self.git.try_rev_parse(self.ref) is None:
            return []
        return self.git.list_files(self.ref, prefix)

    def records(self, tags: Iterable[str] | None = None, *, refresh: bool = True,
                tuning: bool = False) -> RecordSet:
        """The release and monitor records, checked (``sort_records``: ``tags`` the repository's
        tags, None when unknown): the one reader of them, in one batched ``git cat-file``.
        ``refresh``: fetch the branch first even when it was fetched already; ``tuning``: the
        tuner's cycles too (only the tuner reads them)."""
        if refresh:
            self.refresh()
        else:
            self._ensure()
        if self.git.try_rev_parse(self.ref) is None:
            return RecordSet()
        paths = [p for p in self.git.list_files(self.ref) if is_record_path(p, tuning=tuning)]
        return sort_records(read_blobs(self.git.path, self.ref, paths), tags)

    def write(
        self,
        files: Files | Callable[[], Files],
        message: str,
        *,
        tries: int = 5,
    ) -> str | None:
        """Commit ``files`` (or what a callable computes from the fresh branch) and push.
        Returns the new tip, or None when nothing changed."""
        last: Exception | None = None
        for _ in range(tries):
            self.refresh()
            wanted = files() if callable(files) else files
            encoded = {
                path: None if value is None else json.dumps(value, indent=2, sort_keys=True) + "\n"
                for path, value in wanted.items()
            }
            old = self.git.try_rev_parse(self.ref)
            try:
                tip = self.git.commit_to_branch(self.branch, encoded, message)
            except GitError as exc:  # a concurrent local writer moved the ref
                last = exc
                continue
            if tip == old:
                return None
            if self.remote is None:
                return tip
            try:
                self.git.push(f"{self.ref}:{self.ref}", remote=self.remote)
                return tip
            except PushRejected as exc:
                last = exc  # someone else wrote first: write again on their tip
        raise ForgeError(
            f"could not write to the data branch {self.branch} after {tries} tries: {last}"
        )
