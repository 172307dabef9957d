"""The git operations PROPOSE needs, on the local repository, without touching the user's
working tree or index: files are read from a commit, the proposal's commit is built in a
temporary index (``GIT_INDEX_FILE``) with plumbing, and the branch is created with
``update-ref`` only if it does not exist yet. Plain ``git`` with argument lists, never a shell.

Small on purpose, so it can be folded into bot/adapters/git.py later.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.git import GitError, identity_env
from bot.core.edits import EditError

ZERO = "0" * 40

SYMLINK_OUT = "{path!r} goes through the symlink {link!r}, which leads outside the repository"
SYMLINK_IN = "{path!r} goes through the symlink {link!r}; change {target!r} instead"
NOT_A_DIR = "{path!r} cannot exist: {parent!r} is a file"
IS_A_DIR = "{path!r} is a directory, not a file"
IS_SUBMODULE = "{path!r} is inside the submodule {link!r}"
NOT_UTF8 = "{path!r} is not UTF-8 text"


def git(repo: Path, *args: str, input: bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True,
        env={**os.environ, **identity_env(repo), **(env or {})},
    )
    if check and proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip() or f"exit {proc.returncode}"
        raise GitError(f"git {args[0]}: {reason}")
    return proc.stdout.decode(errors="replace").strip()


def rev_parse(repo: Path, ref: str) -> str | None:
    out = git(repo, "rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
    return out or None


def toplevel(path: Path) -> Path:
    """The repository's top folder: its working tree's, or a bare repository's own (the local
    forge's remote is one: proposals are committed without a working tree)."""
    out = git(path, "rev-parse", "--show-toplevel", check=False)
    if out:
        return Path(out)
    if git(path, "rev-parse", "--is-bare-repository", check=False) == "true":
        return Path(git(path, "rev-parse", "--absolute-git-dir"))
    raise GitError(f"git: {path} is not inside a git repository")


def remote_default_branch(repo: Path) -> str | None:
    """origin's HEAD: the default branch as the forge says it (a clone records it), or None."""
    head = git(repo, "symbolic-ref", "-q", "--short", "refs/remotes/origin/HEAD", check=False)
    return head.removeprefix("origin/") if head.startswith("origin/") else None


def default_branch(repo: Path) -> str:
    """origin's HEAD when known, else main or master, else the current branch."""
    known = remote_default_branch(repo)
    if known:
        return known
    for name in ("main", "master"):
        if rev_parse(repo, f"refs/heads/{name}"):
            return name
    return git(repo, "symbolic-ref", "-q", "--short", "HEAD", check=False) or "main"


def branch_tip(repo: Path, branch: str) -> str | None:
    """The local branch's commit, else origin's."""
    return rev_parse(repo, f"refs/heads/{branch}") or rev_parse(
        repo, f"refs/remotes/origin/{branch}"
    )


@dataclass(frozen=True)
class Entry:
    mode: str
    type: str
    sha: str


def tree_entries(repo: Path, commit: str, paths: Iterable[str]) -> dict[str, Entry]:
    """The tree entries of ``paths`` (files, directories, links) at ``commit``: one git call per
    depth, because ls-tree lists a directory's children instead of itself when another path
    given below it."""
    by_depth: dict[int, list[str]] = {}
    for p in sorted(set(paths)):
        by_depth.setdefault(p.count("/"), []).append(p)
    entries: dict[str, Entry] = {}
    for _, wanted in sorted(by_depth.items()):
        out = git(repo, "ls-tree", "-z", "--full-tree", commit, "--", *wanted)
        for item in out.split("\0"):
            if not item:
                continue
            meta, name = item.split("\t", 1)
            mode, kind, sha = meta.split()
            if name in wanted:
                entries[name] = Entry(mode, kind, sha)
    return entries


def _prefixes(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class TreeReader:
    """Reads files' texts at one commit, refusing paths that go through a symlink or a
    submodule: the checks the pure core cannot make."""

    def __init__(self, repo: Path, commit: str):
        self.repo = repo
        self.commit = commit
        self._entries: dict[str, Entry] = {}
        self._looked: set[str] = set()
        self._blobs: dict[str, bytes] = {}

    def _lookup(self, paths: Iterable[str]) -> None:
        todo = {p for path in paths for p in _prefixes(path)} - self._looked
        if todo:
            self._entries.update(tree_entries(self.repo, self.commit, todo))
            self._looked |= todo

    def entry(self, path: str) -> Entry | None:
        self._lookup([path])
        return self._entries.get(path)

    def prefetch(self, paths: Iterable[str]) -> None:
        """Look up every path and read every file among them in a few git calls, not one or
        more per path."""
        paths = list(paths)
        self._lookup(paths)
        shas = sorted({e.sha for p in paths if (e := self._entries.get(p)) and e.type == "blob"}
                      - set(self._blobs))
        if not shas:
            return
        proc = subprocess.run(
            ["git", "cat-file", "--batch"], cwd=self.repo, capture_output=True,
            input="".join(f"{sha}\n" for sha in shas).encode(), check=False,
        )
        out, pos = proc.stdout, 0
        while pos < len(out):
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) != 3:  # "<sha> missing": read it later, one by one
                continue
            size = int(header[2])
            self._blobs[header[0].decode()] = out[pos : pos + size]
            pos += size + 1

    def blob(self, sha: str) -> bytes:
        if sha in self._blobs:
            return self._blobs[sha]
        proc = subprocess.run(
            ["git", "cat-file", "blob", sha], cwd=self.repo, capture_output=True, check=False
        )
        if proc.returncode != 0:
            raise GitError(f"git cat-file: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout

    def __call__(self, path: str) -> str | None:
        self._lookup([path])
        prefixes = _prefixes(path)
        for prefix in prefixes:
            entry = self._entries.get(prefix)
            if entry is None:
                return None
            if entry.mode == "120000":
                target = self.blob(entry.sha).decode(errors="replace")
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(prefix), target))
                if target.startswith("/") or resolved == ".." or resolved.startswith("../"):
                    raise EditError(SYMLINK_OUT.format(path=path, link=prefix))
                rest = path[len(prefix) + 1 :]
                instead = posixpath.join(resolved, rest) if rest else resolved
                raise EditError(SYMLINK_IN.format(path=path, link=prefix, target=instead))
            if entry.mode == "160000":
                raise EditError(IS_SUBMODULE.format(path=path, link=prefix))
            if prefix != path and entry.type != "tree":
                raise EditError(NOT_A_DIR.format(path=path, parent=prefix))
        final = self._entries[path]
        if final.type == "tree":
            raise EditError(IS_A_DIR.format(path=path))
        try:
            return self.blob(final.sha).decode()
        except UnicodeDecodeError:
            raise EditError(NOT_UTF8.format(path=path)) from None


def read_text(repo: Path, commit: str, path: str) -> str | None:
    """One file's text at ``commit`` (None when absent); no symlink checks (trusted files)."""
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{commit}:{path}"], cwd=repo, capture_output=True
    )
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else None


def list_dir(repo: Path, commit: str, directory: str) -> list[str]:
    out = git(repo, "ls-tree", "-z", "--name-only", "--full-tree", commit, "--", directory + "/")
    return [p for p in out.split("\0") if p]


def commit_files(
    repo: Path, base: str, files: Mapping[str, str | None], message: str
) -> str:
    """A commit on top of ``base`` whose tree is base's with ``files`` written (None: removed),
    built in a temporary index: the user's working tree and index are never touched."""
    with tempfile.TemporaryDirectory(prefix="improve-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "read-tree", base, env=env)
        written = sorted(p for p, t in files.items() if t is not None)
        # one hash-object for every file, from copies in the scratch directory
        copies = []
        for n, path in enumerate(written):
            copy = Path(tmp) / f"blob{n}"
            copy.write_bytes((files[path] or "").encode())
            copies.append(str(copy))
        shas = git(repo, "hash-object", "-w", "--stdin-paths",
                   input="\n".join(copies).encode()).split()
        staged = git(repo, "ls-files", "-s", "-z", "--", *written, env=env) if written else ""
        modes = {}
        for item in staged.split("\0"):
            if item:
                meta, name = item.split("\t", 1)
                modes[name] = meta.split()[0]
        lines = [f"0 {ZERO}\t{p}" for p, t in sorted(files.items()) if t is None]
        for path, sha in zip(written, shas, strict=True):
            # an executable stays executable; everything else is a regular file
            mode = "100755" if modes.get(path) == "100755" else "100644"
            lines.append(f"{mode} {sha}\t{path}")
        git(repo, "update-index", "-z", "--index-info",
            input="".join(line + "\0" for line in lines).encode(), env=env)
        tree = git(repo, "write-tree", env=env)
    return git(repo, "commit-tree", tree, "-p", base, "-F", "-", input=message.encode())


def create_branch(repo: Path, branch: str, commit: str) -> None:
    """Create ``refs/heads/<branch>`` at ``commit``; fails if it appeared meanwhile."""
    git(repo, "update-ref", "-m", "improve propose", f"refs/heads/{branch}", commit, "")


@dataclass(frozen=True)
class BranchCommit:
    sha: str
    subject: str
    proposal: str  # the Improve-Proposal trailer, "" when absent


def commits_between(repo: Path, base: str, tip: str, trailer: str) -> list[BranchCommit]:
    """Commits reachable from ``tip`` and not from ``base``, newest first, with one trailer."""
    fmt = f"%H%x00%s%x00%(trailers:key={trailer},valueonly,separator=%x2C)%x00"
    out = git(repo, "log", f"--format={fmt}", f"{base}..{tip}", "--")
    fields = out.split("\0")
    commits = []
    for i in range(0, len(fields) - 2, 3):
        sha, subject, value = (f.strip() for f in fields[i : i + 3])
        if sha:
            commits.append(BranchCommit(sha, subject, value))
    return commits


def merge_base(repo: Path, a: str, b: str) -> str | None:
    return git(repo, "merge-base", a, b, check=False) or None


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    proc = subprocess.run(
        ["git", "merge-base", "--is-ancestor", ancestor, descendant], cwd=repo,
        capture_output=True,
    )
    return proc.returncode == 0


def branches(repo: Path, pattern: str) -> dict[str, str]:
    """Local branches matching ``pattern`` (a for-each-ref pattern), name -> commit."""
    out = git(repo, "for-each-ref", "--format=%(refname:short)%00%(objectname)",
              f"refs/heads/{pattern}")
    result = {}
    for line in out.splitlines():
        name, _, sha = line.partition("\0")
        if name:
            result[name] = sha
    return result
