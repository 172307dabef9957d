"""The MCP server behind ``improve mcp``: the loop's commands as tools an agent calls.

Each tool is a thin call of what the matching command runs (the same stage functions, checks,
limits and permissions), and a failure is the command's own message, as an MCP tool error:
``improve validate: error: proposal:7: changes[0].set.key: ...``. Not a command itself (the
leading underscore keeps it out of the command list); it imports the ``mcp`` SDK, so it loads
only when ``improve mcp`` runs.

The SDK moves the protocol off file descriptor 1 while it serves (anything a child process
prints goes to stderr); what a command prints is captured and returned with the tool's result.
Tools run one at a time: the commands print through ``sys.stdout``, which is one per process.
"""

from __future__ import annotations

import argparse
import io
import json
import threading
from collections.abc import Callable
from contextlib import redirect_stdout
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from bot import __version__
from bot.errors import InputError, Problem, report
from bot.stages.context import context_for_args

if TYPE_CHECKING:
    from bot.core.analytics.dashboard import Dashboard

T = TypeVar("T")

INSTRUCTIONS = """\
improve runs a repository's improvement loop: a proposal (YAML: title, type, risk, rationale,
predicted_improvement, author, changes) becomes a branch and a pull request; CI measures it
against the baseline with the repository's suites and posts a verdict; a merge is released with
a changelog entry. Validate a proposal first (validate_proposal), preview it (propose, dry run),
then propose it for real (dry_run false); read the verdict with comparison once CI has run.
Set author to your agent's name: its track record decides how much a person must review."""

ONE_OF = "give the proposal's text or a file, not both"
NEITHER = "give the proposal's text (proposal) or a file (file)"
NO_COMPARISON = ("pull request #{number} carries no comparison by the bot yet (its evaluation "
                 "has not run or has not finished)")
BELOW_ONE = "must be 1 or more"
INLINE_NAME = "proposal"  # what problems in a proposal given as text are reported against

# one tool at a time: the commands print through the process's one sys.stdout
_LOCK = threading.Lock()


def _call(command: str, fn: Callable[[], T]) -> tuple[T, str]:
    """Run ``fn`` as the command ``command`` runs: (its result, what it printed). Any failure
    becomes a tool error with the CLI's message for it (redacted, as on a terminal)."""
    out = io.StringIO()
    with _LOCK, redirect_stdout(out):
        try:
            return fn(), out.getvalue()
        except Exception as exc:  # noqa: BLE001 - every failure is told, as the CLI tells it
            message, _code = report(f"improve {command}", exc)
            raise ToolError(message) from None


class Loop:
    """The server's state: the repository and the forge, as the commands' options give them."""

    def __init__(self, args: argparse.Namespace):
        self.repo = Path(args.repo).resolve()
        self.forge = args.forge
        from bot.cli import build_parser

        self.parser = build_parser()

    def args(self, *argv: str) -> argparse.Namespace:
        """A command's options exactly as the CLI parses them, for this server's repository
        and forge."""
        command, *rest = argv
        return self.parser.parse_args([command, "--repo", str(self.repo), *rest])

    def options(self) -> argparse.Namespace:
        """What ``context_for_args`` builds a tool's stage context from: this server's
        repository (its checkout, the data branch in it) and forge."""
        return argparse.Namespace(repo=self.repo, forge=self.forge)

    def proposal_text(self, proposal: str | None, file: str | None) -> tuple[str, str]:
        """(text, name) of a proposal given inline or as a file (relative to the repository)."""
        from bot.commands.propose import read_proposal

        if proposal is not None and file is not None:
            raise InputError([Problem("file", ONE_OF)])
        if file is not None:
            path = Path(file) if Path(file).is_absolute() else self.repo / file
            return read_proposal(path), file
        if proposal is None:
            raise InputError([Problem("proposal", NEITHER)])
        return proposal, INLINE_NAME

    def validate(self, proposal: str | None, file: str | None) -> str:
        """The proposal's name when it has no problem; InputError with every problem."""
        from bot.stages.proposal_files import check_proposal_text

        text, name = self.proposal_text(proposal, file)
        problems = check_proposal_text(self.repo, text, name)
        if problems:
            raise InputError(problems)
        return name

    def propose(self, proposal: str | None, file: str | None, dry_run: bool) -> dict[str, Any]:
        """``improve propose`` for the proposal, as the tool's result."""
        from bot.commands.propose import propose_text
        from bot.stages.propose import unified_diff

        text, name = self.proposal_text(proposal, file)
        args = self.args("propose", "--forge", self.forge,
                         *(["--dry-run"] if dry_run else []), "--", name)
        done = propose_text(args, text, name)
        plan, outcome = done.outcome.plan, done.outcome
        result: dict[str, Any] = {
            "status": outcome.status, "id": plan.id, "title": plan.title,
            "branch": plan.branch, "base": plan.base_branch, "tier": plan.tier,
            "commit": outcome.commit, "url": outcome.url,
            "notes": [*outcome.notes, *done.notes],
        }
        if outcome.status == "dry-run":
            result["diff"] = unified_diff(plan, args.repo)
            result["body"] = plan.body
        if done.warning and outcome.status == "created":
            result["warning"] = done.warning
        return result

    def comparison(self, pr: int) -> dict[str, Any]:
        """The bot's comparison comment on pull request ``pr``, with the gate on its head."""
        from bot.core.embed import extract
        from bot.core.policy import GATE_CONTEXT
        from bot.core.release.summary import COMPARE_MARKER, EMBED_NAME

        if pr < 1:
            raise InputError([Problem("pr", BELOW_ONE)])
        forge = context_for_args(self.options(), checkout=True).forge
        pull = forge.get_pull(pr)
        found = forge.find_comment(pr, COMPARE_MARKER)
        data = extract(found.body if found else None, EMBED_NAME)
        if not isinstance(data, dict):
            raise InputError(NO_COMPARISON.format(number=pr))
        gate = forge.combined_status(pull.head_sha).get(GATE_CONTEXT)
        return comparison_json(pr, pull, data, gate)

    def opportunities(self) -> list[dict[str, Any]]:
        """The open opportunity issues, with the keys they were filed for."""
        from bot.core.analytics import opportunities as opp

        forge = context_for_args(self.options(), checkout=True).forge
        return [{"number": i.number, "title": i.title, "url": i.url,
                 "keys": sorted(opp.filed_keys([i.body])), "body": i.body}
                for i in forge.list_issues(label=opp.LABEL, state="open")
                if not i.is_pull_request]

    def dashboard(self) -> Dashboard:
        """The dashboard as ``improve status`` builds it."""
        from bot.stages.dashboard import build

        return build(context_for_args(self.options(), checkout=True))


def build_server(args: argparse.Namespace) -> MCPServer:
    """The server: the loop's commands as tools, its files as resources."""
    loop = Loop(args)
    server = MCPServer("improve", version=__version__, instructions=INSTRUCTIONS,
                       log_level="WARNING")
    _proposal_tools(server, loop)
    _loop_tools(server, loop)
    _resources(server, loop)
    return server


def _proposal_tools(server: MCPServer, loop: Loop) -> None:
    """Validate, propose and request: what an agent files."""

    @server.tool()
    def validate_proposal(proposal: str | None = None, file: str | None = None) -> dict[str, Any]:
        """Check a proposal (its YAML text, or a file in the repository) as `improve validate`
        does, against the repository's working tree. Every problem is reported at once, each
        with its line and field; no problem: ok."""
        name, _ = _call("validate", lambda: loop.validate(proposal, file))
        return {"ok": True, "checked": f"proposal {name}"}

    @server.tool()
    def propose(proposal: str | None = None, file: str | None = None,
                dry_run: bool = True) -> dict[str, Any]:
        """Turn a proposal into the branch improve/<id> and its pull request, as
        `improve propose` does: the same validation, limits (open proposals, one per target,
        cooldowns) and tiers. A dry run (the default) returns the diff and the pull request's
        body and writes nothing; dry_run=false pushes and opens the pull request, which needs
        GITHUB_TOKEN in the server's environment. Proposing again changes nothing."""
        result, _ = _call("propose", lambda: loop.propose(proposal, file, dry_run))
        return result

    @server.tool()
    def request_improvement(title: str, evidence: str, what: str = "",
                            target: str | None = None,
                            author: str | None = None) -> dict[str, Any]:
        """File an improvement request (an issue labelled improvement-request, what
        `improve request` and the issue form file) with its evidence; filing the same title
        again while it is open changes nothing."""
        from bot.commands.request import file_improvement_request

        def run() -> tuple[Any, bool]:
            return file_improvement_request(loop.options(), title, evidence, what, target,
                                            author)

        (issue, created), _ = _call("request", run)
        return {"number": issue.number, "url": issue.url, "created": created}


def _loop_tools(server: MCPServer, loop: Loop) -> None:
    """What the loop knows: the dashboard, the releases, a verdict, the opportunities, a
    proposer's track record."""

    @server.tool()
    def status() -> dict[str, Any]:
        """The loop as the dashboard shows it (`improve status --json`): health, alerts, open
        proposals and their state, monitors, releases, trends, track records."""
        from bot.core.analytics.dashboard import dashboard_json

        d, _ = _call("status", loop.dashboard)
        return dashboard_json(d)

    @server.tool()
    def history(limit: int | None = None) -> dict[str, Any]:
        """The releases, newest first (`improve history --json`): version, date, proposal,
        improvement, metrics, rollbacks."""
        from bot.commands.history import run

        argv = ["history", "--json"] + ([f"--limit={limit}"] if limit is not None else [])
        _, printed = _call("history", lambda: run(loop.args(*argv)))
        return dict(json.loads(printed))

    @server.tool()
    def comparison(pr: int) -> dict[str, Any]:
        """The verdict and metrics the bot posted on pull request `pr` (its comparison of the
        candidate with the baseline), with the gate's state on the pull request's head."""
        result, _ = _call("comparison", lambda: loop.comparison(pr))
        return result

    @server.tool()
    def opportunities() -> dict[str, Any]:
        """The open opportunities the scheduled run filed (issues labelled
        improve-opportunity): what the history says is worth a proposal, with its evidence."""
        found, _ = _call("opportunities", loop.opportunities)
        return {"opportunities": found}

    @server.tool()
    def track_record(proposer: str) -> dict[str, Any]:
        """A proposer's track record (a person or an agent, by its `author`): proposed,
        accepted, merged, kept and rolled back, predicted against realized gain; what decides
        whether its next low-risk proposal needs a person."""
        from bot.core.analytics.effectiveness import Tally

        d, _ = _call("track_record", loop.dashboard)
        tally = d.effectiveness.by_author.get(proposer) or Tally()
        return {"proposer": proposer, **tally.as_dict()}


def _resources(server: MCPServer, loop: Loop) -> None:
    """The changelog, the configuration in effect and the merged proposals' files."""

    @server.resource("improve://changelog", mime_type="text/markdown")
    def changelog() -> str:
        """The changelog (release.changelog of the configuration), as in the repository."""
        config = _read_resource(lambda: _config(loop.repo))
        path = loop.repo / config.release.changelog
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    @server.resource("improve://configuration", mime_type="application/json")
    def configuration() -> str:
        """The configuration in effect (.github/improve.yml over every default)."""
        config = _read_resource(lambda: _config(loop.repo))
        return json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True)

    @server.resource("improve://proposals", mime_type="application/json")
    def proposals() -> str:
        """The ids of the merged proposals (.improve/proposals/*.yaml, the audit trail)."""
        return json.dumps({"proposals": sorted(p.stem for p in _proposal_files(loop.repo))})

    @server.resource("improve://proposals/{pid}", mime_type="application/yaml")
    def proposal(pid: str) -> str:
        """One merged proposal's file."""
        for p in _proposal_files(loop.repo):
            if p.stem == pid:
                return p.read_text(encoding="utf-8")
        raise ResourceError(f"improve mcp: error: no proposal {pid} in .improve/proposals")


def _read_resource(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - told as the CLI tells it
        raise ResourceError(report("improve mcp", exc)[0]) from None


def _config(repo: Path) -> Any:
    from bot.core.config import CONFIG_PATH, parse_config
    from bot.stages.context import config_file_in

    found = config_file_in(repo)
    return parse_config(found.read_text(encoding="utf-8") if found else None,
                        str(found or repo / CONFIG_PATH))


def _proposal_files(repo: Path) -> list[Path]:
    from bot.core.proposals import PROPOSALS_DIR

    folder = repo / PROPOSALS_DIR
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def comparison_json(number: int, pull: Any, data: dict[str, Any], gate: Any) -> dict[str, Any]:
    """What the comparison tool returns: the verdict, per-suite and per-metric numbers, the
    gate on the head, and whether the comparison is of the current head."""
    metric_keys = ("name", "kind", "direction", "gate", "base", "cand", "delta", "delta_pct",
                   "ratio", "ci", "p_value", "verdict")
    suite_keys = ("id", "kind", "score_base", "score_cand", "score_delta", "weighted_delta")
    return {
        "pr": number,
        "head_sha": pull.head_sha,
        "compared": (data.get("cand") or {}).get("commit"),
        "current": (data.get("cand") or {}).get("commit") == pull.head_sha,
        "decision": data.get("decision"),
        "summary": data.get("summary"),
        "reasons": data.get("reasons", []),
        "approval": data.get("approval"),
        "gate": ({"state": gate.state, "description": gate.description} if gate else None),
        "suites": [{**{k: s.get(k) for k in suite_keys},
                    "metrics": [{k: m.get(k) for k in metric_keys}
                                for m in s.get("metrics", [])]}
                   for s in data.get("suites", [])],
    }


def serve(args: argparse.Namespace) -> None:
    build_server(args).run("stdio")
