"""The event an Actions step was started for: read from ``GITHUB_EVENT_NAME``,
``GITHUB_EVENT_PATH`` and the other variables Actions sets. The payload is untrusted data."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError, Problem
from bot.secrets import register_secret

MAX_EVENT_BYTES = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Event:
    name: str
    payload: dict[str, Any]
    repo: str
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    token: str | None = field(default=None, repr=False)  # never printed, not even by repr()
    sha: str | None = None
    ref: str | None = None
    workspace: Path = Path(".")
    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def action(self) -> str | None:
        value = self.payload.get("action")
        return value if isinstance(value, str) else None

    @property
    def label(self) -> str:
        """``name.action`` (or the name alone), as messages name the event."""
        return self.name + (f".{self.action}" if self.action else "")

    def get(self, *path: str | int, default: Any = None) -> Any:
        """A nested payload value, or ``default`` when any step is missing."""
        node: Any = self.payload
        for step in path:
            if isinstance(step, int) and isinstance(node, list) and -len(node) <= step < len(node):
                node = node[step]
            elif isinstance(step, str) and isinstance(node, dict) and step in node:
                node = node[step]
            else:
                return default
        return node

    def _bad(self, path: tuple[str | int, ...], expected: str, value: Any) -> InputError:
        field_name = ".".join(str(p) for p in path)
        got = "nothing" if value is None else f"{type(value).__name__} {str(value)[:40]!r}"
        return InputError([Problem(f"the {self.label} event", f"expected {expected}, got {got}",
                                   field=field_name)])

    def integer(self, *path: str | int, default: int | None = None) -> int:
        """A whole number from the payload; InputError naming the field when it is missing (and
        no default is given) or is not one (``"abc"``, a float, true: what a proxy may send)."""
        value = self.get(*path)
        if value is None and default is not None:
            return default
        if type(value) is not int:
            raise self._bad(path, "a whole number", value)
        return value

    def commit_sha(self, *path: str | int) -> str:
        """A commit SHA from the payload; InputError naming the field otherwise."""
        value = self.get(*path)
        if not isinstance(value, str) or not _SHA.fullmatch(value):
            raise self._bad(path, "a commit SHA (40 or 64 hex digits)", value)
        return value

    def mapping(self, *path: str | int) -> dict[str, Any]:
        """An object from the payload; InputError naming the field when it is not one."""
        value = self.get(*path)
        if not isinstance(value, dict):
            raise self._bad(path, "an object", value)
        return value

    def text(self, *path: str | int, default: str = "") -> str:
        """A string from the payload, or ``default`` when absent; InputError when it is there
        with another type."""
        value = self.get(*path)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(path, "a string", value)
        return value

    @property
    def default_branch(self) -> str | None:
        value = self.get("repository", "default_branch")
        return value if isinstance(value, str) else None


def read_event(env: Mapping[str, str]) -> Event:
    """The event of this step, or InputError naming the variable or file that is wrong."""
    missing = [
        v for v in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY") if not env.get(v)
    ]
    if missing:
        raise InputError(
            [
                Problem(v, "is not set (improve handle runs inside a GitHub Actions step)")
                for v in missing
            ]
        )
    path = Path(env["GITHUB_EVENT_PATH"])
    try:
        if path.stat().st_size > MAX_EVENT_BYTES:
            raise InputError([Problem(str(path), "the event file is larger than 25 MB")])
        payload = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise InputError([Problem(str(path), "the event file is nested too deeply to be an "
                                             "event GitHub sends")]) from None
    except FileNotFoundError:
        raise InputError([Problem(str(path), "GITHUB_EVENT_PATH names no file")]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"the event file is not JSON: {exc}")]) from None
    if not isinstance(payload, dict):
        raise InputError([Problem(str(path), "the event file is not a JSON object")])
    token = env.get("GITHUB_TOKEN") or None
    register_secret(token)  # from here on no message, log line or traceback shows it
    repo = env["GITHUB_REPOSITORY"]
    if repo.count("/") != 1:
        raise InputError([Problem("GITHUB_REPOSITORY", f"{repo!r} is not owner/name")])
    return Event(
        name=env["GITHUB_EVENT_NAME"],
        payload=payload,
        repo=repo,
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        token=token,
        sha=env.get("GITHUB_SHA") or None,
        ref=env.get("GITHUB_REF") or None,
        workspace=Path(env.get("GITHUB_WORKSPACE") or "."),
        env=dict(env),
    )
