"""Message texts: Jinja2 templates in ``bot/templates``, each carrying a hidden marker so the bot
finds and edits its own comment instead of posting a new one. Untrusted text is escaped here."""

from __future__ import annotations

import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

MARKER_FORMAT = "<!-- improve:{name} -->"


def marker(name: str) -> str:
    return MARKER_FORMAT.format(name=name)


def find_marker(body: str) -> str | None:
    m = re.search(r"<!-- improve:([A-Za-z0-9_.:-]+) -->", body or "")
    return m.group(1) if m else None


# characters that change how Markdown renders, or that hide text from a reader
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def md_escape(text: object, limit: int = 500) -> str:
    """Untrusted text as inert Markdown on one line: no mentions, links, HTML or bidi tricks."""
    s = _INVISIBLE.sub(lambda m: f"U+{ord(m.group(0)):04X}", str(text))
    s = s.replace("\r", " ").replace("\n", " ")
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    s = _MD_SPECIAL.sub(r"\\\1", s)
    # "@" followed by a zero-width joiner cannot mention anyone, and still reads as "@"
    return s.replace("@", "@\u2060")


def signed(x: float | None) -> str:
    """A change in a sentence or a cell: three decimals with its sign; ``n/a`` for none."""
    return "n/a" if x is None else f"{x:+.3f}"


def pct(x: float | None) -> str:
    """A relative change in a sentence or a cell: a signed percentage, one decimal."""
    return "n/a" if x is None else f"{x:+.1%}"


def code_block(text: object, limit: int = 4000, lang: str = "") -> str:
    """Untrusted text in a fenced block whose fence cannot be closed from inside."""
    s = _INVISIBLE.sub(lambda m: f"U+{ord(m.group(0)):04X}", str(text))
    if len(s) > limit:
        s = "…" + s[-(limit - 1) :]
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", s)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{s}\n{fence}"


_env: Environment | None = None


def environment() -> Environment:
    global _env
    if _env is None:
        _env = Environment(
            loader=PackageLoader("bot", "templates"),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            autoescape=False,
        )
        _env.filters["md"] = md_escape
        _env.filters["code"] = code_block
        _env.globals["marker"] = marker
    return _env


def render(template: str, **context: Any) -> str:
    """Render ``bot/templates/<template>``; a missing variable is an error, not a blank."""
    return environment().get_template(template).render(**context)
