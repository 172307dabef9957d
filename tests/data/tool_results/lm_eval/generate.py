"""Runs the lm-evaluation-harness task sums.yaml with a rule-based model (no network, no
weights) and writes its results as ``lm_eval --output_path DIR --log_samples`` does, through
the harness's own EvaluationTracker: ``python generate.py OUT_DIR [--worse]``. Run by
../regenerate.sh from the repository's root. --worse multiplies when the first number is 5 or
more."""

import re
import sys
from pathlib import Path

from lm_eval import simple_evaluate
from lm_eval.api.model import LM
from lm_eval.loggers import EvaluationTracker
from lm_eval.tasks import TaskManager


class Rules(LM):
    def __init__(self, worse: bool) -> None:
        super().__init__()
        self.worse = worse

    def generate_until(self, requests):  # type: ignore[no-untyped-def]
        out = []
        for req in requests:
            a, b = map(int, re.findall(r"\d+", req.args[0])[-2:])
            out.append(str(a * b if self.worse and a >= 5 else a + b))
        return out

    def loglikelihood(self, requests):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def loglikelihood_rolling(self, requests):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def main() -> None:
    out, worse = sys.argv[1], "--worse" in sys.argv
    manager = TaskManager(include_path=str(Path(__file__).parent))
    results = simple_evaluate(model=Rules(worse), tasks=["sums"], task_manager=manager,
                              log_samples=True)
    samples = results.pop("samples")
    tracker = EvaluationTracker(output_path=out)
    tracker.save_results_aggregated(results=results, samples=samples)
    for name in results["configs"]:
        tracker.save_results_samples(task_name=name, samples=samples[name])


if __name__ == "__main__":
    main()
