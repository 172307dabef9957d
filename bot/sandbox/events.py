"""The event builder: Actions-shaped event payloads, and the environment an Actions step sees.

Payloads start from GitHub's own example payloads (``@octokit/webhooks-examples``, vendored in
``vendor/webhooks/examples.json`` by ``scripts/vendor_webhooks.py``), are brought up to date with
the documented ``PATCHES`` (the examples predate fields the schemas now require), are given the
facts of the test (repository, numbers, refs, SHAs, people), and are validated against the
vendored webhook schemas (``@octokit/openapi-webhooks``) before they are returned.

Two events have no example: a comment on a pull request is the ``issue_comment`` example with
``issue.pull_request`` set, a merged pull request the ``closed`` example with ``merged: true``;
``schedule`` has neither example nor schema: Actions gives a scheduled run ``{"schedule": cron}``.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bot.errors import InputError, Problem

EXAMPLE_FULL_NAME = "Codertocat/Hello-World"
DISPATCH_FULL_NAME = "octo-org/octo-repo"

# (event, action) the builder makes -> (example key, webhook schema key or None)
EVENTS: dict[tuple[str, str | None], tuple[str | None, str | None]] = {
    ("pull_request", "opened"): ("pull_request.opened", "pull-request-opened"),
    ("pull_request", "synchronize"): ("pull_request.synchronize", "pull-request-synchronize"),
    ("pull_request", "reopened"): ("pull_request.reopened", "pull-request-reopened"),
    ("pull_request", "closed"): ("pull_request.closed", "pull-request-closed"),
    ("pull_request", "labeled"): ("pull_request.labeled", "pull-request-labeled"),
    ("pull_request", "unlabeled"): ("pull_request.unlabeled", "pull-request-unlabeled"),
    ("issues", "opened"): ("issues.opened", "issues-opened"),
    ("issues", "edited"): ("issues.edited", "issues-edited"),
    ("issues", "labeled"): ("issues.labeled", "issues-labeled"),
    ("issues", "unlabeled"): ("issues.unlabeled", "issues-unlabeled"),
    ("issue_comment", "created"): ("issue_comment.created", "issue-comment-created"),
    ("workflow_run", "completed"): ("workflow_run.completed", "workflow-run-completed"),
    ("workflow_dispatch", None): ("workflow_dispatch", "workflow-dispatch"),
    ("push", None): ("push", "push"),
    ("merge_group", "checks_requested"): ("merge_group.checks_requested",
                                          "merge-group-checks-requested"),
    ("schedule", None): (None, None),
}

_REACTIONS = {"url": "", "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "confused": 0,
              "heart": 0, "hooray": 0, "eyes": 0, "rocket": 0}

# Fields added to GitHub's payloads after the examples were recorded: (path, value) set only
# where the example lacks them. Each is a field the current webhook schema requires.
PATCHES: dict[str, list[tuple[tuple[str | int, ...], Any]]] = {
    "pull_request.opened": [(("pull_request", "auto_merge"), None)],
    "pull_request.synchronize": [
        (("pull_request", "base", "repo", "has_discussions"), False),
        (("pull_request", "head", "repo", "has_discussions"), False),
    ],
    "pull_request.reopened": [],
    "pull_request.closed": [],
    "pull_request.labeled": [
        (("pull_request", "base", "repo", "has_discussions"), False),
        (("pull_request", "head", "repo", "has_discussions"), False),
    ],
    "pull_request.unlabeled": [
        (("pull_request", "base", "repo", "has_discussions"), False),
        (("pull_request", "head", "repo", "has_discussions"), False),
    ],
    "issues.opened": [],
    "issues.edited": [
        (("issue", "active_lock_reason"), None),
        (("issue", "reactions"), _REACTIONS),
        (("issue", "labels", "*", "description"), None),
    ],
    "issues.labeled": [],
    "issues.unlabeled": [],
    "issue_comment.created": [
        (("comment", "performed_via_github_app"), None),
        (("comment", "reactions"), _REACTIONS),
        (("issue", "active_lock_reason"), None),
        (("issue", "reactions"), _REACTIONS),
        (("issue", "labels", "*", "description"), None),
    ],
    "workflow_run.completed": [
        (("workflow_run", "actor"), "$sender"),
        (("workflow_run", "triggering_actor"), "$sender"),
        (("workflow_run", "path"), ".github/workflows/improve.yml"),
    ],
    "workflow_dispatch": [],
    "merge_group.checks_requested": [],
    "push": [
        (("repository", "has_discussions"), False),
        (("repository", "topics"), []),
        (("repository", "visibility"), "public"),
    ],
}

SCHEDULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schedule"],
    "properties": {"schedule": {"type": "string", "minLength": 9}},
}


def _vendor(name: str) -> Any:
    return json.loads(resources.files("bot.sandbox").joinpath("vendor", "webhooks", name)
                      .read_text(encoding="utf-8"))


@cache
def _schemas() -> dict[str, Any]:
    data: dict[str, Any] = _vendor("schemas.json")
    return data


@cache
def _examples() -> dict[str, Any]:
    data: dict[str, Any] = _vendor("examples.json")
    return data


@cache
def validator(schema_key: str) -> Draft202012Validator:
    doc = _schemas()
    # the webhook's own schema at the root, with the components beside it for its $refs
    return Draft202012Validator({**doc["webhooks"][schema_key], "components": doc["components"]})


def example(key: str) -> dict[str, Any]:
    """A vendored example, untouched."""
    return copy.deepcopy(_examples()[key])


def _set_missing(node: Any, path: Sequence[str | int], value: Any, root: Mapping[str, Any]) -> None:
    head, *rest = path
    if head == "*":
        for item in node:
            _set_missing(item, rest, value, root)
        return
    if not rest:
        if isinstance(node, dict) and head not in node:
            node[head] = copy.deepcopy(root["sender"] if value == "$sender" else value)
        return
    child = node.get(head) if isinstance(node, dict) else None
    if child is not None:
        _set_missing(child, rest, value, root)


def patched_example(key: str) -> dict[str, Any]:
    """A vendored example with the documented ``PATCHES`` applied."""
    payload = example(key)
    for path, value in PATCHES.get(key, []):
        _set_missing(payload, path, value, payload)
    return payload


def validation_problems(schema_key: str | None, payload: Mapping[str, Any]) -> list[Problem]:
    v = validator(schema_key) if schema_key else Draft202012Validator(SCHEDULE_SCHEMA)
    return [
        Problem(f"event {schema_key or 'schedule'}", e.message[:300],
                field="/".join(str(p) for p in e.absolute_path) or None)
        for e in sorted(v.iter_errors(payload), key=lambda e: list(e.absolute_path))
    ]


# --- facts ------------------------------------------------------------------------------------


def _user(login: str, *, kind: str = "User", uid: int = 1) -> dict[str, Any]:
    api = "https://api.github.com"
    return {
        "login": login, "id": uid, "node_id": f"U_{uid}", "type": kind, "site_admin": False,
        "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4", "gravatar_id": "",
        "url": f"{api}/users/{login}", "html_url": f"https://github.com/{login}",
        "followers_url": f"{api}/users/{login}/followers",
        "following_url": f"{api}/users/{login}/following{{/other_user}}",
        "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{login}/subscriptions",
        "organizations_url": f"{api}/users/{login}/orgs",
        "repos_url": f"{api}/users/{login}/repos",
        "events_url": f"{api}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{login}/received_events",
    }


def _rename_repo(payload: dict[str, Any], old: str, new: str) -> dict[str, Any]:
    """Every URL and name of the example's repository, now ``new``."""
    text = json.dumps(payload).replace(old, new)
    out: dict[str, Any] = json.loads(text)
    owner, name = new.split("/")
    for repo in _repos_in(out):
        if repo.get("full_name") == new:
            repo["name"] = name
            if isinstance(repo.get("owner"), dict):
                repo["owner"]["login"] = owner
    return out


def _repos_in(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if "full_name" in node and "owner" in node:
            found.append(node)
        for v in node.values():
            found.extend(_repos_in(v))
    elif isinstance(node, list):
        for v in node:
            found.extend(_repos_in(v))
    return found


def _labels(names: Sequence[str]) -> list[dict[str, Any]]:
    return [{"id": 1000 + i, "node_id": f"LA_{i}", "url": "", "name": n, "color": "ededed",
             "default": False, "description": None} for i, n in enumerate(names)]


def _item_facts(item: dict[str, Any], f: Mapping[str, Any], keys: Sequence[str]) -> None:
    """An issue's or pull request's number, its fields ``keys``, author and labels."""
    item["number"] = int(f.get("number", item["number"]))
    for key in keys:
        if key in f:
            item[key] = f[key]
    if "author" in f:
        item["user"] = _user(f["author"], uid=7)
    if "labels" in f:
        item["labels"] = _labels(f["labels"])


def _pull_facts(pr: dict[str, Any], f: Mapping[str, Any], full_name: str) -> None:
    _item_facts(pr, f, ("title", "body", "draft"))
    for side in ("head", "base"):
        if f"{side}_ref" in f:
            pr[side]["ref"] = f[f"{side}_ref"]
            pr[side]["label"] = f"{full_name.split('/')[0]}:{f[f'{side}_ref']}"
        if f"{side}_sha" in f:
            pr[side]["sha"] = f[f"{side}_sha"]


def _apply_facts(
    event: str, action: str | None, payload: dict[str, Any], f: Mapping[str, Any]
) -> dict[str, Any]:
    old = DISPATCH_FULL_NAME if event in ("workflow_dispatch", "merge_group") \
        else EXAMPLE_FULL_NAME
    full_name = f.get("repo", old)
    payload = _rename_repo(payload, old, full_name)
    if "sender" in f:
        sender = _user(f["sender"], kind=f.get("sender_type", "User"), uid=9)
        payload["sender"] = sender
    payload.pop("installation", None)
    repo_node = payload.get("repository")
    if "default_branch" in f and isinstance(repo_node, dict):
        repo_node["default_branch"] = f["default_branch"]
        if "master_branch" in repo_node:  # the push payload's older name for it
            repo_node["master_branch"] = f["default_branch"]
    if "private" in f:
        for node in _repos_in(payload):
            if node.get("full_name") == full_name:
                node["private"] = bool(f["private"])
                if "visibility" in node:
                    node["visibility"] = "private" if f["private"] else "public"
    if "label" in f and action in ("labeled", "unlabeled"):
        payload["label"] = _labels([f["label"]])[0]
    facts = _EVENT_FACTS.get(event)
    if facts is not None:
        facts(payload, action, f, full_name)
    return payload


def _pull_request_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                        full_name: str) -> None:
    """The pull request: its number, head and base, and how it was closed or pushed to."""
    pr = payload["pull_request"]
    _pull_facts(pr, f, full_name)
    payload["number"] = pr["number"]
    if action == "closed":
        merged = bool(f.get("merged", False))
        pr["merged"] = merged
        pr["state"] = "closed"
        pr["closed_at"] = pr.get("closed_at") or "2026-11-21T12:00:00Z"
        pr["merged_at"] = pr["closed_at"] if merged else None
        pr["merge_commit_sha"] = f.get("merge_commit_sha", pr.get("merge_commit_sha"))
        if merged:
            pr["merged_by"] = payload["sender"]
    if action == "synchronize":
        payload["before"] = f.get("before", payload.get("before"))
        payload["after"] = f.get("after", pr["head"]["sha"])


def _issues_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                  full_name: str) -> None:
    """The issue: its title, body and state, and what an edit changed."""
    issue = payload["issue"]
    _item_facts(issue, f, ("title", "body"))
    if "issue_state" in f:
        issue["state"] = f["issue_state"]
    if action == "edited":
        payload["changes"] = dict(f.get("changes", {}))


def _issue_comment_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                         full_name: str) -> None:
    """The comment and the issue (or pull request) it is on: who wrote what, where."""
    issue, comment = payload["issue"], payload["comment"]
    number = int(f.get("number", issue["number"]))
    issue["number"] = number
    if f.get("is_pull_request", True):
        base = f"https://api.github.com/repos/{full_name}/pulls/{number}"
        issue["pull_request"] = {
            "url": base, "html_url": f"https://github.com/{full_name}/pull/{number}",
            "diff_url": f"https://github.com/{full_name}/pull/{number}.diff",
            "patch_url": f"https://github.com/{full_name}/pull/{number}.patch",
            "merged_at": None,
        }
    if "labels" in f:
        issue["labels"] = _labels(f["labels"])
    if "pr_author" in f:
        issue["user"] = _user(f["pr_author"], uid=7)
    if "issue_title" in f:
        issue["title"] = f["issue_title"]
    if "issue_body" in f:
        issue["body"] = f["issue_body"]
    if "issue_state" in f:
        issue["state"] = f["issue_state"]
        issue["closed_at"] = None if f["issue_state"] == "open" else "2026-11-21T12:00:00Z"
    if f.get("merged") and "pull_request" in issue:
        issue["pull_request"]["merged_at"] = "2026-11-21T12:00:00Z"
    comment["body"] = f.get("body", comment["body"])
    comment["id"] = int(f.get("comment_id", comment["id"]))
    kind = "pull" if "pull_request" in issue else "issues"
    comment["html_url"] = f"https://github.com/{full_name}/{kind}/{number}" \
        f"#issuecomment-{comment['id']}"
    comment["user"] = copy.deepcopy(payload["sender"])
    comment["author_association"] = f.get("author_association", "CONTRIBUTOR")


def _workflow_run_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                        full_name: str) -> None:
    """The run: its conclusion, head, the actor, and the pull requests it was for."""
    run = payload["workflow_run"]
    for key in ("conclusion", "head_sha", "head_branch", "name", "event", "id"):
        if key in f:
            run[key] = f[key]
    run["actor"] = run["triggering_actor"] = copy.deepcopy(payload["sender"])
    if "head_repo" in f:  # the repository the run's head commit is in (a fork, or this one)
        head = run["head_repository"]
        run["head_repository"] = _rename_repo(head, head["full_name"], f["head_repo"])
    if "pull_requests" in f:
        run["pull_requests"] = [_run_pull(p, full_name) for p in f["pull_requests"]]


def _workflow_dispatch_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                             full_name: str) -> None:
    """The dispatch: its ref, inputs and workflow."""
    payload["ref"] = f.get("ref", payload["ref"])
    payload["inputs"] = dict(f.get("inputs", payload.get("inputs") or {}))
    payload["workflow"] = f.get("workflow", payload["workflow"])


def _merge_group_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                       full_name: str) -> None:
    """The merge queue's group: its base, head and queue branch."""
    group = payload["merge_group"]
    base_ref = f.get("base_ref", "main")
    group["base_ref"] = f"refs/heads/{base_ref}"
    for key in ("head_sha", "base_sha"):
        if key in f:
            group[key] = f[key]
    group["head_commit"]["id"] = group["head_sha"]
    if "number" in f:  # GitHub's queue branch: gh-readonly-queue/<base>/pr-<n>-<head sha>
        group["head_ref"] = (f"refs/heads/gh-readonly-queue/{base_ref}/pr-{f['number']}-"
                             f"{f.get('pr_head_sha', '0' * 40)}")


def _push_facts(payload: dict[str, Any], action: str | None, f: Mapping[str, Any],
                full_name: str) -> None:
    """The push: its refs, head commit, commits and pusher."""
    for key in ("ref", "before", "after", "created", "deleted", "forced"):
        if key in f:
            payload[key] = f[key]
    if "after" in f and payload.get("head_commit"):
        payload["head_commit"]["id"] = f["after"]
        payload["head_commit"]["tree_id"] = f.get("tree_id", payload["head_commit"]["tree_id"])
    if f.get("deleted"):
        payload["head_commit"] = None
    if "commits" in f:
        # the example's own commits describe nothing that happened here
        payload["commits"] = [] if payload.get("head_commit") is None \
            else [copy.deepcopy(payload["head_commit"])][: int(f["commits"])]
    if "sender" in f:
        payload["pusher"] = {"name": f["sender"], "email": None}


# the facts each event's payload takes, beyond the repository and the sender every one has
_Facts = Callable[[dict[str, Any], str | None, Mapping[str, Any], str], None]
_EVENT_FACTS: dict[str, _Facts] = {
    "pull_request": _pull_request_facts,
    "issues": _issues_facts,
    "issue_comment": _issue_comment_facts,
    "workflow_run": _workflow_run_facts,
    "workflow_dispatch": _workflow_dispatch_facts,
    "merge_group": _merge_group_facts,
    "push": _push_facts,
}


def _run_pull(p: Mapping[str, Any], full_name: str) -> dict[str, Any]:
    api = f"https://api.github.com/repos/{full_name}"
    repo = {"id": 1, "url": api, "name": full_name.split("/")[1]}
    return {
        "id": int(p["number"]) + 100000, "number": int(p["number"]),
        "url": f"{api}/pulls/{p['number']}",
        "head": {"ref": p["head_ref"], "sha": p["head_sha"], "repo": repo},
        "base": {"ref": p.get("base_ref", "main"), "sha": p.get("base_sha", "0" * 40),
                 "repo": repo},
    }


def build_event(name: str, action: str | None = None, **facts: Any) -> dict[str, Any]:
    """An Actions event payload for ``name``/``action`` with ``facts`` applied, validated.

    Facts (all optional): ``repo`` ("owner/name"), ``sender``, ``sender_type``,
    ``default_branch``; pull_request:
    ``number``, ``title``, ``body``, ``author``, ``labels``, ``head_ref``, ``head_sha``,
    ``base_ref``, ``base_sha``, ``draft``, ``merged``, ``merge_commit_sha``, ``before``,
    ``after``, ``label`` (labeled/unlabeled); issues: ``number``, ``title``, ``body``,
    ``author``, ``labels``, ``issue_state``, ``label``, ``changes`` (edited); any event with a
    repository: ``private``; issue_comment: ``number``, ``body``, ``comment_id``,
    ``is_pull_request``, ``labels``, ``author_association``, ``pr_author``, ``issue_title``,
    ``issue_body``, ``issue_state``,
    ``merged``;
    workflow_run: ``conclusion``, ``head_sha``, ``head_repo`` (owner/name of the head commit's
    repository), ``head_branch``, ``name``, ``event``, ``id``, ``pull_requests`` (dicts with
    ``number``, ``head_ref``, ``head_sha``, ``base_ref``, ``base_sha``); workflow_dispatch: ``ref``,
    ``inputs``, ``workflow``; schedule: ``cron``; push: ``ref``, ``before``, ``after``,
    ``created``, ``deleted``, ``forced``, ``tree_id``, ``commits`` (how many of the head commit
    to list: 0 or 1); merge_group: ``head_sha``, ``base_sha``, ``base_ref`` (a branch name),
    ``number`` and ``pr_head_sha`` (the queued pull request, named in the queue branch).
    A payload the schema rejects raises InputError naming the field.
    """
    key = (name, action)
    if key not in EVENTS:
        known = ", ".join(f"{e}.{a}" if a else e for e, a in EVENTS)
        raise InputError([Problem("event", f"no builder for {name}"
                                  f"{'.' + action if action else ''}; known: {known}")])
    example_key, schema_key = EVENTS[key]
    if example_key is None:
        payload: dict[str, Any] = {"schedule": facts.get("cron", "17 3 * * *")}
    else:
        payload = _apply_facts(name, action, patched_example(example_key), facts)
    problems = validation_problems(schema_key, payload)
    if problems:
        raise InputError(problems)
    return payload


def actions_env(
    event_name: str,
    payload: Mapping[str, Any],
    *,
    repo: str,
    api_url: str,
    server_url: str,
    token: str,
    sha: str,
    ref: str,
    workdir: str | os.PathLike[str],
) -> dict[str, str]:
    """What an Actions step sees: writes the event file and empty ``GITHUB_OUTPUT`` and
    ``GITHUB_STEP_SUMMARY`` files under ``workdir`` and returns the variables that name them."""
    root = Path(workdir)
    root.mkdir(parents=True, exist_ok=True)
    event_path = root / "event.json"
    event_path.write_text(json.dumps(payload, indent=2) + "\n")
    output, summary = root / "github_output", root / "step_summary.md"
    output.write_text("")
    summary.write_text("")
    return {
        "GITHUB_ACTIONS": "true",
        "CI": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": repo,
        "GITHUB_REPOSITORY_OWNER": repo.split("/")[0],
        "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": server_url,
        "GITHUB_GRAPHQL_URL": api_url.rstrip("/").removesuffix("/v3") + "/graphql",
        "GITHUB_TOKEN": token,
        "GITHUB_SHA": sha,
        "GITHUB_REF": ref,
        "GITHUB_REF_NAME": ref.rsplit("/", 1)[-1] if ref.startswith("refs/heads/") else ref,
        "GITHUB_ACTOR": str((payload.get("sender") or {}).get("login", "github-actions[bot]")),
        "GITHUB_WORKSPACE": str(root),
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(root),
    }
