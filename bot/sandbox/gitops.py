"""Git on the sandbox's bare repositories, through the git command itself.

The sandbox is a stand-in for GitHub's servers, so like them it works on bare repositories
with plumbing commands; mergeability and merges are computed by git, never guessed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SANDBOX_IDENT = {"name": "improve sandbox", "email": "sandbox@improve.invalid"}


class GitFailed(Exception):
    def __init__(self, args: list[str], stderr: str):
        super().__init__(f"git {' '.join(args)}: {stderr.strip()}")
        self.stderr = stderr


def _env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.setdefault("GIT_AUTHOR_NAME", SANDBOX_IDENT["name"])
    env.setdefault("GIT_AUTHOR_EMAIL", SANDBOX_IDENT["email"])
    env.setdefault("GIT_COMMITTER_NAME", SANDBOX_IDENT["name"])
    env.setdefault("GIT_COMMITTER_EMAIL", SANDBOX_IDENT["email"])
    if extra:
        env.update(extra)
    return env


def git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    ok: tuple[int, ...] = (0,),
) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, input=input, capture_output=True, env=_env(env)
    )
    if proc.returncode not in ok:
        raise GitFailed(list(args), proc.stderr.decode(errors="replace"))
    return proc.stdout.decode(errors="replace")


def git_rc(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, env=_env(env))
    return proc.returncode, proc.stdout.decode(errors="replace")


def ident_env(name: str, email: str) -> dict[str, str]:
    return {
        "GIT_AUTHOR_NAME": name,
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": name,
        "GIT_COMMITTER_EMAIL": email,
    }


def init_bare(path: Path, default_branch: str, files: Mapping[str, str | bytes]) -> str:
    """A bare repository with one commit holding ``files`` on ``default_branch``; its SHA."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "--bare", "-b", default_branch)
    git(path, "config", "http.receivepack", "true")
    # GitHub keeps unreachable objects; so do we, and no gc races a push
    git(path, "config", "gc.auto", "0")
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for rel, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            blob = git(path, "hash-object", "-w", "--stdin", input=data).strip()
            git(path, "update-index", "--add", "--cacheinfo", f"100644,{blob},{rel}", env=index)
        tree = git(path, "write-tree", env=index).strip()
    sha = git(path, "commit-tree", tree, "-m", "Initial commit").strip()
    git(path, "update-ref", f"refs/heads/{default_branch}", sha)
    return sha


def refs(repo: Path) -> dict[str, str]:
    """Every ref and the commit it points at (annotated tags peeled)."""
    out = git(repo, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)")
    result: dict[str, str] = {}
    for line in out.splitlines():
        name, obj, peeled = line.split("\0")
        result[name] = peeled or obj
    return result


def raw_refs(repo: Path) -> dict[str, tuple[str, str]]:
    """Every ref -> (object it points at, its type)."""
    out = git(repo, "for-each-ref", "--format=%(refname)%00%(objectname)%00%(objecttype)")
    result: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        name, obj, kind = line.split("\0")
        result[name] = (obj, kind)
    return result


def resolve(repo: Path, rev: str) -> str | None:
    rc, out = git_rc(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    return out.strip() if rc == 0 else None


def object_exists(repo: Path, sha: str) -> bool:
    rc, _ = git_rc(repo, "cat-file", "-e", sha)
    return rc == 0


def is_ancestor(repo: Path, ancestor: str, descendant: str) -> bool:
    rc, _ = git_rc(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    return rc == 0


def merge_base(repo: Path, a: str, b: str) -> str | None:
    rc, out = git_rc(repo, "merge-base", a, b)
    return out.strip() if rc == 0 else None


@dataclass(frozen=True)
class MergeTree:
    clean: bool
    tree: str
    conflicts: tuple[str, ...]


def merge_tree(repo: Path, base: str, head: str) -> MergeTree:
    """The tree a merge of ``head`` into ``base`` would produce, and the files in conflict."""
    out = git(
        repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", base, head, ok=(0, 1)
    )
    lines = out.splitlines()
    tree, conflicts = lines[0], tuple(x for x in lines[1:] if x)
    return MergeTree(not conflicts, tree, conflicts)


def commit_tree(
    repo: Path, tree: str, parents: list[str], message: str, env: Mapping[str, str]
) -> str:
    args = ["commit-tree", tree]
    for p in parents:
        args += ["-p", p]
    return git(repo, *args, "-F", "-", input=message.encode(), env=env).strip()


def update_ref(repo: Path, ref: str, new: str, old: str | None = None) -> bool:
    """Move ``ref`` to ``new`` only if it is still at ``old``; False if someone moved it."""
    args = ["update-ref", ref, new] + ([old] if old else [])
    rc, _ = git_rc(repo, *args)
    return rc == 0


def delete_ref(repo: Path, ref: str) -> bool:
    rc, _ = git_rc(repo, "update-ref", "-d", ref)
    return rc == 0


def rebase_onto(repo: Path, base: str, head: str, env: Mapping[str, str]) -> str | None:
    """Replay base..head onto base in a scratch worktree; the new tip, or None on conflict."""
    commits = git(repo, "rev-list", "--reverse", "--no-merges", f"{base}..{head}").split()
    tmp = Path(tempfile.mkdtemp(prefix="sandbox-rebase-"))
    wt = tmp / "wt"
    try:
        git(repo, "worktree", "add", "-q", "--detach", str(wt), base)
        for c in commits:
            rc, _ = git_rc(wt, "cherry-pick", "--allow-empty", "--keep-redundant-commits", c,
                           env={k: v for k, v in env.items() if k.startswith("GIT_COMMITTER")})
            if rc != 0:
                return None
        return git(wt, "rev-parse", "HEAD").strip()
    finally:
        git_rc(repo, "worktree", "remove", "--force", str(wt))
        shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str
    committer_name: str
    committer_email: str
    committer_date: str
    message: str


_FMT = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"


def _parse_commits(out: str) -> list[CommitInfo]:
    result = []
    for rec in out.split("\x1e"):
        rec = rec.lstrip("\n")
        if not rec:
            continue
        f = rec.split("\0")
        result.append(
            CommitInfo(f[0], f[1], tuple(f[2].split()), f[3], f[4], f[5], f[6], f[7], f[8],
                       f[9].rstrip("\n"))
        )
    return result


def commit_info(repo: Path, sha: str) -> CommitInfo:
    return _parse_commits(git(repo, "show", "-s", f"--format={_FMT}", sha))[0]


def commits_between(repo: Path, base: str, head: str) -> list[CommitInfo]:
    return _parse_commits(git(repo, "log", "--reverse", f"--format={_FMT}", f"{base}..{head}"))


@dataclass(frozen=True)
class FileChange:
    filename: str
    status: str
    additions: int
    deletions: int
    sha: str
    patch: str
    previous_filename: str | None = None


_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied",
           "T": "changed"}


def diff_files(repo: Path, base: str, head: str) -> list[FileChange]:
    """Files changed from ``base`` to ``head`` as GitHub lists them (status, counts, patch)."""
    raw = git(repo, "diff", "--raw", "-z", "-M", "--numstat", base, head)
    parts = raw.split("\0")
    entries: list[tuple[str, str, str, str | None]] = []
    i = 0
    counts: list[tuple[int, int]] = []
    while i < len(parts):
        p = parts[i]
        if p.startswith(":"):
            meta = p[1:].split()
            code = meta[4][0]
            new_sha = meta[3]
            if code in "RC":
                entries.append((code, parts[i + 2], new_sha, parts[i + 1]))
                i += 3
            else:
                entries.append((code, parts[i + 1], new_sha, None))
                i += 2
        elif p.strip():
            # numstat: "add\tdel\tpath" or, for renames, "add\tdel\t" then two paths
            fields = p.split("\t")
            n_add, n_del = fields[0], fields[1]
            # binary files count "-"
            counts.append((int(n_add) if n_add.isdigit() else 0,
                           int(n_del) if n_del.isdigit() else 0))
            i += 3 if fields[2] == "" else 1
        else:
            i += 1
    files = []
    for (code, name, sha, prev), (add, dele) in zip(entries, counts, strict=False):
        patch_args = ["diff", "-M", base, head, "--", name] + ([prev] if prev else [])
        text = git(repo, *patch_args)
        at = text.find("@@")
        files.append(FileChange(name, _STATUS.get(code, "modified"), add, dele, sha,
                                text[at:].rstrip("\n") if at >= 0 else "", prev))
    return files


TreeEntries = list[tuple[str, str, str]]


def read_path(repo: Path, ref: str, path: str) -> tuple[str, str, bytes | TreeEntries]:
    """(type, sha, content): a blob's bytes, or a tree's entries as (name, type, sha)."""
    spec = f"{ref}:{path}" if path else f"{ref}^{{tree}}"
    rc, out = git_rc(repo, "rev-parse", "--verify", "--quiet", spec)
    if rc != 0:
        raise KeyError(path)
    sha = out.strip()
    kind = git(repo, "cat-file", "-t", sha).strip()
    if kind == "blob":
        proc = subprocess.run(["git", "cat-file", "blob", sha], cwd=repo, capture_output=True,
                              env=_env(), check=True)
        return kind, sha, proc.stdout
    entries = []
    for line in git(repo, "ls-tree", sha).splitlines():
        meta, name = line.split("\t", 1)
        _, t, s = meta.split()
        entries.append((name, t, s))
    return kind, sha, entries


def import_bare(path: Path, source: Path) -> str:
    """A bare copy of the repository at ``source``, history and all: its branches and tags as
    they are (never flattened); the default branch is the one ``source`` has checked out (or
    its HEAD, when bare). Returns that branch's name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    git(path.parent, "clone", "-q", "--bare", "--no-local", str(source), str(path))
    git(path, "config", "http.receivepack", "true")
    git(path, "config", "gc.auto", "0")
    head = git(path, "symbolic-ref", "-q", "--short", "HEAD").strip()
    return head or "main"
