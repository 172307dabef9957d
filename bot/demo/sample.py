"""The demo's sample repository, its people and its proposals, as plain values.

The files ship in ``bot/demo/repo`` (``github/`` there is ``.github/`` in the repository: package
data globs skip dot-folders) and ``bot/demo/drift/week*`` (the data refreshes of step 4)."""

from __future__ import annotations

from importlib import resources
from importlib.abc import Traversable

FULL_NAME = "acme/ticket-router"
MAINTAINER = "maya"  # maintain: approves
READER = "rick"  # read: may not approve
AUTHOR = "tuner"  # the agent that proposes
RULES = "router/rules.yaml"
LANGUAGES = "router/languages.yaml"


def _walk(node: Traversable, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.name == "__pycache__":
            continue
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            out.update(_walk(child, rel + "/"))
        else:
            out[rel] = child.read_text(encoding="utf-8")
    return out


def _tree(name: str) -> dict[str, str]:
    files = _walk(resources.files("bot.demo") / name)
    return {(".github/" + p[len("github/"):] if p.startswith("github/") else p): t
            for p, t in files.items()}


def repo_files() -> dict[str, str]:
    """The sample repository's first commit, by path."""
    return _tree("repo")


def drift_files(week: str) -> dict[str, str]:
    """A data refresh of the German tickets: ``week1`` (a little drift), ``week2`` (a lot)."""
    return _tree(f"drift/{week}")


def _proposal(pid: str, title: str, ptype: str, risk: str, rationale: str, delta: float,
              change: str) -> str:
    return (f"id: {pid}\ntitle: {title}\ntype: {ptype}\nrisk: {risk}\n"
            f"rationale: {rationale}\n"
            f"predicted_improvement: {{metric: accuracy, delta: {delta}}}\n"
            f"author: {AUTHOR}\nchanges:\n{change}")


# step 1: a constant tune at low risk rides the auto tier
TUNE = _proposal(
    "prop-threshold-060", "Raise the router's threshold to 0.6", "constant_tune", "low",
    "Most misrouted English tickets score between 0.5 and 0.6.", 0.08,
    f"  - path: {RULES}\n    set: {{key: threshold, value: 0.6}}\n"
    "    rationale: tickets scoring under 0.6 are mostly answered wrongly by the bot\n")
# step 2: a configuration change at medium risk needs a maintainer's /approve
GERMAN = _proposal(
    "prop-german", "Let the bot answer German tickets", "config_change", "medium",
    "German tickets wait for a person although the triage model scores them as well as "
    "English ones.", 0.25,
    f"  - path: {LANGUAGES}\n"
    "    replace: {old: 'languages: [\"en\"]', new: 'languages: [\"en\", \"de\"]'}\n"
    "    rationale: the triage model's German scores are as good as its English ones\n")
# step 3: a tune that regresses is rejected
LOWER = _proposal(
    "prop-threshold-030", "Lower the router's threshold to 0.3", "constant_tune", "low",
    "More tickets answered by the bot means shorter waits.", 0.02,
    f"  - path: {RULES}\n    set: {{key: threshold, value: 0.3}}\n"
    "    rationale: answer more tickets automatically\n")
