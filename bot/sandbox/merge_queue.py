"""GitHub's merge queue, as far as a repository that requires checks through it meets it.

A person adds a pull request to the queue (``Sandbox.enqueue``; GitHub's "Merge when ready",
which needs write access and a mergeable pull request). GitHub then makes the queue's merge
commit of the pull request's head on the base branch's tip, on a branch of its own,
``gh-readonly-queue/<base>/pr-<number>-<head sha>`` (a ``push`` is delivered for it, as GitHub
still sends one), and delivers ``merge_group`` ``checks_requested`` for that commit. When every
required status context on the queue's commit is ``success``, the base branch moves to that
commit (the pull request is merged, its ``closed`` and the base's ``push`` are delivered); when
one is ``failure`` or ``error``, the pull request leaves the queue unmerged. Either way the
queue's branch is deleted. The queue decides as statuses arrive (``settle``, after every new
commit status), as GitHub does.

A branch protected with "Require merge queue" (``Sandbox.require_merge_queue``) refuses a
direct merge (405 "Changes must be made through the merge queue", as GitHub answers it).

Only one group per pull request and no batching: enough for the loop's gate. A base that moved
under the queue (a direct push) invalidates the entry, as GitHub rebuilds the group then. All
functions here run with the state lock held.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox import deliveries, gitops, merging
from bot.sandbox.state import Issue, Repo, State, Token

PREFIX = "gh-readonly-queue"
# who GitHub says pushed the queue's branches and merged its groups
QUEUE_BOT = "github-merge-queue[bot]"


@dataclass
class Entry:
    number: int
    branch: str  # the queue's branch (without refs/heads/)
    sha: str  # the queue's merge commit: what the required checks run on
    base_sha: str
    required: tuple[str, ...]
    by: str  # who added the pull request to the queue
    head_sha: str  # the pull request's head it was queued with


class QueueError(ValueError):
    """What GitHub refuses when a pull request is added to the queue."""


def _queue_token(repo: Repo) -> Token:
    # GitHub's own App acts for the queue: its pushes start workflows (no GITHUB_TOKEN)
    return Token("", QUEUE_BOT, "app", repo.full_name, {})


def enqueue(state: State, repo: Repo, pr: Issue, by: str,
            required: tuple[str, ...]) -> Entry:
    """Add ``pr`` to the queue: its merge group is made and ``checks_requested`` delivered."""
    if not pr.is_pull or pr.state != "open" or pr.merged:
        raise QueueError(f"#{pr.number} is not an open pull request")
    if any(e.number == pr.number for e in repo.merge_queue):
        raise QueueError(f"#{pr.number} is already in the merge queue")
    if not required:
        raise QueueError("a merge queue needs the status checks it waits for (required)")
    base_sha = gitops.resolve(repo.path, f"refs/heads/{pr.base_ref}")
    if base_sha is None:
        raise QueueError(f"#{pr.number}: no base branch {pr.base_ref}")
    # GitHub queues a pull request only once it meets the branch's requirements
    states = _required_states(repo, pr.head_sha, tuple(required))
    if any(s != "success" for s in states):
        seen = ", ".join(f"{c}: {s}" for c, s in zip(required, states, strict=True))
        raise QueueError(f"#{pr.number}: required checks are not green on its head ({seen})")
    tree = gitops.merge_tree(repo.path, base_sha, pr.head_sha)
    if not tree.clean:
        raise QueueError(f"#{pr.number} has conflicts with {pr.base_ref}")
    env = {**gitops.ident_env("GitHub", "noreply@github.com")}
    message = f"Merge pull request #{pr.number} from {repo.owner}/{pr.head_ref}\n\n{pr.title}\n"
    sha = gitops.commit_tree(repo.path, tree.tree, [base_sha, pr.head_sha], message, env)
    branch = f"{PREFIX}/{pr.base_ref}/pr-{pr.number}-{pr.head_sha}"
    before = gitops.refs(repo.path)
    gitops.update_ref(repo.path, f"refs/heads/{branch}", sha)
    entry = Entry(pr.number, branch, sha, base_sha, tuple(required), by, pr.head_sha)
    repo.merge_queue.append(entry)
    token = _queue_token(repo)
    deliveries.refs_moved(state, repo, before, token)
    deliveries.record(state, repo, "merge_group", "checks_requested", token, head_sha=sha,
                      base_sha=base_sha, base_ref=pr.base_ref, number=pr.number,
                      pr_head_sha=pr.head_sha)
    return entry


def _required_states(repo: Repo, sha: str, required: tuple[str, ...]) -> list[str]:
    """The latest state of each required context on ``sha`` (pending where none is set)."""
    latest: dict[str, str] = {}
    for s in repo.statuses:
        if s.sha == sha:
            latest[s.context] = s.state
    return [latest.get(context, "pending") for context in required]


def settle(state: State, repo: Repo) -> None:
    """Merge each queued pull request whose required checks all passed on its group; drop each
    whose checks failed (or whose base moved under it); leave the others waiting."""
    drop_changed(state, repo)
    for entry in list(repo.merge_queue):
        if entry not in repo.merge_queue:
            continue  # a merge before it moved its head: it left the queue
        states = _required_states(repo, entry.sha, entry.required)
        if any(s in ("failure", "error") for s in states):
            _leave(state, repo, entry)
        elif all(s == "success" for s in states):
            _merge(state, repo, entry)


def refs_moved(state: State, repo: Repo, before: dict[str, str], token: Token | None) -> None:
    """What a push or a ref update delivers (deliveries.refs_moved), then the queue's entries
    whose pull request got a new head taken out: the routes that move refs call this (the
    queue builds on deliveries, so deliveries cannot call the queue)."""
    deliveries.refs_moved(state, repo, before, token)
    if repo.merge_queue:
        drop_changed(state, repo)


def drop_changed(state: State, repo: Repo) -> None:
    """Take out of the queue each pull request closed, or given a new head, since it was
    queued: GitHub removes it then (its group would merge a head the pull request left)."""
    for entry in [e for e in repo.merge_queue if _changed(repo.issues[e.number], e)]:
        _leave(state, repo, entry)


def _changed(pr: Issue, entry: Entry) -> bool:
    return pr.state != "open" or pr.merged or pr.head_sha != entry.head_sha


def _leave(state: State, repo: Repo, entry: Entry) -> None:
    repo.merge_queue.remove(entry)
    before = gitops.refs(repo.path)
    gitops.delete_ref(repo.path, f"refs/heads/{entry.branch}")
    deliveries.refs_moved(state, repo, before, _queue_token(repo))


def _merge(state: State, repo: Repo, entry: Entry) -> None:
    pr = repo.issues[entry.number]
    base_ref = f"refs/heads/{pr.base_ref}"
    before = gitops.refs(repo.path)
    if not gitops.update_ref(repo.path, base_ref, entry.sha, entry.base_sha):
        _leave(state, repo, entry)  # the base moved under the group: GitHub rebuilds it
        return
    repo.merge_queue.remove(entry)
    gitops.delete_ref(repo.path, f"refs/heads/{entry.branch}")
    merging.mark_merged(state, repo, pr, entry.by, entry.sha, _queue_token(repo), before)
