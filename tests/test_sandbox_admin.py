"""The sandbox from another process: admin routes over HTTP and ``improve sandbox serve``."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.commands.sandbox import seed_repos
from bot.errors import InputError
from bot.sandbox import Sandbox
from tests.helpers.sandbox import call, run_git, sandbox  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


def admin(server_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    url = urlsplit(server_url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    try:
        conn.request(method, "/_sandbox" + path,
                     body=None if body is None else json.dumps(body).encode())
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_admin_routes(sandbox: Sandbox, tmp_path: Path) -> None:  # noqa: F811
    url = sandbox.server_url
    status, made = admin(url, "POST", "/repos", {"full_name": "o/r", "files": {"a.txt": "a\n"}})
    assert status == 201 and made["git_url"] == sandbox.git_url("o/r")
    status, user = admin(url, "POST", "/users", {"login": "carol", "permission": "admin"})
    assert status == 201
    assert call(sandbox, "GET", "/user", token=user["token"])[2]["login"] == "carol"
    assert admin(url, "POST", "/faults", {"path": "^/rate_limit$", "status": 503})[0] == 201
    assert call(sandbox, "GET", "/rate_limit")[0] == 503
    assert call(sandbox, "GET", "/rate_limit")[0] == 200
    assert admin(url, "POST", "/reject-pushes", {"repo": "o/r"})[0] == 201
    status, log = admin(url, "GET", "/requests")
    assert [(q["path"], q["status"]) for q in log if q["kind"] == "api"][-2:] == [
        ("/rate_limit", 503), ("/rate_limit", 200)]
    status, state = admin(url, "GET", "/state/o/r")
    assert status == 200 and set(state["refs"]) == {"refs/heads/main"}
    assert admin(url, "GET", "/state/o/none")[0] == 404
    assert admin(url, "POST", "/repos", {"nope": 1})[0] == 400
    assert admin(url, "GET", "/violations") == (200, [])
    run_git(tmp_path, "clone", "-q", sandbox.git_url("o/r"), "c")
    assert (tmp_path / "c" / "a.txt").read_text() == "a\n"


def test_admin_routes_for_tokens_apps_deliveries_and_secondary_limits(
        sandbox: Sandbox) -> None:  # noqa: F811
    url = sandbox.server_url
    admin(url, "POST", "/repos", {"full_name": "o/r", "private": True})
    assert admin(url, "POST", "/apps", {"slug": "bot", "permissions": {"issues": "write"}})[0] \
        == 201
    status, made = admin(url, "POST", "/tokens", {"login": "bot", "kind": "app", "repo": "o/r"})
    assert status == 201
    assert call(sandbox, "POST", "/repos/o/r/issues", {"title": "t"}, token=made["token"])[0] \
        == 201
    status, read_only = admin(url, "POST", "/tokens", {
        "login": "ci", "kind": "github_token", "repo": "o/r", "permissions": {"issues": "read"}})
    assert call(sandbox, "POST", "/repos/o/r/issues", {"title": "t"},
                token=read_only["token"])[0] == 403
    status, got = admin(url, "GET", "/deliveries?since=0")
    assert [(d["event"], d["action"], d["actor"], d["token_kind"]) for d in got] == [
        ("issues", "opened", "bot[bot]", "app")]
    assert admin(url, "POST", "/faults/secondary-rate-limit", {"path": "^/rate_limit$"})[0] \
        == 201
    status, _, body = call(sandbox, "GET", "/rate_limit")
    assert status == 403 and "secondary rate limit" in body["message"]
    assert admin(url, "POST", "/tokens", {"login": "x", "kind": "pat"})[0] == 400


def test_seed_folder(tmp_path: Path) -> None:
    (tmp_path / "acme" / "widgets" / "config").mkdir(parents=True)
    (tmp_path / "acme" / "widgets" / "config" / "x.yaml").write_text("a: 1\n")
    assert seed_repos(tmp_path) == {"acme/widgets": {"config/x.yaml": b"a: 1\n"}}
    with pytest.raises(InputError, match="no OWNER/NAME"):
        seed_repos(tmp_path / "acme" / "widgets" / "config")
    with pytest.raises(InputError, match="not a directory"):
        seed_repos(tmp_path / "missing")


def test_a_seed_folder_that_is_a_repository_keeps_its_history(sandbox: Sandbox,  # noqa: F811
                                                              tmp_path: Path) -> None:
    """Not flattened into one commit on a forced main: its commits, branches, tags and
    default branch, as they are."""
    src = tmp_path / "seed" / "acme" / "gadgets"
    src.mkdir(parents=True)
    run_git(src, "init", "-q", "-b", "trunk")
    for i in range(3):
        (src / "n.txt").write_text(f"{i}\n")
        run_git(src, "add", "-A")
        run_git(src, "commit", "-q", "-m", f"commit {i}")
    run_git(src, "tag", "-a", "v1.0.0", "-m", "one")
    run_git(src, "branch", "feature")
    log = run_git(src, "log", "--format=%H %s").stdout
    found = seed_repos(tmp_path / "seed")
    assert found == {"acme/gadgets": src}
    sandbox.import_repo("acme/gadgets", src)
    status, _, repo = call(sandbox, "GET", "/repos/acme/gadgets")
    assert status == 200 and repo["default_branch"] == "trunk"
    run_git(tmp_path, "clone", "-q", sandbox.git_url("acme/gadgets"), "c")
    assert run_git(tmp_path / "c", "log", "--format=%H %s").stdout == log
    refs = run_git(tmp_path / "c", "ls-remote", "origin").stdout
    assert "refs/heads/feature" in refs and "refs/tags/v1.0.0" in refs
    assert "refs/heads/main" not in refs


def test_serve_command(tmp_path: Path) -> None:
    seed = tmp_path / "seed"
    (seed / "acme" / "widgets").mkdir(parents=True)
    (seed / "acme" / "widgets" / "README.md").write_text("seeded\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "serve", "--seed", str(seed), "--user",
         "dave:read"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines: dict[str, str] = {}
        while "serving" not in lines:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            key, _, value = line.partition(":")
            lines[key.strip() if value else line.split(";")[0]] = value.strip()
        api = lines["API URL"]
        token = lines["token"].split()[0]
        conn = http.client.HTTPConnection(urlsplit(api).hostname or "", urlsplit(api).port)
        conn.request("GET", "/api/v3/repos/acme/widgets",
                     headers={"Authorization": f"token {token}"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["full_name"] == "acme/widgets"
        conn.close()
        assert lines["git URL"].endswith("/acme/widgets.git")
        assert lines["user"].startswith("dave (read) token ")
        run_git(tmp_path, "clone", "-q", lines["git URL"], "clone")
        assert (tmp_path / "clone" / "README.md").read_text() == "seeded\n"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_rejects_bad_user_spec(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "bot", "sandbox", "serve", "--user", "x:boss"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 2 and "--user" in proc.stderr
