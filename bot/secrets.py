"""Secrets this process has seen, and ``redact`` that hides them in any text it prints.

Tiny and free of dependencies on purpose: the entry point redacts every message (and, for an
unexpected error, the traceback) with it, and must not pay GitPython's import to do so.
"""

from __future__ import annotations

import base64
import re

# a URL's userinfo ("x-access-token:SECRET@") is never shown
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_SECRETS: set[str] = set()


def register_secret(secret: str | None) -> None:
    """Remember a token so that ``redact`` hides it wherever it appears (and the Basic-auth
    header git is given for it)."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)
        _SECRETS.add(base64.b64encode(f"x-access-token:{secret}".encode()).decode())


def redact(text: object) -> str:
    """``text`` with every token this process has seen and every URL password replaced."""
    s = _USERINFO.sub("***@", str(text))
    for secret in sorted(_SECRETS, key=len, reverse=True):
        s = s.replace(secret, "***")
    return s
