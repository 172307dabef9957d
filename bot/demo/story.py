"""The demo's story: what people do (file a proposal, comment, push, the clock reaching the
schedule), and what the repository's workflows did because of it, read back from the sandbox.

1. an auto-tier ``constant_tune`` is accepted, merged by the bot and released as a patch;
2. a riskier change is compared and waits; ``/approve`` from a read-only user is refused; a
   maintainer approves; the bot merges it and it is released as a minor;
3. a tune that regresses is rejected, the failing metric named in its comment;
4. the German tickets drift; the monitor warns, then opens the revert pull request; a
   maintainer approves it; it is merged and released as a rollback.

With ``GITHUB_TOKEN`` only, the bot's merges start no release workflow and its revert pull
request starts no test: the scheduled run releases the merges, and the maintainer re-opens the
revert pull request (what the bot's warning on it asks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.core.embed import extract
from bot.core.render import find_marker
from bot.demo import sample
from bot.demo.engine import Run, World
from bot.errors import ImproveError
from bot.sandbox.actions_runner import JobRecord, dump_journal

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
    by: str = ""  # the workflow and job that did it ("improve-report/improve report"), or who


@dataclass
class Step:
    number: int
    title: str
    lines: list[Line] = field(default_factory=list)

    def say(self, what: str, text: str, by: str = "") -> None:
        self.lines.append(Line(what, text, by))


def _expect(ok: bool, step: Step, what: str, jobs: list[JobRecord] | None = None,
            run: Run | None = None) -> None:
    if not ok:
        tail = ""
        if run is not None:
            tail += f"\n{run.out[-2000:]}{run.err[-2000:]}"
        if jobs:
            tail += "\n" + dump_journal(jobs)
            for job in jobs:
                for s in job.bot_steps():
                    if s.conclusion == "failure":
                        tail += f"\n--- {job.workflow}/{job.job}: {s.message}\n" \
                                f"{s.out[-1500:]}{s.err[-2500:]}"
        raise DemoError(f"step {step.number} ({step.title}): {what}{tail}")


def _ran(jobs: list[JobRecord], workflow: str) -> list[JobRecord]:
    return [j for j in jobs if j.workflow == workflow and j.conclusion not in
            ("skipped", "cancelled")]


def _by(jobs: list[JobRecord], workflow: str) -> str:
    found = _ran(jobs, workflow)
    return f"{found[-1].workflow}/{found[-1].job}" if found else ""


def failed_jobs(jobs: list[JobRecord]) -> list[JobRecord]:
    """Jobs that failed for another reason than the bot's exit 1: that is the gate or check
    saying no (a red check on GitHub), not a failure of the bot."""
    return [j for j in jobs if j.conclusion == "failure"
            and any(s.conclusion == "failure" and s.code != 1 for s in j.steps)]


def _no_failed_job(step: Step, jobs: list[JobRecord], what: str) -> None:
    _expect(not failed_jobs(jobs), step, f"{what}: a workflow job failed", jobs)


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


def _released(world: World, step: Step, before_tags: set[str], bump: str,
              jobs: list[JobRecord]) -> str:
    """The merge's release: by the release workflow on the merge's push (App token), else by
    the next scheduled run (a merge made with GITHUB_TOKEN starts no workflow)."""
    by = _by(jobs, "improve-release")
    if _tags(world) == before_tags:
        _expect(world.app is None, step, "the merge started no release", jobs)
        jobs = world.schedule()
        _no_failed_job(step, jobs, "the scheduled run")
        by = _by(jobs, "improve-monitor")
        step.say("clock", "the schedule: the scheduled run releases the merge GITHUB_TOKEN made",
                 by)
    new = sorted(_tags(world) - before_tags)
    _expect(len(new) == 1, step, f"expected one new tag after the release, got {new}", jobs)
    step.say("released", f"{new[0]} ({bump}), with its CHANGELOG.md entry and tag", by)
    return new[0]


def _propose(world: World, step: Step, text: str, name: str) -> tuple[dict[str, Any],
                                                                      list[JobRecord]]:
    run, jobs = world.propose(text, name)
    _expect(run.code == 0, step, "improve propose failed", jobs, run)
    pid = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("id: "))
    pr = world.pull_by_head(f"improve/{pid}")
    step.say("proposed", f"PR #{pr['number']} \"{pr['title']}\", branch improve/{pid}",
             f"{sample.AUTHOR} (improve propose)")
    return pr, jobs


def _evaluated(world: World, step: Step, pr: dict[str, Any], jobs: list[JobRecord]) -> None:
    _expect(bool(_ran(jobs, "improve-test")) and bool(_ran(jobs, "improve-report")), step,
            f"PR #{pr['number']} was not tested and reported", jobs)
    step.say("tested", f"base and head of PR #{pr['number']} measured, results uploaded",
             _by(jobs, "improve-test"))
    step.say("compared", verdict_text(_comparison(world, pr["number"])),
             _by(jobs, "improve-report"))
    step.say("gate", _gate_text(world, pr["head_sha"]), _by(jobs, "improve-report"))


def step_auto(world: World) -> Step:
    step = Step(1, "a low-risk constant tune rides the auto tier")
    tags = _tags(world)
    pr, jobs = _propose(world, step, sample.TUNE, "tune")
    _no_failed_job(step, jobs, "the proposal's workflows")
    _evaluated(world, step, pr, jobs)
    _expect(world.pull(pr["number"])["merged"], step,
            "the accepted auto-tier proposal was not merged", jobs)
    step.say("merged", f"PR #{pr['number']} by the bot (approval.automerge, auto tier)",
             _by(jobs, "improve-report"))
    _released(world, step, tags, "patch", jobs)
    return step


def _command(world: World, step: Step, number: int, login: str,
             body: str) -> list[JobRecord]:
    _, jobs = world.comment(login, number, body)
    _no_failed_job(step, jobs, f"handling {login}'s {body!r}")
    _expect(bool(_ran(jobs, "improve-commands")), step, f"{login}'s {body!r} ran no command",
            jobs)
    return jobs


def _reply_to(world: World, number: int, after: int) -> str:
    """The first line of the bot's newest reply on ``number`` after comment id ``after``."""
    for c in reversed(world.state()["comments"]):
        if c["issue_number"] == number and c["id"] > after and c["user"] == world.bot_login:
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
    tags = _tags(world)
    pr, jobs = _propose(world, step, sample.GERMAN, "german")
    number = pr["number"]
    _evaluated(world, step, pr, jobs)
    _expect(not world.pull(number)["merged"], step,
            "the approval-tier proposal should wait for a person", jobs)
    mark = _last_comment_id(world)
    jobs = _command(world, step, number, sample.READER, "/approve")
    step.say("refused", f"/approve from {sample.READER} (read permission): "
                        f"{_reply_to(world, number, mark)}", _by(jobs, "improve-commands"))
    _expect(not world.pull(number)["merged"], step, "a read-only user's /approve merged")
    jobs = _command(world, step, number, sample.MAINTAINER, "/approve")
    step.say("approved", f"/approve from {sample.MAINTAINER} (maintain): "
                         f"{_gate_text(world, pr['head_sha'])}", _by(jobs, "improve-commands"))
    _expect(world.pull(number)["merged"], step, "the approved proposal was not merged", jobs)
    step.say("merged", f"PR #{number} by the bot, with the approved head SHA",
             _by(jobs, "improve-commands"))
    _released(world, step, tags, "minor", jobs)
    return step


def step_reject(world: World) -> Step:
    step = Step(3, "a tune that regresses is rejected")
    pr, jobs = _propose(world, step, sample.LOWER, "lower")
    _evaluated(world, step, pr, jobs)
    data = _comparison(world, pr["number"])
    _expect(data is not None and data["decision"] == "reject", step,
            "the regressing proposal was not rejected", jobs)
    _expect(not world.pull(pr["number"])["merged"], step, "a rejected proposal was merged")
    step.say("waits", f"PR #{pr['number']} stays open and unmergeable; its comment says why")
    return step


def _revert_pr(world: World) -> dict[str, Any] | None:
    return next((p for p in world.state()["pulls"] if "rollback" in p["labels"]), None)


def step_rollback(world: World) -> Step:
    step = Step(4, "the data drifts; the monitor warns, then rolls back")
    revert = None
    jobs: list[JobRecord] = []
    for i in range(1, MAX_MONITOR_RUNS + 1):
        if i in DRIFT_BEFORE_RUN:
            _refresh(world, step, DRIFT_BEFORE_RUN[i])
        mark = _last_comment_id(world)
        jobs = world.schedule()
        _no_failed_job(step, jobs, "the scheduled monitor run")
        revert = _revert_pr(world)
        found = _monitor_comment(world, mark)
        step.say("monitor", f"run {i}: " + (f"opened the revert PR #{revert['number']}"
                                            if revert else found or "no change"),
                 _by(jobs, "improve-monitor"))
        if revert is not None:
            break
    _expect(revert is not None, step, f"no revert PR after {MAX_MONITOR_RUNS} monitor runs",
            jobs)
    assert revert is not None
    number = revert["number"]
    tags = _tags(world)
    step.say("proposed", f"PR #{number} \"{revert['title']}\" by the bot, label rollback",
             _by(jobs, "improve-monitor"))
    if not _ran(jobs, "improve-test"):
        # opened with GITHUB_TOKEN: GitHub starts no workflow; the bot's warning on the PR
        # asks a person to push to it or re-open it
        _expect(world.app is None, step, "the revert PR started no test", jobs)
        jobs = world.reopen(sample.MAINTAINER, number)
        step.say("reopened", f"PR #{number}, as the bot's warning on it asks (GITHUB_TOKEN "
                             "started no workflow)", sample.MAINTAINER)
        revert = world.pull(number)
    _evaluated(world, step, revert, jobs)
    if not world.pull(number)["merged"]:
        jobs = _command(world, step, number, sample.MAINTAINER, "/approve")
        step.say("approved", f"/approve from {sample.MAINTAINER}: "
                             f"{_gate_text(world, revert['head_sha'])}",
                 _by(jobs, "improve-commands"))
    _expect(world.pull(number)["merged"], step, "the approved revert was not merged", jobs)
    step.say("merged", f"PR #{number} by the bot", _by(jobs, "improve-commands"))
    _released(world, step, tags, "rollback, a patch", jobs)
    return step


def _refresh(world: World, step: Step, week: str) -> None:
    sha, jobs = world.push_files(sample.drift_files(week), f"Refresh the German tickets ({week})",
                                 sample.MAINTAINER)
    _no_failed_job(step, jobs, "the push to main")
    step.say("pushed", f"data/de-*.jsonl on main with {week}'s tickets ({sha[:7]})",
             sample.MAINTAINER)


def _monitor_comment(world: World, after: int) -> str:
    for c in world.state()["comments"]:
        if c["id"] > after and find_marker(c["body"]) not in (None, "dashboard", "released"):
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
