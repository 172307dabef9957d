"""What the COMMANDS stage needs of every forge: reactions that say whether they are new, and
the test workflow's runs for a head commit, re-run on request. Plus its benchmark suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.adapters.local_forge import LocalForge
from bot.core.forge import NotFound, WorkflowRun
from bot.core.suites import BenchmarkSuite, parse_suite
from bot.sandbox import Sandbox
from bot.stages.pr_state import RETEST_RUNNING, TEST_WORKFLOW, run_to_rerun
from tests.helpers.forge import ForgeWorld, local_world
from tests.helpers.forge_github import forge_sandbox, github_world

__all__ = ["forge_sandbox"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> ForgeWorld:
    if request.param == "local":
        return local_world(tmp_path)
    return github_world(request, tmp_path)


def test_add_reaction_says_whether_it_is_new(world: ForgeWorld) -> None:
    sha = world.push_branch("improve/r", {"x.txt": "x\n"})
    assert sha
    pr = world.forge.create_pull(title="t", body="b", head="improve/r", base="main")
    c = world.as_user("alice", "write").create_comment(pr.number, "/approve")
    assert world.forge.add_reaction(c.id, "eyes") is True
    assert world.forge.add_reaction(c.id, "eyes") is False
    assert world.forge.add_reaction(c.id, "+1") is True
    assert [x for x, _ in world.forge.list_reactions(c.id)] == ["+1", "eyes"]


def _register(world: ForgeWorld, sha: str, run_id: int = 77) -> int:
    if world.kind == "github":
        sb: Sandbox = world.extra["sandbox"]
        return sb.add_workflow_run(world.extra["repo"], head_sha=sha, head_branch="improve/r")
    assert isinstance(world.forge, LocalForge)
    world.forge.record_workflow_run(WorkflowRun(
        id=run_id, name="improve-test", path=f".github/workflows/{TEST_WORKFLOW}",
        head_sha=sha, event="pull_request", status="completed", conclusion="success"))
    return run_id


def test_workflow_runs_by_head_and_rerun(world: ForgeWorld) -> None:
    sha = world.push_branch("improve/r", {"x.txt": "x\n"})
    assert world.forge.list_workflow_runs(head_sha=sha) == []
    run_id = _register(world, sha)
    runs = world.forge.list_workflow_runs(head_sha=sha, event="pull_request")
    assert [(r.id, r.head_sha, r.status) for r in runs] == [(run_id, sha, "completed")]
    assert runs[0].path.endswith(TEST_WORKFLOW)
    world.forge.rerun_workflow(run_id)
    again = world.forge.list_workflow_runs(head_sha=sha)[0]
    assert (again.status, again.run_attempt) == ("queued", 2)
    with pytest.raises(NotFound):
        world.forge.rerun_workflow(run_id + 1000)


def _run(i: int, path: str, status: str = "completed", sha: str = "a" * 40) -> WorkflowRun:
    return WorkflowRun(id=i, name="x", path=path, head_sha=sha, event="pull_request",
                       status=status)


@pytest.mark.parametrize(
    ("runs", "picked", "why"),
    [
        ([_run(1, ".github/workflows/improve-test.yml@refs/pull/1/merge")], 1, ""),
        ([_run(1, ".github/workflows/improve-test.yml"),
          _run(2, ".github/workflows/improve-test.yml")], 2, ""),
        ([_run(1, ".github/workflows/improve-report.yml")], None, "found no finished run"),
        ([_run(1, ".github/workflows/improve-test.yml", sha="b" * 40)], None, "found no"),
        ([_run(1, ".github/workflows/improve-test.yml"),
          _run(2, ".github/workflows/improve-test.yml", "in_progress")], None,
         RETEST_RUNNING.format(sha="aaaaaaa")),
    ],
)
def test_which_run_retest_reruns(runs: list[WorkflowRun], picked: int | None, why: str) -> None:
    run, reason = run_to_rerun(runs, "a" * 40)
    assert (run.id if run else None) == picked
    assert why in reason and (reason == "") == (picked is not None)


def test_the_benchmark_suite_loads() -> None:
    path = ROOT / "benchmarks" / "commands.yaml"
    suite = parse_suite(path.read_text(), str(path), "benchmark")
    assert isinstance(suite, BenchmarkSuite)
    assert "calls_max" in [m.name for m in suite.metrics]
    assert all("bench_commands.py" in (t.run or "") for t in suite.tasks)
