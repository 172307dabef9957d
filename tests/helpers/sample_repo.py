"""A small real repository for end-to-end tests (and the demo): a rule-based classifier whose
threshold lives in a YAML file, a labelled JSONL dataset in three splits, and a benchmark suite
whose accuracy really moves with the threshold.

The data's true boundary is at 0.62: raising the threshold from 0.50 towards it improves
accuracy on every split, lowering it makes it worse. ``proposal(...)`` writes a proposal that
sets the threshold."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping

FULL_NAME = "acme/router"
THRESHOLD_PATH = "classifier/rules.yaml"
SUITE_ID = "classifier-accuracy"
BOUNDARY = 0.62
START = 0.50
SPLITS = "abcdefgh"  # one task each: enough paired tasks for a confident verdict

CLASSIFIER = '''\
"""Label each case positive when its score clears the configured threshold."""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def threshold() -> float:
    for line in (ROOT / "rules.yaml").read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "threshold":
            return float(value.split("#")[0])
    raise SystemExit("rules.yaml: no threshold")


def main() -> None:
    split = sys.argv[sys.argv.index("--split") + 1]
    t = threshold()
    right = total = 0
    for line in (ROOT.parent / "data" / f"{split}.jsonl").read_text().splitlines():
        case = json.loads(line)
        guess = "positive" if case["score"] >= t else "negative"
        right += guess == case["label"]
        total += 1
    print(json.dumps({"accuracy": right / total}))


main()
'''



def suite(suite_id: str, tasks: str) -> str:
    """A suite over the classifier and its data, scored on accuracy, with ``tasks`` (YAML list
    items under ``tasks:``)."""
    return f"""\
id: {suite_id}
targets: ["classifier/**", "data/**"]
repeat: 1
timeout: 60
metrics:
  - {{name: accuracy, direction: higher}}
tasks:
""" + tasks


SUITE = suite(SUITE_ID, "".join(
    f"  - {{id: split-{s}, run: python classifier/classify.py --split {s}}}\n" for s in SPLITS
))

CONFIG = """\
# improve's configuration for the sample repository
default_branch: main
compare:
  resamples: 2000
"""


def dataset(split: str, n: int = 30) -> str:
    """Cases with a score in [0, 1] labelled by the true boundary, with a little label noise."""
    rng = random.Random(f"sample-{split}")
    lines = []
    for i in range(n):
        score = round(rng.random(), 3)
        label = "positive" if score >= BOUNDARY else "negative"
        if rng.random() < 0.03:
            label = "negative" if label == "positive" else "positive"
        lines.append(json.dumps({"id": f"{split}-{i:03d}", "score": score, "label": label}))
    return "\n".join(lines) + "\n"


def files(threshold: float = START) -> dict[str, str | bytes]:
    return {
        "README.md": "# router\n\nA rule-based classifier.\n",
        ".github/improve.yml": CONFIG,
        THRESHOLD_PATH: f"# the classifier's rules\nthreshold: {threshold}  # tuned by hand\n",
        "classifier/classify.py": CLASSIFIER,
        **{f"data/{s}.jsonl": dataset(s) for s in SPLITS},
        f"benchmarks/{SUITE_ID}.yaml": SUITE,
    }


def proposal(
    pid: str,
    value: float,
    *,
    title: str | None = None,
    type: str = "constant_tune",  # noqa: A002
    risk: str = "low",
    extra: Mapping[str, str] | None = None,
) -> str:
    """A proposal that sets the classifier's threshold to ``value``."""
    lines = [
        f"id: {pid}",
        f"title: {title or f'Set the classifier threshold to {value}'}",
        f"type: {type}",
        f"risk: {risk}",
        "rationale: Most misclassified cases sit just under the current threshold.",
        "predicted_improvement: {metric: accuracy, delta: 0.05}",
        "author: tuner",
        "evidence: {failed_tasks: [split-a]}",
        "changes:",
        f"  - path: {THRESHOLD_PATH}",
        f"    set: {{key: threshold, value: {value}}}",
        "    rationale: move the boundary towards the data's",
    ]
    for key, val in (extra or {}).items():
        lines.append(f"{key}: {val}")
    return "\n".join(lines) + "\n"


def accuracy(threshold: float) -> float:
    """The classifier's accuracy over all the splits at ``threshold`` (for assertions)."""
    right = total = 0
    for split in SPLITS:
        for line in dataset(split).splitlines():
            case = json.loads(line)
            guess = "positive" if case["score"] >= threshold else "negative"
            right += guess == case["label"]
            total += 1
    return right / total
