"""AGENT: the configured command (``agent.command``: any program, a coding agent's CLI say)
turns one open opportunity into a proposal. Run by the scheduled improve-tune workflow through
``improve agent``.

gather (the configuration from the default branch; the open opportunity issues the agent has
not answered yet, oldest first; the open proposals, for the limit) -> act (the command run in a
scratch worktree of the default branch's tip with the opportunity's evidence on stdin and in
its environment, and nothing else of the bot's environment: no token reaches it; its proposal
file read, its author set to the agent, its changes taken from the worktree's diff when it
names none; then PROPOSE as ``improve propose`` runs it) -> one comment on the opportunity
issue, which is also the record that the agent was run for it, so a failure is told once and
the command never runs twice for one opportunity.

The proposal's id is the bot's, ``agent-<issue>``, whatever the command wrote: a run killed after
it pushed that branch (or opened its pull request) but before its comment finds the branch on
the re-run and finishes from there, without running the command a second time (as Renovate's
branch names are its own, so it finds its work again).
"""

from __future__ import annotations

import json
import shlex
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.adapters import proposal_git as pg
from bot.adapters import runner
from bot.adapters.git import Git
from bot.adapters.worktree import open_repo, scratch_worktree
from bot.core.analytics import opportunities as opp
from bot.core.config import Config
from bot.core.forge import Forge, Issue
from bot.core.proposals import branch_name, proposal_path
from bot.core.render import find_marker, render
from bot.core.yamldoc import YamlError, dump_yaml, load_yaml
from bot.errors import GateError, InputError
from bot.stages.propose import resolve_base

MARKER = "agent"
ENV_PROPOSAL_FILE = "IMPROVE_PROPOSAL_FILE"
# what the command may see of the bot's environment: nothing that could hold a token
KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
OUTPUT_TAIL = 3000

OFF = "improve agent: no agent.command in the configuration; nothing to do"
NONE_OPEN = "improve agent: no open opportunity waits for the agent"
AT_LIMIT = ("improve agent: {open} proposals are open (limits.max_open is {max}); the agent "
            "waits")
FAILED = "exited with code {code}"
TIMED_OUT = "was stopped after {seconds} s (agent.timeout)"
NOT_STARTED = "could not be started ({reason})"
NO_FILE = "wrote no proposal to ${name}"
NOT_A_PROPOSAL = "wrote a proposal that is not a YAML mapping"
NO_CHANGE = "wrote a proposal without changes and changed no file"
INVALID = "wrote a proposal the bot refuses: {reason}"


@dataclass
class AgentOutcome:
    issue: int | None = None
    pr: int | None = None
    reason: str | None = None


def waiting(forge: Forge, me: str | None) -> list[Issue]:
    """Open opportunity issues without the agent's comment, oldest first."""
    out = []
    for issue in sorted(forge.list_issues(label=opp.LABEL, state="open"), key=lambda i: i.number):
        if issue.is_pull_request:
            continue
        answered = any(find_marker(c.body) == MARKER and (me is None or c.author == me)
                       for c in forge.list_comments(issue.number))
        if not answered:
            out.append(issue)
            break  # one opportunity at a time: the first is enough
    return out


def evidence(issue: Issue) -> dict[str, Any]:
    """What the command gets on stdin (JSON) for one opportunity."""
    keys = sorted(opp.filed_keys([issue.body]))
    kind, _, subject = (keys[0].partition(":") if keys else ("", "", ""))
    return {"number": issue.number, "title": issue.title, "url": issue.url,
            "kind": {"failing": "failing_task", "drift": "drift"}.get(kind, kind),
            "subject": subject, "body": issue.body}


def command_env(base: Mapping[str, str], facts: dict[str, Any], out_file: Path) -> dict[str, str]:
    env = {k: base[k] for k in KEEP_ENV if k in base}
    env.update({"IMPROVE_OPPORTUNITY_NUMBER": str(facts["number"]),
                "IMPROVE_OPPORTUNITY_TITLE": facts["title"],
                "IMPROVE_OPPORTUNITY_KIND": facts["kind"],
                "IMPROVE_OPPORTUNITY_SUBJECT": facts["subject"],
                "IMPROVE_OPPORTUNITY_URL": facts["url"],
                ENV_PROPOSAL_FILE: str(out_file)})
    return env


def _run(argv: list[str], cwd: Path, stdin: str, env: dict[str, str],
         timeout: int) -> tuple[str | None, str]:
    """(why it failed or None, its output's tail). Run as the suites' tasks are: in its own
    process group, so a timeout stops whatever it started, and its output read as UTF-8 with
    what is not replaced (a command's bytes cannot crash the step)."""
    out = runner.run(argv, cwd=cwd, timeout=timeout, env=env, stdin=stdin.encode())
    if out.error is not None:
        return NOT_STARTED.format(reason=out.error), ""
    tail = out.output_tail[-OUTPUT_TAIL:]
    if out.timed_out:
        return TIMED_OUT.format(seconds=timeout), tail
    return (FAILED.format(code=out.exit_code) if out.exit_code else None), tail


def proposal_id(issue: int) -> str:
    """The agent's proposal id for one opportunity: the bot's, so a re-run finds its branch."""
    return f"agent-{issue}"


def proposal_text(out_file: Path, worktree: Path, name: str, pid: str) -> str:
    """The command's proposal with ``author`` set to the agent, its id ``pid`` and, when it
    names no change, the worktree's diff as its one patch. Raises InputError with the
    reason."""
    if not out_file.is_file():
        raise InputError(NO_FILE.format(name=ENV_PROPOSAL_FILE))
    try:
        data = load_yaml(out_file.read_text(encoding="utf-8"))
    except (YamlError, UnicodeDecodeError) as exc:
        raise InputError(INVALID.format(reason=exc)) from None
    if not isinstance(data, dict):
        raise InputError(NOT_A_PROPOSAL)
    data["author"] = name
    data["id"] = pid
    if not data.get("changes"):
        wt = Git(worktree)
        wt.run("add", "-A")
        patch = wt.run("diff", "--cached", "--no-color", "--no-ext-diff", "HEAD")
        if not patch.strip():
            raise InputError(NO_CHANGE)
        data["changes"] = [{"patch": patch if patch.endswith("\n") else patch + "\n"}]
    return dump_yaml(data)


def run_agent(repo: Path, forge: Forge, pusher: Git | None, config: Config, *,
              env: Mapping[str, str], out: TextIO, remote: str = "origin") -> AgentOutcome:
    from bot.stages.publish import open_proposals

    agent = config.agent
    if not agent.command:
        print(OFF, file=out)
        return AgentOutcome()
    found = waiting(forge, forge.bot_login)
    if not found:
        print(NONE_OPEN, file=out)
        return AgentOutcome()
    issue = found[0]
    outcome = AgentOutcome(issue=issue.number)
    output = ""
    # a run killed after it pushed the proposal left its text on the branch: finish that
    text = left_behind(repo, pusher, proposal_id(issue.number), remote)
    if text is None:
        opened = list(open_proposals(forge))
        if len(opened) >= config.limits.max_open:
            print(AT_LIMIT.format(open=len(opened), max=config.limits.max_open), file=out)
            return AgentOutcome()
        text, outcome.reason, output = run_command(repo, config, issue, env)
    body = _publish(repo, text, issue, forge, pusher, config, outcome, env=env, remote=remote)
    if outcome.pr is None:
        body = render("agent_report.md.j2", agent=agent.name, number=None,
                      reason=outcome.reason, output=output)
    forge.create_comment(issue.number, body)
    word = f"proposed #{outcome.pr}" if outcome.pr else f"failed: {outcome.reason}"
    print(f"improve agent: opportunity #{issue.number}: {word}", file=out)
    return outcome


def left_behind(repo: Path, pusher: Git | None, pid: str, remote: str) -> str | None:
    """The proposal on ``improve/<pid>`` when a killed run pushed it, else None."""
    from bot.stages.publish import sync_proposal_branches

    if pusher is not None:
        sync_proposal_branches(pusher, resolve_base(repo)[0], remote)
    tip = pg.rev_parse(repo, f"refs/heads/{branch_name(pid)}")
    return None if tip is None else pg.read_text(repo, tip, proposal_path(pid))


def run_command(repo: Path, config: Config, issue: Issue, env: Mapping[str, str],
                ) -> tuple[str | None, str | None, str]:
    """Run the command for one opportunity in a scratch worktree of the default branch's tip:
    (its proposal's text or None, why not, its output's tail)."""
    agent = config.agent
    facts = evidence(issue)
    _, tip, _ = resolve_base(repo)
    text: str | None = None
    with tempfile.TemporaryDirectory(prefix="improve-agent-") as scratch, \
            scratch_worktree(open_repo(repo), tip) as worktree:
        out_file = Path(scratch) / "proposal.yaml"
        why, output = _run(shlex.split(agent.command), worktree, json.dumps(facts, indent=2),
                           command_env(env, facts, out_file), agent.timeout)
        if why is None:
            try:
                text = proposal_text(out_file, worktree, agent.name, proposal_id(issue.number))
            except InputError as exc:
                why = str(exc)
    return text, why and f"the command {why}", output


def _publish(repo: Path, text: str | None, issue: Issue, forge: Forge, pusher: Git | None,
             config: Config, outcome: AgentOutcome, *, env: Mapping[str, str],
             remote: str) -> str:
    """PROPOSE the agent's proposal (``outcome.pr`` set when a pull request is open for it):
    the comment that says so, or "" when there is nothing to publish or it was refused."""
    from bot.core.issue_proposals import pr_number
    from bot.stages.publish import publish_proposal

    if text is None:
        return ""
    try:
        done = publish_proposal(repo, text, f"agent proposal for #{issue.number}", forge,
                                pusher, remote=remote, env=dict(env), source_issue=issue.number)
    except (InputError, GateError) as exc:
        outcome.reason = f"the command {INVALID.format(reason=exc)}"
        return ""
    outcome.pr = pr_number(done.outcome.url)
    return render("agent_report.md.j2", agent=config.agent.name, number=outcome.pr,
                  branch=done.outcome.plan.branch)
