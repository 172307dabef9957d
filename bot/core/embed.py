"""Machine data carried inside the bot's own comments: a hidden HTML comment holding compressed
JSON. It is how a later job (the release, the monitor) learns what an earlier one decided, with
nothing stored outside GitHub. Only comments written by the bot's login are believed."""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

# GitHub caps a comment at 65,536 characters; leave room for the human part
MAX_EMBED_CHARS = 40_000
MAX_INFLATED = 4_000_000
_PATTERN = r"<!-- improve-data:{name} ([A-Za-z0-9+/=]+) -->"


class EmbedTooLarge(ValueError):
    pass


def embed(name: str, data: Any) -> str:
    """``data`` as one hidden line; raises EmbedTooLarge past ``MAX_EMBED_CHARS``."""
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    text = base64.b64encode(zlib.compress(raw, 9)).decode()
    line = f"<!-- improve-data:{name} {text} -->"
    if len(line) > MAX_EMBED_CHARS:
        raise EmbedTooLarge(f"{name}: {len(line)} characters is more than {MAX_EMBED_CHARS}")
    return line


def extract(body: str | None, name: str) -> Any | None:
    """The data embedded under ``name`` in ``body``, or None when absent or unreadable."""
    m = re.search(_PATTERN.format(name=re.escape(name)), body or "")
    if not m:
        return None
    try:
        inflater = zlib.decompressobj()
        # bounded: a crafted block cannot inflate into gigabytes
        raw = inflater.decompress(base64.b64decode(m.group(1), validate=True), MAX_INFLATED)
        if inflater.unconsumed_tail:
            return None
        return json.loads(raw)
    except (ValueError, zlib.error):
        return None
