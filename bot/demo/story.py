"""The demo's story, step by step, played through ``improve propose`` and ``improve handle`` on
the sandbox, and what each step showed (for the transcript and the HTML page).

1. an auto-tier ``constant_tune`` is accepted, merged by the bot and released as a patch;
2. a riskier change is compared and waits; ``/approve`` from a read-only user is refused; a
   maintainer approves; the bot merges it and it is released as a minor;
3. a tune that regresses is rejected, the failing metric named in its comment;
4. the German tickets drift; the monitor warns, then opens the revert pull request; a
   maintainer approves it; it is merged and released as a rollback."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.embed import extract
from bot.core.render import find_marker
from bot.demo import sample
from bot.demo.engine import Run, World
from bot.errors import ImproveError

MAX_MONITOR_RUNS = 4
# the data refresh pushed before a monitor run: a little drift warns after two runs in a row
# (monitor.warn_runs); a lot is past the rollback threshold with confidence
DRIFT_BEFORE_RUN = {1: "week1", 3: "week2"}


class DemoError(ImproveError):
    """A step did not end as the story says: the bot under the demo misbehaved (exit 1)."""

    exit_code = 1


@dataclass
class Line:
    what: str  # proposed, compared, commented, merged, released, ...
    text: str


@dataclass
class Step:
    number: int
    title: str
    prs: list[int] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def say(self, what: str, text: str) -> None:
        self.lines.append(Line(what, text))


def _expect(ok: bool, step: Step, what: str, run: Run | None = None) -> None:
    if not ok:
        tail = f"\n{run.out[-2000:]}{run.err[-2000:]}" if run is not None else ""
        raise DemoError(f"step {step.number} ({step.title}): {what}{tail}")


def _comparison(world: World, number: int) -> dict[str, Any] | None:
    for c in world.state()["comments"]:
        if c["issue_number"] == number and find_marker(c["body"]) == "compare":
            data = extract(c["body"], "comparison")
            return data if isinstance(data, dict) else None
    return None


def verdict_text(data: dict[str, Any] | None) -> str:
    """``accept: accuracy 0.863 -> 0.963 (+0.100 [+0.067, +0.133])`` from the comparison."""
    if data is None:
        return "no comparison"
    parts = []
    for suite in data.get("suites", []):
        for m in suite.get("metrics", []):
            if m.get("base") is None or m.get("cand") is None:
                continue
            ci = m.get("ci") or {}
            interval = (f" [{ci['low']:+.3f}, {ci['high']:+.3f}]"
                        if ci.get("low") is not None else "")
            parts.append(f"{suite['id']} {m['name']} {m['base']:.3f} -> {m['cand']:.3f} "
                         f"({m['delta']:+.3f}{interval})")
    return f"{data.get('decision', '?')}: " + ("; ".join(parts) or "no metric")


def _gate_text(world: World, sha: str) -> str:
    gate = world.gate(sha)
    return f"improve/gate {gate[0]} ({gate[1]})" if gate else "no improve/gate status"


def _tags(world: World) -> set[str]:
    return set(world.state()["tags"])


def _released(world: World, step: Step, before_tags: set[str], bump: str, run: Run) -> str:
    new = sorted(_tags(world) - before_tags)
    _expect(len(new) == 1, step, f"expected one new tag after the release, got {new}", run)
    step.say("released", f"{new[0]} ({bump}), with its CHANGELOG.md entry and tag")
    return new[0]


def _propose(world: World, step: Step, text: str, name: str) -> dict[str, Any]:
    run = world.propose(text, name)
    _expect(run.code == 0, step, "improve propose failed", run)
    pid = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("id: "))
    pr = world.pull_by_head(f"improve/{pid}")
    step.prs.append(pr["number"])
    step.say("proposed", f"PR #{pr['number']} \"{pr['title']}\" by {sample.AUTHOR}, "
                         f"branch improve/{pid}")
    return pr


def _evaluate(world: World, step: Step, pr: dict[str, Any]) -> Run:
    run = world.pull_request_opened(pr["number"])
    step.say("compared", verdict_text(_comparison(world, pr["number"])))
    step.say("gate", _gate_text(world, pr["head_sha"]))
    return run


def step_auto(world: World) -> Step:
    step = Step(1, "a low-risk constant tune rides the auto tier")
    pr = _propose(world, step, sample.TUNE, "tune")
    before, tags = world.main_sha(), _tags(world)
    run = _evaluate(world, step, pr)
    _expect(run.code == 0 and world.pull(pr["number"])["merged"], step,
            "the accepted auto-tier proposal was not merged", run)
    step.say("merged", f"PR #{pr['number']} by the bot (approval.automerge, auto tier)")
    run = world.push_main(before)
    _expect(run.code == 0, step, "the release failed", run)
    _released(world, step, tags, "patch", run)
    return step


def _command(world: World, step: Step, number: int, login: str, body: str) -> Run:
    comment = world.comment(login, number, body)
    run = world.comment_event(number, comment)
    _expect(run.code == 0, step, f"handling {login}'s {body!r} failed", run)
    return run


def _reply_to(world: World, number: int, after: int) -> str:
    """The first line of the bot's newest reply on ``number`` after comment id ``after``."""
    for c in reversed(world.state()["comments"]):
        if c["issue_number"] == number and c["id"] > after and c["user"] != sample.MAINTAINER \
                and c["user"] != sample.READER:
            body = "\n".join(ln for ln in c["body"].splitlines()
                             if ln.strip() and not ln.startswith("<!--"))
            return _short(body.splitlines()[0].lstrip("- ")) if body else ""
    return ""


def _short(text: str, limit: int = 150) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _last_comment_id(world: World) -> int:
    return max((c["id"] for c in world.state()["comments"]), default=0)


def step_approval(world: World) -> Step:
    step = Step(2, "a riskier change waits for a maintainer's /approve")
    pr = _propose(world, step, sample.GERMAN, "german")
    number = pr["number"]
    before, tags = world.main_sha(), _tags(world)
    run = _evaluate(world, step, pr)
    _expect(run.code == 0 and not world.pull(number)["merged"], step,
            "the approval-tier proposal should wait for a person", run)
    mark = _last_comment_id(world)
    _command(world, step, number, sample.READER, "/approve")
    step.say("refused", f"/approve from {sample.READER} (read permission): "
                        f"{_reply_to(world, number, mark)}")
    _expect(not world.pull(number)["merged"], step, "a read-only user's /approve merged")
    _command(world, step, number, sample.MAINTAINER, "/approve")
    step.say("approved", f"/approve from {sample.MAINTAINER} (maintain): "
                         f"{_gate_text(world, pr['head_sha'])}")
    _expect(world.pull(number)["merged"], step, "the approved proposal was not merged")
    step.say("merged", f"PR #{number} by the bot, with the approved head SHA")
    run = world.push_main(before)
    _expect(run.code == 0, step, "the release failed", run)
    _released(world, step, tags, "minor", run)
    return step


def step_reject(world: World) -> Step:
    step = Step(3, "a tune that regresses is rejected")
    pr = _propose(world, step, sample.LOWER, "lower")
    run = _evaluate(world, step, pr)
    data = _comparison(world, pr["number"])
    _expect(run.code == 1 and data is not None and data["decision"] == "reject", step,
            "the regressing proposal was not rejected", run)
    _expect(not world.pull(pr["number"])["merged"], step, "a rejected proposal was merged")
    step.say("waits", f"PR #{pr['number']} stays open and unmergeable; its comment says why")
    return step


def _revert_pr(world: World) -> dict[str, Any] | None:
    return next((p for p in world.state()["pulls"] if "rollback" in p["labels"]), None)


def step_rollback(world: World) -> Step:
    step = Step(4, "the data drifts; the monitor warns, then rolls back")
    revert = None
    for i in range(1, MAX_MONITOR_RUNS + 1):
        if i in DRIFT_BEFORE_RUN:
            _refresh(world, step, DRIFT_BEFORE_RUN[i])
        mark = _last_comment_id(world)
        run = world.schedule()
        _expect(run.code == 0, step, "the scheduled monitor run failed", run)
        revert = _revert_pr(world)
        found = _monitor_comment(world, mark)
        step.say("monitor", f"run {i}: " + (f"opened the revert PR #{revert['number']}"
                                            if revert else found or "no change"))
        if revert is not None:
            break
    _expect(revert is not None, step, f"no revert PR after {MAX_MONITOR_RUNS} monitor runs", run)
    assert revert is not None
    number = revert["number"]
    step.prs.append(number)
    before, tags = world.main_sha(), _tags(world)
    step.say("proposed", f"PR #{number} \"{revert['title']}\" by the bot, label rollback")
    run = world.pull_request_opened(number)
    # exit 1 is the gate saying "not without a person", not a failure of the step
    _expect(run.code in (0, 1), step, "the revert PR's evaluation failed", run)
    step.say("compared", verdict_text(_comparison(world, number)))
    step.say("gate", _gate_text(world, revert["head_sha"]))
    if not world.pull(number)["merged"]:
        _command(world, step, number, sample.MAINTAINER, "/approve")
        step.say("approved", f"/approve from {sample.MAINTAINER}: "
                             f"{_gate_text(world, revert['head_sha'])}")
    _expect(world.pull(number)["merged"], step, "the approved revert was not merged")
    step.say("merged", f"PR #{number} by the bot")
    run = world.push_main(before)
    _expect(run.code == 0, step, "the rollback release failed", run)
    _released(world, step, tags, "rollback, a patch", run)
    return step


def _refresh(world: World, step: Step, week: str) -> None:
    before = world.main_sha()
    sha = world.push_files(sample.drift_files(week), f"Refresh the German tickets ({week})",
                           sample.MAINTAINER)
    step.say("pushed", f"{sample.MAINTAINER} refreshes data/de-*.jsonl on main with {week}'s "
                       f"tickets ({sha[:7]})")
    run = world.push_main(before)
    _expect(run.code == 0, step, "the push to main failed", run)


def _monitor_comment(world: World, after: int) -> str:
    for c in world.state()["comments"]:
        if c["id"] > after and find_marker(c["body"]) not in (None, "dashboard"):
            lines = [ln for ln in c["body"].splitlines() if ln.strip() and "<!--" not in ln]
            return f"commented on #{c['issue_number']}: {_short(lines[0]) if lines else ''}"
    return ""


STEPS: list[Callable[[World], Step]] = [step_auto, step_approval, step_reject, step_rollback]


def play(world: World, on_step: Callable[[Step], None] | None = None) -> list[Step]:
    """Every step in order; ``on_step`` sees each as it ends (the transcript prints as it goes)."""
    done = []
    for fn in STEPS:
        step = fn(world)
        done.append(step)
        if on_step is not None:
            on_step(step)
    return done
