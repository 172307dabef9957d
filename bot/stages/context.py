"""What a stage is handed: the forge, the git checkout, the trusted configuration, the clock and
the output streams, each built on first use (the token-less half of a pull request never builds
a forge). Tests pass their own (the sandbox's forge, a fixed clock)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.adapters.event import Event
from bot.core.config import BOTH_CONFIGS, CONFIG_PATHS, Config, parse_config, read_config
from bot.core.forge import Forge
from bot.errors import InputError, Problem

if TYPE_CHECKING:
    from bot.adapters.release_git import Workspace


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    make_forge: Callable[[], Forge]
    workspace: Path = Path(".")
    now: Callable[[], datetime] = _now
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    options: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def forge(self) -> Forge:
        return self.make_forge()

    @cached_property
    def default_branch(self) -> str:
        return self.forge.repo_info().default_branch

    @cached_property
    def config(self) -> Config:
        return trusted_config(self.forge, self.default_branch)

    def assume_default_branch(self, branch: str | None) -> None:
        """Take the event's word for the default branch (one API call fewer than asking the
        forge), unless it is known already."""
        if branch and "default_branch" not in self.__dict__:
            self.__dict__["default_branch"] = branch  # what the cached property would hold


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


def github_services(event: Event, **kwargs: Any) -> Services:
    def make() -> Forge:
        from bot.adapters.github_forge import forge_for

        if not event.token:
            raise InputError("GITHUB_TOKEN: is not set, and this step needs to talk to GitHub")
        return forge_for(event.repo, event.token, event.env, event.api_url)

    return Services(make_forge=make, workspace=event.workspace, **kwargs)


def local_services(event: Event, **kwargs: Any) -> Services:
    def make() -> Forge:
        from bot.adapters.local_forge import LocalForge

        return LocalForge(event.workspace, full_name=event.repo)

    return Services(make_forge=make, workspace=event.workspace, **kwargs)


@dataclass
class Env:
    """What the release, monitor and rollback stages work with: built by the command or the
    event handler."""

    forge: Forge
    config: Config
    open_workspace: Callable[[str], Workspace]  # default branch -> workspace
    now: Callable[[], datetime]
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    default_branch: str | None = None
    in_actions: bool = False
    # the Actions run (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT) this is, when it is one
    run_id: int | None = None
    run_attempt: int | None = None


def clone_url(event: Event) -> str:
    return f"{event.server_url.rstrip('/')}/{event.repo}.git"


def env_for_event(event: Event, services: Services) -> Env:
    """The stage's environment from an Actions event and the handler's ``Services``."""
    from bot.adapters import actions
    from bot.adapters.local_forge import LocalForge
    from bot.adapters.release_git import Workspace

    forge = services.forge
    root = forge.git.path if isinstance(forge, LocalForge) else None

    def open_ws(branch: str) -> Workspace:
        if root is not None:
            return Workspace.local(root, branch)
        return Workspace.clone(clone_url(event), branch, token=event.token)

    run_id, attempt = actions.run_of(event.env)
    return Env(forge=forge, config=services.config, open_workspace=open_ws, now=services.now,
               out=services.out, err=services.err, default_branch=services.default_branch,
               in_actions=actions.in_actions(event.env), run_id=run_id, run_attempt=attempt)
