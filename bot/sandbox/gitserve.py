"""Git over smart HTTP: requests handed to ``git http-backend`` as CGI, and the rejection of a
push as non-fast-forward written the way a server's receive-pack reports it."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
from pathlib import Path

GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<repo>[^/]+?)(?:\.git)?"
    r"(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack|HEAD|objects/.+))$"
)


def service_of(rest: str, query: str) -> str:
    if rest.endswith("git-receive-pack") or "service=git-receive-pack" in query:
        return "receive-pack"
    return "upload-pack"


def decode_body(body: bytes, encoding: str | None) -> bytes:
    # git gzips large fetch negotiations; http-backend could inflate them, but then it needs
    # the exact length of what it inflates, which is simpler to give it ourselves
    if encoding and encoding.lower() in ("gzip", "x-gzip"):
        return gzip.decompress(body)
    return body


def run_backend(
    root: Path, method: str, path_info: str, query: str, body: bytes, content_type: str,
    remote_user: str, git_protocol: str | None,
) -> tuple[int, dict[str, str], bytes]:
    """One CGI exchange with ``git http-backend``: (status, headers, body)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": remote_user,
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if git_protocol:
        env["GIT_PROTOCOL"] = git_protocol
    proc = subprocess.run(["git", "http-backend"], input=body, capture_output=True, env=env)
    out = proc.stdout
    sep = out.find(b"\r\n\r\n")
    sep_len = 4
    if sep < 0:
        sep, sep_len = out.find(b"\n\n"), 2
    if sep < 0:
        return 500, {"Content-Type": "text/plain"}, proc.stderr or b"git http-backend failed"
    headers: dict[str, str] = {}
    status = 200
    for line in out[:sep].decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, out[sep + sep_len :]


def _pkt(data: bytes) -> bytes:
    return f"{len(data) + 4:04x}".encode() + data


def _commands(body: bytes) -> tuple[list[str], set[str]]:
    """The ref updates a push asks for, and the capabilities it announced."""
    refs: list[str] = []
    caps: set[str] = set()
    i = 0
    while i + 4 <= len(body):
        size = int(body[i : i + 4], 16)
        if size == 0:
            break
        line = body[i + 4 : i + size]
        i += size
        text, _, capstr = line.partition(b"\0")
        if capstr:
            caps |= set(capstr.decode(errors="replace").split())
        parts = text.decode(errors="replace").strip().split()
        if len(parts) == 3:
            refs.append(parts[2])
    return refs, caps


def reject_non_fast_forward(body: bytes) -> bytes:
    """A receive-pack result refusing every ref of the push as a non-fast-forward."""
    refs, caps = _commands(body)
    report = _pkt(b"unpack ok\n")
    for ref in refs:
        report += _pkt(f"ng {ref} non-fast-forward\n".encode())
    report += b"0000"
    if "side-band-64k" in caps or "side-band" in caps:
        limit = 65515 if "side-band-64k" in caps else 995
        out = b""
        for start in range(0, len(report), limit):
            out += _pkt(b"\x01" + report[start : start + limit])
        return out + b"0000"
    return report
