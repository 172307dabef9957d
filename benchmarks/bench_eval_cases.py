"""An evaluation of real size, timed as whole `improve evaluate` processes: 23,700 labelled
texts in a gzipped JSON Lines file, scored in batch mode (one process gets every case) and,
for comparison, one process per case.

One process per case for all 23,700 cases takes minutes, so by default it runs on a subset
(--subset cases) and is extrapolated: the fixed cost of an evaluation (an evaluate of one
case) plus the subset's cost per case times the full count. --full-per-case runs it whole.

- batch_s: evaluate of all cases in batch mode (the whole process: git worktree, reading and
  decompressing the cases, the task's one process, scoring, the results file).
- per_case_ms: what one more case costs one process per case (from the subset).
- per_case_full_s: the per-process evaluation of all cases (extrapolated unless
  --full-per-case; ``per_case_measured`` says which).
- speedup: per_case_full_s / batch_s.
- batch_marginal_s: batch_s less the fixed cost of an evaluation (one_case_s: starting the bot,
  the worktree, the results), what the cases themselves cost in batch mode;
  speedup_marginal the same ratio on the marginal costs of both modes. batch_s and one_case_s
  are medians of --rounds evaluations, interleaved.
- read_ms: read_cases of the archive in this process (decompressing and parsing).

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout under test
sys.path.insert(0, str(ROOT))

from bot.core.cases import read_cases  # noqa: E402 - after the checkout is on the path

WORDS = ["the", "film", "plot", "acting", "was", "quite", "really", "score", "scenes", "cast",
         "story", "ending", "director", "camera", "music", "pace", "dialogue", "characters"]
POSITIVE, NEGATIVE = ["good", "great", "moving", "superb"], ["bad", "dull", "awful", "weak"]

# the task's classifier, in both shapes: it reads a case's text and answers a label
CLASSIFY = ("POS = {'good', 'great', 'moving', 'superb'}\n"
            "def label(text):\n"
            "    return 'pos' if POS & set(text.split()) else 'neg'\n")
BATCH = CLASSIFY + (
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    case = json.loads(line)\n"
    "    out = {'id': case['id'], 'output': {'label': label(case['input']['text'])}}\n"
    "    sys.stdout.write(json.dumps(out) + '\\n')\n")
ONE = CLASSIFY + (
    "import json, sys\n"
    "print(json.dumps({'label': label(json.load(sys.stdin)['text'])}))\n")


def texts(n: int) -> bytes:
    """n labelled reviews of 40 to 80 words (about the size of a short review)."""
    rng = random.Random(23700)
    lines = []
    for i in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.choices(WORDS, k=rng.randint(40, 80))
        words.insert(rng.randrange(len(words)), rng.choice(POSITIVE if label == "pos"
                                                           else NEGATIVE))
        lines.append(json.dumps({"id": f"r{i:05d}", "text": " ".join(words), "label": label}))
    return ("\n".join(lines) + "\n").encode()


def suite(sid: str, cases: str, batch: bool) -> dict:
    task = {"id": "clf", "cases": cases, "batch": batch,
            "run": ["python", "batch.py" if batch else "one.py"],
            "scorer": {"exact": {"field": "label"}}}
    return {"id": sid, "repeat": 1, "timeout": 7200, "metrics": [{"name": "accuracy"}],
            "tasks": [task]}


def make_repo(root: Path, n: int, subset: int) -> bytes:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    (root / "benchmarks").mkdir()
    (root / "data").mkdir()
    full = texts(n)
    archive = gzip.compress(full)
    (root / "data/all.jsonl.gz").write_bytes(archive)
    first = full.splitlines(keepends=True)
    (root / "data/subset.jsonl.gz").write_bytes(gzip.compress(b"".join(first[:subset])))
    (root / "data/one.jsonl.gz").write_bytes(gzip.compress(first[0]))
    (root / "batch.py").write_text(BATCH)
    (root / "one.py").write_text(ONE)
    suites = {"batch": suite("batch", "data/all.jsonl.gz", True),
              "subset": suite("subset", "data/subset.jsonl.gz", False),
              "one": suite("one", "data/one.jsonl.gz", False),
              "per-case": suite("per-case", "data/all.jsonl.gz", False)}
    for name, doc in suites.items():
        (root / "benchmarks" / f"{name}.yaml").write_text(json.dumps(doc))
    git("add", "-A")
    git("-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench")
    return archive


def timed_evaluate(root: Path, suite_id: str) -> tuple[float, float]:
    """Seconds of a whole `improve evaluate` of one suite, and the accuracy it measured."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = root / f"{suite_id}.json"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "evaluate", "--suite", suite_id, "--jobs", "1",
                    "-o", str(out)], cwd=root, check=True, capture_output=True, env=env)
    took = time.perf_counter() - t0
    sample = json.loads(out.read_text())["suites"][0]["tasks"][0]["samples"][0]
    return took, sample["metrics"]["accuracy"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=23_700)
    ap.add_argument("--subset", type=int, default=500,
                    help="cases run one process each, to extrapolate from")
    ap.add_argument("--full-per-case", action="store_true",
                    help="run one process per case on all cases instead of extrapolating")
    ap.add_argument("--rounds", type=int, default=3,
                    help="evaluations of the batch and of one case (medians)")
    ap.add_argument("--smoke", action="store_true", help="smallest size: 300 cases, subset 20")
    a = ap.parse_args()
    if a.smoke:
        a.cases, a.subset, a.full_per_case, a.rounds = 300, 20, False, 1
    with tempfile.TemporaryDirectory(prefix="improve-bench-") as tmp:
        root = Path(tmp)
        archive = make_repo(root, a.cases, a.subset)
        t0 = time.perf_counter()
        assert len(read_cases(archive, "all.jsonl.gz")) == a.cases
        read_ms = 1000 * (time.perf_counter() - t0)
        # the fixed cost and the batch, interleaved, medians: on a busy machine the bot's
        # start-up alone varies by seconds
        batches, ones = [], []
        for _ in range(a.rounds):
            batches.append(timed_evaluate(root, "batch"))
            ones.append(timed_evaluate(root, "one")[0])
        batch_s, batch_acc = statistics.median(t for t, _ in batches), batches[0][1]
        one_s = statistics.median(ones)
        subset_s, subset_acc = timed_evaluate(root, "subset")
        per_case = (subset_s - one_s) / max(a.subset - 1, 1)
        full_s = one_s + per_case * (a.cases - 1)
        if a.full_per_case:
            full_s, full_acc = timed_evaluate(root, "per-case")
            assert full_acc == batch_acc, (full_acc, batch_acc)
    # the classifier is right on every case, in either mode: both did score every case
    assert batch_acc == subset_acc == 1.0, (batch_acc, subset_acc)
    print(json.dumps({
        "cases": a.cases,
        "archive_kb": round(len(archive) / 1024, 1),
        "read_ms": round(read_ms, 1),
        "batch_s": round(batch_s, 3),
        "batch_cases_per_s": round(a.cases / batch_s),
        "one_case_s": round(one_s, 3),
        "per_case_ms": round(1000 * per_case, 2),
        "per_case_full_s": round(full_s, 1),
        "per_case_measured": a.full_per_case,
        "speedup": round(full_s / batch_s, 1),
        "batch_marginal_s": round(batch_s - one_s, 3),
        # None when the batch's own cost drowns in the noise of the fixed cost
        "speedup_marginal": (round((full_s - one_s) / (batch_s - one_s), 1)
                             if batch_s > one_s else None),
    }))


if __name__ == "__main__":
    main()
