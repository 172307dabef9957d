"""The agent step killed at each of its writes and re-run as GitHub re-runs a job (same run, next
attempt, a new machine): the re-run finishes what the killed run left (the pull request, the
comment on the opportunity) and never runs the command a second time once its proposal was
pushed, so one opportunity gets one proposal and one comment, whatever line the kill hit."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.analytics import opportunities as opp
from bot.core.render import find_marker, render
from bot.demo import sample
from bot.sandbox.events import build_event
from tests.helpers import crash_harness as ch
from tests.helpers.sandbox import call

# Each run appends the opportunity's number to a log outside the repository (its path is
# written into the script below), edits a file of its own and writes a proposal without changes.
AGENT = '''\
import json, os, sys
from pathlib import Path
facts = json.load(sys.stdin)
with open({log!r}, "a") as log:
    log.write(f"{{facts['number']}}\\n")
Path(f"notes-{{facts['number']}}.txt").write_text("tuned\\n")
Path(os.environ["IMPROVE_PROPOSAL_FILE"]).write_text(f"""\\
title: Tune for opportunity {{facts['number']}}
type: constant_tune
risk: low
rationale: the opportunity says so
predicted_improvement: {{{{metric: accuracy, delta: 0.05}}}}
""")
'''

CONFIG = "agent:\n  command: python agent.py\n  name: fixer\n  timeout: 60\n"


def _opportunity(st: ch.Stand, n: int) -> int:
    found = opp.Opportunity(f"drift:suite-{n}", "drift", f"suite-{n} drifts", f"suite-{n}",
                            ("2026-11-20 06:17 abc1234: 0.9100",))
    body = render("opportunity.md.j2", kind=found.kind, subject=found.subject,
                  evidence=found.evidence, key_line=found.key_line())
    status, _, data = call(st.sb, "POST", f"/repos/{st.repo}/issues",
                           {"title": found.title, "body": body, "labels": [opp.LABEL]})
    assert status == 201, data
    return int(data["number"])


def _agent_step(st: ch.Stand) -> None:
    st.checkout("origin/main", branch="main")
    payload = build_event("schedule", None, cron="41 3 * * *")
    env = st.step_env("schedule", payload, sha=st.main_sha(), ref="refs/heads/main")
    run = st.improve(["agent", "--repo", str(st.workspace)], env)
    assert run.code == 0, run.err


@pytest.mark.timeout(600)
def test_an_agent_step_killed_at_any_write_finishes_on_its_rerun(tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    log.write_text("")
    # its writes: the push (1), the pull request (2), its label made (3) and put on it (4), the
    # comment (5); killed after 1, 2 and 4, each re-run has a different thing left to finish
    kills = (1, 2, 4)
    plan = ch.Plan(kill_points={step: (k, False) for step, k in enumerate(kills, start=1)})
    st = ch.Stand(tmp_path / "w", plan)
    try:
        files = dict(sample.repo_files())
        config = files[".github/improve.yml"].replace("limits:\n", "limits:\n  max_open: 20\n")
        st.push_files({".github/improve.yml": config + CONFIG,
                       "agent.py": AGENT.format(log=str(log))}, "the agent", sample.MAINTAINER)
        numbers: list[int] = []
        for _ in kills:
            numbers.append(_opportunity(st, len(numbers)))
            _agent_step(st)

        state = st.state()
        for number, outcome in zip(numbers, st.outcomes, strict=True):
            where = f"opportunity #{number} ({outcome.fault})"
            assert outcome.killed, f"{where}: the kill point was not reached"
            pulls = [p for p in state["pulls"] if p["head"] == f"improve/agent-{number}"]
            assert len(pulls) == 1, f"{where}: {len(pulls)} pull requests"
            said = [c["body"] for c in state["comments"] if c["issue_number"] == number
                    and find_marker(c["body"]) == "agent"]
            assert len(said) == 1, f"{where}: {len(said)} comments"
            assert f"#{pulls[0]['number']}" in said[0], f"{where}: {said[0]}"
            assert f"Closes #{number}." in pulls[0]["body"], where
            runs = log.read_text().split().count(str(number))
            # killed after a write, the proposal was pushed already: never run again
            assert runs == 1, f"{where}: the command ran {runs} times"
        assert st.sb.violations == []
    finally:
        ch.stop(st)
