"""Both sides of a pull request in one job, on a real repository: timing runs alone and
interleaved, a reused baseline serving scores only, and more runs while the verdict is unclear."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters.progress import PlainProgress
from bot.adapters.worktree import open_repo
from bot.core.config import parse_config
from bot.core.evaluation import Unit, interleave
from bot.core.results import Results
from bot.errors import InputError
from bot.stages.evaluate import evaluate_pair
from tests.helpers.git import commit_all, git, write_files

# each run appends "start <commit> <task>" and "end ..." to a log outside the worktrees
LOGGED = (
    "import json, os, sys, time; log = open(os.environ['RUNLOG'], 'a'); "
    "who = os.environ['IMPROVE_COMMIT'][:7] + ' ' + os.environ['IMPROVE_TASK']; "
    "log.write('start ' + who + '\\n'); log.flush(); time.sleep(0.05); "
    "log.write('end ' + who + '\\n'); log.close(); "
    "print(json.dumps(json.load(open('values.json'))[os.environ['IMPROVE_TASK']]))"
)


def _suite(sid: str, tasks: list[str], metrics: list[dict], repeat: int) -> str:
    return json.dumps({"id": sid, "repeat": repeat, "timeout": 30, "metrics": metrics,
                       "tasks": [{"id": t, "run": ["python", "-c", LOGGED]} for t in tasks]})


def test_interleave_pairs_each_run_and_is_seeded() -> None:
    base = [Unit("s", t, r) for r in range(3) for t in ("a", "b")]
    head = [Unit("s", t, r) for r in range(3) for t in ("a", "b", "new")]
    order = interleave(base, head, seed=7)
    assert sorted(u for side, u in order if side == "base") == sorted(base)
    assert sorted(u for side, u in order if side == "head") == sorted(head)
    # round by round; a task's two sides back to back
    assert [u.repeat for _, u in order] == sorted(u.repeat for _, u in order)
    pairs = [(order[i][1], order[i + 1][1]) for i in range(len(order) - 1)]
    for u in base:
        assert (u, u) in pairs
    assert interleave(base, head, seed=7) == order
    # both orders occur: which side goes first is a coin, not a rule
    firsts = {order[i][0] for i in range(len(order) - 1) if order[i][1] == order[i + 1][1]}
    assert firsts == {"base", "head"}
    assert interleave(base, head, seed=8) != order


def test_timings_run_alone_interleaved_and_a_cached_baseline_serves_scores_only(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    values = {"t1": {"accuracy": 0.8, "ms": 10.0}, "t2": {"accuracy": 0.7, "ms": 20.0}}
    repo = make_repo({
        "benchmarks/speed.yaml": _suite("speed", ["t1", "t2"], [
            {"name": "accuracy"}, {"name": "ms", "direction": "lower", "kind": "timing"}], 2),
        "benchmarks/quality.yaml": _suite("quality", ["t1", "t2"], [{"name": "accuracy"}], 2),
        "values.json": json.dumps(values),
    })
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"README.md": "changed\n"})
    head = commit_all(repo, "head")
    log = tmp_path / "runs.log"
    monkeypatch.setenv("RUNLOG", str(log))
    asked: list[list[str]] = []
    stored: dict[str, Results] = {}

    def reuse(sources: list) -> Results | None:
        asked.append(sorted(s.suite.id for s in sources))
        return stored.get("quality")

    config = parse_config(None)
    out = io.StringIO()
    first = evaluate_pair(open_repo(repo), base, head, config, PlainProgress(out),
                          changed=None, reuse=reuse)
    # only the score-only suite was offered to the cache
    assert asked == [["quality"]] and first.reused == []
    assert [s.id for s in first.base.suites] == ["quality", "speed"]
    lines = log.read_text().splitlines()
    timed = [line for line in lines if line.split()[2:] and "speed" not in line]
    assert timed  # (every line names a commit and a task)
    assert all(len(ln.split()) == 3 and ln.split()[1] in (base[:7], head[:7]) for ln in lines)
    # the speed suite's 8 runs: strictly one at a time, alternating base and head by pairs
    speed_log = lines[-16:]
    assert [ln.split()[0] for ln in speed_log] == ["start", "end"] * 8
    commits = [ln.split()[1] for ln in speed_log[::2]]
    for i in range(0, 8, 2):
        assert {commits[i], commits[i + 1]} == {base[:7], head[:7]}
    assert len(first.rounds) == 1 and first.rounds[0].runs == 16

    # a stored baseline: the score-only suite is read from it, the timing suite measured
    stored["quality"] = first.base.model_copy(update={
        "suites": [s for s in first.base.suites if s.id == "quality"]})
    log.write_text("")
    second = evaluate_pair(open_repo(repo), base, head, config, PlainProgress(out),
                           changed=None, reuse=reuse)
    assert second.reused == ["quality"]
    ran = log.read_text().splitlines()
    # quality ran on the head only (4 runs), speed on both sides (8 runs)
    assert len(ran) == 2 * (4 + 8)
    assert sum(1 for ln in ran if ln.startswith("start " + base[:7])) == 4


def test_an_unclear_verdict_gets_more_runs_in_the_same_job(
    make_repo: Callable[..., Path], tmp_path: Path,
) -> None:
    # one task whose runs alternate around a true gain of 0.1: two runs a side cannot tell
    code = (
        "import json, os; r = int(os.environ['IMPROVE_REPEAT']); "
        "gain = json.load(open('gain.json')); "
        "print(json.dumps({'accuracy': 0.6 + gain + (0.3 if r % 2 else 0.0)}))"
    )
    suite = {"id": "q", "repeat": 2, "timeout": 30, "metrics": [{"name": "accuracy"}],
             "tasks": [{"id": "only", "run": ["python", "-c", code]}]}
    repo = make_repo({"benchmarks/q.yaml": json.dumps(suite), "gain.json": "0.0"})
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"gain.json": "0.1"})
    head = commit_all(repo, "gain")
    config = parse_config("compare:\n  max_looks: 3\n  max_repeats: 8\n")
    pair = evaluate_pair(open_repo(repo), base, head, config, PlainProgress(io.StringIO()),
                         changed=None)
    assert pair.rounds[0].decision == "inconclusive"
    assert len(pair.rounds) > 1
    task = pair.head.suites[0].tasks[0]
    assert len(task.samples) == 2 + sum(r.runs for r in pair.rounds[1:]) // 2
    # the extra runs carry on the repeat numbering: the alternation continues
    assert [s.metrics["accuracy"] for s in task.samples][:4] == [0.7, 1.0, 0.7, 1.0]


def test_a_shard_with_no_task_sets_up_nothing_and_measures_nothing(
    make_repo: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # two tasks over three shards: the third has none, so it must not run the setup (which
    # here fails, to show whether it ran); the first has one, and runs it
    repo = make_repo({
        "benchmarks/quality.yaml": _suite("quality", ["t1", "t2"], [{"name": "accuracy"}], 1),
        "values.json": json.dumps({"t1": {"accuracy": 0.8}, "t2": {"accuracy": 0.7}}),
    })
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"README.md": "changed\n"})
    head = commit_all(repo, "head")
    monkeypatch.setenv("RUNLOG", str(tmp_path / "runs.log"))
    monkeypatch.setenv("IMPROVE_CACHE_DIR", str(tmp_path / "cache"))
    config = parse_config("setup:\n  run: [[python, -c, 'raise SystemExit(3)']]\n")
    out = io.StringIO()
    empty = evaluate_pair(open_repo(repo), base, head, config, PlainProgress(out),
                          changed=None, shard=(3, 3))
    assert empty.base.suites == empty.head.suites == []
    assert empty.base.shard is not None and empty.base.shard.index == 3
    assert [(r.look, r.runs, r.tasks) for r in empty.rounds] == [(1, 0, 0)]
    assert "setup" not in out.getvalue() and not (tmp_path / "runs.log").exists()
    with pytest.raises(InputError, match="exit"):
        evaluate_pair(open_repo(repo), base, head, config, PlainProgress(io.StringIO()),
                      changed=None, shard=(1, 3))
