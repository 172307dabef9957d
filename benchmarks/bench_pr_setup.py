"""What the test workflow's options cost, through the shipped workflow files on the stand-in
(tests/helpers/pr_story.py: the sample repository with a regression suite that imports a
package only ``setup:`` installs): seconds of each job's steps, and the REST calls each job made
(the sandbox's request log; jobs run one at a time, so every call logged while a job ran is its).

``--mode setup``: a pull request without ``setup:`` (the suite then fails), then with
``setup:`` and ``setup.cache``: its first run (``cold_``: nothing cached, the environment is
made) and a second push with the same lock file (``cold_warm_``: actions/cache restores it, no
command runs); ``none_warm_`` is the second push without setup, to compare with.
``--mode shards``: the same pull request with ``test.shards`` 1 and 3 (on GitHub the matrix's
jobs run side by side: the wall time is the slowest shard's, the runner time their sum).

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox import Sandbox  # noqa: E402
from bot.sandbox.actions_runner import JobRecord  # noqa: E402
from tests.helpers.pr_story import (  # noqa: E402
    INSTALL,
    PrStory,
    bot_out,
    evaluation_jobs,
    proposer_env,
)

SETUP = {"run": [INSTALL], "cache": ["requirements.txt"]}


def job_s(job: JobRecord) -> float:
    return sum(s.seconds for s in job.steps)


def figures(prefix: str, jobs: list[JobRecord]) -> dict[str, float]:
    tests = evaluation_jobs(jobs)
    report = [j for j in jobs if j.workflow == "improve-report"]
    out = {f"{prefix}_test_s_max": max(job_s(j) for j in tests),
           f"{prefix}_test_s_sum": sum(job_s(j) for j in tests),
           f"{prefix}_calls_test": sum(j.api_calls for j in tests),
           f"{prefix}_calls_report": sum(j.api_calls for j in report),
           f"{prefix}_report_s": sum(job_s(j) for j in report)}
    made = [float(m) for j in tests for m in re.findall(r"command\(s\) in ([0-9.]+) s",
                                                        bot_out(j))]
    if made:
        out[f"{prefix}_setup_s"] = sum(made)
    return {k: round(v, 2) for k, v in out.items()}


def story(root: Path, name: str, setup: dict | None, shards: int = 1,
          push: bool = False) -> dict[str, float]:
    with Sandbox.start() as sb:
        os.environ.update(proposer_env(sb))
        pr = PrStory(sb, root / name, setup, shards)
        try:
            out = figures(name, pr.propose())
            if push:
                out.update(figures(f"{name}_warm", pr.push()))
        finally:
            pr.close()
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["setup", "shards"], default="setup")
    p.add_argument("--smoke", action="store_true",
                   help="smallest size: one pull request with setup, its first run only")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench-pr-setup-"))
    # the setup environments go to this run's own cache folder, never the user's
    os.environ["XDG_CACHE_HOME"] = str(root / "xdg-cache")
    out: dict[str, float] = {}
    if args.smoke:
        out.update(story(root, "cold", SETUP))
    elif args.mode == "setup":
        # each pull request pushed twice: a runner's first job also pays for starting the
        # bot's processes, so first runs compare with first runs, second with second
        out.update(story(root, "none", None, push=True))
        out.update(story(root, "cold", SETUP, push=True))
    else:
        out.update(story(root, "shards1", None, 1))
        out.update(story(root, "shards3", None, 3))
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
