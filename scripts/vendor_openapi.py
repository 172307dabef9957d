"""Regenerate the sandbox's trimmed copy of GitHub's REST description.

Reads ``../shared/github/openapi/api.github.com.json`` (the ``@octokit/openapi`` package, MIT)
and writes ``bot/sandbox/vendor/openapi/api.github.com.json``: only the operations the sandbox
serves, the transitive closure of the components they reference, and the named examples the
sandbox builds its responses from. Run from the repository root:

    python scripts/vendor_openapi.py [--source PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = ROOT.parent / "shared" / "github" / "openapi" / "api.github.com.json"
TARGET = ROOT / "bot" / "sandbox" / "vendor" / "openapi"

# (method, path) of every operation the sandbox serves; keep in step with bot/sandbox/routes/
OPERATIONS: list[tuple[str, str]] = [
    ("get", "/user"),
    ("get", "/users/{username}"),
    ("get", "/rate_limit"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/pulls"),
    ("post", "/repos/{owner}/{repo}/pulls"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("patch", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("put", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/files"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/commits"),
    ("get", "/repos/{owner}/{repo}/compare/{basehead}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("post", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"),
    ("delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/labels"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/status"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/statuses"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("get", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("patch", "/repos/{owner}/{repo}/check-runs/{check_run_id}"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("post", "/repos/{owner}/{repo}/git/refs"),
    ("patch", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("delete", "/repos/{owner}/{repo}/git/refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/branches"),
    ("get", "/repos/{owner}/{repo}/branches/{branch}"),
    ("get", "/repos/{owner}/{repo}/tags"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    # /retest: find the test workflow's run for a head commit and re-run it
    ("get", "/repos/{owner}/{repo}/actions/runs"),
    ("post", "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun"),
    ("post", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"),
    # a release's GitHub Release: found by its tag, created, its notes edited (a rollback)
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("patch", "/repos/{owner}/{repo}/releases/{release_id}"),
    # a proposal waiting for /approve asks its reviewers
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
    ("post", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
]

# named examples the response builders start from (besides those the operations reference)
EXAMPLES: list[str] = [
    "simple-user",
    "private-user",
    "full-repository",
    "pull-request",
    "issue",
    "issue-comment",
    "label",
    "reaction",
    "status",
    "combined-commit-status",
    "check-run",
    "git-ref",
    "branch-get",
    "commit",
    "commit-comparison",
    "content-file-response-if-content-is-a-file",
    "repository-collaborator-permission-response-if-user-has-admin-permissions",
    "rate-limit-overview",
    "pull-request-merge-result-response-if-merge-was-successful",
    "tag-items",
    "diff-entry-items",
    "workflow-run",
    "release",
    # a pull request in the short form "Request reviewers" answers with
    "pull-request-review-request",
]


def patch(trimmed: dict) -> list[str]:
    """Corrections where the description disagrees with what GitHub accepts; each is listed in
    PROVENANCE.md. Returns one line per patch applied."""
    applied = []
    # "Add labels to an issue": the description's own text says "You can also pass an array
    # of labels directly", and PyGithub does (add_to_labels), but the schema lists only the
    # object form
    body = trimmed["paths"]["/repos/{owner}/{repo}/issues/{issue_number}/labels"]["post"]
    schema = body["requestBody"]["content"]["application/json"]["schema"]
    bare = {"type": "array", "minItems": 1, "items": {"type": "string"}}
    if bare not in schema["oneOf"]:
        schema["oneOf"].append(bare)
        applied.append("POST issues/{n}/labels: bare array of label names accepted")
    # "Get repository content" picks its schema by a discriminator "type", which a directory
    # listing (an array) cannot carry; the oneOf alone tells the four shapes apart
    content = trimmed["paths"]["/repos/{owner}/{repo}/contents/{path}"]["get"]
    schema = content["responses"]["200"]["content"]["application/json"]["schema"]
    if schema.pop("discriminator", None) is not None:
        applied.append("GET contents/{path}: discriminator dropped (directories are arrays)")
    # "nullable: true" beside a oneOf/anyOf with no type (commit.author, ...): GitHub sends
    # null there, but validators of OpenAPI 3.0 apply nullable only beside a type
    count = _allow_null(trimmed)
    if count:
        applied.append(f"{count} nullable oneOf/anyOf schemas accept null")
    # "nullable: true" with an enum that leaves out null (issue.state_reason, a check run's
    # conclusion): OpenAPI 3.0.3 says the enum must list null for null to be valid
    count = _null_in_enum(trimmed)
    if count:
        applied.append(f"{count} nullable enums list null")
    return applied


def _null_in_enum(node: Any) -> int:
    count = 0
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("enum"), list) \
                and None not in node["enum"]:
            node["enum"].append(None)
            count += 1
        for v in node.values():
            count += _null_in_enum(v)
    elif isinstance(node, list):
        for v in node:
            count += _null_in_enum(v)
    return count


def _allow_null(node: Any) -> int:
    count = 0
    if isinstance(node, dict):
        for key in ("oneOf", "anyOf"):
            if node.get("nullable") is True and "type" not in node and key in node:
                null = {"type": "object", "nullable": True, "enum": [None]}
                if null not in node[key]:
                    node[key].append(null)
                    count += 1
        for v in node.values():
            count += _allow_null(v)
    elif isinstance(node, list):
        for v in node:
            count += _allow_null(v)
    return count


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            found.add(ref)
        for v in node.values():
            _refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found)


def _resolve(doc: dict, ref: str) -> Any:
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(doc: dict) -> dict:
    paths: dict[str, dict] = {}
    for method, path in OPERATIONS:
        item = doc["paths"][path]
        out = paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})
        out[method] = item[method]
    pending: set[str] = set()
    _refs(paths, pending)
    pending |= {f"#/components/examples/{name}" for name in EXAMPLES}
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _refs(_resolve(doc, ref), pending)
    components: dict[str, dict] = {}
    for ref in sorted(seen):
        _, _, kind, name = ref.split("/", 3)
        components.setdefault(kind, {})[name] = _resolve(doc, ref)
    return {
        "openapi": doc["openapi"],
        "info": doc["info"],
        "servers": doc["servers"],
        "paths": paths,
        "components": components,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = parser.parse_args(argv)
    if not args.source.is_file():
        print(f"vendor_openapi: {args.source}: no such file", file=sys.stderr)
        return 2
    doc = json.loads(args.source.read_text())
    trimmed = trim(doc)
    for line in patch(trimmed):
        print(f"vendor_openapi: patched {line}")
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "api.github.com.json").write_text(
        json.dumps(trimmed, indent=1, sort_keys=True) + "\n"
    )
    licence = args.source.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, TARGET / "LICENSE")
    n_ops = sum(1 for p in trimmed["paths"].values() for k in p if k != "parameters")
    sizes = {k: len(v) for k, v in trimmed["components"].items()}
    print(f"vendor_openapi: {n_ops} operations, components {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
