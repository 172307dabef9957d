"""YAML text to plain data plus a map from key paths to line numbers, so that every error can
name the file, the line and the key. Validation errors from pydantic become ``Problem``s here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import InputError, Problem

Path = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass
class Document:
    file: str
    data: Any
    lines: dict[Path, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """Line of the deepest existing prefix of ``path`` (1-based), or None."""
        parts = tuple(path)
        while parts:
            if parts in self.lines:
                return self.lines[parts]
            parts = parts[:-1]
        return self.lines.get((), None)


def _walk(node: yaml.Node, path: Path, doc: Document) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                doc.problems.append(
                    Problem(doc.file, "duplicate key", key_node.start_mark.line + 1,
                            dotted(path + (key,)))
                )
            seen.add(key)
            doc.lines[path + (key,)] = key_node.start_mark.line + 1
            _walk(value_node, path + (key,), doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), doc)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document. Syntax errors raise InputError naming the file and line."""
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise InputError([Problem(file, f"invalid YAML: {exc.problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, f"invalid YAML: {exc}")]) from None
    doc = Document(file=file, data=data)
    if node is not None:
        _walk(node, (), doc)
    return doc


def dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _clean_loc(loc: tuple[Any, ...]) -> Path:
    # pydantic puts union/validator tags (e.g. "function-after[...]") into loc; keep data keys only
    return tuple(p for p in loc if isinstance(p, int) or ("[" not in str(p) and "(" not in str(p)))


def problems_from_validation(
    exc: ValidationError, doc: Document, prefix: Path = ()
) -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = prefix + _clean_loc(tuple(err["loc"]))
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            msg = "required key is missing"
        problems.append(Problem(doc.file, msg, doc.line_of(loc), dotted(loc) or None))
    return problems


def validate_document(model: type[M], doc: Document) -> tuple[M | None, list[Problem]]:
    """Validate ``doc.data`` as ``model``; return the model (or None) and every problem found."""
    problems = list(doc.problems)
    data = {} if doc.data is None else doc.data
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        return None, problems + problems_from_validation(exc, doc)
    return (value if not problems else None), problems


def load_model(model: type[M], text: str, file: str) -> M:
    """Parse and validate, or raise InputError with every problem."""
    value, problems = validate_document(model, parse_yaml(text, file))
    if problems or value is None:
        raise InputError(problems)
    return value
