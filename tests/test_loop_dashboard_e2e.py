"""End to end on the sandbox: the dashboard issue created once then edited in place; each alert
raised on the data that should raise it, announced once, and cleared; an opportunity filed once
for a recurring failure; improvement requests; ``improve status`` and ``improve report``; the
scheduled event through ``improve handle``'s router."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.datastore import DataStore
from bot.adapters.event import Event
from bot.adapters.git import Git
from bot.adapters.github_forge import GitHubForge
from bot.cli import main
from bot.commands.handle import bot_router
from bot.core.analytics import dashboard as dash
from bot.core.config import parse_config
from bot.core.records import monitor_path, release_path, results_path
from bot.core.render import find_marker
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from bot.stages.context import StageContext
from bot.stages.dashboard import gather, refresh_dashboard, scheduled
from tests.helpers.loop import NOW, as_json, monitor, release
from tests.helpers.sandbox import (  # noqa: F401 - the fixture
    call,
    clone,
    push_change,
    sandbox,
)

REPO = "octo/loop"


def results_file(commit: str, at: Any, failed: bool, score: float = 0.8) -> dict[str, Any]:
    task_ok = {"id": "t1", "status": "ok", "samples": [
        {"status": "ok", "metrics": {"score": score}, "duration_s": 0.1}]}
    task_bad = {"id": "t2", "status": "failed" if failed else "ok", "reason": "crashed",
                "samples": [{"status": "failed" if failed else "ok",
                             "metrics": {} if failed else {"score": score},
                             "duration_s": 0.1, "failure": "crashed" if failed else None}]}
    return {"schema_version": 1, "commit": commit, "ref": "main", "created_at": at.isoformat(),
            "environment": {"python": "3", "implementation": "CPython", "platform": "linux",
                            "machine": "x86_64", "cpu_count": 2, "improve": "0"},
            "suites": [{"id": "bench", "kind": "benchmark", "path": "benchmarks/b.yaml",
                        "definition_hash": "h", "targets": ["**"], "repeat": 1,
                        "metrics": [{"name": "score", "direction": "higher"}],
                        "tasks": [task_ok, task_bad]}]}


class World:
    """The sandbox repository, a clone with the data branch's remote, and a clock."""

    def __init__(self, sb: Sandbox, tmp: Path, extra: dict[str, str] | None = None) -> None:
        self.sb = sb
        sb.create_repo(REPO, {"README.md": "loop\n", ".github/improve.yml": "alerts:\n"
                              "  max_waiting: 1\n", **(extra or {})})
        self.work = clone(sb, REPO, tmp / "work")
        self.git = Git(self.work, token=sb.token)
        self.forge = GitHubForge(REPO, sb.token, api_url=sb.api_url)
        self.now = NOW
        self.out = io.StringIO()
        self.runs = 0

    def env(self) -> StageContext:
        return StageContext(make_forge=lambda: self.forge,
                            preset_config=parse_config("alerts:\n  max_waiting: 1\n"),
                            git_given=self.git, remote_name="origin", branch="main",
                            now=lambda: self.now, out=self.out, err=io.StringIO())

    def write(self, files: dict[str, Any]) -> None:
        DataStore(self.git, "improve-data", "origin").write(files, "test records")

    def add_runs(self, failed: list[bool]) -> None:
        files = {}
        for f in failed:
            self.runs += 1
            sha = f"{self.runs:040x}"
            at = NOW - timedelta(hours=100 - self.runs)
            files[results_path(sha)] = results_file(sha, at, f)
        self.write(files)

    def dashboards(self) -> list[Any]:
        return [i for i in self.forge.list_issues(label=dash.LABEL, state="all")]

    def comments(self, number: int) -> list[str]:
        return [c.body for c in self.forge.list_comments(number)]


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> World:  # noqa: F811
    return World(sandbox, tmp_path)


def test_dashboard_issue_is_created_once_then_edited(world: World) -> None:
    first = refresh_dashboard(world.env())
    assert first.action == "created"
    # pinned through GraphQL (the REST API cannot pin), once
    (state,) = [i for i in world.sb.repo_state(REPO)["issues"] if i["number"] == first.number]
    assert state["pinned"] is True
    assert sum(1 for r in world.sb.requests if r.path == "/graphql") == 1
    world.now = NOW + timedelta(hours=1)
    again = refresh_dashboard(world.env())  # only the time moved: no API call to edit
    assert again.action == "unchanged" and again.number == first.number
    world.write({release_path("v1.0.0"): as_json(release("1.0.0", 2))})
    world.now = NOW + timedelta(hours=6)
    third = refresh_dashboard(world.env())
    assert third.action == "edited" and third.number == first.number
    issues = world.dashboards()
    assert len(issues) == 1
    body = issues[0].body
    assert find_marker(body) == dash.MARKER and "v1.0.0" in body
    assert "**Health: excellent**" in body


@pytest.mark.parametrize("dies_at", [r"/issues/\d+/labels$", r"/issues/\d+/comments$"])
def test_a_creation_cut_short_is_finished_by_the_rerun(world: World, dies_at: str) -> None:
    """The run creating the dashboard with an alert to announce dies after creating the issue:
    before labelling it, or after pinning it and before the announcement. The re-run finds (or
    adopts) that issue, pins it, announces the alert once and writes the alert state."""
    from bot.core.forge import ForgeError

    world.add_runs([True] * 5)  # a task failing five runs in a row: an alert at creation
    world.sb.inject_fault("POST", path=dies_at, status=422, times=1000)
    with pytest.raises(ForgeError):
        refresh_dashboard(world.env())
    world.sb.clear_faults()
    out = refresh_dashboard(world.env())  # the re-run
    assert [a.key for a in out.update.raised] == ["failing_task:bench/t2"]
    (state,) = world.sb.repo_state(REPO)["issues"]
    assert state["number"] == out.number and state["pinned"] is True
    assert state["labels"] == [dash.LABEL]
    (comment,) = world.comments(out.number)
    assert "Alert raised" in comment
    assert dash.alert_state(state["body"]) and not dash.pin_pending(state["body"])
    again = refresh_dashboard(world.env())  # nothing left to do
    assert again.update.raised == [] and len(world.comments(out.number)) == 1


def test_each_alert_fires_once_and_clears(world: World) -> None:
    env = world.env
    # nothing wrong: no alert
    out = refresh_dashboard(env())
    number = out.number
    assert out.update.active == [] and world.comments(number) == []

    # a task failing in 4 runs in a row: not yet
    world.add_runs([True] * 4)
    assert refresh_dashboard(env()).update.active == []
    # the fifth: raised, announced once
    world.add_runs([True])
    out = refresh_dashboard(env())
    assert [a.alert.key for a in out.update.active] == ["failing_task:bench/t2"]
    assert len(world.comments(number)) == 1 and "Alert raised" in world.comments(number)[0]
    # still failing: no second announcement
    world.add_runs([True])
    out = refresh_dashboard(env())
    assert out.update.raised == [] and len(world.comments(number)) == 1

    # a rollback rate over 30% and a monitored metric down over 20%
    world.write({release_path("v1.0.0"): as_json(release("1.0.0", 5)),
                 release_path("v1.0.1"): as_json(release("1.0.1", 4, rollback_of="1.0.0")),
                 release_path("v1.1.0"): as_json(release("1.1.0", 1)),
                 monitor_path("v1.1.0"): as_json(monitor("v1.1.0", [-0.05, -0.25]))})
    out = refresh_dashboard(env())
    assert sorted(a.key for a in out.update.raised) == ["metric_drop:v1.1.0", "rollback_rate"]
    body = world.dashboards()[0].body
    assert "**Health: needs attention**" in body and "auto tier is paused" in body

    # two proposals waiting with max_waiting 1 (improvement PRs, no gate status yet)
    for n in (1, 2):
        push_change(world.work, f"improve/p{n}", {f"f{n}.txt": "x\n"})
        world.forge.create_pull(title=f"p{n}", body="", head=f"improve/p{n}", base="main",
                                labels=["improvement"])
    out = refresh_dashboard(env())
    assert [a.key for a in out.update.raised] == ["waiting"]
    assert [p.state for p in gather(env()).proposals] == ["evaluating", "evaluating"]
    assert "| evaluating |" in world.dashboards()[0].body

    # everything clears: the task passes, the monitor recovers, the rollback ages out
    world.add_runs([False])
    world.write({monitor_path("v1.1.0"): as_json(monitor("v1.1.0", [-0.25, -0.01]))})
    world.now = NOW + timedelta(days=40)
    out = refresh_dashboard(env())
    assert {"failing_task:bench/t2", "metric_drop:v1.1.0", "rollback_rate"} <= set(
        out.update.cleared)
    last = world.comments(number)[-1]
    assert "Alert cleared" in last and "rollback\\_rate" in last
    # the waiting alert still stands: kept, not announced again
    assert [a.alert.key for a in out.update.active] == ["waiting"] and out.update.raised == []


def test_opportunity_is_filed_once(world: World) -> None:
    world.add_runs([True, False, True, False, True])
    first = scheduled(world.env())
    assert len(first.filed) == 1
    issue = first.filed[0]
    assert "bench/t2" in issue.title and "improve-opportunity" in issue.labels
    assert "failed at" in issue.body
    world.add_runs([True])
    second = scheduled(world.env())
    assert second.filed == []
    assert len(world.forge.list_issues(label="improve-opportunity", state="all")) == 1


def test_scheduled_event_runs_through_the_router(
    sandbox: Sandbox, tmp_path: Path  # noqa: F811
) -> None:
    """The clock reaches the cron of the shipped improve-monitor workflow; the sandbox's runner
    runs its job, whose ``improve handle`` routes the schedule to the dashboard."""
    from bot.stages.dashboard import on_schedule

    world = World(sandbox, tmp_path, extra=render_workflows(action=SANDBOX_ACTION))
    event = Event(name="schedule", payload={"schedule": "17 */6 * * *"}, repo=REPO,
                  api_url=world.sb.api_url, token=world.sb.token, workspace=world.work)
    assert on_schedule in bot_router().handlers(event)
    runner = ActionsRunner(sandbox, REPO, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        runner.schedule("17 */6 * * *")  # the monitor's cron (the tuner has its own)
        jobs = runner.run_until_idle()
    finally:
        runner.close()
    (job,) = jobs
    assert (job.workflow, job.conclusion) == ("improve-monitor", "success"), dump_journal(jobs)
    assert len(world.dashboards()) == 1
    assert any("created the dashboard issue" in s.out for s in job.bot_steps())


def _cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", world.sb.token)
    monkeypatch.setenv("GITHUB_API_URL", world.sb.api_url)


def test_request_is_filed_once(world: World, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _cli_env(world, monkeypatch)
    ev = tmp_path / "ev.txt"
    ev.write_text("rt-014 failed 4 times\n```\nfence\n```\n")
    args = ["request", "--repo", str(world.work), "--title", "Route better",
            "--evidence", f"@{ev}", "--author", "agent-7"]
    assert main(args) == 0
    assert main(args) == 0
    issues = world.forge.list_issues(label="improvement-request")
    assert len(issues) == 1
    body = issues[0].body
    assert "rt-014 failed 4 times" in body and "agent-7" in body
    assert "filed improvement request" in capsys.readouterr().out
    assert main(["request", "--repo", str(world.work), "--title", " ", "--evidence", "x"]) == 2


def test_status_json_and_text(world: World, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    _cli_env(world, monkeypatch)
    world.write({release_path("v1.0.0"): as_json(release("1.0.0", 2))})
    world.add_runs([False, False, False])
    assert main(["status", "--repo", str(world.work), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["health"] in ("excellent", "good", "fair", "needs attention")
    assert [r["tag"] for r in data["releases"]] == ["v1.0.0"]
    assert len(data["trends"]["bench"]) == 3
    assert main(["status", "--repo", str(world.work)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("improve status") and "Health:" in text and "bench: 3 run(s)" in text
    # status writes nothing
    assert world.dashboards() == []


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_html_in_a_headless_browser(world: World, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    _cli_env(world, monkeypatch)
    world.write({release_path("v1.0.0"): as_json(release("1.0.0", 9)),
                 release_path("v1.0.1"): as_json(release("1.0.1", 3, rollback_of="1.0.0"))})
    world.add_runs([False, False, True, False])
    page = tmp_path / "report.html"
    assert main(["report", "--html", str(page), "--repo", str(world.work)]) == 0
    assert CHROMIUM is not None
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri()], capture_output=True, text=True, timeout=120, check=False)
    dom = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    # the browser parsed the SVG charts and the tables into its DOM
    assert '<svg class="trend" data-suite="bench" data-points="4"' in dom
    assert dom.count("<circle") == 4 and "<polyline" in dom
    assert 'id="releases"' in dom and "[ROLLED BACK]" in dom
    assert 'id="health"' in dom and "Health: needs attention" in dom
    assert 'id="track-records"' in dom and "<td>tuner</td>" in dom
