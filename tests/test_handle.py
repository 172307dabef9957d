"""``improve handle``: reading the Actions environment and routing events to stages."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.adapters.event import Event, read_event
from bot.errors import InputError
from bot.sandbox.events import build_event
from bot.stages.context import Services
from bot.stages.router import Router


def _services() -> Services:
    def no_forge():  # type: ignore[no-untyped-def]
        raise AssertionError("this test must not reach the forge")

    return Services(make_forge=no_forge, out=io.StringIO())


def test_read_event_from_the_actions_environment(tmp_path: Path) -> None:
    payload = build_event("pull_request", "opened", repo="octo/app", number=7)
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    event = read_event(
        {
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(path),
            "GITHUB_REPOSITORY": "octo/app",
            "GITHUB_API_URL": "http://127.0.0.1:1/api/v3",
            "GITHUB_TOKEN": "t0k",
        }
    )
    assert (event.name, event.action, event.repo) == ("pull_request", "opened", "octo/app")
    assert event.get("pull_request", "number") == 7
    assert event.get("pull_request", "no", "such", default="x") == "x"
    assert event.api_url == "http://127.0.0.1:1/api/v3" and event.token == "t0k"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GITHUB_EVENT_NAME: is not set"),
        (
            {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_EVENT_PATH": "/no/such",
                "GITHUB_REPOSITORY": "a/b",
            },
            "/no/such: GITHUB_EVENT_PATH names no file",
        ),
        (
            {
                "GITHUB_EVENT_NAME": "push",
                "GITHUB_EVENT_PATH": __file__,
                "GITHUB_REPOSITORY": "a/b",
            },
            "the event file is not JSON",
        ),
    ],
)
def test_read_event_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message.replace("/", "/")):
        read_event(env)


def test_routers_compose_and_dispatch_by_event_and_action() -> None:
    seen: list[str] = []
    a, b = Router(), Router()

    @a.register("pull_request", "opened", "synchronize")
    def on_pr(event: Event, services: Services) -> int:
        seen.append(f"pr:{event.action}")
        return 0

    @b.register("pull_request")
    def on_any_pr(event: Event, services: Services) -> int:
        seen.append("any")
        return 1

    both = Router(a, b)
    services = _services()
    opened = Event("pull_request", {"action": "opened"}, "o/r")
    assert both.dispatch(opened, services) == 1  # the worst exit code wins
    assert seen == ["pr:opened", "any"]
    seen.clear()
    assert both.dispatch(Event("issues", {"action": "opened"}, "o/r"), services) == 0
    assert seen == [] and "nothing to do for issues.opened" in services.out.getvalue()  # type: ignore[attr-defined]


def test_handle_outside_actions_is_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "handle"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert (
        "GITHUB_EVENT_NAME: is not set (improve handle runs inside a GitHub Actions step)"
        in proc.stderr
    )


def test_the_bot_login_follows_the_app_token() -> None:
    from bot.stages.context import github_services

    base = {"GITHUB_TOKEN": "t"}
    app = Event(
        "issue_comment", {}, "o/r", token="t", env={**base, "IMPROVE_BOT_LOGIN": "improve-app[bot]"}
    )
    plain = Event("issue_comment", {}, "o/r", token="t", env=base)
    assert github_services(app).forge.bot_login == "improve-app[bot]"  # type: ignore[attr-defined]
    assert github_services(plain).forge.bot_login == "github-actions[bot]"  # type: ignore[attr-defined]


def test_commands_build_their_forge_with_the_app_login_too() -> None:
    """`improve monitor`, `release`, `dashboard`, `tune` and `propose` build their forge from
    the environment as `improve handle` does: with an App token they must still recognise the
    bot's own comments."""
    from bot.adapters.github_forge import forge_from_env

    env = {
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_TOKEN": "t",
        "IMPROVE_BOT_LOGIN": "improve-app[bot]",
        "GITHUB_API_URL": "http://127.0.0.1:1/api/v3",
    }
    forge = forge_from_env(env)
    assert forge.bot_login == "improve-app[bot]" and forge.full_name == "o/r"
    with pytest.raises(InputError, match="GITHUB_TOKEN: is not set; --forge github needs it"):
        forge_from_env({"GITHUB_REPOSITORY": "o/r"})
