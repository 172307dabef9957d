"""The workflows and the composite action: one source, the right command per trigger, least
privilege, pinned actions, no untrusted text in scripts, and zizmor and the schemas agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.workflows import SELF_ACTION, WORKFLOW_FILES, render_workflows
from bot.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
VENV_BIN = Path(sys.executable).parent
PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SHA = "0123456789abcdef0123456789abcdef01234567"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as true
    if True in data:
        data["on"] = data.pop(True)
    return data


def all_workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml"))


def steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    if "runs" in doc:
        return list(doc["runs"]["steps"])
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def bot_steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in steps(doc) if s.get("uses") == SELF_ACTION]


def bot_step(doc: dict[str, Any]) -> dict[str, Any]:
    (step,) = bot_steps(doc)
    return step


def test_the_repositorys_copies_are_what_improve_init_writes() -> None:
    rendered = render_workflows()
    assert sorted(rendered) == [f".github/workflows/{n}" for n in sorted(WORKFLOW_FILES)]
    for rel, text in rendered.items():
        assert (ROOT / rel).read_text(encoding="utf-8") == text, (
            f"{rel} differs from bot/workflows; run: python scripts/sync_workflows.py"
        )


@pytest.mark.parametrize(
    ("name", "trigger", "args"),
    [
        ("improve-test.yml", "pull_request", ("handle --results-out",)),
        ("improve-report.yml", "workflow_run", ("handle --results-in",)),
        ("improve-commands.yml", "issue_comment", ("handle",)),
        ("improve-release.yml", "push", ("handle",)),
        # release first (a merge made with GITHUB_TOKEN, or whose release run was displaced),
        # then handle: the monitor, the dashboard, its alerts and the opportunity issues
        ("improve-monitor.yml", "schedule", ("release", "handle")),
    ],
)
def test_each_workflow_runs_the_command_its_trigger_needs(
    name: str, trigger: str, args: tuple[str, ...]
) -> None:
    doc = load(WORKFLOWS / name)
    assert trigger in doc["on"]
    # the command by name and its arguments apart, as the action takes them
    given = [f"{s['with']['command']} {s['with'].get('args', '')}".strip()
             for s in bot_steps(doc)]
    assert len(given) == len(args)
    for have, want in zip(given, args, strict=True):
        assert have == want or have.startswith(want + " ")
    assert WORKFLOW_FILES[name] == args


def test_triggers_in_detail() -> None:
    test = load(WORKFLOWS / "improve-test.yml")
    assert test["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened"]
    assert test["on"]["merge_group"] == {"types": ["checks_requested"]}
    report = load(WORKFLOWS / "improve-report.yml")
    assert report["on"]["workflow_run"] == {"workflows": [test["name"]], "types": ["completed"]}
    commands = load(WORKFLOWS / "improve-commands.yml")
    assert commands["on"]["issue_comment"] == {"types": ["created"]}
    assert load(WORKFLOWS / "improve-release.yml")["on"] == {"push": {"branches": ["main"]}}
    monitor = load(WORKFLOWS / "improve-monitor.yml")
    assert set(monitor["on"]) == {"schedule", "workflow_dispatch"}


def test_results_travel_from_the_test_job_to_the_report_job() -> None:
    test = load(WORKFLOWS / "improve-test.yml")
    out, shard = bot_step(test)["with"]["args"].split("--results-out ", 1)[1].split(" --shard ")
    assert bot_step(test)["with"]["command"] == "handle"
    # one file per shard of the matrix, named apart, in one artifact per shard
    assert out.endswith("/results-${{ matrix.shard }}.json")
    assert shard == "${{ matrix.shard }}/${{ strategy.job-total }}"
    assert test["jobs"]["test"]["strategy"] == {"fail-fast": False, "matrix": {"shard": [1]}}
    (upload,) = [s for s in steps(test) if "upload-artifact" in s.get("uses", "")]
    assert Path(out).parent.as_posix() + "/" == upload["with"]["path"]
    assert upload["with"]["name"] == "improve-results-${{ matrix.shard }}"
    report = load(WORKFLOWS / "improve-report.yml")
    (download,) = [s for s in steps(report) if "download-artifact" in s.get("uses", "")]
    assert (download["with"]["pattern"], download["with"]["merge-multiple"]) == \
        ("improve-results-*", True)
    assert download["with"]["run-id"] == "${{ github.event.workflow_run.id }}"
    into = bot_step(report)["with"]["args"].split("--results-in ", 1)[1]
    assert into == download["with"]["path"]


def test_test_shards_sets_the_matrix() -> None:
    files = render_workflows(shards=3)
    test = yaml.safe_load(files[".github/workflows/improve-test.yml"])
    assert test["jobs"]["test"]["strategy"]["matrix"] == {"shard": [1, 2, 3]}
    with pytest.raises(InputError, match="test.shards"):
        render_workflows(shards=0)


def test_setup_cache_turns_the_cache_step_on_keyed_by_the_lock_files() -> None:
    def cache_step(files: dict[str, str]) -> dict:
        test = yaml.safe_load(files[".github/workflows/improve-test.yml"])
        (step,) = [s for s in test["jobs"]["test"]["steps"] if "actions/cache@" in s["uses"]]
        return step

    off = cache_step(render_workflows())
    assert off["if"] is False
    on = cache_step(render_workflows(setup_cache=["requirements*.txt", "it's.lock"]))
    assert on["if"] is True
    assert on["with"] == {
        "path": "${{ runner.temp }}/improve-cache",
        "key": "improve-setup-${{ runner.os }}-${{ hashFiles('.github/improve.yml', "
               "'requirements*.txt', 'it''s.lock') }}"}
    # the bot keeps its environments in the folder the step restores and saves
    test = yaml.safe_load(render_workflows()[".github/workflows/improve-test.yml"])
    assert bot_step(test)["env"] == {"IMPROVE_CACHE_DIR": on["with"]["path"]}


# the permissions each job may hold, no more
PERMISSIONS = {
    "improve-test.yml": {"contents": "read"},
    # contents: write for automerge (and /rollback's branch) when no App is installed; issues:
    # read for the dashboard issue's alerts, which a private repository does not show otherwise
    # actions: write to re-run the test when main moved since the comparison (before automerge)
    "improve-report.yml": {
        "actions": "write", "contents": "write", "issues": "read", "pull-requests": "write",
        "statuses": "write",
    },
    # reactions on a comment need issues: write (GitHub's endpoint table), not pull-requests
    "improve-commands.yml": {
        "actions": "write", "contents": "write", "issues": "write", "pull-requests": "write",
        "statuses": "write",
    },
    "improve-release.yml": {"contents": "write", "pull-requests": "write"},
    # statuses: write: the scheduled sweep sets the gate when an approval expired
    "improve-monitor.yml": {"contents": "write", "issues": "write", "pull-requests": "write",
                            "statuses": "write"},
    # the branch improve/<id> and its pull request; issues: read for the paused auto tier
    "improve-propose.yml": {"contents": "write", "issues": "read", "pull-requests": "write"},
    # the agent job comments the outcome on the opportunity issue
    "improve-tune.yml": {
        "tune": {"contents": "write", "issues": "read", "pull-requests": "write"},
        "agent": {"contents": "write", "issues": "write", "pull-requests": "write"},
    },
    "ci.yml": {"contents": "read"},
}


@pytest.mark.parametrize("name", sorted(PERMISSIONS))
def test_permissions_are_minimal_per_job(name: str) -> None:
    doc = load(WORKFLOWS / name)
    assert doc["permissions"] == {}
    want = PERMISSIONS[name]
    for key, job in doc["jobs"].items():
        assert job["permissions"] == want.get(key, want)


def test_every_workflow_is_covered_by_the_permission_table() -> None:
    assert sorted(p.name for p in all_workflow_files()) == sorted(PERMISSIONS)


def test_the_pull_request_job_gets_no_token_and_no_secrets() -> None:
    text = (WORKFLOWS / "improve-test.yml").read_text(encoding="utf-8")
    assert "secrets." not in text
    assert "token" not in bot_step(load(WORKFLOWS / "improve-test.yml"))["with"]


@pytest.mark.parametrize("path", [*all_workflow_files(), ROOT / "action.yml"], ids=lambda p: p.name)
def test_actions_are_pinned_by_full_sha_with_a_version_comment(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    uses = re.findall(r"^\s*(?:- )?uses:\s*(\S+)(.*)", text, re.MULTILINE)
    assert uses
    for ref, rest in uses:
        if ref == SELF_ACTION:
            continue
        assert PIN.match(ref), ref
        assert re.match(r"\s*# v\d", rest), f"{ref}: no version comment"


@pytest.mark.parametrize("path", all_workflow_files(), ids=lambda p: p.name)
def test_checkouts_do_not_keep_credentials(path: Path) -> None:
    doc = load(path)
    checkouts = [s for s in steps(doc) if "actions/checkout" in s.get("uses", "")]
    assert checkouts
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("name", ["improve-report.yml", "improve-commands.yml"])
def test_privileged_jobs_never_check_out_pull_request_code(name: str) -> None:
    doc = load(WORKFLOWS / name)
    for step in steps(doc):
        if "actions/checkout" in step.get("uses", ""):
            ref = step["with"].get("ref")
            assert ref in (None, "${{ github.event.repository.default_branch }}")
    assert "head.sha" not in (WORKFLOWS / name).read_text(encoding="utf-8").replace(
        "workflow_run.head_sha", ""
    )


@pytest.mark.parametrize("path", [*all_workflow_files(), ROOT / "action.yml"], ids=lambda p: p.name)
def test_no_expression_inside_a_script(path: Path) -> None:
    # untrusted text reaches scripts only through env:, never spliced into the script itself
    for step in steps(load(path)):
        if "run" in step:
            assert "${{" not in step["run"], step["run"]


def test_release_and_monitor_share_one_group_never_cancelled() -> None:
    for name in ("improve-release.yml", "improve-monitor.yml"):
        concurrency = load(WORKFLOWS / name)["concurrency"]
        assert concurrency == {"group": "improve-default-branch", "cancel-in-progress": False}
    for name in ("improve-test.yml", "improve-report.yml"):
        assert load(WORKFLOWS / name)["concurrency"]["group"] != "improve-default-branch"
    # one pending run per group would drop comments: each comment has a group of its own
    assert load(WORKFLOWS / "improve-commands.yml")["concurrency"]["group"] == \
        "improve-commands-${{ github.event.comment.id }}"


def test_the_action_is_a_composite_that_installs_from_its_own_path() -> None:
    action = load(ROOT / "action.yml")
    assert action["runs"]["using"] == "composite"
    assert action["inputs"]["command"]["default"] == ""  # empty: the older 'args: handle'
    assert action["inputs"]["args"]["default"] == ""
    assert action["inputs"]["token"]["default"] == ""
    install, run = [s for s in action["runs"]["steps"] if "run" in s]
    assert install["env"]["IMPROVE_ACTION_PATH"] == "${{ github.action_path }}"
    assert "pip install" in install["run"] and '"$IMPROVE_ACTION_PATH"' in install["run"]
    assert run["env"]["IMPROVE_ARGS"] == "${{ inputs.args }}"
    assert run["env"]["IMPROVE_COMMAND"] == "${{ inputs.command }}"
    # each output a later step can use comes from the step that runs improve
    assert {k: v["value"] for k, v in action["outputs"].items()} == {
        name: f"${{{{ steps.improve.outputs.{name} }}}}"
        for name in ("decision", "version", "tag", "results", "comment-url")}
    assert run["id"] == "improve"
    assert run["env"]["GITHUB_TOKEN"] == "${{ inputs.token }}"


def test_the_action_passes_arguments_as_words_not_shell(tmp_path: Path) -> None:
    # run the action's script with a stand-in improve that prints its argv
    (run,) = [s for s in load(ROOT / "action.yml")["runs"]["steps"] if "IMPROVE_ARGS" in
              s.get("env", {})]
    venv = tmp_path / "improve-venv" / "bin"
    venv.mkdir(parents=True)
    fake = venv / "improve"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do echo "[$a]"; done\n')
    fake.chmod(0o755)
    marker = tmp_path / "pwned"
    env = {"RUNNER_TEMP": str(tmp_path), "PATH": "/usr/bin:/bin", "IMPROVE_COMMAND": "handle",
           "IMPROVE_ARGS": f"--results-in /tmp/x.json $(touch {marker}) * ;id"}
    out = subprocess.run(["bash", "-c", run["run"]], env=env, capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == [
        "[handle]", "[--results-in]", "[/tmp/x.json]", "[$(touch]", f"[{marker})]", "[*]", "[;id]",
    ]
    assert not marker.exists()
    # the older form, the command inside 'args', runs the same
    older = {**env, "IMPROVE_COMMAND": "", "IMPROVE_ARGS": "handle --results-in /tmp/x.json"}
    out = subprocess.run(["bash", "-c", run["run"]], env=older, capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["[handle]", "[--results-in]", "[/tmp/x.json]"]
    # and no command at all is an error naming the input, not an improve with no arguments
    done = subprocess.run(["bash", "-c", run["run"]], capture_output=True, text=True,
                          env={**env, "IMPROVE_COMMAND": "", "IMPROVE_ARGS": ""}, check=False)
    assert done.returncode == 2 and "needs a command" in done.stdout


def test_render_for_another_repository() -> None:
    files = render_workflows(f"acme/improve@{SHA}", default_branch="trunk", version="v1.2.3")
    release = yaml.safe_load(files[".github/workflows/improve-release.yml"])
    assert release[True]["push"]["branches"] == ["trunk"]
    for text in files.values():
        assert f"uses: acme/improve@{SHA} # v1.2.3\n" in text
        assert "__IMPROVE_ACTION__" not in text and "__DEFAULT_BRANCH__" not in text
        assert "uses: ./" not in text


@pytest.mark.parametrize(
    ("action", "branch", "field"),
    [
        ("acme/improve@v1", "main", "--action"),
        ("acme/improve@main", "main", "--action"),
        (f"acme/improve@{SHA[:12]}", "main", "--action"),
        (f"acme/improve@{SHA}\n  run: id", "main", "--action"),
        ("./", "ma in", "--default-branch"),
        ("./", "-x", "--default-branch"),
        ("./", "main]\nfoo: [", "--default-branch"),
    ],
)
def test_render_refuses_unpinned_or_odd_input(action: str, branch: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        render_workflows(action, branch)
    assert err.value.problems[0].file == field


def tool(name: str) -> str:
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in the venv (pip install -e '.[dev]')")
    return str(path)


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing(persona: str) -> None:
    proc = subprocess.run(
        [tool("zizmor"), "--offline", f"--persona={persona}", "--no-progress",
         ".github/workflows", "action.yml"],
        cwd=ROOT, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_zizmor_finds_nothing_in_what_users_get(tmp_path: Path) -> None:
    # with the setup environment's cache step on, as a project with setup.cache gets it
    for rel, text in render_workflows(f"acme/improve@{SHA}", version="v1.0.0",
                                      setup_cache=["requirements*.txt"]).items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [tool("zizmor"), "--offline", "--persona=pedantic", "--no-progress",
         str(tmp_path / ".github/workflows")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("schema", "paths"),
    [
        ("vendor.github-workflows", [str(p) for p in all_workflow_files()]),
        ("vendor.github-actions", [str(ROOT / "action.yml")]),
    ],
)
def test_check_jsonschema_accepts_them(schema: str, paths: list[str]) -> None:
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", schema, *paths],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize(("rendered", "config", "fields"), [
    ({}, {}, []),
    ({"shards": 3, "setup_cache": ["a.lock"]}, {"shards": 3, "setup_cache": ["a.lock"]}, []),
    ({"shards": 2}, {"shards": 3}, ["jobs.test.strategy.matrix.shard"]),
    ({"shards": 4}, {"shards": 1}, ["jobs.test.strategy.matrix.shard"]),
    ({}, {"setup_cache": ["a.lock"]}, ["jobs.test.steps"]),                  # off, wanted on
    ({"setup_cache": ["a.lock"]}, {}, ["jobs.test.steps"]),                  # on, not wanted
    ({"setup_cache": ["a.lock"]}, {"setup_cache": ["b.lock"]}, ["jobs.test.steps"]),
    ({"shards": 2}, {"setup_cache": ["a"]},
     ["jobs.test.strategy.matrix.shard", "jobs.test.steps"]),
])
def test_workflow_drift_names_what_differs_from_the_configuration(rendered, config, fields):
    from bot.core.workflows import TEST_WORKFLOW, workflow_drift

    text = render_workflows(**rendered)[TEST_WORKFLOW]
    found = workflow_drift(text, config.get("shards", 1), config.get("setup_cache", []))
    assert [p.field for p in found] == fields
    assert all(p.file == TEST_WORKFLOW and p.line for p in found)


def test_workflow_drift_says_nothing_of_a_workflow_it_cannot_read():
    from bot.core.workflows import workflow_drift

    for text in ("", "jobs: [", "name: x\n", "jobs:\n  other: {}\n"):
        assert workflow_drift(text, 3, ["a.lock"]) == []
    old = render_workflows()[".github/workflows/improve-test.yml"]
    without_step = old.replace("actions/cache@", "actions/other@")
    assert [p.message.split(" but ")[0] for p in workflow_drift(without_step, 1, ["a"])] == \
        ["the setup cache step is missing"]
