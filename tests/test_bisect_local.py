"""The BISECT stage on real temporary git repositories with cheap synthetic tasks measured
through the TEST path: the budget ending a bisection with the narrowed range, the release
commit itself worse now, a line the release is not on, and measurements reused from the data
branch (no task run)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from bot.adapters.datastore import DataStore
from bot.adapters.release_git import Workspace
from bot.core.config import parse_config
from bot.core.records import results_path
from bot.stages.bisect import bisect_drop
from tests.helpers.bisect import SUITE, TASKS, git, make_repo, measure, release_of

DATA = "refs/heads/improve-data"


def test_a_bisection_out_of_budget_says_how_far_it_got(tmp_path: Path) -> None:
    repo, line = make_repo(tmp_path, 16, {11: 0.60})
    reference, head = measure(repo, line[0]), measure(repo, line[-1])
    # room for one measurement of the four tasks
    config = parse_config(f"monitor:\n  bisect_runs: {TASKS + 1}\n")
    f = bisect_drop(Workspace.local(repo, "main"), config, DATA, release_of(line[0]),
                    [], reference, head, {SUITE}, io.StringIO())
    b = f.bisection
    assert b.state == "exhausted" and b.culprit is None
    assert b.runs == TASKS and f"{TASKS} of {TASKS + 1} task runs" in b.reason
    # the one measurement (commit 8, unchanged) narrowed the range to (8, 16]
    assert [(p.commit, p.verdict) for p in b.probes] == [(line[8], "same"),
                                                        (line[16], "worse")]
    assert (b.good, b.bad) == (line[8], line[16])
    assert list(f.results) == [results_path(line[8])]  # stored for the next bisection


def test_the_release_commit_worse_now_is_the_release_own_change(tmp_path: Path) -> None:
    repo, line = make_repo(tmp_path, 4, {})
    # what was measured at release (0.95) is better than what the release commit gives now:
    # the quality is read from the worktree, so the release's "measurement at release" is
    # taken from a better state of the file and named after the release commit
    (repo / "quality.txt").write_text("0.95\n")
    git(repo, "commit", "-q", "-am", "better, elsewhere")
    better = measure(repo, "HEAD")
    git(repo, "reset", "-q", "--hard", line[-1])
    reference = better.model_copy(update={"commit": line[0]})
    head = measure(repo, line[-1])
    f = bisect_drop(Workspace.local(repo, "main"), parse_config(None), DATA,
                    release_of(line[0]), [], reference, head, {SUITE}, io.StringIO())
    b = f.bisection
    assert (b.state, b.culprit, b.culprit_is_release) == ("found", line[0], True)
    assert b.probes[0].commit == line[0] and b.probes[0].verdict == "worse"
    assert b.probes[0].results is None  # never stored over the reference


def test_a_release_commit_off_the_line_is_reported_not_bisected(tmp_path: Path) -> None:
    repo, line = make_repo(tmp_path, 2, {2: 0.60})
    git(repo, "checkout", "-q", "-b", "side", line[0])
    (repo / "notes.txt").write_text("side\n")
    git(repo, "commit", "-q", "-am", "side")
    side = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    reference = measure(repo, side)
    f = bisect_drop(Workspace.local(repo, "main"), parse_config(None), DATA, release_of(side),
                    [], reference, measure(repo, line[-1]), {SUITE}, io.StringIO())
    assert f.bisection.state == "not_on_line" and "not on the first-parent line" in \
        f.bisection.reason
    assert f.bisection.runs == 0


def test_measurements_on_the_data_branch_cost_no_task_run(tmp_path: Path) -> None:
    repo, line = make_repo(tmp_path, 4, {3: 0.60})
    reference, head = measure(repo, line[0]), measure(repo, line[-1])
    ws = Workspace.local(repo, "main")
    store = DataStore(ws.git, "improve-data", None)
    store.write({results_path(c): json.loads(measure(repo, c).model_dump_json())
                 for c in line[1:4]}, "earlier measurements")
    f = bisect_drop(ws, parse_config(None), DATA, release_of(line[0]), [], reference, head,
                    {SUITE}, io.StringIO())
    b = f.bisection
    assert (b.state, b.culprit) == ("found", line[3])
    assert b.runs == 0 and f.results == {} and all(p.reused for p in b.probes)
