"""Fixtures and helpers for tests that talk to the sandbox (a local GitHub stand-in)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A started sandbox; the test fails if any request or response broke GitHub's description."""
    sb = Sandbox.start()
    try:
        yield sb
        broken = sb.violations
        assert not broken, "requests/responses that break GitHub's description:\n" + "\n".join(
            broken)
    finally:
        sb.stop()


def call(
    sb: Sandbox, method: str, path: str, body: Any = None, token: str | None = "default",
    headers: dict[str, str] | None = None, raw: bytes | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One REST request (``path`` without /api/v3): (status, headers, decoded JSON or None)."""
    url = urlsplit(sb.api_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    hdrs = {"Accept": "application/vnd.github+json"}
    if token == "default":
        token = sb.token
    if token:
        hdrs["Authorization"] = f"token {token}"
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    hdrs.update(headers or {})
    try:
        conn.request(method, url.path + path, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        got = {k: v for k, v in resp.getheaders()}
        return resp.status, got, json.loads(payload) if payload else None
    finally:
        conn.close()


def run_git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    # a refused credential must fail the command, never wait for a person to type one
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(["git", *args], cwd=cwd, check=check, capture_output=True, text=True,
                          env=env)


def clone(sb: Sandbox, full_name: str, dest: Path, token: str | None = None) -> Path:
    run_git(dest.parent, "clone", "-q", sb.git_url(full_name, token), str(dest))
    return dest


def push_change(work: Path, branch: str, files: dict[str, str], message: str = "change",
                new_branch: bool = True) -> str:
    """Commit ``files`` on ``branch`` in a clone and push it; the new commit's SHA."""
    if new_branch:
        run_git(work, "checkout", "-q", "-B", branch)
    for rel, text in files.items():
        p = work / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", message)
    run_git(work, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return run_git(work, "rev-parse", "HEAD").stdout.strip()
