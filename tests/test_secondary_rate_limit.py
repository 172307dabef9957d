"""A secondary rate limit (403, GitHub's message, no Retry-After) is waited out as GitHub's docs
say: a minute, then exponentially longer, within a bound. The waits are computed and bounded in
full; only the real sleeping is scaled down, so the tests do not sleep minutes."""

from __future__ import annotations

import pytest

from bot.adapters.github_forge import GitHubForge
from bot.adapters.http_retry import TIME_SCALE_ENV, RetryPolicy, _env_time_scale
from bot.core.forge import ForgeError
from bot.sandbox import Sandbox
from bot.sandbox import routes as r
from tests.helpers.sandbox import sandbox  # noqa: F401

REPO = "acme/widgets"


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:  # noqa: F811
    sandbox.create_repo(REPO, {"README.md": "hello\n"})
    return sandbox


def _forge(sb: Sandbox, token: str | None = None) -> tuple[GitHubForge, list[float]]:
    """A forge whose sleeps are recorded; by default with a job token that may do what the
    tests ask (open an issue, list pull requests), so only the rate limit refuses."""
    if token is None:
        token = sb.mint_token("ci", kind="github_token", repo=REPO,
                              permissions={"issues": "write", "pull-requests": "read"})
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(sleep=sleep, time_scale=0.001)
    return GitHubForge(REPO, token, api_url=sb.api_url, policy=policy), slept


def test_a_secondary_rate_limit_is_waited_out_a_minute_then_doubling(sb: Sandbox) -> None:
    forge, slept = _forge(sb)
    sb.inject_secondary_rate_limit("POST", r"/issues$", times=2)
    issue = forge.create_issue(title="Dashboard", body="b", labels=[])
    assert issue.number == 1
    # GitHub: at least a minute, then exponentially longer; slept 1/1000 of it
    assert forge.calls.waited == pytest.approx(60 + 120)
    assert slept == pytest.approx([0.06, 0.12])
    assert forge.calls.retries == 2
    assert [(q.method, q.status) for q in sb.requests if q.kind == "api"][-3:] == [
        ("POST", 403), ("POST", 403), ("POST", 201)]


def test_past_the_bound_it_stops_with_the_reason(sb: Sandbox) -> None:
    forge, slept = _forge(sb)
    sb.inject_secondary_rate_limit("GET", r"/pulls$", times=10)
    with pytest.raises(ForgeError) as caught:
        forge.list_pulls()
    text = str(caught.value)
    assert "secondary rate limit" in text and "bound of 420s" in text
    assert forge.calls.waited == pytest.approx(60 + 120 + 240)
    assert len(slept) == 3


def test_any_other_403_is_not_retried_and_keeps_githubs_message(sb: Sandbox) -> None:
    token = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"contents": "read"})
    forge, slept = _forge(sb, token)
    with pytest.raises(ForgeError) as caught:
        forge.create_issue(title="x", body="b", labels=[])
    assert r.NO_ACCESS in str(caught.value) and "403" in str(caught.value)
    assert slept == [] and forge.calls.retries == 0


def test_the_time_scale_comes_from_the_environment_and_only_shortens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_SCALE_ENV, "0.01")
    assert _env_time_scale() == 0.01
    for bad in ("5", "0", "-1", "soon"):
        monkeypatch.setenv(TIME_SCALE_ENV, bad)
        assert _env_time_scale() == 1.0
    monkeypatch.delenv(TIME_SCALE_ENV)
    assert RetryPolicy().time_scale == 1.0
