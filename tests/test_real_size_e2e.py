"""Issue 19's pieces together, as a new user meets them, end to end on the stand-in: a repository
whose ``.github/improve.yml`` has a ``setup:`` (installing, from a wheel kept in the repository,
the package the classifier imports) and ``test.shards: 3``, the shipped test and report workflows
rendered for that configuration, and a suite whose one task has a ``matrix:`` (dataset x fold,
with an exclude and an include) of ``batch: true`` runs over ``.jsonl.gz`` cases.

A proposal that makes the classifier worse is rejected, the comment naming the matrix tasks; one
that changes nothing the classifier reads is not; the sharded verdict is the unsharded one. The
matrix ids (``clf[dataset=news,fold=0]``: ``[``, ``=``, ``,``) go through shard assignment, the
shards' artifacts and their merge, the comment's Markdown, the results schema and the
changelog."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.cli import main
from bot.core.embed import extract
from bot.core.render import find_marker
from bot.core.workflows import render_workflows
from bot.sandbox import Sandbox
from bot.sandbox.actions_runner import SANDBOX_ACTION, ActionsRunner, JobRecord, dump_journal
from tests.helpers import sample_repo as sample
from tests.helpers.pr_story import proposer_env
from tests.helpers.sandbox import run_git
from tests.helpers.wheel import wheel

NAME = sample.FULL_NAME
SUITE_ID = "clf-accuracy"
LABELLER = wheel("labeller", "1.0", {"labeller/__init__.py": (
    "def label(score, threshold):\n"
    "    return 'positive' if score >= threshold else 'negative'\n")})
INSTALL = ["python", "-m", "pip", "install", "--no-index", "--disable-pip-version-check",
           "--quiet", f"vendor/{LABELLER[0]}"]

# one process for all of a fold's cases: {"id", "input"} lines in, {"id", "output"} lines out
BATCH = '''\
"""Label each case on stdin: positive when its score clears the configured threshold."""
import json
import sys
from pathlib import Path

import labeller  # installed by the configuration's setup, from vendor/

RULES = Path(__file__).resolve().parent / "rules.yaml"


def threshold() -> float:
    for line in RULES.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "threshold":
            return float(value.split("#")[0])
    raise SystemExit("rules.yaml: no threshold")


t = threshold()
for line in sys.stdin:
    case = json.loads(line)
    label = labeller.label(case["input"]["score"], t)
    print(json.dumps({"id": case["id"], "output": {"label": label}}))
'''

SUITE = sample.suite(SUITE_ID, """\
  - id: clf
    matrix:
      dataset: [news, reviews]
      fold: [0, 1, 2, 3]
      exclude: [{dataset: reviews, fold: 3}]
      include: [{dataset: forum, fold: 0}]
    cases: data/${{ matrix.dataset }}-${{ matrix.fold }}.jsonl.gz
    batch: true
    run: python classifier/batch.py --fold ${{ matrix.fold }}
    scorer: {exact: {field: label}}
""")
COMBINATIONS = [*((d, f) for d in ("news", "reviews") for f in range(4)
                  if (d, f) != ("reviews", 3)), ("forum", 0)]
TASK_IDS = sorted(f"clf[dataset={d},fold={f}]" for d, f in COMBINATIONS)


def config(shards: int) -> str:
    setup = {"run": [INSTALL], "cache": ["requirements.txt"]}
    return (f"{sample.CONFIG}test:\n  shards: {shards}\nsetup: {json.dumps(setup)}\n")


def repo_files(shards: int) -> dict[str, str | bytes]:
    files: dict[str, str | bytes] = {
        "README.md": "# router\n\nA rule-based classifier.\n",
        ".github/improve.yml": config(shards),
        sample.THRESHOLD_PATH: f"# the classifier's rules\nthreshold: {sample.START}  # by hand\n",
        "classifier/batch.py": BATCH,
        f"vendor/{LABELLER[0]}": LABELLER[1],
        "requirements.txt": "labeller\n",
        f"benchmarks/{SUITE_ID}.yaml": SUITE,
    }
    for dataset, fold in COMBINATIONS:
        # mtime 0: the same bytes every time (the cache's and the sides' hashes stay put)
        text = sample.dataset(f"{dataset}-{fold}", n=40).encode()
        files[f"data/{dataset}-{fold}.jsonl.gz"] = gzip.compress(text, mtime=0)
    return {**files, **render_workflows(action=SANDBOX_ACTION, shards=shards,
                                        setup_cache=["requirements.txt"])}


WORSE = sample.proposal("prop-20261130-worse", 0.3).replace(
    "evidence: {failed_tasks: [split-a]}",
    "evidence: {failed_tasks: ['clf[dataset=news,fold=0]', 'clf[dataset=forum,fold=0]']}")
# the classifier's docstring: it labels every case as before
NOTHING = """\
id: prop-20261130-comment
title: Say where the classifier reads its cases
type: constant_tune
risk: low
rationale: The comment is out of date.
predicted_improvement: {metric: accuracy, delta: 0}
author: tuner
evidence: {failed_tasks: ['clf[dataset=reviews,fold=2]']}
changes:
  - path: classifier/batch.py
    replace: {old: "Label each case on stdin", new: "Label each case read on stdin"}
"""


def _verdicts(tmp: Path, monkeypatch: pytest.MonkeyPatch, shards: int,
              proposals: list[str]) -> dict[str, Any]:
    """Each proposal opened on a fresh sandbox, through the workflows for ``shards``: per
    proposal (in order), its comparison comment; the test jobs; the shards' artifacts."""
    with Sandbox.start() as sb:
        for key, value in proposer_env(sb).items():
            monkeypatch.setenv(key, value)
        sb.create_repo(NAME, repo_files(shards))
        runner = ActionsRunner(sb, NAME, tmp / f"actions-{shards}", bot_action=SANDBOX_ACTION)
        work = tmp / f"work-{shards}"
        run_git(tmp, "clone", "-q", f"{sb.server_url}/{NAME}.git", str(work))
        jobs: list[JobRecord] = []
        try:
            for i, text in enumerate(proposals):
                path = tmp / f"proposal-{shards}-{i}.yaml"
                path.write_text(text)
                assert main(["propose", str(path), "--repo", str(work)]) == 0
                jobs += runner.run_until_idle()
            artifacts = {(run, name): [json.loads(f.read_text()) for f in sorted(p.glob("*.json"))]
                         for (run, name), p in runner.artifacts.items()}
        finally:
            runner.close()
        # the report job fails on a rejection (its gate is red), every other job succeeds
        assert all(j.conclusion == "success" for j in jobs
                   if j.workflow != "improve-report"), dump_journal(jobs)
        state = sb.repo_state(NAME)
        comments = {c["issue_number"]: c["body"] for c in state["comments"]
                    if find_marker(c["body"]) == "compare"}
        assert sb.violations == []
        return {"comments": [comments[n] for n in sorted(comments)], "artifacts": artifacts,
                "tests": [j for j in jobs if j.workflow == "improve-test"],
                "bodies": [p["body"] for p in sorted(state["pulls"], key=lambda p: p["number"])]}


def suites_of(comparison: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Per suite: the tasks paired, the scores on both sides, the verdict and the tasks named."""
    return [(s["id"], s["tasks_paired"], s["score_base"], s["score_cand"], s["verdict"],
             [(t["id"], t["delta"]) for m in s["metrics"] for t in m["worse_tasks"]])
            for s in comparison["suites"]]


def escaped(task_id: str) -> str:
    """A task id as the comment's Markdown writes it (brackets escaped: never a link)."""
    return task_id.replace("[", "\\[").replace("]", "\\]")


def test_setup_shards_matrix_and_batch_cases_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sharded = _verdicts(tmp_path, monkeypatch, 3, [WORSE])
    (worse,) = sharded["comments"]
    data = extract(worse, "comparison")
    assert data["decision"] == "reject", worse
    (suite,) = data["suites"]
    assert suite["tasks_paired"] == len(TASK_IDS)
    # the rejection names the matrix tasks that got worse, each one inert Markdown
    (accuracy,) = suite["metrics"]
    named = [t["id"] for t in accuracy["worse_tasks"]]
    assert sorted(named) == TASK_IDS and accuracy["worse_tasks_more"] == 0
    text = worse.split("<!-- improve-data:")[0]
    assert "Tasks worse than the tolerance on accuracy, worst first: " in text, text
    assert all(escaped(t) in text for t in TASK_IDS), text
    assert "clf[" not in text  # an id never left unescaped (no link, no footnote)
    # three test jobs: each measured its share of the matrix tasks (both sides), the shares
    # apart and together all of them, each artifact a valid results file per side
    assert sorted({j.job for j in sharded["tests"]}) == [f"improve test ({k})" for k in (1, 2, 3)]
    schema = jsonschema.Draft202012Validator(json.loads(
        (Path(__file__).parent.parent / "bot" / "schemas" / "results.schema.json").read_text()))
    first_run = min(run for run, _ in sharded["artifacts"])
    shares = []
    for k in (1, 2, 3):
        (artifact,) = sharded["artifacts"][(first_run, f"improve-results-{k}")]
        assert artifact["shard"] == {"index": k, "total": 3}
        for side in ("base", "head"):
            schema.validate(artifact[side])
        (suite_res,) = artifact["head"]["suites"]
        shares.append(sorted(t["id"] for t in suite_res["tasks"]))
    assert sorted(t for share in shares for t in share) == TASK_IDS
    assert all(shares), shares
    # the setup made each shard's environment: the batch imports what it installed; the
    # matrix's jobs start together, so each found the cache cold
    assert [s.outputs for j in sharded["tests"] for s in j.steps
            if s.name.startswith("actions/cache@")] == [{"cache-hit": "false"}] * 3
    # the proposal's evidence names matrix tasks: verbatim in the body's YAML block
    evidence = sharded["bodies"][0].split("### Evidence")[1].split("```")[1]
    assert "clf[dataset=news,fold=0]" in evidence, sharded["bodies"][0]

    # the unsharded workflow on the same proposal: the same verdict on the same tasks
    whole = _verdicts(tmp_path, monkeypatch, 1, [WORSE, NOTHING])
    assert suites_of(extract(whole["comments"][0], "comparison")) == suites_of(data)
    # a change the classifier does not feel: accepted, no task named
    nothing = whole["comments"][1]
    calm = extract(nothing, "comparison")
    assert calm["decision"] == "accept", nothing
    assert [m["worse_tasks"] for s in calm["suites"] for m in s["metrics"]] == [[]]
