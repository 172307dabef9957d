"""A real (tiny) wheel, built in the test: what a project's setup installs with pip from a local
path, since CI reaches no package index but the registries and a build backend would fetch one.
pip checks it as any wheel (its RECORD hashes, its metadata)."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def wheel(name: str, version: str, modules: dict[str, str]) -> tuple[str, bytes]:
    """``(file name, bytes)`` of a pure-Python wheel holding ``modules`` (path -> source)."""
    info = f"{name}-{version}.dist-info"
    files = {path: src.encode() for path, src in modules.items()}
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{info}/METADATA"] = meta.encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\n"
                              b"Tag: py3-none-any\n")
    record = [_record_line(n, d) for n, d in files.items()] + [f"{info}/RECORD,,"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for n, d in files.items():
            z.writestr(n, d)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return f"{name}-{version}-py3-none-any.whl", buf.getvalue()
