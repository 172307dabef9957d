"""GitHub's REST description (the vendored, trimmed copy): named examples to build responses
from, and validation of every request and response the sandbox handles against it."""

from __future__ import annotations

import copy
import json
import threading
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

DESCRIPTION = Path(__file__).parent / "vendor" / "openapi" / "api.github.com.json"
# requests are validated as if sent to github.com: the description lists only that server
VALIDATION_HOST = "https://api.github.com"

_lock = threading.Lock()


@cache
def description() -> dict[str, Any]:
    return json.loads(DESCRIPTION.read_text())


@cache
def _example_text(name: str) -> str:
    return json.dumps(description()["components"]["examples"][name]["value"])


def example(name: str, replace: dict[str, str] | None = None) -> Any:
    """A fresh copy of a named example, with literal text replaced (e.g. the repository name)."""
    text = _example_text(name)
    for old, new in (replace or {}).items():
        text = text.replace(old, json.dumps(new)[1:-1])
    return json.loads(text)


@cache
def _openapi() -> Any:
    from jsonschema_path import SchemaPath
    from openapi_core import Config, OpenAPI

    # the description's own self-check takes seconds and proves nothing new for a vendored copy
    return OpenAPI(SchemaPath.from_dict(copy.deepcopy(description())),
                   config=Config(spec_validator_cls=None))


def warm() -> None:
    """Load the description and its validator now (once per process), not on the first call."""
    with _lock:
        _openapi()


def operation_exists(method: str, template: str) -> bool:
    return method.lower() in description()["paths"].get(template, {})


def fill(template: str, params: dict[str, str]) -> str:
    """The concrete path for validation: slashes inside a value are encoded, since the
    validator's path matcher takes a parameter to end at the next slash."""
    out = template
    for k, v in params.items():
        out = out.replace("{" + k + "}", quote(v, safe=""))
    return out


def _describe(exc: BaseException) -> str:
    parts = [type(exc).__name__]
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 4:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            for err in list(errors)[:5]:
                # for oneOf/anyOf the useful reasons are the alternatives' own errors
                leaves = [e for e in (err.context or []) if e.validator != "type"] or [err]
                for leaf in leaves[:4]:
                    where = "/".join(str(p) for p in leaf.absolute_path) or "(root)"
                    parts.append(f"{where}: {str(leaf.message)[:160]}")
            break
        cause = cause.__cause__ or cause.__context__
        seen += 1
    if len(parts) == 1:
        parts.append(str(exc)[:300])
    return "; ".join(parts)


def validate_request(
    method: str, template: str, params: dict[str, str], query: dict[str, list[str]],
    body: bytes | None, content_type: str,
) -> str | None:
    """None when the request matches the description, else one line saying what is wrong."""
    from openapi_core.testing import MockRequest

    args = {k: v[-1] for k, v in query.items()}
    req = MockRequest(VALIDATION_HOST, method.lower(), fill(template, params), args=args,
                      data=body or None, content_type=content_type or "application/json")
    try:
        _openapi().validate_request(req)
    except Exception as exc:  # openapi-core raises a family of errors; all mean "invalid"
        return f"request {method} {template}: {_describe(exc)}"
    return None


def validate_response(
    method: str, template: str, params: dict[str, str], status: int, body: bytes,
    content_type: str,
) -> str | None:
    """None when the response matches the description (or the status is an error the
    description does not list for this operation), else one line saying what is wrong."""
    from openapi_core.testing import MockRequest, MockResponse

    op = description()["paths"].get(template, {}).get(method.lower(), {})
    documented = str(status) in op.get("responses", {}) or "default" in op.get("responses", {})
    if not documented:
        return None if status >= 300 else f"response {method} {template}: undocumented {status}"
    req = MockRequest(VALIDATION_HOST, method.lower(), fill(template, params))
    resp = MockResponse(body, status_code=status, content_type=content_type)
    try:
        _openapi().validate_response(req, resp)
    except Exception as exc:
        return f"response {status} {method} {template}: {_describe(exc)}"
    return None
