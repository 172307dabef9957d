"""Regenerate the event builder's trimmed copy of GitHub's webhook schemas and examples.

Reads ``../shared/github/webhooks/api.github.com.json`` (``@octokit/openapi-webhooks``, MIT) and
``../shared/github/webhook-examples/index.json`` (``@octokit/webhooks-examples``, MIT) and writes
``bot/sandbox/vendor/webhooks/``:

- ``schemas.json``: the webhook operations the bot handles (``WEBHOOKS``) as
  ``{"webhooks": {key: {"$ref": ...}}, "components": {"schemas": {...}}}`` with the transitive
  closure of the component schemas they reference;
- ``examples.json``: one unmodified example payload per (event, action) in ``EXAMPLES``;
- ``LICENSE``, copied from the webhooks package.

The patches that bring the (older) examples up to the schemas live in ``bot/sandbox/events.py``
(``PATCHES``), applied when an event is built, so this copy stays byte-for-byte the upstream
data. Run from the repository root:

    python scripts/vendor_webhooks.py [--shared PATH/TO/shared/github]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SHARED = ROOT.parent / "shared" / "github"
TARGET = ROOT / "bot" / "sandbox" / "vendor" / "webhooks"

# webhook schema keys the bot handles
WEBHOOKS = [
    "pull-request-opened",
    "pull-request-synchronize",
    "pull-request-reopened",
    "pull-request-closed",
    "pull-request-labeled",
    "pull-request-unlabeled",
    "issues-opened",
    "issues-edited",
    "issues-labeled",
    "issues-unlabeled",
    "issue-comment-created",
    "workflow-run-completed",
    "workflow-dispatch",
    "push",
    "merge-group-checks-requested",
]

# (event, action, index among that event's examples with that action); action None: no action
EXAMPLES: list[tuple[str, str | None, int]] = [
    ("pull_request", "opened", 0),
    ("pull_request", "synchronize", 0),
    ("pull_request", "reopened", 0),
    ("pull_request", "closed", 0),
    ("pull_request", "labeled", 0),
    ("pull_request", "unlabeled", 0),
    ("issues", "opened", 0),
    ("issues", "edited", 0),
    ("issues", "labeled", 0),
    ("issues", "unlabeled", 0),
    ("issue_comment", "created", 0),
    ("workflow_run", "completed", 0),
    ("workflow_dispatch", None, 0),
    ("push", None, 0),
    ("merge_group", "checks_requested", 0),
]


def collect_refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            out.add(ref.rsplit("/", 1)[1])
        for value in node.values():
            collect_refs(value, out)
    elif isinstance(node, list):
        for value in node:
            collect_refs(value, out)


def trim_schemas(spec: dict[str, Any]) -> dict[str, Any]:
    components = spec["components"]["schemas"]
    webhooks: dict[str, Any] = {}
    pending: set[str] = set()
    for key in WEBHOOKS:
        schema = spec["webhooks"][key]["post"]["requestBody"]["content"]["application/json"][
            "schema"
        ]
        webhooks[key] = schema
        collect_refs(schema, pending)
    done: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in done:
            continue
        done[name] = components[name]
        found: set[str] = set()
        collect_refs(components[name], found)
        pending |= found - done.keys()
    return {
        "openapi": spec.get("openapi"),
        "info": spec.get("info"),
        "webhooks": webhooks,
        "components": {"schemas": dict(sorted(done.items()))},
    }


def pick_examples(index: list[dict[str, Any]]) -> dict[str, Any]:
    by_event = {entry["name"]: entry["examples"] for entry in index}
    out: dict[str, Any] = {}
    for event, action, nth in EXAMPLES:
        matching = [e for e in by_event[event] if e.get("action") == action]
        key = f"{event}.{action}" if action else event
        out[key] = matching[nth]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    spec = json.loads((args.shared / "webhooks" / "api.github.com.json").read_text())
    index = json.loads((args.shared / "webhook-examples" / "index.json").read_text())
    TARGET.mkdir(parents=True, exist_ok=True)
    schemas = trim_schemas(spec)
    (TARGET / "schemas.json").write_text(json.dumps(schemas, indent=1, sort_keys=True) + "\n")
    (TARGET / "examples.json").write_text(
        json.dumps(pick_examples(index), indent=1, sort_keys=True) + "\n"
    )
    shutil.copyfile(args.shared / "webhooks" / "LICENSE", TARGET / "LICENSE")
    print(
        f"wrote {TARGET.relative_to(ROOT)}: {len(schemas['webhooks'])} webhooks, "
        f"{len(schemas['components']['schemas'])} component schemas, {len(EXAMPLES)} examples",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
