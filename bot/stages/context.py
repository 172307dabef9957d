"""What a stage is handed (``StageContext``): the forge, the default branch, the trusted
configuration, the checkout, the clock and the output streams; built one way from an event or
from a command's arguments; and the reading of the bot's own inputs (the configuration file of
a working tree, a file named on the command line)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.adapters.event import Event
from bot.core.config import BOTH_CONFIGS, CONFIG_PATHS, Config, parse_config, read_config
from bot.core.forge import Forge
from bot.errors import InputError, Problem

if TYPE_CHECKING:
    from bot.adapters.datastore import DataStore
    from bot.adapters.git import Git
    from bot.adapters.release_git import Workspace


def _now() -> datetime:
    return datetime.now(UTC)


class _Built:
    """What a context builds on first use, kept once built (the context's own fields never
    change)."""

    def __init__(self) -> None:
        self.forge: Forge | None = None
        self.default_branch: str | None = None
        self.config: Config | None = None
        self.git: Git | None = None
        self.remote: tuple[str | None] | None = None


@dataclass(frozen=True)
class StageContext:
    """What every stage is handed: the forge, the default branch, the trusted configuration,
    the checkout, the clock and the output streams. Built one way, from an event
    (``context_for_event``) or from a command's arguments (``context_for_args``); tests build
    their own (the sandbox's forge, a fixed clock). Immutable: no stage sets anything on it.
    What is costly is built on first use and kept (the token-less half of a pull request never
    builds a forge; the default branch is asked of the forge only when the payload did not say
    it)."""

    make_forge: Callable[[], Forge]
    workspace: Path = Path(".")
    now: Callable[[], datetime] = _now
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    # the default branch as the payload or the caller said it; None: the forge is asked
    branch: str | None = None
    # the configuration, when the caller has it; else read_config() (the checkout's copy of the
    # default branch's head, when that is how the event came) or the forge's, on first use
    preset_config: Config | None = None
    read_config: Callable[[], Config | None] | None = None
    # the private clone of a branch the release, monitor and rollback work in; None: of the
    # forge's repository (a local forge's own repository, or a clone of clone_url)
    open_workspace_with: Callable[[str], Workspace] | None = None
    clone_url: str | None = None
    token: str | None = None
    # the data branch's remote in the workspace: "origin" when the workspace has one (and
    # use_remote says to look), or what remote_name says
    use_remote: bool = True
    remote_name: str | None = None
    git_given: Git | None = None
    in_actions: bool = False
    # the Actions run (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT) this is, when it is one
    run_id: int | None = None
    run_attempt: int | None = None
    # ``improve handle --results-out / --results-in``: the two halves of a pull request's run
    results_out: Path | None = None
    results_in: Path | None = None
    # the pull_request half in a matrix job (test.shards): the K-th of N shares of the tasks
    shard: tuple[int, int] | None = None
    _built: _Built = field(default_factory=_Built, repr=False, compare=False)

    @property
    def forge(self) -> Forge:
        if self._built.forge is None:
            self._built.forge = self.make_forge()
        return self._built.forge

    @property
    def default_branch(self) -> str:
        if self.branch:
            return self.branch
        if self._built.default_branch is None:
            self._built.default_branch = self.forge.repo_info().default_branch
        return self._built.default_branch

    @property
    def config(self) -> Config:
        if self.preset_config is not None:
            return self.preset_config
        if self._built.config is None:
            found = self.read_config() if self.read_config is not None else None
            self._built.config = found or trusted_config(self.forge, self.default_branch)
        return self._built.config

    @property
    def git(self) -> Git:
        """The checkout (a clone, or the repository itself): the data branch and the default
        branch. Bad input naming the path when it is not a git repository."""
        if self.git_given is not None:
            return self.git_given
        if self._built.git is None:
            from bot.adapters.git import Git

            try:
                self._built.git = Git(self.workspace, token=self.token)
            except Exception as exc:  # noqa: BLE001 - GitError and friends: say which path
                raise InputError([Problem(str(self.workspace),
                                          f"not a git repository ({exc})")]) from None
        return self._built.git

    @property
    def remote(self) -> str | None:
        if self.remote_name is not None or not self.use_remote:
            return self.remote_name
        if self._built.remote is None:
            from bot.adapters.git import has_remote

            self._built.remote = ("origin" if has_remote(self.git.path) else None,)
        return self._built.remote[0]

    @property
    def store(self) -> DataStore:
        from bot.adapters.datastore import DataStore

        return DataStore(self.git, self.config.data_branch, self.remote)

    def open_workspace(self, branch: str) -> Workspace:
        """A private clone of ``branch``: of the forge's repository."""
        if self.open_workspace_with is not None:
            return self.open_workspace_with(branch)
        from bot.adapters.local_forge import LocalForge
        from bot.adapters.release_git import Workspace

        forge = self.forge
        if isinstance(forge, LocalForge):
            return Workspace.local(forge.git.path, branch)
        if self.clone_url is None:
            raise InputError("the repository to clone is not known")
        return Workspace.clone(self.clone_url, branch, token=self.token)


def trusted_config(forge: Forge, branch: str) -> Config:
    """The configuration as it is on the default branch: never from a pull request, so a pull
    request cannot change how it is judged or who may approve it."""
    return read_config(lambda p: forge.read_file(p, ref=branch), f" (on {branch})")


def config_file_in(root: Path) -> Path | None:
    """The configuration file in a working tree, or None; InputError when both names exist."""
    found = [root / p for p in CONFIG_PATHS if (root / p).is_file()]
    if len(found) > 1:
        raise InputError([Problem(CONFIG_PATHS[1], BOTH_CONFIGS)])
    return found[0] if found else None


NO_FILE = "no such file"
NOT_UTF8 = "not UTF-8 text: byte 0x{byte:02x} at offset {offset} cannot be decoded"
CANNOT_READ = "cannot read: {reason}"


def read_input_text(path: Path, label: str | None = None) -> str:
    """A file the bot reads as input (the configuration, a results file, a changelog), as UTF-8
    text; bad input naming the file (exit 2) when it is missing, unreadable or not UTF-8, never
    a traceback. ``label``: the name to report (default: the path)."""
    name = label or str(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(name, NO_FILE)]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(name, NOT_UTF8.format(byte=exc.object[exc.start],
                                                        offset=exc.start))]) from None
    except OSError as exc:
        raise InputError([Problem(name, CANNOT_READ.format(reason=exc.strerror or exc))]) \
            from None


def local_config(root: Path) -> tuple[Config, str | None]:
    """The configuration file of a working tree, parsed, and its name relative to ``root``;
    every default (and None) when there is none."""
    found = config_file_in(root)
    if found is None:
        return parse_config(None), None
    name = found.relative_to(root).as_posix()
    return parse_config(read_input_text(found, name), name), name


def clone_url(event: Event) -> str:
    return f"{event.server_url.rstrip('/')}/{event.repo}.git"


def _schedule_branch(event: Event) -> str | None:
    """A scheduled run is on the default branch (GITHUB_REF names it)."""
    ref = event.ref or ""
    return ref.removeprefix("refs/heads/") if event.name == "schedule" and \
        ref.startswith("refs/heads/") else None


def _checkout_config(event: Event) -> Config | None:
    """For issue_comment, Actions sets ``GITHUB_SHA`` to the default branch's last commit; the
    COMMANDS workflow checks that branch out. Read by its hash from the checkout's object store,
    the file is the default branch's whatever the working tree holds (a hash names its content),
    so this costs no API call; None when the commit is not there (the forge reads it instead).
    """
    branch = event.default_branch
    if not (event.name == "issue_comment" and branch and event.sha
            and event.ref == f"refs/heads/{branch}" and (event.workspace / ".git").exists()):
        return None
    from bot.adapters.git import Git, GitError

    try:
        git = Git(event.workspace)
        if git.try_rev_parse(f"{event.sha}^{{commit}}") != event.sha:
            return None
        sha = event.sha
        return read_config(lambda p: git.file_at(sha, p), f" (on {branch} at {sha[:7]})")
    except GitError:
        return None


def context_for_event(event: Event, *, local: bool = False, results_out: Path | None = None,
                      results_in: Path | None = None, shard: tuple[int, int] | None = None,
                      **given: Any) -> StageContext:
    """The context of an Actions event: the forge of the event's repository (GitHub, or with
    ``local`` the repository in the workspace itself), the default branch as the payload says
    it (or GITHUB_REF for a scheduled run), the Actions run. ``given``: what a test or a
    benchmark sets itself (its clock, its streams, its forge)."""
    from bot.adapters import actions

    def github() -> Forge:
        from bot.adapters.github_forge import forge_for

        if not event.token:
            raise InputError("GITHUB_TOKEN: is not set, and this step needs to talk to GitHub")
        return forge_for(event.repo, event.token, event.env, event.api_url)

    def local_forge() -> Forge:
        from bot.adapters.local_forge import LocalForge

        return LocalForge(event.workspace, full_name=event.repo)

    run_id, attempt = actions.run_of(event.env)
    fields: dict[str, Any] = {
        "make_forge": local_forge if local else github, "workspace": event.workspace,
        "branch": event.default_branch or _schedule_branch(event),
        "read_config": lambda: _checkout_config(event), "clone_url": clone_url(event),
        "token": event.token, "in_actions": actions.in_actions(event.env), "run_id": run_id,
        "run_attempt": attempt, "results_out": results_out, "results_in": results_in,
        "shard": shard}
    return StageContext(**{**fields, **given})


def context_for_args(args: argparse.Namespace, *, checkout: bool = False) -> StageContext:
    """The context of a command (``--forge github|local``, ``--repo``): the forge, its default
    branch and the trusted configuration, read now (a bad token or repository is said before
    anything else); ``checkout``: the commands that read the data branch in ``--repo`` (a clone
    with its remote as origin) rather than in a private clone."""
    from bot.adapters import actions

    repo = Path(args.repo).resolve()
    forge: Forge
    token = None
    url = None
    if args.forge == "local":
        from bot.adapters.local_forge import LocalForge

        forge = LocalForge(repo)
    else:
        from bot.adapters.github_forge import forge_from_env

        env = os.environ
        forge = forge_from_env(env)
        token = env["GITHUB_TOKEN"]
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        url = f"{server}/{env['GITHUB_REPOSITORY']}.git"
    context = StageContext(make_forge=lambda: forge, workspace=repo, clone_url=url, token=token,
                           use_remote=args.forge == "github",
                           in_actions=actions.in_actions())
    if checkout:
        context.git  # noqa: B018 - a repository that is not one is said before any API call
    branch = forge.repo_info().default_branch
    return replace(context, branch=branch, preset_config=trusted_config(forge, branch))
