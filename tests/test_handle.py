"""``improve handle``: reading the Actions environment and routing events to stages."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from git import GitCommandError

from bot.adapters.event import Event, read_event
from bot.adapters.git import GitError
from bot.commands.handle import STAGES, bot_router
from bot.core.router import Router
from bot.errors import EXIT_BUG, ForgeError, GateError, InputError, exit_code_of, report
from bot.sandbox.events import build_event
from bot.stages.context import StageContext


def _services() -> StageContext:
    def no_forge():  # type: ignore[no-untyped-def]
        raise AssertionError("this test must not reach the forge")

    return StageContext(make_forge=no_forge, out=io.StringIO())


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
    def on_pr(event: Event, services: StageContext) -> int:
        seen.append(f"pr:{event.action}")
        return 0

    @b.register("pull_request")
    def on_any_pr(event: Event, services: StageContext) -> int:
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
    from bot.stages.context import context_for_event as github_services

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


def _failing_router(seen: list[str]) -> Router:
    r = Router()

    @r.register("push")
    def breaks(event: Event, services: StageContext) -> int:
        seen.append("breaks")
        raise ForgeError("GET /repos/o/r/pulls: 502 Bad Gateway")

    @r.register("push")
    def has_a_bug(event: Event, services: StageContext) -> int:
        seen.append("bug")
        raise ValueError("an unexpected one")

    @r.register("push")
    def releases(event: Event, services: StageContext) -> int:
        seen.append("release")
        return 0

    return r


def test_every_handler_runs_when_one_fails_and_the_worst_code_wins() -> None:
    seen: list[str] = []
    services = replace(_services(), err=io.StringIO())
    code = _failing_router(seen).dispatch(Event("push", {}, "o/r"), services)
    assert seen == ["breaks", "bug", "release"]  # the release ran after both failures
    err = services.err.getvalue()
    assert "test_handle.breaks: error: GET /repos/o/r/pulls: 502 Bad Gateway" in err
    assert "test_handle.has_a_bug: unexpected error" in err and "Traceback" in err
    assert err.count("Traceback") == 1  # only the unexpected one shows a traceback
    assert code == EXIT_BUG


def test_the_router_writes_only_to_the_streams_it_is_handed(
        capsys: pytest.CaptureFixture[str]) -> None:
    services = replace(_services(), err=io.StringIO())
    router = _failing_router([])
    router.dispatch(Event("push", build_event("push", None, repo="o/r"), "o/r"), services)
    router.dispatch(Event("issues", build_event("issues", "opened", repo="o/r"), "o/r"), services)
    assert capsys.readouterr() == ("", "")  # the process's own streams: nothing
    assert "nothing to do for issues.opened" in services.out.getvalue()  # type: ignore[attr-defined]
    assert "502 Bad Gateway" in services.err.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("exc", "code", "traceback"),
    [
        (GateError("the gate says no"), 1, False),
        (InputError("bad input"), 2, False),
        (ForgeError("502 from GitHub"), 3, False),
        (GitError("git push: rejected"), 4, False),
        (GitCommandError(["git", "cat-file", "-e", "abc"], 128, b"fatal: bad object"), 4, False),
        (KeyError("x"), 5, True),
        (RecursionError("deep"), 5, True),
    ],
)
def test_exit_codes_keep_failures_apart(exc: Exception, code: int, traceback: bool) -> None:
    try:
        raise exc
    except Exception as raised:
        message, got = report("improve handle", raised)
    assert got == code == exit_code_of(exc)
    assert ("Traceback" in message) is traceback
    assert message.splitlines()[-1].startswith("improve handle: ")


def test_the_stage_table_matches_what_the_stages_register() -> None:
    """STAGES lets the router import only what an event needs; it must name every stage that
    registers for an event, or that stage would never run."""
    import importlib

    for name, events in STAGES:
        module = importlib.import_module(f"bot.stages.{name}")
        assert {e for e, _ in module.router.routes()} == set(events), name
    every = bot_router()
    for event in {e for _, events in STAGES for e in events}:
        sub = bot_router(event)
        assert [k for k in sub.routes() if k[0] == event] == \
            [k for k in every.routes() if k[0] == event]
        ev = Event(event, {"action": "opened"}, "o/r")
        assert sub.handlers(ev) == every.handlers(ev)


def test_an_ignored_event_imports_no_stage(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text(json.dumps({"action": "edited", "issue": {"number": 1}}))
    code = (
        "import sys; from bot.cli import main\n"
        "rc = main(['handle'])\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('bot.stages.', 'scipy', 'github', "
        "'git', 'mcp', 'bot.commands._mcp')) and m != 'bot.stages.router')\n"
        "print(rc, heavy)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update({"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": str(path),
                "GITHUB_REPOSITORY": "o/r", "GITHUB_TOKEN": "ghs_secret"})
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=tmp_path)
    assert proc.stdout.strip().splitlines()[-1] == "0 []", proc.stdout + proc.stderr
    assert "nothing to do for issues.edited" in proc.stdout


def test_no_secret_in_the_event_s_repr_or_in_any_error(tmp_path: Path) -> None:
    token = "ghs_" + "S3cr3t" * 6
    path = tmp_path / "event.json"
    path.write_text(json.dumps(build_event("pull_request", "opened", repo="octo/app", number=7)))
    env = {"GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(path),
           "GITHUB_REPOSITORY": "octo/app", "GITHUB_TOKEN": token}
    event = read_event(env)
    assert event.token == token
    assert token not in repr(event) and token not in str(event)
    # once read, the token is hidden wherever it might be printed: an error quoting a URL or
    # the header git was given, and the traceback of an unexpected error
    import base64

    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    for exc in (ForgeError(f"GET https://x-access-token:{token}@example.com failed"),
                GitError(f"git -c http.extraHeader='AUTHORIZATION: basic {header}' fetch"),
                RuntimeError(f"bug with {token} inside")):
        message, _ = report("improve handle", exc)
        assert token not in message and header not in message
        assert "***" in message


def test_deeply_nested_event_json_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    env = {"GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(path),
           "GITHUB_REPOSITORY": "a/b"}
    with pytest.raises(InputError, match="nested too deeply"):
        read_event(env)
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}, **env}
    proc = subprocess.run([sys.executable, "-m", "bot", "handle"], capture_output=True,
                          text=True, env=full, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr  # one line


def _mangled(name: str, action: str | None, path: tuple[str, ...], value: object,
             **facts: object) -> dict[str, object]:
    """A real payload (the vendored example, validated) with one field set as a proxy or a
    hand-made event might: the shape GitHub documents everywhere else."""
    payload = build_event(name, action, repo="o/r", **facts)
    node: dict[str, object] = payload
    for step in path[:-1]:
        node = node[step]  # type: ignore[assignment]
    node[path[-1]] = value
    return payload


@pytest.mark.parametrize(
    ("name", "payload", "options", "code", "says"),
    [
        # a pull request closed without merging: nothing to release, and the log says so
        ("pull_request", build_event("pull_request", "closed", repo="o/r", number=5), [], 0,
         "pull request #5 was closed without merging; nothing to release"),
        # head: null, in either half of the pull-request evaluation
        ("pull_request", _mangled("pull_request", "opened", ("pull_request", "head"), None), [],
         2, "pull_request.head.sha: expected a commit SHA (40 or 64 hex digits), got nothing"),
        ("pull_request", _mangled("pull_request", "opened", ("pull_request", "head"), None),
         ["--results-out", "out.json"], 2, "pull_request.head.sha: expected a commit SHA"),
        ("pull_request", _mangled("pull_request", "opened", ("pull_request", "number"), "7"),
         [], 2, "pull_request.number: expected a whole number, got str '7'"),
        # wrong types where a number or a string belongs
        ("issue_comment", _mangled("issue_comment", "created", ("comment", "id"), "abc"), [], 2,
         "comment.id: expected a whole number, got str 'abc'"),
        ("issue_comment", _mangled("issue_comment", "created", ("comment", "body"), ["/approve"]),
         [], 2, "comment.body: expected a string, got list"),
        ("issue_comment", _mangled("issue_comment", "created", ("issue", "number"), 1.5), [], 2,
         "issue.number: expected a whole number, got float '1.5'"),
        ("workflow_run", _mangled("workflow_run", "completed", ("workflow_run",), "x"),
         ["--results-in", "in.json"], 2, "workflow_run: expected an object, got str 'x'"),
        ("push", _mangled("push", None, ("after",), 12345, default_branch="main",
                          ref="refs/heads/main"), [], 2, "after: expected a commit SHA"),
    ],
)
def test_payloads_github_could_send_or_a_proxy_could_mangle(
    name: str, payload: dict[str, object], options: list[str], code: int, says: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """One clear line and exit 2 (0 for an event the bot ignores), never a traceback."""
    from bot.cli import main

    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    for key in [k for k in os.environ if k.startswith("GITHUB_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GITHUB_EVENT_NAME", name)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(path))
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    got = main(["handle", "--forge", "local", *options])
    out, err = capsys.readouterr()
    assert got == code, out + err
    assert "Traceback" not in out + err
    assert says in (out + err)
    if code == 2:  # one line per handler that met the payload
        assert all(line.startswith("improve handle: ") for line in err.strip().splitlines()), err
        assert not (tmp_path / "out.json").exists()
