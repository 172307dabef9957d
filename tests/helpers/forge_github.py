"""The GitHub adapter's world for the forge contract tests: PyGithub against the sandbox.

One sandbox per test module (starting one costs a little; each test gets its own repository),
and any request or response the sandbox finds out of GitHub's description fails the test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.git import Git
from bot.adapters.github_forge import GitHubForge
from bot.core.forge import Forge, Permission
from bot.sandbox import Sandbox
from tests.helpers.forge import SEED_FILES, ForgeWorld

_repos = itertools.count()


@pytest.fixture(scope="module")
def forge_sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


def new_repo(sb: Sandbox) -> str:
    name = f"owner/repo{next(_repos)}"
    sb.create_repo(name, files=dict(SEED_FILES), default_branch="main")
    return name


def github_world(request: pytest.FixtureRequest, tmp: Path, max_wait: float = 5.0) -> ForgeWorld:
    sb: Sandbox = request.getfixturevalue("forge_sandbox")
    seen = len(sb.violations)

    def no_violations() -> None:
        new = sb.violations[seen:]
        assert not new, "sandbox found requests or responses off GitHub's description:\n" + (
            "\n".join(new)
        )

    request.addfinalizer(no_violations)
    name = new_repo(sb)
    forge = GitHubForge(name, sb.token, api_url=sb.api_url, max_wait=max_wait)
    request.addfinalizer(forge.close)
    work = Git.clone(sb.git_url(name), tmp / f"work-{name.replace('/', '-')}")

    def as_user(login: str, permission: Permission) -> Forge:
        token = sb.add_user(login, permission, repos=[name])
        other = GitHubForge(name, token, api_url=sb.api_url, max_wait=max_wait)
        request.addfinalizer(other.close)
        return other

    world = ForgeWorld("github", forge, work, as_user, {"sandbox": sb, "repo": name})
    # the contract tests call the repository "owner/repo"; this one is "owner/repoN"
    world.extra["full_name"] = name
    return world
