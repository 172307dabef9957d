"""Helpers for the release tests: a sandbox repository with a changelog and a version file, and
improvement pull requests made the way PROPOSE makes them (branch improve/<id>, proposal file,
commit with the change lines and trailers), opened with the label and merged through the API."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.adapters.github_forge import GitHubForge
from bot.adapters.release_git import Workspace
from bot.core.config import Config, parse_config
from bot.core.embed import embed
from bot.core.forge import Forge
from bot.sandbox import Sandbox
from bot.stages.context import StageContext
from bot.stages.release import Outcome, ReleaseRequest, run_release
from tests.helpers.sandbox import call, clone, run_git

REPO = "octo/app"
CHANGELOG = ("# Changelog\n\n## [Unreleased]\n\n## [1.3.2] - 2026-10-01\n\n- the first\n\n"
             "[1.3.2]: https://example.com/1.3.2\n")
PYPROJECT = '[project]\nname = "app"\nversion = "1.3.2"  # kept\n'
CONFIG = "release:\n  tag_prefix: v\n"
FILES = {"CHANGELOG.md": CHANGELOG, "pyproject.toml": PYPROJECT,
         "config/router.yaml": "routing:\n  threshold: 0.55\n",
         "config/a.yaml": "routing:\n  threshold: 0.55\n",
         "config/b.yaml": "routing:\n  threshold: 0.55\n",
         ".github/improve.yml": CONFIG}
NOW = datetime(2026, 11, 21, 12, 30, tzinfo=UTC)


def proposal_yaml(pid: str, ptype: str = "constant_tune", value: str = "0.62",
                  path: str = "config/router.yaml") -> str:
    return (f"id: {pid}\ntitle: Raise the threshold to {value}\ntype: {ptype}\nrisk: low\n"
            "rationale: Low-confidence routes cause most misroutes.\n"
            "predicted_improvement: {metric: accuracy, delta: 0.02}\nauthor: tuner\n"
            f"changes:\n  - path: {path}\n"
            f"    set: {{key: routing.threshold, value: {value}}}\n"
            "    rationale: low-confidence routes caused most misroutes\n")


def comparison_data() -> dict[str, Any]:
    metric = {"name": "accuracy", "kind": "score", "direction": "higher", "weight": 2.0,
              "gate": True, "tolerance": 0.0, "tasks": 3, "base": 0.842, "cand": 0.873,
              "delta": 0.031, "delta_pct": 3.68, "ci": {"low": 0.012, "high": 0.05},
              "verdict": "improved"}
    suite = {"id": "router-accuracy-v1", "kind": "benchmark", "present": "both",
             "base_hash": "x", "cand_hash": "x", "definition_changed": False, "repeat": 5,
             "metrics": [metric], "verdict": "accept"}
    return {"decision": "accept", "summary": "accept", "reasons": [], "recommendations": [],
            "base": {"commit": "a" * 40, "ref": "main"}, "cand": {"commit": "b" * 40,
                                                                  "ref": "improve/x"},
            "settings": {"confidence": 0.95, "tolerance": {"default": 0.0},
                         "timing_floor": 0.1, "resamples": 1000, "seed": 1, "holm": True},
            "approval": {"type": "constant_tune", "risk": "low", "tier": "auto",
                         "needs_person": False, "approvers": [], "timeout_days": 7.0},
            "suites": [suite], "notes": []}


def setup_repo(sb: Sandbox, files: dict[str, str] | None = None) -> None:
    sb.create_repo(REPO, {**FILES, **(files or {})})


def open_improvement(sb: Sandbox, work: Path, pid: str, value: str = "0.62",
                     ptype: str = "constant_tune", compare: bool = True,
                     path: str = "config/router.yaml") -> int:
    """Branch improve/<pid> off origin/main with the change and the proposal file, pushed, and
    its pull request opened with the label (and the bot's comparison comment)."""
    run_git(work, "fetch", "-q", "origin")
    run_git(work, "checkout", "-q", "-B", f"improve/{pid}", "origin/main")
    message = (f"Raise the threshold to {value}\n\nbecause\n\n"
               f"- {path}: routing.threshold 0.55 -> {value} — low-confidence "
               f"routes caused most misroutes\n\nImprove-Proposal: {pid}\n")
    (work / "config").mkdir(exist_ok=True)
    (work / path).write_text(f"routing:\n  threshold: {value}\n")
    (work / ".improve/proposals").mkdir(parents=True, exist_ok=True)
    (work / f".improve/proposals/{pid}.yaml").write_text(proposal_yaml(pid, ptype, value, path))
    run_git(work, "add", "-A")
    run_git(work, "commit", "-q", "-m", message)
    run_git(work, "push", "-q", "origin", f"HEAD:refs/heads/improve/{pid}")
    status, _, pr = call(sb, "POST", f"/repos/{REPO}/pulls",
                         {"title": f"Raise the threshold to {value}", "head": f"improve/{pid}",
                          "base": "main", "body": "a proposal"})
    assert status == 201, pr
    number = int(pr["number"])
    call(sb, "POST", f"/repos/{REPO}/issues/{number}/labels", {"labels": ["improvement"]})
    if compare:
        body = "<!-- improve:compare -->\nComparison\n" + embed("comparison", comparison_data())
        call(sb, "POST", f"/repos/{REPO}/issues/{number}/comments", {"body": body})
    return number


def merge(sb: Sandbox, number: int, method: str = "merge") -> str:
    status, _, result = call(sb, "PUT", f"/repos/{REPO}/pulls/{number}/merge",
                             {"merge_method": method})
    assert status == 200, result
    return str(result["sha"])


def make_clone(sb: Sandbox, tmp: Path, name: str = "work") -> Path:
    return clone(sb, REPO, tmp / name)


def forge_of(sb: Sandbox) -> GitHubForge:
    return GitHubForge(REPO, sb.token, api_url=sb.api_url)


def stage_env(sb: Sandbox, forge: Forge | None = None, config: Config | None = None,
              out: io.StringIO | None = None) -> StageContext:
    f = forge or forge_of(sb)
    cfg = config or parse_config(CONFIG)

    def open_ws(branch: str) -> Workspace:
        return Workspace.clone(f"{sb.server_url}/{REPO}.git", branch, token=sb.token)

    return StageContext(make_forge=lambda: f, preset_config=cfg, open_workspace_with=open_ws,
                        now=lambda: NOW, out=out or io.StringIO(), err=io.StringIO(),
                        branch="main")


def release(sb: Sandbox, **kwargs: Any) -> list[Outcome]:
    req = ReleaseRequest(**{k: kwargs.pop(k) for k in list(kwargs)
                            if k in ("dry_run", "only_pr", "measure")})
    return run_release(stage_env(sb, **kwargs), req)


def bare(sb: Sandbox) -> Path:
    return sb.root / f"{REPO}.git"


def git_bare(sb: Sandbox, *args: str) -> str:
    return run_git(bare(sb), *args).stdout.strip()


def data_file(sb: Sandbox, path: str) -> Any:
    return json.loads(git_bare(sb, "show", f"improve-data:{path}"))

