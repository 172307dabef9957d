"""Git, through GitPython: the operations every stage shares.

Tokens never reach argv, ``.git/config`` or an error message: authentication is passed to each
git command as an ``http.extraHeader`` through ``GIT_CONFIG_*`` environment variables (as
actions/checkout does with ``persist-credentials: false``), and every message is redacted.
GitPython's push does not raise on a rejected ref, so ``push`` inspects each ref's flags and
raises ``PushRejected``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from git import GitCommandError, PushInfo, Repo

from bot.errors import EXIT_GIT, ImproveError
from bot.secrets import redact, register_secret


class GitError(ImproveError):
    """A git command failed; the message names the command and git's reason, redacted."""

    exit_code = EXIT_GIT

    def __init__(self, message: str):
        super().__init__(redact(message))


class PushRejected(GitError):
    """The remote refused a ref: non-fast-forward, a hook, or a protected branch."""

    def __init__(self, message: str, refs: Sequence[str] = ()):
        super().__init__(message)
        self.refs = list(refs)


class MergeConflict(GitError):
    """A merge, revert or cherry-pick stopped on conflicts; nothing was committed."""

    def __init__(self, message: str, paths: Sequence[str]):
        super().__init__(f"{message}: conflict in {', '.join(paths) or '(unknown files)'}")
        self.paths = list(paths)


def auth_env(token: str | None) -> dict[str, str]:
    """Environment that makes git send the token as GitHub takes it, without storing it."""
    if not token:
        return {}
    register_secret(token)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        "GIT_TERMINAL_PROMPT": "0",
    }


BOT_NAME = "improve[bot]"
BOT_EMAIL = "improve-bot@users.noreply.github.com"
_IDENT_VARS = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
               "HOME", "XDG_CONFIG_HOME")
_ident_cache: dict[tuple[str, ...], dict[str, str]] = {}


def identity_env(path: str | Path) -> dict[str, str]:
    """The bot's identity when git has none here (a fresh runner: the bot commits releases,
    records and proposals), else nothing: never override a person's own identity."""
    key = (str(path), *(os.environ.get(v, "") for v in _IDENT_VARS))
    if key not in _ident_cache:
        known = all(
            subprocess.run(["git", "var", var], cwd=path, capture_output=True).returncode == 0
            for var in ("GIT_COMMITTER_IDENT", "GIT_AUTHOR_IDENT")
        )
        _ident_cache[key] = {} if known else {
            "GIT_AUTHOR_NAME": BOT_NAME, "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME, "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        }
    return _ident_cache[key]


def format_trailers(trailers: Mapping[str, str]) -> str:
    """``Key: value`` lines as ``git interpret-trailers`` writes them; values stay on one line."""
    lines = []
    for key, value in trailers.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", key):
            raise ValueError(f"trailer key {key!r}: letters, digits and '-' only")
        lines.append(f"{key}: {' '.join(str(value).split())}")
    return "\n".join(lines)


def commit_message(message: str, trailers: Mapping[str, str] | None = None) -> str:
    msg = message.rstrip("\n")
    if trailers:
        msg += "\n\n" + format_trailers(trailers)
    return msg + "\n"


def parse_trailers(message: str) -> dict[str, str]:
    """Trailers of a commit message: the ``Key: value`` lines of its last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    out: dict[str, str] = {}
    for line in paragraphs[-1].splitlines():
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9-]*): (.*)", line.strip())
        if not m:
            return {}
        out[m.group(1)] = m.group(2)
    return out


_PUSH_FAILED = (
    PushInfo.ERROR | PushInfo.REJECTED | PushInfo.REMOTE_REJECTED | PushInfo.REMOTE_FAILURE
)


class Git:
    """One local repository (a clone or the user's own), with an optional token for its remote."""

    def __init__(self, path: str | Path, token: str | None = None):
        try:
            self.repo = Repo(path)
        except Exception as exc:  # GitPython raises several unrelated types here
            raise GitError(f"{path}: not a git repository ({type(exc).__name__})") from None
        self.path = Path(self.repo.working_tree_dir or self.repo.git_dir)
        self.token = token
        register_secret(token)

    # --- opening --------------------------------------------------------------------------

    @classmethod
    def clone(
        cls,
        url: str,
        dest: str | Path,
        *,
        token: str | None = None,
        branch: str | None = None,
        depth: int | None = None,
    ) -> Git:
        kwargs: dict[str, Any] = {}
        if branch:
            kwargs["branch"] = branch
        if depth:
            kwargs["depth"] = depth
        try:
            Repo.clone_from(url, str(dest), env={**os.environ, **auth_env(token)}, **kwargs)
        except GitCommandError as exc:
            raise GitError(f"git clone {url}: {_reason(exc)}") from None
        return cls(dest, token=token)

    # --- running git ----------------------------------------------------------------------

    def run(self, *args: str, env: Mapping[str, str] | None = None, strip: bool = True) -> str:
        """``git ARGS`` in this repository; a failure is a GitError naming the command."""
        full_env = {**identity_env(self.path), **auth_env(self.token), **(env or {})}
        try:
            with self.repo.git.custom_environment(**full_env):
                out: str = self.repo.git.execute(
                    ["git", *args], strip_newline_in_stdout=strip
                )
            return out
        except GitCommandError as exc:
            raise GitError(f"git {' '.join(args[:3])}: {_reason(exc)}") from None

    def fetch(self, *refspecs: str, remote: str = "origin", prune: bool = False) -> None:
        args = ["fetch", "--quiet", remote, *refspecs]
        if prune:
            args.insert(2, "--prune")
        self.run(*args)

    def rev_parse(self, rev: str) -> str:
        return self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")

    def try_rev_parse(self, rev: str) -> str | None:
        try:
            return self.rev_parse(rev)
        except GitError:
            return None

    def current_branch(self) -> str | None:
        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD")
        except GitError:
            return None

    def file_at(self, rev: str, path: str) -> str | None:
        """Text of ``path`` at ``rev``, or None when it does not exist there."""
        data = self.bytes_at(rev, path)
        return None if data is None else data.decode("utf-8", errors="replace")

    def bytes_at(self, rev: str, path: str) -> bytes | None:
        spec = f"{rev}:{path.lstrip('/')}"
        try:
            self.run("cat-file", "-e", spec)
        except GitError:
            return None
        blob = self.repo.rev_parse(spec)
        return bytes(blob.data_stream.read())

    def list_files(self, rev: str, prefix: str = "") -> list[str]:
        """Paths of files at ``rev`` under ``prefix`` (a directory)."""
        args = ["ls-tree", "-r", "--name-only", rev]
        if prefix:
            args += ["--", prefix.rstrip("/") + "/"]
        out = self.run(*args)
        return [line for line in out.splitlines() if line]

    def changed_paths(self, base: str, head: str) -> list[str]:
        """Paths changed on ``head`` since it forked from ``base`` (``base...head``, as a pull
        request's "files changed"); renames count as both their old and new paths."""
        out = self.run("diff", "--name-only", "--no-renames", "-z", f"{base}...{head}", strip=False)
        return sorted({p for p in out.split("\0") if p})

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.run("merge-base", a, b)
        except GitError:
            return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.run("merge-base", "--is-ancestor", ancestor, descendant)
            return True
        except GitError:
            return False

    # --- writing --------------------------------------------------------------------------

    def create_branch(self, name: str, rev: str = "HEAD", *, force: bool = False) -> str:
        sha = self.rev_parse(rev)
        self.run("branch", *(["--force"] if force else []), name, sha)
        return sha

    def checkout(self, rev: str, *, create: str | None = None) -> None:
        if create:
            self.run("checkout", "--quiet", "-B", create, rev)
        else:
            self.run("checkout", "--quiet", rev)

    def commit_files(
        self,
        files: Mapping[str, str | bytes | None],
        message: str,
        trailers: Mapping[str, str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> str:
        """Write ``files`` in the working tree (None deletes), stage exactly them, commit."""
        root = Path(self.repo.working_tree_dir or "")
        for rel, content in files.items():
            target = _inside(root, rel)
            if content is None:
                if target.exists():
                    self.run("rm", "--quiet", "--", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
            self.run("add", "--", rel)
        return self.commit(message, trailers, allow_empty=allow_empty)

    def commit(
        self, message: str, trailers: Mapping[str, str] | None = None, *, allow_empty: bool = False
    ) -> str:
        """Commit what is staged. Nothing staged and not ``allow_empty``: no commit, HEAD."""
        if not allow_empty and not self.run("diff", "--cached", "--name-only"):
            return self.rev_parse("HEAD")
        args = ["commit", "--quiet", "--no-verify", "-F", "-"]
        if allow_empty:
            args.append("--allow-empty")
        self._run_input(args, commit_message(message, trailers))
        return self.rev_parse("HEAD")

    def commit_to_branch(
        self,
        branch: str,
        files: Mapping[str, str | bytes | None],
        message: str,
        trailers: Mapping[str, str] | None = None,
        *,
        orphan_ok: bool = True,
    ) -> str:
        """Commit ``files`` onto ``branch`` without touching any working tree or the index
        (records on the data branch). The branch moves only if nobody moved it meanwhile:
        a concurrent writer makes this raise ``PushRejected``-like ``GitError``; retry."""
        ref = f"refs/heads/{branch}"
        old = self.try_rev_parse(ref)
        if old is None and not orphan_ok:
            raise GitError(f"branch {branch} does not exist")
        with tempfile.TemporaryDirectory(prefix="improve-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            if old:
                self.run("read-tree", old, env=env)
            # one --index-info batch, which works in bare repositories too (mode 0 removes)
            entries = []
            for rel, content in files.items():
                rel = rel.lstrip("/")
                if content is None:
                    entries.append(f"0 {'0' * 40}\t{rel}")
                    continue
                data = content.encode() if isinstance(content, str) else content
                blob = self._run_input(["hash-object", "-w", "--stdin"], data)
                entries.append(f"100644 {blob}\t{rel}")
            self._run_input(["update-index", "--index-info"], "\n".join(entries) + "\n", env)
            tree = self.run("write-tree", env=env)
        if old and self.run("rev-parse", f"{old}^{{tree}}") == tree:
            return old
        parents = ["-p", old] if old else []
        sha = self._run_input(["commit-tree", tree, *parents], commit_message(message, trailers))
        # compare-and-swap: fails when another writer moved the branch since we read it
        self.run("update-ref", ref, sha, old or "0" * 40)
        return sha

    def push(self, *refspecs: str, remote: str = "origin", force: bool = False) -> None:
        """Push with explicit refspecs; any ref the remote refuses raises ``PushRejected``."""
        if not refspecs:
            raise ValueError("push needs an explicit refspec")
        try:
            rem = self.repo.remote(remote)
            with self.repo.git.custom_environment(**auth_env(self.token)):
                infos = rem.push(list(refspecs), force=force)
        except GitCommandError as exc:
            raise PushRejected(f"git push {remote} {' '.join(refspecs)}: {_reason(exc)}",
                               refspecs) from None
        except ValueError as exc:
            raise GitError(f"git push {remote}: {exc}") from None
        failed = [i for i in infos if i.flags & _PUSH_FAILED]
        if failed or not infos:
            if failed:
                details = "; ".join(
                    f"{i.remote_ref_string or i.local_ref}: {i.summary.strip() or 'rejected'}"
                    for i in failed
                )
            elif getattr(infos, "error", None) is not None:
                details = _reason(infos.error)
            else:
                details = "no ref was updated"
            raise PushRejected(
                f"git push {remote} {' '.join(refspecs)} rejected: {details}",
                [i.remote_ref_string for i in failed],
            )

    def tag(self, name: str, rev: str, message: str) -> str:
        """Create an annotated tag; an existing tag on the same commit is kept, elsewhere an
        error (a released version's tag is never moved)."""
        sha = self.rev_parse(rev)
        # peeled: an annotated tag's own object is not the commit it tags
        existing = self.try_rev_parse(f"refs/tags/{name}^{{commit}}")
        if existing is not None:
            if existing != sha:
                raise GitError(f"tag {name} already exists on {existing[:12]}, not on {sha[:12]}")
            return existing
        self._run_input(["tag", "--annotate", "--file", "-", name, sha], message + "\n")
        return sha

    def push_tag(self, name: str, remote: str = "origin") -> None:
        self.push(f"refs/tags/{name}:refs/tags/{name}", remote=remote)

    def revert(
        self, sha: str, message: str | None = None, trailers: Mapping[str, str] | None = None
    ) -> str:
        """Revert ``sha`` (mainline 1 for a merge commit) on the checked-out branch and commit.
        Conflicts abort the revert and raise ``MergeConflict`` with the files."""
        parents = self.run("rev-list", "--parents", "-n", "1", sha).split()[1:]
        args = ["revert", "--no-edit", "--no-commit"]
        if len(parents) > 1:
            args += ["-m", "1"]
        try:
            self.run(*args, sha)
        except GitError:
            paths = self._conflicts()
            with contextlib.suppress(GitError):
                self.run("revert", "--abort")
            raise MergeConflict(f"revert of {sha[:12]}", paths) from None
        subject = self.run("log", "-1", "--format=%s", sha)
        msg = message or f'Revert "{subject}"\n\nThis reverts commit {sha}.'
        return self.commit(msg, trailers, allow_empty=True)

    def merge(
        self,
        rev: str,
        message: str | None = None,
        trailers: Mapping[str, str] | None = None,
        *,
        ff: bool = False,
    ) -> str:
        """Merge ``rev`` into the checked-out branch (a merge commit unless ``ff`` allows a
        fast-forward). Conflicts abort and raise ``MergeConflict``."""
        args = ["merge", "--quiet", "--no-edit", "--ff" if ff else "--no-ff"]
        if message or trailers:
            args += ["-m", commit_message(message or f"Merge {rev}", trailers)]
        try:
            self.run(*args, rev)
        except GitError:
            paths = self._conflicts()
            with contextlib.suppress(GitError):
                self.run("merge", "--abort")
            raise MergeConflict(f"merge of {rev}", paths) from None
        return self.rev_parse("HEAD")

    @contextlib.contextmanager
    def worktree(self, rev: str) -> Iterator[Git]:
        """A scratch worktree detached at ``rev``, removed afterwards; the user's tree is
        never touched."""
        tmp = Path(tempfile.mkdtemp(prefix="improve-wt-"))
        path = tmp / "wt"
        self.run("worktree", "add", "--quiet", "--detach", str(path), rev)
        try:
            yield Git(path, token=self.token)
        finally:
            with contextlib.suppress(GitError):
                self.run("worktree", "remove", "--force", str(path))
            shutil.rmtree(tmp, ignore_errors=True)
            with contextlib.suppress(GitError):
                self.run("worktree", "prune")

    # --- helpers --------------------------------------------------------------------------

    def _conflicts(self) -> list[str]:
        try:
            out = self.run("diff", "--name-only", "--diff-filter=U")
        except GitError:
            return []
        return [p for p in out.splitlines() if p]

    def _run_input(
        self, args: Sequence[str], data: str | bytes, env: Mapping[str, str] | None = None
    ) -> str:
        raw = data.encode() if isinstance(data, str) else data
        proc = subprocess.run(
            ["git", *args],
            cwd=self.repo.working_tree_dir or self.repo.git_dir,
            input=raw,
            capture_output=True,
            env={**os.environ, **identity_env(self.path), **auth_env(self.token), **(env or {})},
            check=False,
        )
        if proc.returncode != 0:
            raise GitError(
                f"git {' '.join(args[:2])}: {proc.stderr.decode(errors='replace').strip()}"
            )
        return proc.stdout.decode(errors="replace").strip()


def _inside(root: Path, rel: str) -> Path:
    target = (root / rel).resolve()
    if root.resolve() not in target.parents:
        raise GitError(f"{rel}: path is outside the repository")
    return target


def _reason(exc: object) -> str:
    if isinstance(exc, GitCommandError):
        text = (exc.stderr or exc.stdout or "").strip()
        text = re.sub(r"^\s*stderr: '?|'$", "", text, flags=re.M).strip()
        return redact(text or f"exit status {exc.status}")
    return redact(exc)


def has_remote(path: Path, remote: str = "origin") -> bool:
    """Whether the repository at ``path`` has ``remote`` (a clone made by actions/checkout)."""
    proc = subprocess.run(["git", "remote", "get-url", remote], cwd=path, capture_output=True,
                          check=False)
    return proc.returncode == 0
