"""Faults: the GitHub adapter's retries against the sandbox, and rejected pushes over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.adapters.git import Git, PushRejected
from bot.adapters.github_forge import GitHubForge
from bot.adapters.http_retry import rate_limit_wait, rate_limited
from bot.core.forge import NotFound, PermissionDenied
from bot.errors import ForgeError
from bot.sandbox import Sandbox
from tests.helpers.forge_github import forge_sandbox, new_repo

__all__ = ["forge_sandbox"]


@pytest.fixture
def sb(forge_sandbox: Sandbox) -> Sandbox:
    seen = len(forge_sandbox.violations)
    yield forge_sandbox
    forge_sandbox.clear_faults()
    assert forge_sandbox.violations[seen:] == []


def forge_on(sb: Sandbox, max_wait: float = 5.0) -> GitHubForge:
    return GitHubForge(new_repo(sb), sb.token, api_url=sb.api_url, max_wait=max_wait)


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {}, True),
        (403, {"x-ratelimit-remaining": "0"}, True),
        (403, {"retry-after": "3"}, True),
        (403, {"x-ratelimit-remaining": "12"}, False),
        (502, {"retry-after": "3"}, False),
    ],
)
def test_rate_limited(status: int, headers: dict[str, str], expected: bool) -> None:
    assert rate_limited(status, headers) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 60.0),  # a date: 100 s - now (40)
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "50"}, 10.5),
        ({"x-ratelimit-remaining": "3", "x-ratelimit-reset": "50"}, None),
        ({}, None),
    ],
)
def test_rate_limit_wait(headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_wait(headers, now=40.0) == expected


def test_a_502_then_success_is_one_retry(sb: Sandbox) -> None:
    forge = forge_on(sb)
    sb.inject_fault(method="GET", path=r"^/repos/[^/]+/[^/]+/pulls", status=502, times=1)
    start = len(sb.requests)
    assert forge.list_pulls() == []
    assert forge.calls.retries == 1
    assert forge.calls.requests == 2
    assert sb.api_calls(since=start) == 2


def test_rate_limit_with_retry_after_waits_then_succeeds(sb: Sandbox) -> None:
    forge = forge_on(sb)
    sb.inject_fault(method="GET", path=r"^/repos/[^/]+/[^/]+$", status=429, times=1,
                    retry_after=1)
    t0 = time.monotonic()
    info = forge.repo_info()
    elapsed = time.monotonic() - t0
    assert info.default_branch == "main"
    assert forge.calls.retries == 1
    assert forge.calls.waited == pytest.approx(1.0)
    assert 0.9 <= elapsed < 5.0


def test_primary_rate_limit_waits_for_the_reset(sb: Sandbox) -> None:
    forge = forge_on(sb)
    sb.inject_fault(method="GET", path=r"^/repos/[^/]+/[^/]+$", status=403, times=1,
                    rate_limit_reset=1)
    assert forge.repo_info().default_branch == "main"
    assert forge.calls.retries == 1
    assert 0.0 < forge.calls.waited <= 2.6


def test_a_lasting_500_is_a_clear_error_within_the_bound(sb: Sandbox) -> None:
    forge = forge_on(sb, max_wait=1.5)
    sb.inject_fault(method="GET", path=r"/pulls/1$", status=500, times=1000)
    t0 = time.monotonic()
    with pytest.raises(ForgeError) as info:
        forge.get_pull(1)
    elapsed = time.monotonic() - t0
    message = str(info.value)
    assert "GET /repos/" in message and "/pulls/1" in message and "500" in message
    assert "bound" in message
    assert elapsed < 1.5 + 1.0
    assert forge.calls.waited <= 1.5
    assert forge.calls.requests == forge.calls.retries + 1 >= 2


def test_a_rate_limit_past_the_bound_is_not_waited_for(sb: Sandbox) -> None:
    forge = forge_on(sb, max_wait=2)
    sb.inject_fault(method="GET", path=r"^/repos/[^/]+/[^/]+$", status=429, times=1,
                    retry_after=3600)
    t0 = time.monotonic()
    with pytest.raises(ForgeError, match="429"):
        forge.repo_info()
    assert time.monotonic() - t0 < 1.0
    assert forge.calls.retries == 0


def test_plain_403_and_404_are_not_retried(sb: Sandbox) -> None:
    forge = forge_on(sb)
    with pytest.raises(NotFound):
        forge.get_pull(4242)
    sb.inject_fault(method="GET", path=r"/pulls/7$", status=403, times=1)
    with pytest.raises(PermissionDenied):
        forge.get_pull(7)
    assert forge.calls.retries == 0


def test_push_rejected_as_non_fast_forward_over_http(sb: Sandbox, tmp_path: Path) -> None:
    name = new_repo(sb)
    work = Git.clone(sb.git_url(name), tmp_path / "work")
    work.commit_files({"a.txt": "a\n"}, "first push")
    work.push("HEAD:refs/heads/main")
    before = work.rev_parse("HEAD")
    sb.reject_pushes(name, times=1)
    work.commit_files({"b.txt": "b\n"}, "rejected push")
    with pytest.raises(PushRejected):
        work.push("HEAD:refs/heads/main")
    assert sb.repo_state(name)["refs"]["refs/heads/main"] == before
    work.push("HEAD:refs/heads/main")  # the fault was for one push
    assert sb.repo_state(name)["refs"]["refs/heads/main"] == work.rev_parse("HEAD")


def test_token_never_shows_in_a_push_error(sb: Sandbox, tmp_path: Path) -> None:
    name = new_repo(sb)
    work = Git.clone(sb.git_url(name), tmp_path / "work", token=sb.token)
    sb.reject_pushes(name, times=1)
    work.commit_files({"b.txt": "b\n"}, "rejected push")
    with pytest.raises(PushRejected) as info:
        work.push("HEAD:refs/heads/main")
    assert sb.token not in str(info.value)
