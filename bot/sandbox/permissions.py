"""Which permission each REST endpoint needs, from GitHub's own endpoint-to-permission table
(``vendor/permissions/server-to-server-permissions.json``, trimmed from github/docs by
``scripts/vendor_permissions.py``), and the permissions a token carries.

An endpoint listed under several permissions accepts any one of them (GitHub's docs: "at least
one of the following permission sets"), except ``workflows``: that one is only ever required in
addition to ``contents`` when a change touches ``.github/workflows``, which the sandbox does not
model. Reads of a public repository need no permission at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

LEVELS = ("none", "read", "write")
# `permissions:` keys a workflow may set, in the table's spelling, with the levels each takes
# (GitHub's workflow syntax: id-token is write or none, models read or none; metadata is no
# key of a workflow: every token has it). The one list for the runner and the tokens it mints.
WORKFLOW_SCOPES: dict[str, tuple[str, ...]] = {
    **{name: LEVELS for name in (
        "actions", "attestations", "checks", "contents", "deployments", "discussions", "issues",
        "packages", "pages", "pull_requests", "repository_projects", "security_events",
        "statuses")},
    "id_token": ("none", "write"), "models": ("none", "read")}
# permissions an App may hold that no workflow block can name
APP_ONLY = ("metadata", "workflows", "administration")
# only ever an addition to another permission set, never an alternative (see module doc)
ADDITIONAL_ONLY = frozenset({"workflows"})
DOCS = "https://docs.github.com/rest"
# a job with no `permissions:` gets the repository's default; GitHub's default for new
# repositories and organisations ("restricted") is read access to contents and packages
DEFAULT_WORKFLOW = {"contents": "read", "packages": "read"}


@dataclass(frozen=True)
class Requirement:
    """What one endpoint needs: any one of ``alternatives`` (permission -> level)."""

    slug: str
    doc_url: str
    alternatives: tuple[tuple[str, str], ...]

    def header(self) -> str:
        # GitHub's X-Accepted-GitHub-Permissions: permission sets separated by "; "
        return "; ".join(f"{name}={level}" for name, level in self.alternatives)


@cache
def table() -> dict[tuple[str, str], Requirement]:
    """(METHOD, path template) -> Requirement, for every endpoint of the vendored table."""
    raw = json.loads(resources.files("bot.sandbox").joinpath(
        "vendor", "permissions", "server-to-server-permissions.json").read_text("utf-8"))
    found: dict[tuple[str, str], dict[str, str]] = {}
    docs: dict[tuple[str, str], tuple[str, str]] = {}
    for section, body in raw.items():
        if section in ADDITIONAL_ONLY:
            continue
        for entry in body["permissions"]:
            key = (entry["verb"].upper(), entry["requestPath"])
            levels = found.setdefault(key, {})
            if LEVELS.index(entry["access"]) > LEVELS.index(levels.get(section, "none")):
                levels[section] = entry["access"]
            docs[key] = (entry["slug"],
                         f"{DOCS}/{entry['category']}/{entry['subcategory']}#{entry['slug']}")
    return {key: Requirement(docs[key][0], docs[key][1], tuple(sorted(levels.items())))
            for key, levels in found.items()}


def requirement(method: str, template: str) -> Requirement | None:
    return table().get((method.upper(), template))


def _name(key: str) -> str:
    return key.strip().replace("-", "_")


def workflow_block(spec: Mapping[str, str] | str | None) -> dict[str, str]:
    """A job's ``permissions:`` block as GitHub reads a workflow file (None: no block, so the
    repository's default), in the table's spelling with ``none`` dropped. Raises ValueError on
    what GitHub refuses: an unknown scope (``metadata`` too) or a level the scope does not
    take (``id-token: read``)."""
    if spec is None:
        return dict(DEFAULT_WORKFLOW)
    if isinstance(spec, str):
        if spec not in ("read-all", "write-all"):
            raise ValueError(f"permissions must be a mapping, read-all or write-all, not {spec!r}")
        want = spec.split("-")[0]
        # each scope at the highest level it takes up to the one asked (models: read)
        out = {k: max((lv for lv in levels if LEVELS.index(lv) <= LEVELS.index(want)),
                      key=LEVELS.index) for k, levels in WORKFLOW_SCOPES.items()}
        return {k: v for k, v in out.items() if v != "none"}
    if not isinstance(spec, Mapping):
        raise ValueError(f"permissions must be a mapping, read-all or write-all, not {spec!r}")
    out = {}
    for key, level in spec.items():
        name = _name(str(key))
        if name not in WORKFLOW_SCOPES:
            raise ValueError(f"unknown permission scope {key!r} (a workflow may set: "
                             f"{', '.join(k.replace('_', '-') for k in WORKFLOW_SCOPES)})")
        if level not in WORKFLOW_SCOPES[name]:
            raise ValueError(f"permission {key}: level must be "
                             f"{' or '.join(WORKFLOW_SCOPES[name])}, not {level!r}")
        if level != "none":
            out[name] = str(level)
    return out


def normalize(spec: Mapping[str, str] | str | None) -> dict[str, str]:
    """Permissions in either spelling (``pull-requests: write``, ``read-all``, ``write-all``,
    ``{}``) as a {permission: level} dict in the table's spelling, ``none`` dropped: a
    workflow's block (workflow_block's rules) or an App's (which may also hold APP_ONLY ones).
    Raises ValueError on an unknown key or level."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        return workflow_block(spec)
    out: dict[str, str] = {}
    for key, level in spec.items():
        name = _name(str(key))
        if name in APP_ONLY:
            if level not in LEVELS:
                raise ValueError(f"permission {key}: level must be read, write or none, "
                                 f"not {level!r}")
            if level != "none":
                out[name] = level
            continue
        out.update(workflow_block({name: level}))
    return out


def grants(have: Mapping[str, str], name: str, level: str) -> bool:
    return LEVELS.index(have.get(name, "none")) >= LEVELS.index(level)


def allows(have: Mapping[str, str], req: Requirement) -> bool:
    return any(grants(have, name, level) for name, level in req.alternatives)


def narrow(app: Mapping[str, str], asked: Mapping[str, str] | None) -> dict[str, str]:
    """An installation token's permissions: the App's, or the subset ``asked`` (the
    ``permission-*`` inputs of actions/create-github-app-token). Asking for more than the App
    has is refused, as GitHub refuses it (422)."""
    if asked is None:
        return dict(app)
    for name, level in asked.items():
        if not grants(app, name, level):
            raise ValueError(f"The permissions requested are not granted to this installation: "
                             f"{name}={level}")
    return dict(asked)
