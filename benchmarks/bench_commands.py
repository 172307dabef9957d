"""API calls per comment-command event, and the parser's cost on a 64 KB comment.

The calls are counted from the pure decision (bot.core.policy.decide_comment) under the flow the
COMMANDS stage follows, so the figure moves when the policy asks for more or fewer writes:

  reads  GET /pulls/{n} (head SHA), GET /collaborators/{u}/permission, GET /issues/{n}/comments
         (the bot's state comment); the configuration comes from the default-branch checkout
  writes the eyes reaction, each result reaction, the reply, the state comment, the status,
         the re-run of the test workflow, the merge

A comment with no command costs nothing (the workflow's `if:` and the parser stop it first).
Prints one JSON object of metrics on its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.commands import parse_commands  # noqa: E402
from bot.core.config import ApprovalConfig  # noqa: E402
from bot.core.policy import (  # noqa: E402
    CommandContext,
    PrState,
    decide_comment,
    record_verdict,
)

READS = 3
HEAD = "a" * 40
NOW = datetime(2026, 11, 21, tzinfo=UTC)


def calls(body: str, permission: str = "write", actor: str = "bob",
          state: PrState | None = None) -> tuple[int, PrState]:
    commands = parse_commands(body)
    if not commands:
        return 0, state or PrState()
    base = state or record_verdict(PrState(), HEAD, "accept", "person")
    ctx = CommandContext(comment_id=7, actor=actor, permission=permission, pr_author="alice",
                         pr_status="open", head_sha=HEAD, now=NOW)
    d = decide_comment(commands, ctx, base, ApprovalConfig())
    if not d.outcomes:  # a redelivery: the state comment shows it was handled
        return READS, d.state
    writes = 1 + len(d.reactions) + (d.reply is not None) + d.state_changed
    writes += (d.gate is not None) + d.retest + (d.merge_sha is not None)
    return READS + writes, d.state


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    scenarios = {
        "approve": calls("/approve")[0],
        "approve_refused_reader": calls("/approve", permission="read")[0],
        "approve_refused_author": calls("/approve", actor="alice")[0],
        "hold": calls("/hold data is late")[0],
        "retest": calls("/retest")[0],
        "help": calls("/help", permission="none")[0],
        "quoted": calls("> /approve")[0],
        "redelivered": calls("/approve", state=calls("/approve")[1])[0],
    }
    body = "\n".join(f"> /approve {i}\n```\n/hold\n```\nplease /retest" for i in range(2000))
    body = body[:65536]
    times = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        parse_commands(body)
        times.append((time.perf_counter() - start) * 1000)
    metrics = {f"calls_{k}": v for k, v in scenarios.items()}
    metrics["calls_max"] = max(scenarios.values())
    metrics["parse_64kb_ms"] = round(statistics.median(times), 3)
    print(json.dumps(metrics, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
