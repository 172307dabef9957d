"""The configuration reference, generated from the pydantic models so it cannot drift from
them. ``scripts/config_reference.py`` writes it into the README between its markers."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.core.config import Config

START = "<!-- config-reference:start -->"
END = "<!-- config-reference:end -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, tuple):
        inner = _type_name(args[0]) if args else ""
        # a list of alternatives: which "or" belongs to the list must be plain
        return (f"list of ({inner})" if " or " in inner else f"list of {inner}") if args \
            else "list"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    return getattr(annotation, "__name__", str(annotation))


def _default(info: FieldInfo) -> str:
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        value = [v.model_dump(exclude_defaults=True) for v in value]
    return "`" + json.dumps(value, separators=(", ", ": ")) + "`" if value is not None else "none"


def _rows(model: type[BaseModel], prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for name, info in model.model_fields.items():
        key = f"{prefix}{name}"
        annotation = info.annotation
        item = typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None
        nested = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        if nested is not None:
            rows.extend(_rows(nested, key + "."))
            continue
        required = info.is_required()
        rows.append(
            (
                f"`{key}`",
                _type_name(annotation),
                "required" if required else _default(info),
                (info.description or "").replace("|", "\\|"),
            )
        )
        if isinstance(item, type) and issubclass(item, BaseModel):
            rows.extend(_rows(item, key + "[]."))
    return rows


def config_reference() -> str:
    lines = [START, "", "| key | type | default | meaning |", "|---|---|---|---|"]
    lines += [f"| {k} | {t} | {d} | {m} |" for k, t, d, m in _rows(Config, "")]
    lines += ["", END]
    return "\n".join(lines)


def replace_reference(readme: str) -> str:
    """The README with its reference section regenerated (markers required)."""
    start, end = readme.index(START), readme.index(END) + len(END)
    return readme[:start] + config_reference() + readme[end:]
