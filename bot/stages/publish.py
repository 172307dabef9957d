"""PROPOSE's publishing half: the branch ``improve/<id>`` pushed (never forced) and its pull
request opened with the ``improvement`` label, or found when it exists; the limits' inputs
gathered from the forge (open proposals) and the data branch (release records).

Idempotent: a proposal already published is found (branch at the same commit, an open pull
request for the branch) and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adapters.datastore import DataStore
from bot.adapters.git import Git, PushRejected
from bot.core.forge import Forge
from bot.core.limits import CooldownRelease, OpenProposal, cooldown_view
from bot.core.proposals import BRANCH_PREFIX, PROPOSALS_DIR
from bot.core.records import MonitorRecord, RecordSet, ReleaseRecord, release_path
from bot.errors import GateError
from bot.stages.propose import LABEL, Outcome, Publisher, PublishRequest

TOKEN_WARNING = (
    "This pull request was opened with the workflow's GITHUB_TOKEN: GitHub starts no workflow "
    "for it, so the suites will not run until someone pushes to it or re-opens it. Use a GitHub "
    "App token (see the README) to have proposals tested automatically."
)
REMOTE_DIVERGED = "branch {branch} on {remote} holds commits this proposal's branch lacks " \
    "({reason}); it is left as it is (never forced over)"


def github_token_warning(env: dict[str, str] | Any) -> str | None:
    """The warning when the token is a GITHUB_TOKEN (``IMPROVE_TOKEN_SOURCE``, set by
    action.yml), else None."""
    return TOKEN_WARNING if env.get("IMPROVE_TOKEN_SOURCE") == "github-token" else None


def sync_proposal_branches(repo: Git, default_branch: str, remote: str = "origin") -> None:
    """Fetch the default branch and every ``improve/*`` branch from the remote; create the local
    branches this clone lacks, so a proposal published from elsewhere is found, not re-made."""
    repo.fetch(f"+refs/heads/{default_branch}:refs/remotes/{remote}/{default_branch}",
               f"+refs/heads/{BRANCH_PREFIX}*:refs/remotes/{remote}/{BRANCH_PREFIX}*",
               remote=remote)
    out = repo.run("for-each-ref", "--format=%(refname) %(objectname)",
                   f"refs/remotes/{remote}/{BRANCH_PREFIX}")
    for line in out.splitlines():
        ref, _, sha = line.partition(" ")
        name = ref.removeprefix(f"refs/remotes/{remote}/")
        if repo.try_rev_parse(f"refs/heads/{name}") is None:
            repo.run("update-ref", f"refs/heads/{name}", sha, "0" * 40)


def open_proposals(forge: Forge) -> Iterator[OpenProposal]:
    """Open pull requests with the label: their ids (the branch's ``improve/<id>``) and targets
    (the paths they change, proposal files aside). Lazy: a re-run that finds its own branch
    never asks."""
    for pr in forge.list_pulls(state="open", label=LABEL):
        paths = [p for p in forge.pull_files(pr.number)
                 if not p.startswith(PROPOSALS_DIR + "/")]
        yield OpenProposal(id=pr.head_ref.removeprefix(BRANCH_PREFIX), targets=paths,
                           number=pr.number)


@dataclass(frozen=True)
class DataRecords:
    """The release and monitor records on the data branch (``DataStore.records``)."""

    records: RecordSet

    @property
    def cooldown(self) -> list[CooldownRelease]:
        """What the cooldown needs: lenient, so a record that lacks fields still counts."""
        found = self.records.release_data
        return [v for v in (cooldown_view(found[p]) for p in sorted(found)) if v is not None]

    @property
    def history(self) -> tuple[list[ReleaseRecord], list[MonitorRecord]]:
        """The full records (those that read as such), for the proposer's track record, the
        resemblance to rolled-back changes and the auto tier's pause; by path, as stored."""
        releases = sorted(self.records.releases, key=lambda r: release_path(r.tag))
        return releases, list(self.records.monitors.values())


def data_records(store: DataStore) -> DataRecords:
    return DataRecords(store.records(None, refresh=False))


def release_records(store: DataStore) -> list[CooldownRelease]:
    """Release records on the data branch (written by the release stage), as the cooldown needs
    them; unreadable ones are skipped."""
    return data_records(store).cooldown


def _remote_tip(repo: Git, remote: str, branch: str) -> str | None:
    out = repo.run("ls-remote", remote, f"refs/heads/{branch}")
    return out.split()[0] if out.strip() else None


def forge_publisher(
    forge: Forge, repo: Git | None, *, remote: str = "origin", warning: str | None = None,
    log: list[str] | None = None,
) -> Publisher:
    """Push the branch (when ``repo`` is given: a remote forge) and open or find its PR."""
    notes = log if log is not None else []

    def publish(req: PublishRequest) -> str | None:
        if repo is not None:
            tip = _remote_tip(repo, remote, req.branch)
            if tip != req.commit:
                try:
                    repo.push(f"refs/heads/{req.branch}:refs/heads/{req.branch}", remote=remote)
                except PushRejected as exc:
                    raise GateError(REMOTE_DIVERGED.format(branch=req.branch, remote=remote,
                                                           reason=exc)) from None
                notes.append(f"pushed {req.branch} at {req.commit[:12]}")
        found = forge.list_pulls(state="open", head=req.branch)
        if found:
            pr = found[0]
            if LABEL not in pr.labels:
                forge.add_labels(pr.number, [LABEL])
                notes.append(f"labelled #{pr.number} {LABEL}")
            notes.append(f"pull request #{pr.number} already open")
            return pr.url or f"#{pr.number}"
        body = req.body if not warning else f"{req.body.rstrip()}\n\n> [!WARNING]\n> {warning}\n"
        pr = forge.create_pull(title=req.title, body=body, head=req.branch, base=req.base_branch,
                               labels=list(req.labels))
        notes.append(f"opened pull request #{pr.number}")
        return pr.url or f"#{pr.number}"

    return publish


def data_store(repo_path: Path, token: str | None, branch: str, remote: str | None) -> DataStore:
    return DataStore(Git(repo_path, token=token), branch=branch, remote=remote)


@dataclass
class Proposed:
    """What PROPOSE did on a forge: the stage's outcome, the publisher's notes and the
    GITHUB_TOKEN warning (None when the token starts workflows)."""

    outcome: Outcome
    notes: list[str]
    warning: str | None


def publish_proposal(repo: Path, text: str, name: str, forge: Forge, pusher: Git | None, *,
                     remote: str = "origin", env: dict[str, str] | Any = None,
                     source_issue: int | None = None) -> Proposed:
    """PROPOSE for one proposal's text, published through ``forge`` (``pusher``: the clone that
    pushes, None for the local forge): the limits' inputs read from the forge and the data
    branch first. ``improve propose``, the MCP server and ``/propose`` on an issue all run
    this, so they cannot differ in a check or a limit."""
    from bot.stages.dashboard_issue import auto_tier_paused
    from bot.stages.propose import propose, resolve_base

    notes: list[str] = []
    warning = github_token_warning(env or {}) if pusher is not None else None
    branch, _, config = resolve_base(repo)
    if pusher is not None:
        sync_proposal_branches(pusher, branch, remote)
    store = data_store(repo, pusher.token if pusher else None, config.data_branch,
                       remote if pusher is not None else None)
    publish = forge_publisher(forge, pusher, remote=remote, warning=warning, log=notes)
    records = data_records(store)
    outcome = propose(repo, text, name, publish=publish, open_proposals=open_proposals(forge),
                      releases=records.cooldown, history=records.history,
                      paused=auto_tier_paused(forge), source_issue=source_issue)
    return Proposed(outcome, notes, warning)
