"""Edits of one file's text, text in and text out: ``set`` of a key in YAML, JSON or TOML,
``replace`` of text that must occur exactly once, and ``content``.

``set`` keeps the rest of the file as far as the format allows: YAML goes through ruamel.yaml's
round trip (comments, key order, quoting and indentation kept; see tests/test_edits.py for what
it keeps), TOML through tomlkit (everything kept), JSON through the standard library with the
file's own indentation and key order. A key may be created only under a mapping that exists.
"""

from __future__ import annotations

import difflib
import io
import json
import re
from collections.abc import MutableMapping, MutableSequence
from dataclasses import dataclass
from datetime import date
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any, Literal

from bot.core.yamldoc import dump_yaml

Format = Literal["yaml", "json", "toml"]
KeyPath = tuple[str | int, ...]

SET_FORMATS: dict[str, Format] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}

UNKNOWN_FORMAT = "'set' works on YAML, JSON or TOML files (.yaml, .yml, .json, .toml)"
NO_SUCH_PARENT = "neither the key nor its parent {parent!r} exists; new keys may only be added " \
    "under an existing mapping"
NOT_A_MAPPING = "{where!r} is not a mapping, so it has no key {key!r}"
NOT_A_LIST = "{where!r} is not a list, so it has no index [{index}]"
INDEX_OUT_OF_RANGE = "{where!r} has {count} items, so index [{index}] does not exist"
BAD_KEY = "cannot read the key {key!r}: {reason}"
REPLACE_NOT_ONCE = "'old' text must match exactly once; it matched {count} times{lines}"
REPLACE_EMPTY = "'old' text must not be empty"


class EditError(ValueError):
    """One edit that cannot be made; the message says why (the caller adds file and field)."""


@dataclass(frozen=True)
class ChangeSummary:
    """One line for the pull request body and the changelog: ``routing.threshold 0.55 -> 0.62``."""

    path: str
    description: str


def format_of(path: str) -> Format | None:
    for suffix, fmt in SET_FORMATS.items():
        if path.lower().endswith(suffix):
            return fmt
    return None


_KEY_TOKEN = re.compile(
    r"""\[(?P<index>-?\d+)\]            # [2]
      | \[(?P<q>["'])(?P<quoted>.*?)(?P=q)\]   # ["a.b"]
      | (?P<name>[^.\[\]]+)             # plain segment
      | (?P<dot>\.)""",
    re.VERBOSE,
)


def parse_key(key: str) -> KeyPath:
    """``a.b[2].c`` -> ("a", "b", 2, "c"); ``a["x.y"]`` names a key with a dot in it."""
    if not key or not key.strip():
        raise EditError(BAD_KEY.format(key=key, reason="it is empty"))
    parts: list[str | int] = []
    pos = 0
    expect_name = True  # at the start or after a dot, a name or an index must follow
    while pos < len(key):
        m = _KEY_TOKEN.match(key, pos)
        if m is None:
            raise EditError(BAD_KEY.format(key=key, reason=f"unexpected {key[pos]!r} at {pos}"))
        if m.group("dot"):
            if expect_name:
                raise EditError(BAD_KEY.format(key=key, reason=f"empty segment at {pos}"))
            expect_name = True
        elif m.group("index") is not None:
            if not parts:
                raise EditError(BAD_KEY.format(key=key, reason="it starts with an index"))
            parts.append(int(m.group("index")))
            expect_name = False
        else:
            if not expect_name and m.group("name") is not None:
                raise EditError(BAD_KEY.format(key=key, reason=f"missing '.' at {pos}"))
            name = m.group("quoted") if m.group("quoted") is not None else m.group("name")
            parts.append(name)
            expect_name = False
        pos = m.end()
    if expect_name:
        raise EditError(BAD_KEY.format(key=key, reason="it ends with '.'"))
    return tuple(parts)


def key_text(path: KeyPath) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif "." in part or "[" in part:
            out += f'["{part}"]'
        else:
            out += ("." if out else "") + part
    return out


def show_value(value: Any, limit: int = 60) -> str:
    """A value as the changelog shows it: ``0.62``, ``"fast"``, ``[1, 2]``."""
    unwrap = getattr(value, "unwrap", None)  # tomlkit items
    if callable(unwrap):
        value = unwrap()
    try:
        s = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        s = str(value)
    return s if len(s) <= limit else s[: limit - 1] + "…"


MISSING = object()


def navigate(root: Any, path: KeyPath) -> tuple[Any, str | int, Any, KeyPath]:
    """The container holding the last key, the last key, its old value (or MISSING), and the
    path with negative indexes counted from the front."""
    node = root
    norm: list[str | int] = []
    for depth, part in enumerate(path):
        where = key_text(path[:depth]) or "(the document)"
        last = depth == len(path) - 1
        if isinstance(part, int):
            if not isinstance(node, MutableSequence):
                raise EditError(NOT_A_LIST.format(where=where, index=part))
            if not -len(node) <= part < len(node):
                raise EditError(INDEX_OUT_OF_RANGE.format(where=where, count=len(node), index=part))
            part = part % len(node)
            norm.append(part)
            if last:
                return node, part, node[part], tuple(norm)
            node = node[part]
        else:
            if not isinstance(node, MutableMapping):
                raise EditError(NOT_A_MAPPING.format(where=where, key=part))
            norm.append(part)
            if part not in node:
                if last:
                    return node, part, MISSING, tuple(norm)
                raise EditError(NO_SUCH_PARENT.format(parent=key_text(path[: depth + 1])))
            if last:
                return node, part, node[part], tuple(norm)
            node = node[part]
    raise EditError(BAD_KEY.format(key="", reason="it is empty"))


def _split_newlines(text: str) -> tuple[str, str]:
    # the parsers write "\n"; a CRLF file is edited as LF and turned back
    if "\r\n" in text:
        return text.replace("\r\n", "\n"), "\r\n"
    return text, "\n"


def _yaml_scalar_end(line: str, col: int, flow: bool) -> int | None:
    """Where the scalar that starts at ``col`` ends on its line, or None when it is not a
    one-line scalar this edit can replace in place (block scalars, anchors, tags, collections)."""
    if col >= len(line):
        return None
    c = line[col]
    if c in "\"'":
        i = col + 1
        while i < len(line):
            if c == '"' and line[i] == "\\":
                i += 2
                continue
            if line[i] == c:
                if c == "'" and line[i + 1 : i + 2] == "'":
                    i += 2
                    continue
                return i + 1
            i += 1
        return None
    if c in "|>[{&*!#":
        return None
    end = len(line)
    m = re.search(r"\s#", line[col:])
    if m:
        end = col + m.start()
    if flow:
        for ch in ",]}":
            j = line.find(ch, col, end)
            if j >= 0:
                end = j
    return col + len(line[col:end].rstrip())


def _yaml_scalar_text(old: Any, value: Any) -> str | None:
    """The new value written as the old one was: same quotes; None when it needs more than
    one line or is not a scalar."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if isinstance(value, str) and isinstance(old, DoubleQuotedScalarString):
        s = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, str) and isinstance(old, SingleQuotedScalarString):
        s = "'" + value.replace("'", "''") + "'"
    else:
        # YAML 1.2, as the file is read back: "0o17" or "1e3" stay strings
        s = dump_yaml(value, flow=True)
        s = s.removesuffix("\n").removesuffix("\n...").removesuffix("...")
    return None if "\n" in s or "\r" in s else s


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    for base in (int, float, str):
        if isinstance(node, base):
            return base(node)
    return node


def _yaml_in_place(text: str, container: Any, last: str | int, old: Any, value: Any) -> str | None:
    """Replace only the old scalar's characters, so every other byte of the file stays."""
    scalar = (str, int, float, bool, type(None), date)  # date: YAML 1.2 reads 2026-11-21 so
    if not isinstance(value, scalar) or not isinstance(old, scalar):
        return None
    try:
        if isinstance(last, int):
            line_no, col = container.lc.item(last % len(container))
        else:
            line_no, col = container.lc.value(last)
    except (AttributeError, KeyError, IndexError, TypeError):
        return None
    new_scalar = _yaml_scalar_text(old, value)
    lines = text.split("\n")
    if new_scalar is None or line_no >= len(lines):
        return None
    flow = bool(getattr(container, "fa", None) and container.fa.flow_style())
    line = lines[line_no]
    end = _yaml_scalar_end(line, col, flow)
    if end is None:
        return None
    lines[line_no] = line[:col] + new_scalar + line[end:]
    return "\n".join(lines)


def _yaml_indents(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel.yaml wants them, guessed from the file's layout."""
    mapping = sequence = offset = None
    lines = [ln for ln in text.split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    for a, b in zip(lines, lines[1:], strict=False):
        ia, ib = len(a) - len(a.lstrip(" ")), len(b) - len(b.lstrip(" "))
        if not a.rstrip().endswith(":") or a.lstrip().startswith("- "):
            continue
        if b.lstrip().startswith("- "):
            if offset is None:
                offset = ib - ia
                sequence = offset + 2
        elif ib > ia and mapping is None:
            mapping = ib - ia
    return mapping or 2, sequence or 2, offset or 0


def _set_yaml(text: str, path: KeyPath, value: Any) -> tuple[str, Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.scalarstring import (
        DoubleQuotedScalarString,
        FoldedScalarString,
        LiteralScalarString,
        SingleQuotedScalarString,
    )

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    try:
        root = yaml.load(text)
    except YAMLError as exc:
        raise EditError(f"the file is not valid YAML: {exc}") from None
    container, last, old, where = navigate(root, path)
    new: Any = value
    # keep the old value's quoting or block style for a string replacing a string
    for style in (
        DoubleQuotedScalarString,
        SingleQuotedScalarString,
        LiteralScalarString,
        FoldedScalarString,
    ):
        if isinstance(old, style) and isinstance(value, str):
            new = style(value)
            break
    if isinstance(value, dict) and not isinstance(value, CommentedMap):
        new = CommentedMap(value)
    elif isinstance(value, list) and not isinstance(value, CommentedSeq):
        new = CommentedSeq(value)
    in_place = None if old is MISSING else _yaml_in_place(text, container, last, old, value)
    container[last] = new
    if in_place is not None:
        # trust the in-place edit only when it reads back as exactly the intended document
        try:
            if _plain(YAML(typ="rt").load(in_place)) == _plain(root):
                return in_place, old
        except YAMLError:
            pass
    mapping, sequence, offset = _yaml_indents(text)
    yaml.width = 1_000_000  # never re-wrap long lines the author wrote on one line
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    yaml.explicit_start = text.lstrip().startswith("---")
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue(), old


_WS = re.compile(r"[ \t\n\r]*")


def _json_span(text: str, target: KeyPath) -> tuple[int, int] | None:
    """Start and end offsets of the value at ``target`` in the JSON text, or None."""
    decoder = json.JSONDecoder()
    spans: dict[KeyPath, tuple[int, int]] = {}

    def skip(i: int) -> int:
        m = _WS.match(text, i)
        return m.end() if m else i

    def value(i: int, path: KeyPath | None) -> int:
        # path is None once we are off the way to the target: nothing below is recorded
        i = skip(i)
        begin = i
        if text.startswith("{", i):
            i = skip(i + 1)
            while not text.startswith("}", i):
                key, i = scanstring(text, i + 1)
                i = skip(i)  # at ":"
                sub = (*path, key) if path is not None else None
                i = skip(value(i + 1, sub if sub == target[: len(sub or ())] else None))
                if text.startswith(",", i):
                    i = skip(i + 1)
            end = i + 1
        elif text.startswith("[", i):
            i = skip(i + 1)
            n = 0
            while not text.startswith("]", i):
                sub = (*path, n) if path is not None else None
                i = skip(value(i, sub if sub == target[: len(sub or ())] else None))
                n += 1
                if text.startswith(",", i):
                    i = skip(i + 1)
            end = i + 1
        else:
            _, end = decoder.raw_decode(text, i)
        if path is not None:
            spans[path] = (begin, end)
        return end

    try:
        value(0, ())
    except (ValueError, IndexError):
        return None
    return spans.get(target)


def _ascii_only(text: str) -> bool:
    # keep non-ASCII as the file writes it: escaped only when the file escapes
    return "\\u" in text and not any(ord(c) > 127 for c in text)


def _json_in_place(text: str, path: KeyPath, value: Any, expected: Any) -> str | None:
    """Replace only the old value's characters; a new list or object is written on one line."""
    span = _json_span(text, path)
    if span is None:
        return None
    out = text[: span[0]] + json.dumps(value, ensure_ascii=_ascii_only(text)) + text[span[1] :]
    try:
        return out if json.loads(out) == expected else None
    except json.JSONDecodeError:
        return None


def _json_layout(text: str) -> tuple[str | int | None, tuple[str, str]]:
    lines = text.splitlines()
    indent: str | int | None = None
    if len(lines) > 1:
        for line in lines[1:]:
            stripped = line.lstrip(" \t")
            if stripped and len(stripped) < len(line):
                ws = line[: len(line) - len(stripped)]
                indent = ws if "\t" in ws else len(ws)
                break
    if indent is None:
        # one line: keep the separators the file uses
        item = ", " if re.search(r",\s", text) or "," not in text else ","
        colon = ": " if re.search(r":\s", text) or ":" not in text else ":"
        return None, (item, colon)
    return indent, (",", ": ")


def _set_json(text: str, path: KeyPath, value: Any) -> tuple[str, Any]:
    try:
        root = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(f"the file is not valid JSON: {exc}") from None
    container, last, old, where = navigate(root, path)
    container[last] = value
    if old is not MISSING:
        in_place = _json_in_place(text, where, value, root)
        if in_place is not None:
            return in_place, old
    indent, separators = _json_layout(text)
    out = json.dumps(root, indent=indent, separators=separators, ensure_ascii=_ascii_only(text))
    trailing = text[len(text.rstrip()):]
    return out + trailing, old


def _set_toml(text: str, path: KeyPath, value: Any) -> tuple[str, Any]:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        root = tomlkit.parse(text)
    except TOMLKitError as exc:
        raise EditError(f"the file is not valid TOML: {exc}") from None
    container, last, old, where = navigate(root, path)
    if old is not MISSING:
        old = old.unwrap() if hasattr(old, "unwrap") else old
    try:
        container[last] = value
    except (TypeError, ValueError) as exc:
        raise EditError(f"TOML cannot hold the value {show_value(value)}: {exc}") from None
    return tomlkit.dumps(root), old


_SETTERS = {"yaml": _set_yaml, "json": _set_json, "toml": _set_toml}


def set_key(text: str, file: str, key: str, value: Any) -> tuple[str, ChangeSummary]:
    """Set ``key`` (dotted, with ``[n]`` indexes) to ``value`` in the file's text."""
    fmt = format_of(file)
    if fmt is None:
        raise EditError(UNKNOWN_FORMAT)
    path = parse_key(key)
    body, newline = _split_newlines(text)
    new_text, old = _SETTERS[fmt](body, path, value)
    if newline != "\n":
        new_text = new_text.replace("\n", newline)
    if old is MISSING:
        description = f"{key_text(path)} (new) = {show_value(value)}"
    else:
        description = f"{key_text(path)} {show_value(old)} -> {show_value(value)}"
    return new_text, ChangeSummary(file, description)


def match_lines(text: str, old: str) -> list[int]:
    """1-based line numbers where each non-overlapping occurrence of ``old`` starts."""
    lines: list[int] = []
    start = 0
    while True:
        i = text.find(old, start)
        if i < 0:
            return lines
        lines.append(text.count("\n", 0, i) + 1)
        start = i + len(old)


def replace_once(text: str, file: str, old: str, new: str) -> tuple[str, ChangeSummary]:
    if not old:
        raise EditError(REPLACE_EMPTY)
    lines = match_lines(text, old)
    if len(lines) != 1:
        where = f" (lines {', '.join(map(str, lines[:10]))})" if lines else ""
        raise EditError(REPLACE_NOT_ONCE.format(count=len(lines), lines=where))
    return text.replace(old, new, 1), ChangeSummary(file, describe_replacement(old, new,
                                                                              lines[0]))


def describe_replacement(old: str, new: str, line: int = 1) -> str:
    """What a replacement changed, in one line that never reads as no change: short texts whole
    (``replaced "a" with "b" (line 2)``); long ones by the part that differs, or, when lines were
    added or removed, by how many (``+18 -0 lines at line 3, first added: "…"``). Cutting both
    texts at the same length would show an 18-line addition at the end as two equal strings."""
    if len(old) <= 40 and len(new) <= 40 and "\n" not in old + new:
        return f"replaced {show_value(old, 40)} with {show_value(new, 40)} (line {line})"
    p = 0
    limit = min(len(old), len(new))
    while p < limit and old[p] == new[p]:
        p += 1
    s = 0
    while s < limit - p and old[-1 - s] == new[-1 - s]:
        s += 1
    o, n = old[p:len(old) - s], new[p:len(new) - s]
    at = line + old.count("\n", 0, p)
    if "\n" not in o + n:
        return f"replaced {show_value(o, 40)} with {show_value(n, 40)} (line {at})"
    lines = line_changes(old, new)
    text = f"+{lines.added} -{lines.removed} lines at line {at}"
    first = lines.first_added
    return text + (f", first added: {show_value(first, 40)}" if first else "")


@dataclass(frozen=True)
class LineChanges:
    added: int
    removed: int
    first_added: str | None  # the first added line that is not blank, stripped

    def __str__(self) -> str:
        return f"+{self.added} -{self.removed} lines"


def line_changes(old: str | None, new: str | None) -> LineChanges:
    """How many lines a change added and removed (None: no file): the one line counter of the
    bot's descriptions. No "autojunk": with it, on texts of 200 lines or more, a line repeated
    often (a blank line, a closing brace) is ignored when matching and the counts grow."""
    a, b = (old or "").splitlines(), (new or "").splitlines()
    added = removed = 0
    first: str | None = None
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        removed += i2 - i1
        added += j2 - j1
        if first is None:
            first = next((ln.strip() for ln in b[j1:j2] if ln.strip()), None)
    return LineChanges(added, removed, first)


def set_content(old_text: str | None, file: str, content: str) -> tuple[str, ChangeSummary]:
    n = content.count("\n") + (0 if content.endswith("\n") or not content else 1)
    description = f"new file ({n} lines)" if old_text is None else f"rewritten ({n} lines)"
    return content, ChangeSummary(file, description)


# --- patches: the pure part (reading which files a unified diff touches); git applies them ---

_DIFF_GIT = re.compile(r"^diff --git (?:\"?a/)?(.+?)\"? (?:\"?b/)(.+?)\"?$")


def _strip_prefix(name: str) -> str | None:
    """A ``---``/``+++`` path as ``git apply -p1`` reads it; None for /dev/null."""
    name = name.split("\t", 1)[0].strip()
    if name.startswith('"') and name.endswith('"') and len(name) >= 2:
        name = name[1:-1]
    if name == "/dev/null":
        return None
    return name.split("/", 1)[1] if "/" in name else name


def patch_paths(patch: str) -> list[str]:
    """Every path a unified diff reads or writes, in order of appearance (renames give both)."""
    out: list[str] = []

    def add(p: str | None) -> None:
        if p is not None and p not in out:
            out.append(p)

    for line in patch.splitlines():
        if line.startswith(("--- ", "+++ ")):
            add(_strip_prefix(line[4:]))
        elif line.startswith(("rename from ", "rename to ", "copy from ", "copy to ")):
            add(line.split(" ", 2)[2].strip())
        elif line.startswith("diff --git "):
            m = _DIFF_GIT.match(line)
            if m:
                add(m.group(1))
                add(m.group(2))
    return out


def patch_hunks(patch: str) -> dict[str, list[tuple[int, str]]]:
    """Per target path, each hunk's old start line and its ``@@`` header, to name a failed hunk."""
    hunks: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    old_name: str | None = None
    for line in patch.splitlines():
        if line.startswith("--- "):
            old_name = _strip_prefix(line[4:])
        elif line.startswith("+++ "):
            current = _strip_prefix(line[4:]) or old_name
            if current is not None:
                hunks.setdefault(current, [])
        elif line.startswith("@@") and current is not None:
            m = re.match(r"^@@ -(\d+)", line)
            if m:
                end = line.find("@@", 2)
                header = line[: end + 2] if end > 0 else line
                hunks[current].append((int(m.group(1)), header))
    return hunks
