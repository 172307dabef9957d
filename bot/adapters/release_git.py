"""Git for the release: a private bare clone of the forge's repository (or, with the local forge,
the repository itself), where release commits are built without any working tree and published
with a compare-and-swap: an atomic push of the branch and the tag (rejected when the branch
moved), or ``update-ref OLD NEW`` locally.

Files are read as bytes and decoded as UTF-8 without newline translation, so a changelog's CRLF
line endings and byte-order mark reach the core exactly as they are, and are written back the
same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.adapters.git import (
    Git,
    GitError,
    PushRejected,
    auth_env,
    identity_env,
    redact,
    register_secret,
)
from bot.errors import InputError, Problem

NOT_UTF8 = "is not UTF-8 text ({reason}); the release cannot rewrite it safely"


class Published(Exception):
    """Internal: the branch moved under us (push rejected, or the local ref changed)."""


class TagTaken(GitError):
    """The release tag exists already on another commit: a racing release made it first."""


@dataclass
class Workspace:
    git: Git
    branch: str
    remote: str | None  # "origin" in a clone; None: the repository is the forge's own
    _tmp: Path | None = None
    ident: dict[str, str] = field(default_factory=dict)

    # --- opening ------------------------------------------------------------------------

    @classmethod
    def clone(cls, url: str, branch: str, token: str | None = None) -> Workspace:
        """A bare clone of ``branch`` and the tags in a temporary directory (``close`` removes
        it). Bare: the release never needs a working tree, and none can be left dirty."""
        register_secret(token)
        tmp = Path(tempfile.mkdtemp(prefix="improve-release-"))
        path = tmp / "repo.git"
        proc = subprocess.run(["git", "init", "--quiet", "--bare", str(path)],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise GitError(f"git init: {proc.stderr.strip()}")
        git = Git(path, token=token)
        git.run("remote", "add", "origin", url)
        ws = cls(git, branch, "origin", tmp)
        ws.ident = _ident(git)
        ws.refresh()
        return ws

    @classmethod
    def local(cls, path: str | Path, branch: str) -> Workspace:
        git = Git(path)
        return cls(git, branch, None, None, _ident(git))

    def close(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # --- reading ------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.git.path

    @property
    def tracking(self) -> str:
        return (f"refs/remotes/{self.remote}/{self.branch}" if self.remote
                else f"refs/heads/{self.branch}")

    def refresh(self) -> None:
        """The remote's branch and tags, as they are now (tags are fetched with force: a tag
        this clone made but could not push must not survive)."""
        if self.remote is None:
            return
        self.git.fetch(f"+refs/heads/{self.branch}:{self.tracking}", "+refs/tags/*:refs/tags/*",
                       remote=self.remote)

    def tip(self) -> str:
        sha = self.git.try_rev_parse(self.tracking)
        if sha is None:
            raise InputError([Problem(self.branch, "the default branch has no commit")])
        return sha

    def text_at(self, rev: str, path: str) -> str | None:
        data = self.git.bytes_at(rev, path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError([Problem(path, NOT_UTF8.format(reason=exc.reason))]) from None

    def order(self, tip: str, shas: set[str]) -> dict[str, int]:
        """Positions of ``shas`` in the branch's history, oldest first (merge order); commits
        not on the branch are left out."""
        if not shas:
            return {}
        out = self.git.run("rev-list", "--topo-order", "--reverse", tip)
        pos: dict[str, int] = {}
        for i, sha in enumerate(out.split()):
            if sha in shas:
                pos[sha] = i
        return pos

    def changed(self, sha: str) -> list[str]:
        """Paths a merged commit brought to the branch (against its first parent)."""
        parents = self.git.run("rev-list", "--parents", "-n", "1", sha).split()[1:]
        if not parents:
            return self.git.list_files(sha)
        out = self.git.run("diff", "--name-only", "--no-renames", "-z", parents[0], sha,
                           strip=False)
        return sorted(p for p in out.split("\0") if p)

    def first_parent(self, sha: str) -> str | None:
        return self.git.try_rev_parse(f"{sha}^1")

    def commit_date(self, sha: str) -> str:
        return self.git.run("log", "-1", "--format=%cI", sha)

    def messages(self, sha: str) -> str:
        """The messages of the commits a merge brought in (the merge's own included)."""
        parent = self.first_parent(sha)
        spec = f"{parent}..{sha}" if parent else sha
        return self.git.run("log", "--format=%B%x00", spec)

    def find_commit(self, tip: str, trailer: str) -> list[str]:
        """Commits on the branch whose message carries the line ``trailer`` exactly."""
        out = self.git.run("rev-list", "--fixed-strings", f"--grep={trailer}", tip)
        return out.split()

    def has_commit(self, sha: str, *refs: str) -> bool:
        """Whether commit ``sha`` is in the clone, fetching ``refs`` from the remote first when
        it is not (a ref the remote does not have is skipped)."""
        if self.git.try_rev_parse(f"{sha}^{{commit}}") is not None:
            return True
        if self.remote is None:
            return False
        for ref in refs:
            with contextlib.suppress(GitError):
                self.git.fetch(ref, remote=self.remote)
                if self.git.try_rev_parse(f"{sha}^{{commit}}") is not None:
                    return True
        return False

    def message(self, sha: str) -> str:
        return self.git.run("log", "-1", "--format=%B", sha)

    def merged(self, ours: str, theirs: str) -> str | None:
        """A commit (on no branch) holding ``ours`` merged with ``theirs``, made with ``git
        merge-tree`` without any working tree; None when they conflict. Only read from."""
        try:
            out = self.git.run("merge-tree", "--write-tree", "--no-messages", ours, theirs)
        except GitError:
            return None
        if not out:
            return None
        return self._input(["commit-tree", out.split()[0], "-p", ours, "-p", theirs],
                           b"improve: what a release starts from\n", self.ident)

    # --- writing ------------------------------------------------------------------------

    def commit_on(self, parent: str, files: Mapping[str, str], message: str) -> str:
        """A commit whose tree is ``parent``'s with ``files`` replaced, no ref moved."""
        with tempfile.TemporaryDirectory(prefix="improve-index-") as tmp:
            env = {**self.ident, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.git.run("read-tree", parent, env=env)
            entries = []
            for rel, text in files.items():
                blob = self._input(["hash-object", "-w", "--stdin"], text.encode("utf-8"), env)
                mode = self._mode(parent, rel)
                entries.append(f"{mode} {blob}\t{rel.lstrip('/')}")
            self._input(["update-index", "--index-info"], ("\n".join(entries) + "\n").encode(),
                        env)
            tree = self.git.run("write-tree", env=env)
        return self._input(["commit-tree", tree, "-p", parent], message.encode(), self.ident)

    def tree_of(self, rev: str) -> str:
        return self.git.run("rev-parse", f"{rev}^{{tree}}")

    def _mode(self, rev: str, path: str) -> str:
        out = self.git.run("ls-tree", rev, "--", path)
        mode = out.split(" ", 1)[0] if out else ""
        return mode if mode in ("100644", "100755") else "100644"

    def tag(self, name: str, sha: str, message: str) -> None:
        # peeled: an annotated tag's own object is not the commit it tags (a racing release
        # that tagged the same commit first is the same tag)
        existing = self.git.try_rev_parse(f"refs/tags/{name}^{{commit}}")
        if existing == sha:
            return
        if existing is not None:
            raise TagTaken(f"tag {name} already exists on {existing[:12]}, not on {sha[:12]}")
        try:
            self._input(["tag", "--annotate", "--file", "-", name, sha], message.encode(),
                        self.ident)
        except GitError:
            # a release racing this one tagged the same commit first: that is the same tag
            now = self.git.try_rev_parse(f"refs/tags/{name}^{{commit}}")
            if now is not None and now != sha:
                raise TagTaken(f"tag {name} already exists on {now[:12]}, "
                               f"not on {sha[:12]}") from None
            if now is None:
                raise

    def drop_tag(self, name: str) -> None:
        with contextlib.suppress(GitError):
            self.git.run("tag", "-d", name)

    def publish(self, old: str, new: str, tag: str | None) -> None:
        """Move the branch from ``old`` to ``new`` and publish ``tag`` with it, or raise
        ``Published`` when the branch moved meanwhile (nothing was changed then)."""
        if self.remote is None:
            try:
                self.git.run("update-ref", f"refs/heads/{self.branch}", new, old)
            except GitError as exc:
                lock = Path(self.git.repo.git_dir) / "refs" / "heads" / f"{self.branch}.lock"
                if lock.exists() or ".lock" in str(exc):
                    raise GitError(STALE_LOCK.format(lock=lock, branch=self.branch)) from None
                raise Published() from None
            self._follow_checked_out(old, new)
            # the tag after the branch: a run killed between them leaves a release the
            # changelog names without its tag, which the next run tags; never a tag on a
            # commit the branch does not have
            return
        refspecs = [f"{new}:refs/heads/{self.branch}"]
        if tag:
            refspecs.append(f"refs/tags/{tag}:refs/tags/{tag}")
        self.push(*refspecs, atomic=True)
        self.git.run("update-ref", self.tracking, new)

    def push(self, *refspecs: str, atomic: bool = False, force: bool = False) -> None:
        """``git push`` with the refspecs; a refusal raises ``Published`` (retry on the new tip)
        unless it is a protected branch, which retrying cannot help."""
        assert self.remote is not None
        args = ["push", "--quiet", *(["--atomic"] if atomic else []),
                *(["--force"] if force else []), self.remote, *refspecs]
        proc = subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True,
                              env={**os.environ, **auth_env(self.git.token)}, check=False)
        if proc.returncode == 0:
            return
        why = redact(proc.stderr.strip() or f"exit status {proc.returncode}")
        if "protected branch" in why.lower() or "GH006" in why:
            raise PushRejected(f"git push {self.remote} {self.branch}: {why}; with a protected "
                               "default branch set release.mode: pr", list(refspecs))
        if "rejected" in why or "fetch first" in why or "non-fast-forward" in why \
                or "failed to update" in why or "atomic" in why:
            raise Published(why)
        raise PushRejected(f"git push {self.remote} {' '.join(refspecs)}: {why}", list(refspecs))

    def publish_tag(self, tag: str) -> None:
        """Publish ``tag`` alone (a release committed on its own merge, off the branch), or
        raise ``Published`` when the remote has that tag already."""
        if self.remote is not None:
            self.push(f"refs/tags/{tag}:refs/tags/{tag}")

    def push_tag(self, tag: str) -> None:
        if self.remote is not None:
            try:
                self.push(f"refs/tags/{tag}:refs/tags/{tag}")
            except Published as exc:
                raise PushRejected(f"git push {self.remote} tag {tag}: {exc}", [tag]) from None

    def remote_sha(self, ref: str) -> str | None:
        """What ``ref`` points at on the remote (``ls-remote``), or locally without one."""
        if self.remote is None:
            return self.git.try_rev_parse(ref)
        out = self.git.run("ls-remote", self.remote, ref)
        return out.split()[0] if out else None

    def _follow_checked_out(self, old: str, new: str) -> None:
        """The forge's repository has the branch checked out: move its clean tree along, as a
        push to a non-bare repository would not (the local forge's merges do the same)."""
        if self.git.repo.bare or self.git.current_branch() != self.branch:
            return
        # files merely touched (stat data changed, content not) must not read as changes
        with contextlib.suppress(GitError):
            self.git.run("update-index", "-q", "--refresh")
        # the index may still hold an older tree than ``old``: a run killed after moving the
        # branch and before this left it behind; move it from where it is
        start = self.git.run("write-tree")
        if start == self.tree_of(old):
            start = old
        try:
            self.git.run("read-tree", "-m", "-u", start, new)
        except GitError as exc:
            raise GitError(f"released on {self.branch}, but its checked-out working tree "
                           f"could not follow (commit or stash your changes, then run "
                           f"`git read-tree -m -u {start[:12]} {new[:12]}`): {exc}") from None

    def _input(self, args: list[str], data: bytes, env: Mapping[str, str] | None = None) -> str:
        proc = subprocess.run(["git", *args], cwd=self.path, input=data, capture_output=True,
                              env={**os.environ, **auth_env(self.git.token), **(env or {})},
                              check=False)
        if proc.returncode != 0:
            raise GitError(f"git {' '.join(args[:2])}: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode(errors="replace").strip()


STALE_LOCK = ("{lock} exists: another git process is updating {branch}, or one was killed "
              "while doing so. If no git process is running, remove that file and run the "
              "release again")


def _ident(git: Git) -> dict[str, str]:
    return identity_env(git.path)
