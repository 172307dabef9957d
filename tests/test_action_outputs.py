"""The action is a good citizen: the README's example workflow, run as Actions runs it on the
sandbox (its ``uses:`` of the bot's action.yml, then a bash step reading the outputs), sees the
version, tag and comment the release made; and the shipped report job's step says the
decision and the comment."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, dump_journal
from tests.helpers.release import REPO, make_clone, merge, open_improvement, setup_repo
from tests.helpers.sandbox import call, sandbox  # noqa: F401 - the fixture

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- example: action-outputs -->\n```yaml\n(.*?)```", text, re.S)
    assert m, "the README lost its example of a workflow using the action's outputs"
    return m.group(1)


def test_the_readme_example_reads_what_the_release_made(sandbox: Sandbox,  # noqa: F811
                                                        tmp_path: Path) -> None:
    example = readme_example().replace("OWNER/improve@FULL_SHA", SANDBOX_ACTION)
    setup_repo(sandbox, {".github/workflows/release.yml": example})
    for name in ("improvement", "release"):
        call(sandbox, "POST", f"/repos/{REPO}/labels", {"name": name, "color": "ededed",
                                                        "description": name})
    runner = ActionsRunner(sandbox, REPO, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        number = open_improvement(sandbox, make_clone(sandbox, tmp_path), "prop-a")
        merge(sandbox, number)
        jobs = runner.run_until_idle()
    finally:
        runner.close()
    (job,) = [j for j in jobs if j.workflow == "release"]
    assert job.conclusion == "success", dump_journal(jobs)
    checkout, bot, say = job.steps
    released = next(c for c in sandbox.repo_state(REPO)["comments"]
                    if "<!-- improve:released -->" in c["body"])
    url = call(sandbox, "GET", f"/repos/{REPO}/issues/comments/{released['id']}")[2]["html_url"]
    # the action's declared outputs, and nothing its inner step wrote besides
    assert bot.outputs == {"decision": "", "version": "1.3.3", "tag": "v1.3.3", "results": "",
                           "comment-url": url}
    assert say.conclusion == "success", say.err
    (summary,) = (tmp_path / "actions" / f"run-{job.run_id}-{job.attempt}").rglob(
        "step-2/step_summary.md")
    assert summary.read_text() == f"Released v1.3.3 ({url})\n"


def test_without_a_release_the_example_s_last_step_is_skipped(sandbox: Sandbox,  # noqa: F811
                                                              tmp_path: Path) -> None:
    example = readme_example().replace("OWNER/improve@FULL_SHA", SANDBOX_ACTION)
    setup_repo(sandbox, {".github/workflows/release.yml": example})
    runner = ActionsRunner(sandbox, REPO, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        work = make_clone(sandbox, tmp_path)
        (work / "notes.txt").write_text("not an improvement\n")
        from tests.helpers.sandbox import run_git

        run_git(work, "add", "-A")
        run_git(work, "commit", "-q", "-m", "notes")
        run_git(work, "push", "-q", "origin", "HEAD:refs/heads/main")
        jobs = runner.run_until_idle()
    finally:
        runner.close()
    (job,) = jobs
    assert [(s.name, s.conclusion) for s in job.steps][1:] == [
        (SANDBOX_ACTION, "success"), ("Say what was released", "skipped")]
    assert job.steps[1].outputs["tag"] == ""


def test_the_report_step_says_the_decision_and_the_comment(sandbox: Sandbox,  # noqa: F811
                                                           tmp_path: Path) -> None:
    """The shipped test and report workflows: the test step's ``results`` is the file it wrote,
    the report step's ``decision`` the verdict it posted and ``comment-url`` its comment."""
    setup_repo(sandbox, render_workflows(action=SANDBOX_ACTION))
    call(sandbox, "POST", f"/repos/{REPO}/labels", {"name": "improvement", "color": "ededed",
                                                    "description": "improvement"})
    runner = ActionsRunner(sandbox, REPO, tmp_path / "actions", bot_action=SANDBOX_ACTION)
    try:
        open_improvement(sandbox, make_clone(sandbox, tmp_path), "prop-a", compare=False)
        jobs = runner.run_until_idle()
    finally:
        runner.close()
    (test,) = [j for j in jobs if j.workflow == "improve-test"]
    (report,) = [j for j in jobs if j.workflow == "improve-report"]
    (test_step,) = test.bot_steps()
    assert test_step.outputs["results"].endswith("/improve-results/results-1.json")
    (step,) = report.bot_steps()
    # the repository has no suite that measures the change: inconclusive, a person decides
    # (exit 1: the gate says no until then), and the output says so
    assert (step.outputs["decision"], step.code) == ("inconclusive", 1), dump_journal(jobs)
    assert step.outputs["results"].endswith("/improve-results")  # every shard's file
    compared = next(c for c in sandbox.repo_state(REPO)["comments"]
                    if "<!-- improve:compare -->" in c["body"])
    assert step.outputs["comment-url"].endswith(f"#issuecomment-{compared['id']}")
