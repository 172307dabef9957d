"""What an event the bot ignores costs: ``improve handle`` on an ``issues.edited`` event (the
workflow delivers it, no stage handles it) against ``improve --version``, each as a whole new
process, as Actions starts it. The router imports only the stages that handle the event, so the
two should cost about the same; importing every stage (and scipy) made the ignored event about
8 times slower.

- version_ms: median wall time of ``python -m bot --version``;
- ignored_ms: median wall time of ``python -m bot handle`` on the ignored event;
- ignored_ratio: ignored_ms / version_ms;
- modules_ignored: modules loaded by the ignored event's process (a count that does not wobble).

Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout under test
sys.path.insert(0, str(ROOT))

from bot.sandbox.events import example  # noqa: E402


def issues_edited() -> dict[str, object]:
    """An ``issues.edited`` payload: GitHub's shape for it is the issue, the change, the
    repository and the sender, all of which the vendored ``issue_comment`` example carries."""
    base = example("issue_comment.created")
    return {"action": "edited", "issue": base["issue"],
            "changes": {"title": {"from": "an older title"}},
            "repository": base["repository"], "sender": base["sender"]}


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-400:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--smoke", action="store_true", help="smallest size: one repeat")
    args = ap.parse_args()
    if args.smoke:
        args.repeat = 1
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        event_path = work / "event.json"
        event_path.write_text(json.dumps(issues_edited()), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        env.update({"GITHUB_EVENT_NAME": "issues", "GITHUB_EVENT_PATH": str(event_path),
                    "GITHUB_REPOSITORY": "Codertocat/Hello-World", "GITHUB_WORKSPACE": tmp,
                    "PYTHONPATH": str(ROOT)})
        version = [sys.executable, "-m", "bot", "--version"]
        handle = [sys.executable, "-m", "bot", "handle"]
        count = [sys.executable, "-c",
                 "import sys, runpy; sys.argv = ['improve', 'handle']\n"
                 "try:\n    runpy.run_module('bot', run_name='__main__')\n"
                 "except SystemExit:\n    pass\n"
                 "print(len(sys.modules), file=sys.stderr)"]
        timed(handle, env, work)  # warm the file cache
        versions, ignored = [], []
        for _ in range(args.repeat):  # interleaved, so drift hits both alike
            versions.append(timed(version, env, work))
            ignored.append(timed(handle, env, work))
        proc = subprocess.run(count, env=env, cwd=work, capture_output=True, text=True,
                              check=False)
        modules = int(proc.stderr.strip().splitlines()[-1])
    v, i = statistics.median(versions), statistics.median(ignored)
    print(json.dumps({"version_ms": round(v, 1), "ignored_ms": round(i, 1),
                      "ignored_ratio": round(i / v, 2), "modules_ignored": modules}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
