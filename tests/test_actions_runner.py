"""The sandbox's workflow runner: the expression evaluator (a table), and the runner's Actions
rules on a real sandbox repository with small workflows of its own (``on:`` filters,
concurrency with one pending run, cancel-in-progress, the GITHUB_TOKEN rule, artifacts per run
and attempt, unknown steps refused). The bot's own workflows run through it in the loop tests."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import ActionsRunner
from bot.sandbox.events import build_event
from bot.sandbox.expressions import ExpressionError, condition, evaluate, interpolate, truthy
from bot.sandbox.runner_actions import ARTIFACT_CONFLICT
from bot.sandbox.workflow_syntax import WorkflowError, expand_matrix, permissions_of
from tests.helpers.sandbox import call

CTX: dict[str, Any] = {
    "github": {"event": {"issue": {"number": 7, "pull_request": {"url": "u"}},
                         "comment": {"body": "/approve now", "user": {"type": "User"}},
                         "repository": {"default_branch": "main"}},
               "event_name": "issue_comment", "token": "ght"},
    "vars": {"IMPROVE_APP_ID": "42"},
    "steps": {"app-token": {"outputs": {"token": "app", "app-slug": "bot"}},
              "none": {"outputs": {}}},
    "runner": {"temp": "/t"},
}


@pytest.mark.parametrize(("expr", "value"), [
    ("true", True),
    ("null", None),
    ("1 == 1.0", True),
    ("'abc' == 'ABC'", True),  # strings compare case-insensitively
    ("null == ''", True),  # different types: both become numbers (0 and 0)
    ("vars.MISSING != ''", False),
    ("vars.IMPROVE_APP_ID != ''", True),
    ("'it''s'", "it's"),
    ("github.event.issue.number", 7.0),
    ("github.event['issue'].number", 7.0),
    ("github.event.issue.nothing.deeper", None),
    ("!github.event.issue.pull_request", False),
    ("github.event.issue.pull_request && 'yes'", "yes"),  # && returns an operand
    ("steps.none.outputs.token || github.token", "ght"),
    ("steps.app-token.outputs.token || github.token", "app"),
    ("steps.app-token.outputs.token && 'app' || 'github-token'", "app"),
    ("steps.none.outputs.token && 'app' || 'github-token'", "github-token"),
    ("contains(github.event.comment.body, '/')", True),
    ("contains(fromJSON('[\"a\", \"b\"]'), 'B')", True),
    ("startsWith('refs/heads/main', 'refs/heads/')", True),
    ("format('{0}[bot]', steps.app-token.outputs.app-slug)", "bot[bot]"),
    ("format('{{{0}}}', 1)", "{1}"),
    ("github.event.comment.user.type != 'Bot' && 1 < 2", True),
    ("(1 == 2) || (2 >= 2)", True),
])
def test_expressions_evaluate_as_github_documents(expr: str, value: Any) -> None:
    assert evaluate(expr, CTX) == value


@pytest.mark.parametrize("expr", [
    "unknown.context", "hashFiles('x')", "1 ==", "'open", "a.b ? c", "github.event.(x)",
])
def test_an_expression_the_stand_in_does_not_know_is_an_error(expr: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(expr, CTX)


def test_nan_and_interpolation_and_conditions() -> None:
    assert evaluate("'abc' == 1", CTX) is False and evaluate("'abc' != 1", CTX) is True
    # a string that is no number is NaN: falsy, and no comparison but != holds
    assert truthy(math.nan) is False
    assert evaluate("'abc' < 1", CTX) is False and evaluate("'abc' >= 1", CTX) is False
    assert interpolate("a-${{ github.event.issue.number }}-${{ vars.NONE }}", CTX) == "a-7-"
    # an if without a status function means success() && (...)
    assert condition("${{ true }}", CTX, {"failed": True}) is False
    assert condition("${{ always() }}", CTX, {"failed": True}) is True
    assert condition("failure()", CTX, {"failed": True}) is True
    assert condition(None, CTX, {}) is True


@pytest.mark.parametrize("spec", [True, 1, "true", "${{ true }}", "'always()' != ''"])
def test_an_if_without_a_status_function_gets_success_whatever_its_form(spec: Any) -> None:
    # GitHub adds its default status check, success(), to any if: that calls no status
    # function: a YAML boolean or number too, and a status function's name inside a string
    # literal is no call
    assert condition(spec, CTX, {}) is True
    assert condition(spec, CTX, {"failed": True}) is False


def test_an_if_mixing_expressions_and_text_or_an_object_filter_is_refused_by_name() -> None:
    with pytest.raises(ExpressionError, match="wrap the whole condition"):
        condition("${{ github.token }} && ${{ false }}", CTX, {})
    with pytest.raises(ExpressionError, match=r"object filters \('\.\*'\)"):
        evaluate("github.event.*.number", CTX)


@pytest.mark.parametrize(("spec", "expected"), [
    ({}, {"metadata": "read"}),
    ({"contents": "read", "issues": "none"}, {"metadata": "read", "contents": "read"}),
    (None, {"contents": "read", "packages": "read", "metadata": "read"}),
])
def test_permissions_blocks(spec: Any, expected: dict[str, str]) -> None:
    assert permissions_of(spec) == expected


def test_a_permissions_block_with_an_unknown_scope_is_refused() -> None:
    with pytest.raises(WorkflowError, match="contnts"):
        permissions_of({"contnts": "write"})
    # GitHub's workflow syntax: metadata is no key of a block (every token has it), id-token
    # is write or none, models read or none; read-all and write-all respect the same levels
    with pytest.raises(WorkflowError, match="'metadata'"):
        permissions_of({"metadata": "read"})
    with pytest.raises(WorkflowError, match="id-token: level must be none or write"):
        permissions_of({"id-token": "read"})
    assert permissions_of({"models": "read"}) == {"metadata": "read", "models": "read"}
    assert permissions_of("write-all")["models"] == "read"
    assert "id_token" not in permissions_of("read-all")


# -- the runner on a sandbox repository of its own ---------------------------------------------

UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"
DOWNLOAD = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093"

COMMANDS = """
name: cmd
on:
  issue_comment:
    types: [created]
permissions: {}
concurrency:
  group: cmd-${{ github.event.issue.number }}
  cancel-in-progress: false
jobs:
  answer:
    if: ${{ github.event.issue.pull_request }}
    runs-on: ubuntu-latest
    steps:
      - uses: UPLOAD
        with: {name: none, path: "${{ runner.temp }}/nothing"}
""".replace("UPLOAD", UPLOAD)

TEST = """
name: t
on:
  pull_request:
    branches: [main]
permissions: {}
concurrency:
  group: t-${{ github.event.pull_request.number }}
  cancel-in-progress: true
jobs:
  test:
    runs-on: ubuntu-latest
    permissions: {contents: read}
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
        with: {ref: "${{ github.event.pull_request.head.sha }}", persist-credentials: false}
      - uses: UPLOAD
        with: {name: results, path: "${{ github.workspace }}/README.md"}
""".replace("UPLOAD", UPLOAD)

REPORT = """
name: r
on:
  workflow_run:
    workflows: [t]
    types: [completed]
permissions: {}
jobs:
  report:
    runs-on: ubuntu-latest
    permissions: {actions: read}
    steps:
      - uses: DOWNLOAD
        with:
          name: results
          run-id: ${{ github.event.workflow_run.id }}
          github-token: ${{ github.token }}
          path: ${{ runner.temp }}/in
""".replace("DOWNLOAD", DOWNLOAD)

BAD = """
name: bad
on: [push]
jobs:
  shell:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/setup-node@v4
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start() as sb:
        yield sb


def make(sb: Sandbox, tmp: Path, name: str, workflows: dict[str, str]) -> ActionsRunner:
    files: dict[str, str | bytes] = {"README.md": "# r\n"}
    files.update({f".github/workflows/{k}.yml": v for k, v in workflows.items()})
    sb.create_repo(f"o/{name}", files)
    return ActionsRunner(sb, f"o/{name}", tmp / "actions")


def opened(runner: ActionsRunner, repo: str) -> dict[str, Any]:
    """A pull request from main to main, opened."""
    head = runner._head("refs/heads/main")
    return build_event("pull_request", "opened", repo=repo, default_branch="main", number=1,
                       head_ref="main", head_sha=head, base_ref="main", base_sha=head)


def rerun(sb: Sandbox, repo: str, run_id: int) -> None:
    """Ask GitHub to re-run a finished run, as ``/retest`` does: attempt 2 is queued."""
    token = sb.mint_token("ci", kind="github_token", repo=repo, permissions={"actions": "write"})
    status, _, answer = call(sb, "POST", f"/repos/{repo}/actions/runs/{run_id}/rerun",
                             token=token)
    assert status == 201, answer


def comment(repo: str, number: int, cid: int, body: str = "/approve") -> dict[str, Any]:
    return build_event("issue_comment", "created", repo=repo, default_branch="main",
                       number=number, body=body, comment_id=cid, sender="maya")


def test_one_running_and_one_pending_run_per_group_a_newer_pending_cancels_the_older(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "conc", {"cmd": COMMANDS})
    for cid in range(1, 6):
        runner.deliver("issue_comment", comment("o/conc", 3, cid))
    runner.deliver("issue_comment", comment("o/conc", 4, 9))  # another group
    runner.run_until_idle()
    ran = {r.id: r.conclusion for r in runner.runs.values()}
    assert sorted(ran.values()) == ["cancelled"] * 3 + ["success"] * 3
    order = sorted(ran)
    # the first of #3 ran, the 2nd to 4th were replaced while pending, the 5th ran; #4's ran
    assert [ran[i] for i in order] == ["success", "cancelled", "cancelled", "cancelled",
                                       "success", "success"]
    # the group is taken before the job's if: a comment on an issue (job skipped) still
    # displaces a pending run
    runner.deliver("issue_comment", comment("o/conc", 3, 20))
    issue = build_event("issue_comment", "created", repo="o/conc", default_branch="main",
                        number=3, body="hi", comment_id=21, sender="maya",
                        is_pull_request=False)
    runner.deliver("issue_comment", comment("o/conc", 3, 22))
    runner.deliver("issue_comment", issue)
    runner.run_until_idle()
    last = [runner.runs[i].conclusion for i in sorted(runner.runs)][-3:]
    assert last == ["success", "cancelled", "skipped"]
    runner.close()


def test_github_token_events_start_nothing_and_unknown_steps_stop_the_run(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "tok", {"cmd": COMMANDS, "bad": BAD})
    assert runner.deliver("issue_comment", comment("o/tok", 3, 1), via_github_token=True) == []
    push = build_event("push", None, repo="o/tok", default_branch="main", ref="refs/heads/main",
                       before="0" * 40, after=runner._head("refs/heads/main"))
    runner.deliver("push", push)
    with pytest.raises(WorkflowError, match="does not know the action 'actions/setup-node@v4'"):
        runner.run_until_idle()
    runner.close()


def test_a_second_upload_with_overwrite_replaces_the_first(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    test = TEST.replace("with: {name: results,", "with: {overwrite: true, name: results,")
    runner = make(sandbox, tmp_path, "over", {"t": test, "r": REPORT})
    (run,) = runner.deliver("pull_request", opened(runner, "o/over"))
    runner.run_until_idle()
    rerun(sandbox, "o/over", run.id)
    again = runner.run_until_idle()
    assert [(r.workflow, r.attempt, r.conclusion) for r in again] == [
        ("t", 2, "success"), ("r", 1, "success")]
    assert again[0].steps[-1].message == "uploaded results (attempt 2)"
    runner.close()


def test_artifacts_belong_to_a_run_a_second_upload_conflicts_and_reruns_are_attempts(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "art", {"t": TEST, "r": REPORT})
    pr = opened(runner, "o/art")
    other = dict(pr, pull_request={**pr["pull_request"],
                                   "base": {**pr["pull_request"]["base"], "ref": "dev"}})
    assert runner.deliver("pull_request", other) == []  # branches: [main]
    (run,) = runner.deliver("pull_request", pr)
    done = runner.run_until_idle()
    assert [(r.workflow, r.conclusion) for r in done] == [("t", "success"), ("r", "success")]
    assert done[1].steps[0].message == "downloaded results"
    # a re-run (as /retest asks GitHub) is attempt 2 of the same run; its upload conflicts
    rerun(sandbox, "o/art", run.id)
    again = runner.run_until_idle()
    assert again[0].attempt == 2 and again[0].conclusion == "failure"
    assert again[0].steps[-1].message == ARTIFACT_CONFLICT
    # persist-credentials: false (a YAML boolean, given to the action as "false") kept no token
    config = (runner.root / f"run-{run.id}-2" / "test" / "workspace" / ".git" / "config")
    assert "extraheader" not in config.read_text()
    # cancel-in-progress: a newer event for the PR cancels the queued one
    first = runner.deliver("pull_request", pr)[0]
    runner.deliver("pull_request", pr)
    assert first.conclusion == "cancelled"
    runner.close()


ENVS = """
name: envs
on: [push]
env:
  LEVEL: workflow
  WF_ONLY: ${{ github.event_name }}
jobs:
  e:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [7]
    env:
      LEVEL: job
      JOB_ONLY: ${{ github.ref_name }}-${{ matrix.n }}
    steps:
      - id: a
        run: |
          echo "seen=$LEVEL/$WF_ONLY/$JOB_ONLY/${{ env.LEVEL }}/${{ github.head_ref }}." \
            >> "$GITHUB_OUTPUT"
      - id: b
        if: ${{ env.LEVEL == 'job' }}
        env:
          LEVEL: step-${{ env.WF_ONLY }}
        run: echo "seen=$LEVEL/${{ env.LEVEL }}" >> "$GITHUB_OUTPUT"
      - run: exit 1
      - if: true
        run: echo "never"
      - id: c
        if: always()
        run: echo "seen=after" >> "$GITHUB_OUTPUT"
"""


def push_to_main(runner: ActionsRunner, repo: str) -> dict[str, Any]:
    return build_event("push", None, repo=repo, default_branch="main", ref="refs/heads/main",
                       before="0" * 40, after=runner._head("refs/heads/main"))


def test_workflow_job_and_step_env_apply_in_that_order_and_if_true_keeps_success(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "envs", {"e": ENVS})
    runner.deliver("push", push_to_main(runner, "o/envs"))
    (job,) = runner.run_until_idle()
    assert [s.outputs.get("seen") for s in job.steps] == [
        "job/push/main-7/job/.", "step-push/step-push", None, None, "after"]
    # if: true after a failed step: GitHub's implicit success() skips it
    assert [s.outcome for s in job.steps] == [
        "success", "success", "failure", "skipped", "success"]
    runner.close()


@pytest.mark.parametrize(("old", "new", "error"), [
    # a job's env may not read env (GitHub: Unrecognized named-value: 'env')
    ("JOB_ONLY: ${{ github.ref_name }}-", "JOB_ONLY: ${{ env.LEVEL }}-", "unknown context 'env'"),
    # a github property the stand-in does not give is refused, not read as null
    ("${{ github.head_ref }}", "${{ github.event_path }}", "property 'event_path'"),
    ("    strategy:", "    defaults: {}\n    strategy:", "does not run defaults"),
])
def test_what_the_stand_in_cannot_evaluate_in_a_job_is_refused_by_name(
    sandbox: Sandbox, tmp_path: Path, old: str, new: str, error: str
) -> None:
    assert old in ENVS
    name = f"envbad{abs(hash(new)) % 1000}"
    runner = make(sandbox, tmp_path, name, {"e": ENVS.replace(old, new)})
    with pytest.raises(WorkflowError, match=error):
        runner.deliver("push", push_to_main(runner, f"o/{name}"))
        runner.run_until_idle()
    runner.close()


MATRIX = """
name: matrix
on: [push]
jobs:
  m:
    name: shard
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2, 3]
        side: [a]
    steps:
      - if: ${{ matrix.n == 2 && github.event.head_commit.message == 'fail' }}
        run: exit 1
      - id: say
        env:
          WHO: ${{ matrix.n }}${{ matrix.side }} of ${{ strategy.job-total }}
        run: echo "who=$WHO" >> "$GITHUB_OUTPUT"
"""


def test_a_matrix_runs_one_job_per_combination_and_fail_fast_cancels_the_rest(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "matrix", {"m": MATRIX})
    head = runner._head("refs/heads/main")
    push = build_event("push", None, repo="o/matrix", default_branch="main",
                       ref="refs/heads/main", before="0" * 40, after=head)
    runner.deliver("push", push)
    jobs = runner.run_until_idle()
    assert [(j.job, j.conclusion, j.steps[-1].outputs) for j in jobs] == [
        (f"shard ({n}, a)", "success", {"who": f"{n}a of 3"}) for n in (1, 2, 3)]
    push["head_commit"]["message"] = "fail"
    runner.deliver("push", push)
    jobs = runner.run_until_idle()
    # fail-fast (the default): the second fails, the third is cancelled before it starts
    assert [(j.job, j.conclusion) for j in jobs] == [
        ("shard (1, a)", "success"), ("shard (2, a)", "failure"), ("shard (3, a)", "cancelled")]
    runner.close()


def test_a_matrix_the_stand_in_cannot_expand_is_refused_by_name(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    bad = MATRIX.replace("        side: [a]\n", "        side: ${{ fromJSON('[1]') }}\n")
    runner = make(sandbox, tmp_path, "badmatrix", {"m": bad})
    head = runner._head("refs/heads/main")
    with pytest.raises(WorkflowError, match=r"strategy.matrix.side: the stand-in expands"):
        runner.deliver("push", build_event("push", None, repo="o/badmatrix",
                                           default_branch="main", ref="refs/heads/main",
                                           before="0" * 40, after=head))
        runner.run_until_idle()
    runner.close()



CACHE = """
name: cached
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: cache
        uses: actions/cache@v4
        with:
          path: ${{ runner.temp }}/deps
          key: deps-${{ hashFiles('README.md', 'no-such.lock') }}
      - run: |
          mkdir -p "$RUNNER_TEMP/deps" && echo made >> "$RUNNER_TEMP/deps/log"
          cat "$RUNNER_TEMP/deps/log"
"""


def test_actions_cache_restores_by_exact_key_and_saves_on_a_miss(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    import hashlib

    runner = make(sandbox, tmp_path, "cache", {"cached": CACHE})
    push = build_event("push", None, repo="o/cache", default_branch="main", ref="refs/heads/main",
                       before="0" * 40, after=runner._head("refs/heads/main"))
    runner.deliver("push", push)
    (first,) = runner.run_until_idle()
    # hashFiles(): the SHA-256 of each matched file's SHA-256 (README.md's only)
    key = "deps-" + hashlib.sha256(hashlib.sha256(b"# r\n").digest()).hexdigest()
    assert first.steps[1].message == f"Cache not found for input keys: {key}"
    assert first.steps[1].outputs == {"cache-hit": "false"}
    assert first.steps[2].out == "made\n"
    runner.deliver("push", push)
    (second,) = runner.run_until_idle()
    assert second.steps[1].outputs == {"cache-hit": "true"}
    assert second.steps[2].out == "made\nmade\n"   # restored, then added to
    # a third run restores the first save: a key saved is never overwritten
    runner.deliver("push", push)
    (third,) = runner.run_until_idle()
    assert third.steps[2].out == "made\nmade\n"
    runner.close()


def test_a_matrixs_jobs_all_start_on_a_cold_cache(sandbox: Sandbox, tmp_path: Path) -> None:
    # on GitHub a matrix's jobs run at once: none restores what a sibling saves at its end
    # (the stand-in runs them in turn); the next run restores the first save
    matrix = CACHE.replace("    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n"
                           "    strategy: {matrix: {shard: [1, 2, 3]}}\n", 1)
    runner = make(sandbox, tmp_path, "cache-matrix", {"cached": matrix})
    push = build_event("push", None, repo="o/cache-matrix", default_branch="main",
                       ref="refs/heads/main", before="0" * 40,
                       after=runner._head("refs/heads/main"))
    runner.deliver("push", push)
    first = runner.run_until_idle()
    assert [j.steps[1].outputs for j in first] == [{"cache-hit": "false"}] * 3
    runner.deliver("push", push)
    second = runner.run_until_idle()
    assert [j.steps[1].outputs for j in second] == [{"cache-hit": "true"}] * 3
    assert {j.steps[2].out for j in second} == {"made\nmade\n"}
    runner.close()


def test_a_matrix_expands_include_and_exclude_as_githubs_docs_show() -> None:
    # the examples of GitHub's "Running variations of jobs in a workflow"
    fruits = expand_matrix({
        "fruit": ["apple", "pear"], "animal": ["cat", "dog"],
        "include": [{"color": "green"}, {"color": "pink", "animal": "cat"},
                    {"fruit": "apple", "shape": "circle"}, {"fruit": "banana"},
                    {"fruit": "banana", "animal": "cat"}]}, "m")
    assert fruits == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"}]
    oses = expand_matrix({
        "os": ["macos-latest", "windows-latest"], "version": [12, 14, 16],
        "environment": ["staging", "production"],
        "exclude": [{"os": "macos-latest", "version": 12, "environment": "production"},
                    {"os": "windows-latest", "version": 16}]}, "m")
    assert len(oses) == 12 - 1 - 2
    assert {"os": "windows-latest", "version": 16, "environment": "staging"} not in oses
    # include alone: each entry is a job of its own
    assert expand_matrix({"include": [{"a": 1}, {"a": 2, "b": 3}]}, "m") == [
        {"a": 1}, {"a": 2, "b": 3}]
    with pytest.raises(WorkflowError, match="m: no combination"):
        expand_matrix({"a": [1], "exclude": [{"a": 1}]}, "m")


CHAIN = """
name: chain
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        n: [1, 2]
    outputs:
      made: ${{ steps.make.outputs.made }}
    steps:
      - id: make
        run: echo "made=built-${{ matrix.n }}" >> "$GITHUB_OUTPUT"
  test:
    needs: build
    runs-on: ubuntu-latest
    outputs:
      verdict: ${{ steps.t.outputs.verdict }}
    steps:
      - id: t
        run: |
          echo "seen=${{ needs.build.outputs.made }}/${{ needs.build.result }}" >> "$GITHUB_OUTPUT"
          [ "${{ github.event.head_commit.message }}" != fail ]
          echo "verdict=ok" >> "$GITHUB_OUTPUT"
  deploy:
    needs: [test]
    runs-on: ubuntu-latest
    steps:
      - run: echo deploy
  report:
    needs: [build, test]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - id: r
        env:
          SEEN: ${{ needs.test.result }}/${{ needs.test.outputs.verdict }}
        run: echo "seen=$SEEN" >> "$GITHUB_OUTPUT"
  sorry:
    needs: deploy
    if: failure()
    runs-on: ubuntu-latest
    steps:
      - run: echo sorry
"""


def test_needs_orders_jobs_passes_outputs_and_skips_dependents_of_a_failure(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    runner = make(sandbox, tmp_path, "chain", {"c": CHAIN})
    push = push_to_main(runner, "o/chain")
    runner.deliver("push", push)
    jobs = runner.run_until_idle()
    ran = {j.job: j for j in jobs}
    # in the order of needs (sorry is decided, skipped, as soon as deploy is done)
    assert [(j.job, j.conclusion) for j in jobs] == [
        ("build (1)", "success"), ("build (2)", "success"), ("test", "success"),
        ("deploy", "success"), ("sorry", "skipped"), ("report", "success")]
    # the matrix's outputs are those of the instance that finished last
    assert ran["test"].steps[0].outputs["seen"] == "built-2/success"
    assert ran["report"].steps[0].outputs == {"seen": "success/ok"}
    push["head_commit"]["message"] = "fail"
    runner.deliver("push", push)
    jobs = runner.run_until_idle()
    # test fails: deploy (needs it) is skipped; report (always()) runs and sees the result;
    # sorry (failure(): an ancestor failed) runs though its own need was skipped
    assert sorted((j.job, j.conclusion) for j in jobs) == [
        ("build (1)", "success"), ("build (2)", "success"), ("deploy", "skipped"),
        ("report", "success"), ("sorry", "success"), ("test", "failure")]
    (report,) = [j for j in jobs if j.job == "report"]
    assert report.steps[0].outputs == {"seen": "failure/"}
    assert runner.runs[max(runner.runs)].conclusion == "failure"
    runner.close()


@pytest.mark.parametrize(("old", "new", "error"), [
    ("needs: deploy", "needs: deplo", "depends on unknown job 'deplo'"),
    ("needs: build\n", "needs: sorry\n", "a cycle in needs: "),
])
def test_needs_github_refuses_is_refused(
    sandbox: Sandbox, tmp_path: Path, old: str, new: str, error: str
) -> None:
    name = f"chainbad{len(new)}"
    runner = make(sandbox, tmp_path, name, {"c": CHAIN.replace(old, new)})
    with pytest.raises(WorkflowError, match=error):
        runner.deliver("push", push_to_main(runner, f"o/{name}"))
    runner.close()


def test_hash_files_matches_inside_the_workspace_only_and_subtracts_negated_patterns(
    tmp_path: Path,
) -> None:
    import hashlib

    from bot.sandbox.workflow_syntax import hash_files_in

    ws = tmp_path / "ws"
    for name in ("a.txt", "b.txt", "sub/c.txt", ".git/x.txt"):
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        (ws / name).write_text(name)
    (tmp_path / "out.txt").write_text("outside")
    hash_files = hash_files_in(ws)

    def expected(*names: str) -> str:
        digest = hashlib.sha256()
        for name in sorted(names):
            digest.update(hashlib.sha256((ws / name).read_bytes()).digest())
        return digest.hexdigest()

    assert hash_files("*.txt") == expected("a.txt", "b.txt")
    # GitHub hashes files under GITHUB_WORKSPACE only: '../' and absolute paths outside match
    # nothing; an absolute path inside the workspace is matched
    assert hash_files("../*.txt") == hash_files(f"{tmp_path}/*.txt") == ""
    assert hash_files(f"{ws}/*.txt") == expected("a.txt", "b.txt")
    # '!' subtracts what earlier patterns matched; a later pattern adds it back
    assert hash_files("**/*.txt", "!a.txt") == expected("b.txt", "sub/c.txt")
    assert hash_files("**/*.txt", "!a.txt", "a.txt") == expected("a.txt", "b.txt", "sub/c.txt")
    # one argument may hold several patterns, a line each ('#' lines are comments)
    assert hash_files("a.txt\n# note\nsub/*.txt") == expected("a.txt", "sub/c.txt")


def test_a_matrix_over_githubs_256_jobs_per_run_is_refused() -> None:
    # "A matrix will generate a maximum of 256 jobs per workflow run" (GitHub's docs)
    assert len(expand_matrix({"a": list(range(16)), "b": list(range(16))}, "m")) == 256
    with pytest.raises(WorkflowError, match=r"m: the matrix makes 257 jobs; GitHub runs at "):
        expand_matrix({"a": list(range(16)), "b": list(range(16)), "include": [{"a": 99}]},
                      "m")


TIMEOUT = """\
name: slow
on: push
jobs:
  slow:
    runs-on: ubuntu-latest
    timeout-minutes: 0.01
    steps:
      - run: echo before
      - run: sleep 30
      - run: echo never
"""


def test_a_job_past_its_timeout_minutes_is_cancelled(sandbox: Sandbox, tmp_path: Path) -> None:
    runner = make(sandbox, tmp_path, "slow", {"slow": TIMEOUT})
    head = runner._head("refs/heads/main")
    started = time.monotonic()
    runner.deliver("push", build_event("push", None, repo="o/slow", default_branch="main",
                                       ref="refs/heads/main", before="0" * 40, after=head))
    (job,) = runner.run_until_idle()
    # GitHub cancels the job past timeout-minutes (0.6 s here): the running step is stopped,
    # the later ones do not run
    assert time.monotonic() - started < 20
    assert job.conclusion == "cancelled"
    assert [(s.conclusion, s.message) for s in job.steps] == [
        ("success", "bash: exit 0"),
        ("cancelled", "the job ran past its timeout-minutes (0.01)")]
    runner.close()
    bad = TIMEOUT.replace("0.01", "soon")
    runner = make(sandbox, tmp_path, "badslow", {"slow": bad})
    with pytest.raises(WorkflowError, match=r"jobs.slow.timeout-minutes: a number of minutes"):
        runner.deliver("push", build_event("push", None, repo="o/badslow",
                                           default_branch="main", ref="refs/heads/main",
                                           before="0" * 40, after=runner._head("refs/heads/main")))
        runner.run_until_idle()
    runner.close()
