"""GitHub Actions expressions (``${{ ... }}``), the subset the shipped workflows use, evaluated.

A tiny tokenizer and recursive-descent parser over GitHub's documented grammar: literals
(``'string'`` with ``''`` for a quote, numbers, ``true``, ``false``, ``null``), property access
(``a.b``, ``a['b']``), ``!``, ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``&&``, ``||``,
parentheses, and the functions ``contains``, ``startsWith``, ``endsWith``, ``format``,
``toJSON``, ``fromJSON``, ``join``, ``success``, ``failure``, ``always``, ``cancelled``, and
those the runner gives under ``FUNCTIONS_KEY`` (``hashFiles``, which reads the workspace).

Semantics follow GitHub's documentation: ``&&`` and ``||`` return an operand, not a boolean;
comparisons of different types convert both sides to numbers (null 0, booleans 0/1, strings
parsed, '' is 0, anything else NaN); strings compare case-insensitively; a missing property is
null. Anything else (an unknown function or context, a syntax error) raises ExpressionError:
the runner stops the run rather than guess. Pure: no I/O."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ExpressionError(ValueError):
    """An expression the stand-in cannot evaluate (syntax, unknown name); names the text."""


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>'(?:[^']|'')*')
  | (?P<num>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?))
  | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
""", re.X)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"{text!r}: unexpected character {text[pos]!r} at {pos}")
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group()))
    return out


# the status functions see how the job's earlier steps went
Status = Mapping[str, bool]


class _Parser:
    def __init__(self, text: str, contexts: Mapping[str, Any], status: Status) -> None:
        self.text, self.toks, self.i = text, _tokens(text), 0
        self.contexts, self.status = contexts, status

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def at(self, text: str) -> bool:
        """Whether the next token is ``text``."""
        tok = self.peek()
        return tok is not None and tok.text == text

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            want = repr(text) if text else "more"
            raise ExpressionError(f"{self.text!r}: expected {want}, got "
                                  f"{tok.text if tok else 'the end'!r}")
        self.i += 1
        return tok

    def parse(self) -> Any:
        value = self.or_()
        if (tok := self.peek()) is not None:
            raise ExpressionError(f"{self.text!r}: unexpected {tok.text!r}")
        return value

    def or_(self) -> Any:
        left = self.and_()
        while self.at("||"):
            self.take()
            right = self.and_()
            left = left if truthy(left) else right
        return left

    def and_(self) -> Any:
        left = self.cmp()
        while self.at("&&"):
            self.take()
            right = self.cmp()
            left = right if truthy(left) else left
        return left

    def cmp(self) -> Any:
        left = self.unary()
        tok = self.peek()
        if tok is not None and tok.text in ("==", "!=", "<", "<=", ">", ">="):
            self.take()
            return compare(tok.text, left, self.unary())
        return left

    def unary(self) -> Any:
        if self.at("!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self) -> Any:
        value = self.primary()
        while (tok := self.peek()) is not None and tok.text in (".", "["):
            self.take()
            if tok.text == ".":
                name = self.take()
                if name.text == "*":
                    # an object filter (``a.*.b``): GitHub maps over every element; the
                    # stand-in refuses it by name rather than read it as a missing property
                    raise ExpressionError(f"{self.text!r}: the stand-in does not evaluate "
                                          "object filters ('.*')")
                if name.kind not in ("name", "num"):
                    raise ExpressionError(f"{self.text!r}: unexpected {name.text!r} after '.'")
                value = prop(value, name.text)
            else:
                key = self.or_()
                self.take("]")
                value = prop(value, key)
        return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.text == "(":
            value = self.or_()
            self.take(")")
            return value
        if tok.kind == "str":
            return tok.text[1:-1].replace("''", "'")
        if tok.kind == "num":
            return float(int(tok.text, 16)) if "x" in tok.text else float(tok.text)
        if tok.kind != "name":
            raise ExpressionError(f"{self.text!r}: unexpected {tok.text!r}")
        if tok.text in ("true", "false"):
            return tok.text == "true"
        if tok.text == "null":
            return None
        if self.at("("):
            return self.call(tok.text)
        if tok.text not in self.contexts or tok.text == FUNCTIONS_KEY:
            raise ExpressionError(f"{self.text!r}: unknown context {tok.text!r} (known: "
                                  f"{', '.join(sorted(self.contexts))})")
        return self.contexts[tok.text]

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        while not self.at(")"):
            if args:
                self.take(",")
            args.append(self.or_())
        self.take(")")
        fn = FUNCTIONS.get(name.lower()) or (self.contexts.get(FUNCTIONS_KEY) or {}).get(
            name.lower())
        if fn is not None:
            return fn(*args)
        if name.lower() in ("success", "failure", "always", "cancelled") and not args:
            return self.status_fn(name.lower())
        raise ExpressionError(f"{self.text!r}: unknown function {name}()")

    def status_fn(self, name: str) -> bool:
        failed, cancelled = self.status.get("failed", False), self.status.get("cancelled", False)
        # blocked: a job's need was skipped or cancelled (success() is false, failure() too)
        blocked = self.status.get("blocked", False)
        return {"always": True, "cancelled": cancelled, "failure": failed,
                "success": not failed and not cancelled and not blocked}[name]


def truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, float | int) and not isinstance(v, bool):
        return not (v == 0 or math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def _number(v: Any) -> float:
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, int | float):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            return float(int(s, 16)) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return math.nan
    return math.nan


def compare(op: str, a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a.casefold()
        y: Any = b.casefold()
    elif type(a) is type(b) and isinstance(a, dict | list):
        # objects and arrays are equal only when they are the same instance
        x, y = id(a), id(b)
    elif type(a) is type(b) and a is not None:
        x, y = a, b
    elif a is None and b is None:
        x = y = 0.0
    else:
        x, y = _number(a), _number(b)
    if isinstance(x, float) and isinstance(y, float) and (math.isnan(x) or math.isnan(y)):
        return op == "!="
    return {"==": x == y, "!=": x != y, "<": x < y, "<=": x <= y, ">": x > y,
            ">=": x >= y}[op]


class Closed(dict[str, Any]):
    """A context whose every property the stand-in knows (``github``, ``runner``): a property
    it lacks is refused by name, not read as null, since on GitHub it may well have a value."""


def prop(value: Any, key: Any) -> Any:
    """``value.key``; a missing property (or a property of null) is null, as on GitHub."""
    if isinstance(value, Closed) and not any(
            isinstance(k, str) and isinstance(key, str) and k.casefold() == key.casefold()
            for k in value):
        raise ExpressionError(f"the stand-in does not provide the property {key!r} of this "
                              f"context (it has: {', '.join(sorted(value))})")
    if isinstance(value, Mapping):
        if isinstance(key, str):
            for k, v in value.items():
                if isinstance(k, str) and k.casefold() == key.casefold():
                    return v
        return None
    if isinstance(value, list) and isinstance(key, float | int) and not isinstance(key, bool):
        i = int(key)
        return value[i] if 0 <= i < len(value) else None
    return None


def to_string(v: Any) -> str:
    """How a value becomes text in ``${{ }}`` interpolation and ``format``."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, dict | list):
        return json.dumps(v, indent=2)
    return str(v)


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(compare("==", item, needle) for item in haystack)
    return to_string(needle).casefold() in to_string(haystack).casefold()


def _format(fmt: Any, *args: Any) -> str:
    text = to_string(fmt)

    def sub(m: re.Match[str]) -> str:
        if m.group() == "{{":
            return "{"
        if m.group() == "}}":
            return "}"
        i = int(m.group(1))
        if i >= len(args):
            raise ExpressionError(f"format({text!r}): no argument {i}")
        return to_string(args[i])

    return re.sub(r"\{\{|\}\}|\{(\d+)\}", sub, text)


# functions that read the runner's files (``hashFiles``), given by the runner under this key of
# the contexts, so that this module stays pure; never a context a workflow can name
FUNCTIONS_KEY = "\0functions"

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": _contains,
    "startswith": lambda a, b: to_string(a).casefold().startswith(to_string(b).casefold()),
    "endswith": lambda a, b: to_string(a).casefold().endswith(to_string(b).casefold()),
    "format": _format,
    "tojson": lambda v: json.dumps(v, indent=2),
    "fromjson": lambda v: json.loads(to_string(v)),
    "join": lambda v, sep=",": (to_string(sep).join(to_string(x) for x in v)
                                if isinstance(v, list) else to_string(v)),
}


def evaluate(expr: str, contexts: Mapping[str, Any], status: Status | None = None) -> Any:
    """The value of one expression (without ``${{ }}``)."""
    return _Parser(expr, contexts, status or {}).parse()


_INTERP = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(text: str, contexts: Mapping[str, Any], status: Status | None = None) -> str:
    """A workflow string with every ``${{ expr }}`` replaced by its value as text."""
    return _INTERP.sub(lambda m: to_string(evaluate(m.group(1), contexts, status)), text)


STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")


def calls_status_function(expr: str) -> bool:
    """Whether an expression calls success(), failure(), always() or cancelled() (a name
    followed by ``(``; the same words inside a string literal do not count)."""
    toks = _tokens(expr)
    return any(t.kind == "name" and t.text.lower() in STATUS_FUNCTIONS and i + 1 < len(toks)
               and toks[i + 1].text == "(" for i, t in enumerate(toks))


def condition(text: str | bool | float | None, contexts: Mapping[str, Any],
              status: Status | None = None) -> bool:
    """An ``if:``, as GitHub reads it: ``${{ }}`` optional, and an expression that calls no
    status function means ``success() && (...)`` (GitHub's "default status check"), whatever
    its form: a YAML boolean or number (``if: true``) is the expression ``true``, not a
    bypass of it. A value mixing ``${{ }}`` with other text is refused: GitHub reads it as a
    string (always true), which is never what its author meant."""
    if text is None:
        return evaluate("success()", contexts, status) is True
    expr = to_string(text).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", expr, re.S)
    if m and "${{" not in m.group(1):
        expr = m.group(1)
    elif "${{" in expr:
        raise ExpressionError(f"if: {text!r}: ${{{{ }}}} with text around it is a string to "
                              "GitHub (always true); wrap the whole condition in one ${{ }}")
    if not calls_status_function(expr):
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, contexts, status))
