"""YAML text to plain data plus a map from key paths to line numbers, so that every error can
name the file, the line and the key. Validation errors from pydantic become ``Problem``s here.

One reader for everything the bot reads (proposals, the configuration, suites, a proposal's
fields read on their own): ruamel.yaml's safe loader, YAML 1.2, the same reading as the
round-trip editor that writes target files. With PyYAML (YAML 1.1) ``[en, de, no]`` was read
as ``["en", "de", False]`` and written into a target as ``false``; in YAML 1.2 ``no``, ``yes``,
``on`` and ``off`` are strings, ``0o17`` is 15, ``017`` is 17, ``1_000`` is 1000 and
``2026-11-21`` a date, wherever the bot reads them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


class YamlError(ValueError):
    """Text that is not YAML (or not one document): the reason and, when known, the line."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.line = line


def _reader(**options: Any) -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="safe", pure=True)  # YAML 1.2; pure: the same answer with or without C
    for name, value in options.items():
        setattr(y, name, value)
    return y


def _read(text: str) -> tuple[Any, Any]:
    """(the node tree, the data) of one YAML document; YamlError otherwise."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        node = _reader().compose(text)
        # duplicate keys are reported as problems with their lines (see _walk), not refused here
        data = _reader(allow_duplicate_keys=True).load(text) if node is not None else None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise YamlError(str(exc.problem), mark.line + 1 if mark is not None else None) \
            from None
    except YAMLError as exc:
        raise YamlError(str(exc)) from None
    except RecursionError:
        raise YamlError("nested too deeply") from None
    return node, data


def load_yaml(text: str | bytes) -> Any:
    """The data of one YAML 1.2 document (the one reading the bot uses everywhere); YamlError
    when it is not one."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return _read(text)[1]


def dump_yaml(data: Any, flow: bool = False) -> str:
    """``data`` as YAML 1.2 text (what ``load_yaml`` reads back as ``data``): keys in their
    order, strings a 1.2 reader would take for something else quoted (``'0o17'``, ``'1e3'``)."""
    import io

    y = _reader(default_flow_style=flow, allow_unicode=True, width=1_000_000)
    y.sort_base_mapping_type_on_output = False
    out = io.StringIO()
    y.dump(data, out)
    return out.getvalue()


def _walk(node: Any, path: Path, doc: Document) -> None:
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
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
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), doc)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document. Syntax errors raise InputError naming the file and line."""
    try:
        node, data = _read(text)
    except YamlError as exc:
        raise InputError([Problem(file, f"invalid YAML: {exc.reason}", exc.line)]) from None
    doc = Document(file=file, data=data)
    if node is not None:
        try:
            _walk(node, (), doc)
        except RecursionError:
            raise InputError([Problem(file, "invalid YAML: nested too deeply")]) from None
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
