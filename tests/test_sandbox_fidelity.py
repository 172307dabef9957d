"""The sandbox answers as api.github.com answered, checked against real recorded exchanges
(PyGithub's own ``tests/ReplayData``, vendored in ``tests/data/github_replay`` by
``scripts/vendor_replay.py``): the status code, every documented field the real answer carries
(present, and of the same JSON type, nested objects and list items included), and the
``ETag``, ``Link`` and rate-limit headers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.sandbox import Sandbox, openapi
from bot.sandbox import routes as r
from tests.helpers.sandbox import call, clone, push_change, run_git, sandbox  # noqa: F401

REPLAY = Path(__file__).parent / "data" / "github_replay" / "exchanges.json"
REPO = "acme/widgets"
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used",
                "x-ratelimit-reset", "x-ratelimit-resource")
ETAG = re.compile(r'^(W/)?"[0-9a-f]{32,64}"$')
# fields the recorded answer has only because of the recorded repository's state, which the
# sandbox does not have: (method, template) -> {field path: why}
NO_TOPICS = "the recorded repository has topics; the sandbox has no topics API"
STATE_DEPENDENT = {
    ("GET", "/repos/{owner}/{repo}/branches/{branch}"): {
        "/protection/enforce_admins": "sent for a protected branch; the sandbox protects none",
        "/protection/required_status_checks/contexts": "the same: no required checks here",
    },
    ("GET", "/repos/{owner}/{repo}"): {"/topics": NO_TOPICS},
    ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"): {
        "/base/repo/topics": NO_TOPICS, "/head/repo/topics": NO_TOPICS},
}


def _exchanges() -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(REPLAY.read_text(encoding="utf-8"))
    return data["exchanges"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One sandbox with one of everything the recorded requests address."""
    sb = Sandbox.start()
    tmp = tmp_path_factory.mktemp("fidelity")
    sb.create_repo(REPO, {"README.md": "hello\n"})
    alice = sb.add_user("alice", "write", repos=[REPO])
    reader = sb.add_user("reader", "read", repos=[REPO])
    work = clone(sb, REPO, tmp / "w")
    push_change(work, "feature", {"a.txt": "a\n"})
    push_change(work, "other", {"b.txt": "b\n"})
    run_git(work, "checkout", "-q", "main")
    for tag in ("v1.0.0", "v1.1.0"):
        run_git(work, "tag", tag)
    run_git(work, "push", "-q", "origin", "--tags")
    main = call(sb, "GET", f"/repos/{REPO}/branches/main")[2]["commit"]["sha"]
    open_pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                   {"title": "Open", "head": "feature", "base": "main"}, token=alice)[2]
    # labelled, as the recorded one is, so its labels' fields are compared too
    call(sb, "POST", f"/repos/{REPO}/issues/{open_pr['number']}/labels", {"labels": ["bug"]},
         token=alice)
    to_merge = call(sb, "POST", f"/repos/{REPO}/pulls",
                    {"title": "Merge me", "head": "other", "base": "main"}, token=alice)[2]
    issue = call(sb, "POST", f"/repos/{REPO}/issues",
                 {"title": "An issue", "body": "b", "labels": ["bug"]}, token=alice)[2]
    comment = call(sb, "POST", f"/repos/{REPO}/issues/{issue['number']}/comments",
                   {"body": "a comment"}, token=alice)[2]
    # check runs are an App's (a job's GITHUB_TOKEN here): a person's token may not create one
    actions = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={"checks": "write"})
    check = call(sb, "POST", f"/repos/{REPO}/check-runs",
                 {"name": "improve", "head_sha": main, "status": "completed",
                  "conclusion": "success", "output": {"title": "t", "summary": "s"}},
                 token=actions)[2]
    sb.add_workflow_run(REPO, head_sha=main, head_branch="main", event="push")
    # what each recorded request becomes here: (path, token)
    requests = {
        ("GET", "/rate_limit", 200): ("/rate_limit", sb.token),
        ("GET", "/user", 200): ("/user", alice),
        ("GET", "/users/{username}", 200): ("/users/alice", sb.token),
        ("GET", "/repos/{owner}/{repo}", 200): (f"/repos/{REPO}", alice),
        ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", 200):
            (f"/repos/{REPO}/pulls/{open_pr['number']}", alice),
        ("GET", "/repos/{owner}/{repo}/pulls", 200):
            (f"/repos/{REPO}/pulls?head=acme%3Anone&per_page=1", alice),
        ("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", 200):
            (f"/repos/{REPO}/pulls/{to_merge['number']}/merge", alice),
        ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge", 404):
            (f"/repos/{REPO}/pulls/{open_pr['number']}/merge", alice),
        ("GET", "/repos/{owner}/{repo}/branches/{branch}", 200):
            (f"/repos/{REPO}/branches/main", alice),
        ("GET", "/repos/{owner}/{repo}/tags", 200): (f"/repos/{REPO}/tags?per_page=1", alice),
        ("GET", "/repos/{owner}/{repo}/git/ref/{ref}", 200):
            (f"/repos/{REPO}/git/ref/heads/feature", alice),
        ("GET", "/repos/{owner}/{repo}/issues/{issue_number}", 200):
            (f"/repos/{REPO}/issues/{issue['number']}", alice),
        ("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200):
            (f"/repos/{REPO}/issues/comments/{comment['id']}", alice),
        ("GET", "/repos/{owner}/{repo}/labels/{name}", 200): (f"/repos/{REPO}/labels/bug", alice),
        ("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200):
            (f"/repos/{REPO}/check-runs/{check['id']}", alice),
        ("GET", "/repos/{owner}/{repo}/actions/runs", 200): (f"/repos/{REPO}/actions/runs", alice),
        ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", 200):
            (f"/repos/{REPO}/collaborators/alice/permission", alice),
        # the caller has no push access: GitHub refuses to say anyone's permission
        ("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission", 403):
            (f"/repos/{REPO}/collaborators/alice/permission", reader),
    }
    yield sb, requests
    problems = sb.violations
    sb.stop()
    assert not problems, problems


def _resolve(node: Any, doc: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(schema: Any, doc: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(documented properties, nullable) of a schema, through $ref, allOf, anyOf and oneOf."""
    schema = _resolve(schema, doc)
    if not isinstance(schema, dict):
        return {}, False
    props = dict(schema.get("properties") or {})
    nullable = bool(schema.get("nullable"))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            more, null = _properties(sub, doc)
            props.update(more)
            nullable = nullable or null
    return props, nullable


def _items(schema: Any, doc: dict[str, Any]) -> Any:
    schema = _resolve(schema, doc)
    if isinstance(schema, dict):
        if "items" in schema:
            return schema["items"]
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key) or []:
                found = _items(sub, doc)
                if found is not None:
                    return found
    return None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def compare(real: Any, ours: Any, schema: Any, doc: dict[str, Any], where: str = "") -> list[str]:
    """Every documented field of ``real``: present in ``ours``, of the same JSON type."""
    _, nullable = _properties(schema, doc)
    if real is None or ours is None:
        # a null where GitHub documents one is a value like any other
        return [] if (real is None and ours is None) or nullable or \
            _resolve(schema, doc) in ({}, None) else [f"{where}: {real!r} vs {ours!r}"]
    if _kind(real) != _kind(ours):
        return [f"{where}: GitHub sent {_kind(real)}, the sandbox {_kind(ours)}"]
    problems: list[str] = []
    if isinstance(real, dict):
        props, _ = _properties(schema, doc)
        for key, sub in props.items():
            if key not in real:
                continue
            if key not in ours:
                problems.append(f"{where}/{key}: documented, sent by GitHub, missing here")
                continue
            problems += compare(real[key], ours[key], sub, doc, f"{where}/{key}")
    elif isinstance(real, list) and real:
        if not ours:
            # an empty answer would leave nothing to compare: the check would pass unseen
            return [f"{where}: GitHub sent {len(real)} items, the sandbox none"]
        problems += compare(real[0], ours[0], _items(schema, doc), doc, f"{where}/0")
    return problems


def _response_schema(method: str, template: str, status: int) -> Any:
    doc = openapi.description()
    op = doc["paths"][template][method.lower()]
    answer = _resolve(op["responses"].get(str(status)) or {}, doc)
    return (answer.get("content") or {}).get("application/json", {}).get("schema")


def _links(value: str) -> dict[str, str]:
    out = {}
    for part in value.split(","):
        url, _, rel = part.partition(";")
        out[rel.strip().removeprefix('rel="').rstrip('"')] = \
            parse_qs(urlsplit(url.strip()[1:-1]).query).get("page", [""])[0]
    return out


@pytest.mark.parametrize("exchange", _exchanges(),
                         ids=lambda e: f"{e['method']} {e['template']} {e['status']}")
def test_the_sandbox_answers_as_github_answered(world: Any, exchange: dict[str, Any]) -> None:
    sb, requests = world
    method, template, status = exchange["method"], exchange["template"], exchange["status"]
    path, token = requests[(method, template, status)]
    got_status, headers, body = call(sb, method, path, {} if method == "PUT" else None,
                                     token=token)
    assert got_status == status, body
    real = json.loads(exchange["body"]) if exchange["body"] else None
    doc = openapi.description()
    if status < 300:
        problems = compare(real, body, _response_schema(method, template, status), doc)
        excused = STATE_DEPENDENT.get((method, template), {})
        problems = [p for p in problems if p.split(":")[0] not in excused]
        assert not problems, "\n".join(problems)
    else:
        # GitHub's error body: its message for this case, and where the docs explain it
        assert body["message"] == real["message"]
        assert set(real) <= set(body)
    real_headers = {k.lower(): v for k, v in exchange["headers"]}
    ours = {k.lower(): v for k, v in headers.items()}
    # rate-limit headers: the ones GitHub sent, as integers that add up
    for name in RATE_HEADERS:
        if name in real_headers:
            assert name in ours, name
    limit, remaining = int(ours["x-ratelimit-limit"]), int(ours["x-ratelimit-remaining"])
    assert 0 <= remaining <= limit
    if "x-ratelimit-used" in ours:
        assert int(ours["x-ratelimit-used"]) == limit - remaining
    assert int(ours["x-ratelimit-reset"]) > 1_700_000_000
    if status < 300 and "etag" in real_headers:
        assert ETAG.match(real_headers["etag"]) and ETAG.match(ours.get("etag", "")), \
            (real_headers["etag"], ours.get("etag"))
        # a read's tag is weak when GitHub's is (compressed bodies)
        assert ours["etag"].startswith("W/") == (method == "GET")
    if "link" in real_headers:
        real_links, our_links = _links(real_headers["link"]), _links(ours.get("link", ""))
        assert set(real_links) == set(our_links), (real_links, our_links)
        assert our_links["next"] == real_links["next"] == "2"


def test_a_collaborator_without_push_access_is_refused_as_github_refuses(world: Any) -> None:
    sb, requests = world
    path, token = requests[("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission",
                            403)]
    status, _, body = call(sb, "GET", path, token=token)
    assert (status, body["message"]) == (403, r.NO_PUSH_FOR_PERMISSION)
    # an installation token needs only metadata: read, which it always has
    token = sb.mint_token("ci", kind="github_token", repo=REPO, permissions={})
    status, _, body = call(sb, "GET", path, token=token)
    assert (status, body["permission"]) == (200, "write")
