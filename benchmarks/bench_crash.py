"""Benchmark of crash and retry safety: the demo's story replayed on the sandbox with every
``improve`` step as its own process (tests/helpers/crash_harness.py), under faults, and the
whole state compared with a fault-free run's after every step. Prints what it found, then one
JSON object of metrics on its last line.

    python benchmarks/bench_crash.py sweep --parts 4 --max-k 8 --before 3 --random 2 --lost 5
    python benchmarks/bench_crash.py calls --bot-root /path/to/a/checkout/of/an/older/main

``sweep``: a fault-free pass; then one pass per kill point k (1..max-k): every step is SIGKILLed
at its k-th write (REST write or git push) after it took effect, then re-run as GitHub's
"re-run job" does (same run id, next attempt, a fresh checkout); ``--before`` passes kill before
the k-th write instead; ``--random`` passes kill each step at a seeded random moment; a pass
where every ``--lost``-th write takes effect and answers 502; a pass where every step is run a
second time with the same run id and attempt. A kill point is a step whose kill fired:
converged (state equal to the fault-free run's after that step), broken (different), doubled
(something made twice: comments of one kind, pull requests, issues, tags, records).

``calls``: API calls per event kind over the fault-free story, for this checkout and for the
bot at ``--bot-root`` (another checkout, e.g. main before the change): what the safety costs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from tests.helpers import crash_harness as ch  # noqa: E402


def _pass(root: Path, plan: ch.Plan | None, baseline: list[dict[str, Any]] | None,
          parts: int, bot_root: Path = ch.ROOT) -> tuple[ch.Stand, str | None, float]:
    t0 = time.monotonic()
    stand, failure = ch.play(root, plan, baseline, steps=parts, bot_root=bot_root)
    return stand, failure, time.monotonic() - t0


def _parts(text: str | None) -> set[int] | None:
    """``2-4`` or ``3`` or ``1,3``: the story parts to fault; None (all) without it."""
    if not text:
        return None
    out: set[int] = set()
    for piece in text.split(","):
        low, _, high = piece.partition("-")
        out.update(range(int(low), int(high or low) + 1))
    return out


def sweep(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    base, failure, secs = _pass(tmp / "base", None, None, args.parts)
    if failure:
        raise SystemExit(f"the fault-free story broke: {failure}")
    fingerprints, writes = base.fingerprints, base.api_writes
    base.stop()
    print(f"fault-free: {len(fingerprints)} steps, {sum(n for *_, n in writes)} writes, "
          f"{secs:.0f}s", flush=True)
    parts = _parts(args.fault_parts)
    plans: list[tuple[str, ch.Plan]] = []
    for k in range(args.min_k, args.max_k + 1):
        plans.append((f"kill after write {k}", ch.Plan(kill_at=k, parts=parts)))
    for k in range(1, args.before + 1):
        plans.append((f"kill before write {k}",
                      ch.Plan(kill_at=k, kill_before=True, parts=parts)))
    for r in range(args.random):
        plans.append((f"kill at random #{r + 1}",
                      ch.Plan(kill_random=True, seed=args.seed + r, parts=parts)))
    if args.lost:
        plans.append((f"every {args.lost}th write lost after effect",
                      ch.Plan(lost_every=args.lost, parts=parts)))
    if args.rerun:
        plans.append(("re-run, same run id and attempt", ch.Plan(rerun=True, parts=parts)))
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    problems: list[str] = []
    totals: Counter[str] = Counter()
    for i, (name, plan) in enumerate(plans):
        stand, failure, secs = _pass(tmp / f"p{i}", plan, fingerprints, args.parts)
        outcomes = stand.outcomes
        kind = name.split(" #")[0].split(" write")[0] if name.startswith("kill") else name
        for o in outcomes:
            tried = o.killed if name.startswith("kill") else True
            if not tried:
                continue
            verdict = "converged" if o.converged else ("doubled" if o.is_doubled else "broken")
            kinds[kind][verdict] += 1
            kinds[kind]["tried"] += 1
            if name.startswith("kill"):
                totals["kill_points"] += 1
                totals[verdict] += 1
            if not o.converged:
                problems.append(f"{name}: step {o.step} ({o.argv}): {verdict}: "
                                f"{'; '.join(o.diff)[:400]}")
                if args.verbose:
                    print(f"  step {o.step} ({o.argv}, {o.fault}, {o.attempts} attempts): "
                          f"{verdict}:\n    " + "\n    ".join(o.diff), flush=True)
        if failure:
            kinds[kind]["story_broke"] += 1
            problems.append(f"{name}: the story broke: {failure}")
            totals["story_broke"] += 1
        print(f"{name}: {sum(1 for o in outcomes if o.killed)} killed, "
              f"{sum(1 for o in outcomes if not o.converged)} diverged, {secs:.0f}s"
              + (f", story broke: {failure}" if failure else ""), flush=True)
        stand.stop()
    for p in problems:
        print("  " + p)
    print("by fault kind:")
    for kind, c in kinds.items():
        print(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    return {"kill_points": totals["kill_points"], "converged": totals["converged"],
            "broken": totals["broken"], "doubled": totals["doubled"],
            "story_broke": totals["story_broke"], "steps": len(fingerprints),
            "by_kind": {k: dict(c) for k, c in kinds.items()}}


def _sample_of(root: Path) -> Any:
    """The demo's sample repository and proposals as the checkout at ``root`` has them (its
    configuration keys are the ones that bot reads)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_other_sample", root / "bot/demo/sample.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    def tree(name: str) -> dict[str, str]:
        files = mod._walk(root / "bot/demo" / name)
        return {(".github/" + p[len("github/"):] if p.startswith("github/") else p): t
                for p, t in files.items()}

    mod._tree = tree
    return mod


def calls(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-crash-calls-"))
    out: dict[str, Any] = {}
    for label, root in (("this", None), ("other", args.bot_root)):
        if (label == "other" and root is None) or args.which not in ("both", label):
            continue
        bot_root = Path(root).resolve() if root is not None else ch.ROOT
        kept = ch.sample
        if root is not None:
            ch.sample = _sample_of(bot_root)  # the repository that bot's configuration knows
        try:
            stand, failure, secs = _pass(tmp / label, None, None, args.parts, bot_root)
        finally:
            ch.sample = kept
        per: Counter[str] = Counter()
        steps: Counter[str] = Counter()
        for kind, _, n in stand.api_calls:
            per[kind] += n
            steps[kind] += 1
        stand.stop()
        out[label] = {k: {"steps": steps[k], "api_calls": per[k]} for k in sorted(per)}
        print(f"{label} ({root or HERE}): {secs:.0f}s" + (f", broke: {failure}" if failure else ""))
        for k in sorted(per):
            print(f"  {k}: {steps[k]} steps, {per[k]} API calls")
    if "other" in out and "this" in out:
        print("extra API calls (this - other), per event kind:")
        for k in sorted(out["this"]):
            a = out["this"][k]["api_calls"]
            b = out["other"].get(k, {}).get("api_calls", 0)
            print(f"  {k}: {a - b:+d} ({b} -> {a})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("--parts", type=int, default=4, help="story parts to play (1-4)")
    s.add_argument("--min-k", type=int, default=1)
    s.add_argument("--max-k", type=int, default=8)
    s.add_argument("--before", type=int, default=3)
    s.add_argument("--random", type=int, default=2)
    s.add_argument("--lost", type=int, default=5)
    s.add_argument("--verbose", action="store_true",
                   help="print each diverging step's whole difference as its pass ends")
    s.add_argument("--no-rerun", dest="rerun", action="store_false",
                   help="skip the pass re-running every step with the same run id and attempt")
    s.add_argument("--seed", type=int, default=15)
    s.add_argument("--fault-parts", default=None,
                   help="only fault the steps of these parts, e.g. 2-4 or 3 (all by default)")
    s.add_argument("--smoke", action="store_true",
                   help="smallest size: part 1, one kill after its first write, no other fault")
    c = sub.add_parser("calls")
    c.add_argument("--parts", type=int, default=4)
    c.add_argument("--bot-root", default=None)
    c.add_argument("--smoke", action="store_true", help="smallest size: part 1")
    c.add_argument("--which", choices=("both", "this", "other"), default="both",
                   help="play the story with this checkout's bot, the other's, or both")
    args = parser.parse_args()
    if args.smoke:
        args.parts = 1
        if args.cmd == "sweep":
            args.max_k, args.before, args.random, args.lost, args.rerun = 1, 0, 0, 0, False
    result = sweep(args) if args.cmd == "sweep" else calls(args)
    print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
