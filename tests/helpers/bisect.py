"""A real git repository for bisections: a benchmark suite of cheap synthetic tasks (each prints a
score read from ``quality.txt``), a release commit, then commits that each touch a file; the
quality changes where the caller says. Shared by tests/test_bisect_local.py and
benchmarks/bench_bisect.py."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.progress import PlainProgress
from bot.core.records import ReleaseRecord
from bot.core.results import Results
from bot.stages.evaluate import EvaluateRequest, evaluate

TASKS = 4
SUITE = "synthetic"
SUITE_YAML = f"""\
id: {SUITE}
targets: ["quality.txt", "score.py"]
repeat: 1
timeout: 60
metrics:
  - {{name: score, direction: higher}}
tasks:
""" + "".join(f"  - {{id: t{i}, run: python score.py {i}}}\n" for i in range(TASKS))
SCORE_PY = """\
import json, sys
from pathlib import Path
q = float(Path("quality.txt").read_text())
print(json.dumps({"score": q - 0.01 * int(sys.argv[1])}))
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(root: Path, n: int, quality: Mapping[int, float]) -> tuple[Path, list[str]]:
    """The release commit (quality 0.90) then ``n`` commits; commit i (1-based) sets the
    quality to ``quality[i]`` when given. Returns the repository and the line of commits."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "bench")
    git(repo, "config", "user.email", "bench@example.com")
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / f"{SUITE}.yaml").write_text(SUITE_YAML)
    (repo / "score.py").write_text(SCORE_PY)
    (repo / "quality.txt").write_text("0.90\n")
    (repo / "notes.txt").write_text("0\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1.3.1")
    line = [git(repo, "rev-parse", "HEAD")]
    for i in range(1, n + 1):
        if i in quality:
            (repo / "quality.txt").write_text(f"{quality[i]:.2f}\n")
        (repo / "notes.txt").write_text(f"{i}\n")
        git(repo, "commit", "-q", "-am", f"change {i}")
        line.append(git(repo, "rev-parse", "HEAD"))
    return repo, line


def measure(repo: Path, sha: str) -> Results:
    return evaluate(EvaluateRequest(repo=repo, ref=sha, suites=[SUITE]),
                    PlainProgress(io.StringIO()))


def release_of(commit: str) -> ReleaseRecord:
    now = datetime.now(UTC)
    return ReleaseRecord.model_validate({
        "version": "1.3.1", "tag": "v1.3.1", "date": now.date().isoformat(),
        "released_at": now, "pr": 1, "merge_sha": commit, "merged_at": now,
        "monitor": {"window_days": 7, "until": now + timedelta(days=7)},
        "release_commit": commit, "results": f"results/{commit}.json"})
