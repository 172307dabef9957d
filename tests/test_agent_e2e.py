"""``agent.command`` end to end through the shipped improve-tune workflow on the sandbox's
Actions runner: a real script (below), configured as the repository's agent, turns an open
opportunity into a proposal that the workflows evaluate like any other; a command that fails is
reported on its opportunity once, and never run again for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.analytics import opportunities as opp
from bot.core.render import find_marker, render
from bot.demo import sample
from bot.demo.engine import World, git
from bot.demo.story import failed_jobs
from bot.sandbox.actions_runner import dump_journal
from bot.stages.agent import FAILED, NONE_OPEN

TUNE_CRON = "41 3 * * *"  # improve-tune.yml's schedule

# The agent: reads the opportunity from stdin, finds the suite it names, edits the first file the
# suite targets, and writes a proposal without changes (the bot takes its edit as the change).
# It refuses to work when any token reached it.
AGENT = '''\
import json, os, re, sys
from pathlib import Path
leaked = [k for k in os.environ if "TOKEN" in k or k.startswith("GITHUB_")]
if leaked:
    sys.exit(f"a token reached the agent: {leaked}")
facts = json.load(sys.stdin)
if facts["subject"] == "routing-de":
    print("cannot improve the German suite")
    sys.exit(3)
suite = next(p for p in Path("benchmarks").glob("*.yaml")
             if re.search(rf"^id: {re.escape(facts['subject'])}$", p.read_text(), re.M))
target = json.loads(re.search(r"^targets: (.*)$", suite.read_text(), re.M).group(1))[0]
path = Path(target)
path.write_text(path.read_text().replace("threshold: 0.5", "threshold: 0.6"))
Path(os.environ["IMPROVE_PROPOSAL_FILE"]).write_text(f"""\\
id: my-own-name
title: Raise the router's threshold for {facts["subject"]}
type: constant_tune
risk: low
rationale: the opportunity #{facts["number"]} says {facts["subject"]} drifts down
predicted_improvement: {{metric: accuracy, delta: 0.05}}
author: whoever
""")
'''

CONFIG = "agent:\n  command: python agent.py\n  name: fixer\n  timeout: 60\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    files = dict(sample.repo_files())
    files[".github/improve.yml"] += CONFIG
    files["agent.py"] = AGENT
    w = World.start(tmp_path_factory.mktemp("agent") / "world", app=True, files=files)
    w.runner.vars["IMPROVE_AGENT"] = "on"  # the repository variable that turns the job on
    try:
        yield w
    finally:
        w.stop()


def file_opportunity(world: World, suite: str) -> int:
    """An opportunity issue as the scheduled run files it (its template, label and key)."""
    title = opp.T_DRIFT.format(suite=suite, change=-0.08)
    evidence = ("2026-11-20 06:17 abc1234: 0.9100", "2026-11-21 06:17 def5678: 0.8300")
    found = opp.Opportunity(f"drift:{suite}", "drift", title, suite, evidence)
    body = render("opportunity.md.j2", kind=found.kind, subject=found.subject,
                  evidence=found.evidence, key_line=found.key_line())
    forge = world._forge(sample.MAINTAINER)
    try:
        return forge.create_issue(title=found.title, body=body, labels=[opp.LABEL]).number
    finally:
        forge.close()


def agent_comments(world: World, number: int) -> list[str]:
    return [c["body"] for c in world.state()["comments"]
            if c["issue_number"] == number and find_marker(c["body"]) == "agent"]


def tick(world: World) -> list[Any]:
    world.runner.schedule(TUNE_CRON)
    return world.settle()


def test_an_agent_turns_an_opportunity_into_a_proposal(world: World) -> None:
    good = file_opportunity(world, "routing-en")
    bad = file_opportunity(world, "routing-de")

    jobs = tick(world)
    assert not failed_jobs(jobs), dump_journal(jobs)
    (agent,) = [j for j in jobs if j.workflow == "improve-tune" and j.conclusion == "success"]
    assert agent.bot_steps()[0].argv == ["agent"]
    pr = world.pull_by_head(f"improve/agent-{good}")
    assert f"Closes #{good}." in pr["body"]
    (said,) = agent_comments(world, good)
    assert f"#{pr['number']}" in said and "fixer" in said
    # evaluated like any other proposal: the suites ran and the comparison was posted
    assert any(j.workflow == "improve-report" for j in jobs), dump_journal(jobs)
    assert any(find_marker(c["body"]) == "compare" for c in world.state()["comments"]
               if c["issue_number"] == pr["number"])
    # the proposal's author is the agent and its id the bot's, whatever its file said: its
    # track record counts, and a re-run finds its branch
    assert "Improve-Author: fixer" in agent_log(world, pr["head_sha"])

    # the next run takes the next opportunity: the command fails, and that is said once
    jobs = tick(world)
    assert not failed_jobs(jobs), dump_journal(jobs)
    (failed,) = agent_comments(world, bad)
    assert FAILED.format(code=3) in failed and "cannot improve the German suite" in failed
    jobs = tick(world)
    assert not failed_jobs(jobs), dump_journal(jobs)
    assert len(agent_comments(world, bad)) == 1
    (agent,) = [j for j in jobs if j.workflow == "improve-tune" and j.conclusion == "success"]
    assert NONE_OPEN in agent.bot_steps()[0].out
    assert world.sb.violations == []


def agent_log(world: World, sha: str) -> str:
    return git(world.sb.root / f"{world.repo}.git", "log", "-1", "--format=%B", sha)
