"""The crash harness: the demo's story (bot/demo/story.py) replayed with every ``improve`` step
run as its own process, so a step can be SIGKILLed at a chosen API write (the sandbox kills it,
bot/sandbox ``kill_at_write``) or at a random time, re-run as GitHub's "re-run job" does (same
``GITHUB_RUN_ID``, next ``GITHUB_RUN_ATTEMPT``, a fresh checkout), or see every Nth write take
effect and answer 502. After every step the normalised fingerprint of the whole repository state
is taken, to compare with a fault-free run's.

The story is the demo's (bot/demo/story.py), told again here with the same sample repository
and people, so that the harness does not depend on how the demo drives its steps.

Used by tests/test_crash_safety.py (a seeded sample) and benchmarks/bench_crash.py (the sweep).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.render import find_marker
from bot.demo import sample
from bot.demo.engine import BOT, Run, clone_main, git, push_to_main
from bot.sandbox import Sandbox
from bot.sandbox.events import actions_env, build_event

ROOT = Path(__file__).resolve().parents[2]
# what a step's environment must not inherit from the caller's
_CLEARED = ("GITHUB_", "RUNNER_", "IMPROVE_", "ACTIONS_")
FIRST_RUN_ID = 7000
# a step that never finishes is a failure of the bot, not something to wait for
STEP_TIMEOUT = 240

_HEX = re.compile(r"\b[0-9a-f]{7,40}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?")
_RUN_URL = re.compile(r"/actions/runs/\d+(?:/attempts/\d+)?")
_EMBED = re.compile(r"<!-- improve-data:(\w+) [A-Za-z0-9+/=]+ -->")
# comment ids (the sandbox's counter moves with every request, so a re-run shifts them), and
# times written to the minute
_IDS = re.compile(r"(improve-key |\"warning_comment\": |\"issue\": )\d+|\"\d+:(\d+)\"")
_MINUTE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
_HOST = re.compile(r"127\.0\.0\.1:\d+")
_SECONDS = re.compile(r"\b\d+(?:\.\d+)? ?(?:s|ms|seconds)\b")
# the Actions attempt a run measured for: GitHub's "re-run job" after a kill is attempt 2 on
# GitHub as here, so a record saying so is not a divergence (its run id still is compared)
_ATTEMPT = re.compile(r'("run_attempt": ?)\d+')


def norm(text: str) -> str:
    """Text with what differs between two equal runs taken out: commit SHAs (commit times differ),
    times, run links and attempts, durations, and embedded data (base64, so the SHAs and times
    inside cannot be taken out: only its name is kept, its content is not compared)."""
    text = _EMBED.sub(r"<embed \1>", text)
    text = _HOST.sub("<host>", text)
    text = _TIME.sub("<time>", text)
    text = _MINUTE.sub("<time>", text)
    text = _IDS.sub(lambda m: f"{m.group(1)}<id>" if m.group(1) else f'"<id>:{m.group(2)}"',
                    text)
    text = _RUN_URL.sub("/actions/runs/<run>", text)
    text = _SECONDS.sub("<secs>", text)
    text = _ATTEMPT.sub(r"\1<attempt>", text)
    return _HEX.sub("<sha>", text)


_DIGESTS: dict[tuple[str, str], str] = {}


def _tree(repo: Path, ref: str) -> str:
    """A digest of the tree at ``ref``: its paths and their normalised contents. A file that
    names a commit or a time (a rollback's changelog entry quotes the monitor's evidence)
    differs between any two runs, as it would on GitHub; anything else in it is compared."""
    tree = git(repo, "rev-parse", f"{ref}^{{tree}}")
    key = (str(repo), tree)
    if key not in _DIGESTS:
        rows = [line.split("\t", 1) for line in git(repo, "ls-tree", "-r", tree).splitlines()]
        names = [(meta.split()[2], path) for meta, path in rows]
        batch = subprocess.run(["git", "cat-file", "--batch"], cwd=repo, check=True,
                               input="".join(f"{sha}\n" for sha, _ in names).encode(),
                               capture_output=True).stdout
        digest, at = hashlib.sha256(), 0
        for _, path in names:
            header_end = batch.index(b"\n", at)
            size = int(batch[at:header_end].split()[2])
            body = batch[header_end + 1:header_end + 1 + size]
            at = header_end + 1 + size + 1
            digest.update(f"{path}\0{norm(body.decode('utf-8', 'replace'))}\0".encode())
        _DIGESTS[key] = digest.hexdigest()[:16]
    return _DIGESTS[key]


def fingerprint(world: Stand) -> dict[str, Any]:
    """The repository state as people and the bot see it, with ids, SHAs and times normalised:
    pull requests and issues (title, state, labels, merged), comments counted per issue and
    marker with their normalised bodies, reactions, the last status per commit and context,
    branches and tags by their trees, ``CHANGELOG.md`` on main and the data branch's records."""
    state = world.state()
    bare = world.sb.root / f"{world.repo}.git"
    tree_of = {}
    for ref, sha in {**state["refs"], **{f"tag:{t}": s for t, s in state["tags"].items()}}.items():
        tree_of[ref] = _tree(bare, sha)
    sha_name: dict[str, str] = {}
    for pr in state["pulls"]:
        sha_name.setdefault(pr["head_sha"], f"head#{pr['number']}")
    items = []
    for i in state["pulls"] + state["issues"]:
        items.append((i["number"], norm(i["title"]), i["state"], tuple(sorted(i["labels"])),
                      bool(i.get("merged")), i.get("head"), bool(i.get("pinned"))))
    comments: Counter[tuple[int, str, str, str]] = Counter()
    reactions: Counter[tuple[int, str, str, str]] = Counter()
    for c in state["comments"]:
        marker = find_marker(c["body"]) or "-"
        comments[(c["issue_number"], c["user"], marker, norm(c["body"]))] += 1
        for r in c["reactions"]:
            reactions[(c["issue_number"], norm(c["body"])[:60], r["content"], r["user"])] += 1
    last_status: dict[tuple[str, str], tuple[str, str]] = {}
    for s in state["statuses"]:
        last_status[(sha_name.get(s["sha"], "other"), s["context"])] = (
            s["state"], norm(s["description"] or ""))
    main = state["refs"].get("refs/heads/main")
    changelog = git(bare, "show", f"{main}:CHANGELOG.md") if main else ""
    on_main = {t: _on(bare, s, main) for t, s in state["tags"].items()}
    # through JSON, so a fingerprint kept in a file compares equal to a fresh one
    return json.loads(json.dumps({
        "items": sorted(items),
        "comments": sorted((*k, n) for k, n in comments.items()),
        "reactions": sorted((*k, n) for k, n in reactions.items()),
        "statuses": sorted((*k, *v) for k, v in last_status.items()),
        # the data branch's tree holds times; its records are compared, normalised, below
        "branches": sorted((r, tree_of[r] if not r.endswith("/improve-data") else "-")
                           for r in state["refs"]),
        "tags": sorted((t, tree_of[f"tag:{t}"], on_main[t]) for t in state["tags"]),
        # the GitHub Releases: one per tag, with its notes
        "releases": sorted((r["tag_name"], norm(r["name"] or ""), norm(r["body"] or ""))
                           for r in state["releases"]),
        "changelog": norm(changelog),
        "records": _records(bare, "refs/heads/improve-data" in state["refs"]),
    }))


def _on(bare: Path, sha: str, main: str | None) -> bool:
    if main is None:
        return False
    done = subprocess.run(["git", "merge-base", "--is-ancestor", sha, main], cwd=bare,
                          capture_output=True)
    return done.returncode == 0


def _records(bare: Path, present: bool) -> list[tuple[str, str]]:
    if not present:
        return []
    names = git(bare, "ls-tree", "-r", "--name-only", "improve-data").splitlines()
    # sorted after normalising: results/<sha>.json names differ between two equal runs
    return sorted((norm(n), norm(git(bare, "show", f"improve-data:{n}"))) for n in names)


def differences(want: Mapping[str, Any], got: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, part by part, briefly."""
    out = []
    for key in want:
        if want[key] != got.get(key):
            if isinstance(want[key], list):
                a, b = Counter(map(repr, want[key])), Counter(map(repr, got.get(key) or []))
                out.append(f"{key}: missing {[x[:300] for x in sorted(a - b)[:3]]} "
                           f"extra {[x[:300] for x in sorted(b - a)[:3]]}")
            else:
                out.append(f"{key}: differs")
    return out


def doubled(want: Mapping[str, Any], got: Mapping[str, Any]) -> bool:
    """A divergence that is something done twice: more comments of one kind, more pull requests
    or issues, more tags, or more records than the fault-free run has."""
    def count(fp: Mapping[str, Any], key: str) -> Counter[Any]:
        c: Counter[Any] = Counter()
        for row in fp[key]:
            counted = key in ("comments", "reactions")
            c[repr(row[:-1] if counted else row[0])] += row[-1] if counted else 1
        return c
    for key in ("comments", "reactions", "items", "tags", "records", "releases"):
        a, b = count(want, key), count(got, key)
        if any(b[k] > a.get(k, 0) for k in b):
            return True
    return False


@dataclass
class Plan:
    """What to do to the steps of one pass. ``kill_at``: SIGKILL at this API write (or git
    push) of every step that has one; ``kill_before``: before the write reaches GitHub rather
    than after it took effect; ``kill_random``: SIGKILL at a random moment (seeded) within
    ``kill_window`` seconds; ``lost_every``: every Nth write takes effect and answers 502;
    ``rerun``: run every step a second time with the same run id and attempt (a duplicate);
    ``rerun_steps``: with ``rerun``, only these step numbers;
    ``only``: the step numbers (1-based) to fault, all when None; ``parts``: the story parts
    (1-based) whose steps to fault, all when None; ``kill_points``: step number -> (write,
    before), a kill point of its own for each step (a seeded sample)."""

    kill_at: int | None = None
    kill_points: dict[int, tuple[int, bool]] = field(default_factory=dict)
    kill_before: bool = False
    kill_random: bool = False
    kill_window: float = 4.0
    lost_every: int | None = None
    rerun: bool = False
    rerun_steps: set[int] | None = None
    only: set[int] | None = None
    parts: set[int] | None = None
    seed: int = 0


@dataclass
class Outcome:
    """One faulted step: where, what was done to it, and whether the state came right."""

    step: int
    argv: str
    fault: str
    killed: bool = False
    attempts: int = 1
    converged: bool = True
    is_doubled: bool = False
    diff: list[str] = field(default_factory=list)


class Stand:
    """The sandbox with the demo's sample repository and people, a workspace clone, and every
    ``improve`` step run in its own process (its own session, so a kill takes the step's git
    children with it) with an Actions environment, and a fingerprint after each. It shares the
    demo engine's git helpers and how a person pushes, not how the demo drives its steps: the
    harness runs, and kills, each step itself."""

    def __init__(self, root: Path, plan: Plan | None = None,
                 baseline: list[dict[str, Any]] | None = None, bot_root: Path = ROOT):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.bot_root = bot_root  # the checkout whose ``python -m bot`` each step runs
        self.repo = sample.FULL_NAME
        self.sb = Sandbox.start(root=root / "sandbox")
        self.tokens: dict[str, str] = {}
        self.plan = plan or Plan()
        self.baseline = baseline
        self.runs: list[Run] = []
        self.fingerprints: list[dict[str, Any]] = []
        self.outcomes: list[Outcome] = []
        self.api_writes: list[tuple[str, int, int]] = []
        self.api_calls: list[tuple[str, int, int]] = []
        self._rng = random.Random(self.plan.seed)
        self._ref = "HEAD"
        self._n = 0
        # the story part being played (1-based), set by play(), and each step's part
        self.part = 0
        self.step_parts: list[int] = []
        try:
            self.sb.create_repo(self.repo, dict(sample.repo_files()))
            for login, permission in ((sample.MAINTAINER, "maintain"),
                                      (sample.READER, "read"), (sample.AUTHOR, "write")):
                self.tokens[login] = self.sb.add_user(login, permission, repos=[self.repo])
            git(root, "clone", "-q", self.sb.git_url(self.repo), str(self.workspace))
        except BaseException:
            self.sb.stop()
            raise

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    # -- the forge as people see it ---------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self.sb.repo_state(self.repo)

    def main_sha(self) -> str:
        return str(self.state()["refs"]["refs/heads/main"])

    def pull(self, number: int) -> dict[str, Any]:
        return next(p for p in self.state()["pulls"] if p["number"] == number)

    def pull_by_head(self, branch: str) -> dict[str, Any] | None:
        return next((p for p in self.state()["pulls"] if p["head"] == branch), None)

    def comment(self, login: str, number: int, body: str) -> dict[str, Any]:
        from tests.helpers.sandbox import call

        status, _, data = call(self.sb, "POST", f"/repos/{self.repo}/issues/{number}/comments",
                               {"body": body}, token=self.tokens[login])
        assert status == 201, data
        return {"id": data["id"], "body": body, "user": login}

    def push_files(self, files: Mapping[str, str], message: str, login: str) -> str:
        work = clone_main(self.root, self.sb.git_url(self.repo, self.tokens[login]), login)
        return push_to_main(work, files, message, login)

    # -- steps -----------------------------------------------------------------------------
    def checkout(self, ref: str, branch: str | None = None) -> None:
        """The workspace as actions/checkout leaves it."""
        w = self.workspace
        git(w, "fetch", "-q", "--prune", "origin", "+refs/heads/*:refs/remotes/origin/*",
            "+refs/tags/*:refs/tags/*")
        git(w, "checkout", "-q", "--detach", ref)
        git(w, "clean", "-qfdx")
        self._ref = git(w, "rev-parse", "HEAD")
        self._branch = branch
        if branch:
            git(w, "checkout", "-q", "-B", branch, self._ref)

    def _fresh_checkout(self) -> None:
        """A re-run job's machine: a new clone at the commit the first attempt had."""
        shutil.rmtree(self.workspace, ignore_errors=True)
        git(self.root, "clone", "-q", self.sb.git_url(self.repo), str(self.workspace))
        git(self.workspace, "checkout", "-q", "--detach", self._ref)
        if self._branch:
            git(self.workspace, "checkout", "-q", "-B", self._branch, self._ref)

    def step_env(self, event: str, payload: dict[str, Any], *, sha: str, ref: str,
                 sender: str = BOT) -> dict[str, str]:
        self._n += 1
        env = actions_env(event, payload, repo=self.repo, api_url=self.sb.api_url,
                          server_url=self.sb.server_url, token=self.sb.token, sha=sha, ref=ref,
                          workdir=self.root / "runner" / f"{self._n:02d}-{event}")
        env.update(GITHUB_WORKSPACE=str(self.workspace), IMPROVE_TOKEN_SOURCE="app",
                   GIT_TERMINAL_PROMPT="0", GITHUB_ACTOR=sender,
                   GITHUB_RUN_ID=str(FIRST_RUN_ID + self._n))
        return env

    def handle(self, event: str, payload: dict[str, Any], *, sha: str, ref: str,
               checkout: str | None = None) -> Run:
        self.checkout(checkout or sha)
        return self.improve(["handle"], self.step_env(event, payload, sha=sha, ref=ref))

    def propose(self, text: str, name: str) -> Run:
        self.checkout("origin/main", branch="main")
        path = self.root / "proposals" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        payload = build_event("workflow_dispatch", None, repo=self.repo, ref="refs/heads/main",
                              sender=sample.AUTHOR)
        env = self.step_env("workflow_dispatch", payload, sha=self.main_sha(),
                            ref="refs/heads/main", sender=sample.AUTHOR)
        return self.improve(["propose", str(path), "--repo", str(self.workspace)], env)

    def pull_request_opened(self, number: int) -> Run:
        pr = self.pull(number)
        payload = build_event("pull_request", "opened", repo=self.repo, default_branch="main",
                              number=number, head_ref=pr["head"], head_sha=pr["head_sha"],
                              base_ref="main", base_sha=self.main_sha(), labels=pr["labels"],
                              title=pr["title"], author=pr["user"], sender=pr["user"])
        return self.handle("pull_request", payload, sha=pr["head_sha"],
                           ref=f"refs/pull/{number}/merge", checkout=pr["head_sha"])

    def push_main(self, before: str) -> Run:
        after = self.main_sha()
        payload = build_event("push", None, repo=self.repo, default_branch="main",
                              ref="refs/heads/main", before=before, after=after)
        return self.handle("push", payload, sha=after, ref="refs/heads/main")

    def comment_event(self, number: int, comment: dict[str, Any]) -> Run:
        pr = self.pull(number)
        payload = build_event("issue_comment", "created", repo=self.repo, default_branch="main",
                              number=number, body=comment["body"], comment_id=comment["id"],
                              sender=comment["user"], pr_author=pr["user"],
                              labels=pr["labels"], issue_state=pr["state"],
                              merged=pr["merged"])
        main = self.main_sha()
        return self.handle("issue_comment", payload, sha=main, ref="refs/heads/main")

    def schedule(self) -> Run:
        payload = build_event("schedule", None, cron="17 */6 * * *")
        main = self.main_sha()
        return self.handle("schedule", payload, sha=main, ref="refs/heads/main")

    # -- one step under the plan -------------------------------------------------------------
    def _spawn(self, argv: list[str], env: Mapping[str, str], attempt: int,
               kill: Callable[[int], None] | None) -> tuple[Run, bool]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
        full = {**base, **env, "GITHUB_RUN_ATTEMPT": str(attempt),
                "PYTHONPATH": os.pathsep.join(filter(None, [str(self.bot_root),
                                                            os.environ.get("PYTHONPATH")]))}
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
            Path(full[name]).write_text("")
        proc = subprocess.Popen([sys.executable, "-m", "bot", *argv], env=full,
                                cwd=self.workspace, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
        timer = None
        if kill is not None:
            kill(proc.pid)
        if self.plan.kill_random and kill is not None:
            delay = self._rng.uniform(0.3, self.plan.kill_window)
            timer = threading.Timer(delay, _killpg, (proc.pid,))
            timer.start()
        try:
            out, err = proc.communicate(timeout=STEP_TIMEOUT)
        finally:
            if timer is not None:
                timer.cancel()
        killed = proc.returncode == -signal.SIGKILL
        run = Run(argv, proc.returncode, out, err)
        self.runs.append(run)
        return run, killed

    def improve(self, argv: list[str], env: Mapping[str, str]) -> Run:
        number = len(self.fingerprints) + 1
        plan = self.plan
        faulted = ((plan.only is None or number in plan.only)
                   and (plan.parts is None or self.part in plan.parts))
        mark = len(self.sb.requests)
        kill: Callable[[int], None] | None = None
        what = []
        at, before = plan.kill_points.get(number, (plan.kill_at, plan.kill_before))
        if faulted and at is not None:

            def kill(pid: int) -> None:
                self.sb.kill_at_write(pid, at, after=not before)
            what.append(f"kill {'before' if before else 'after'} write {at}")
        elif faulted and plan.kill_random:
            def kill(pid: int) -> None:
                return None
            what.append("kill at a random time")
        if faulted and plan.lost_every:
            self.sb.inject_fault("WRITE", status=502, times=10_000, after=True,
                                 every=plan.lost_every)
            what.append(f"every {plan.lost_every}th write answers 502 after taking effect")
        run, killed = self._spawn(argv, env, 1, kill)
        if at is not None and faulted:
            killed = self.sb.kill_fired() and killed
        self.sb.clear_faults()
        attempts = 1
        while killed and attempts < 3:
            # GitHub's "re-run job": same run id, next attempt, a new machine
            attempts += 1
            self._fresh_checkout()
            run, killed = self._spawn(argv, env, attempts, None)
        if faulted and plan.rerun and (plan.rerun_steps is None or number in plan.rerun_steps):
            # the same run id and attempt once more (a duplicate delivery of the job)
            self._fresh_checkout()
            run, _ = self._spawn(argv, env, attempts, None)
            what.append("re-run with the same run id and attempt")
        logged = self.sb.requests[mark:]
        self.api_writes.append((argv[0], number, self.sb.writes(mark)))
        self.step_parts.append(self.part)
        self.api_calls.append((_kind(argv, env), number,
                               sum(1 for r in logged if r.kind == "api")))
        fp = fingerprint(self)
        self.fingerprints.append(fp)
        if what:
            outcome = Outcome(number, _kind(argv, env), "; ".join(what), killed=attempts > 1,
                              attempts=attempts)
            self.outcomes.append(outcome)
            if self.baseline is not None:
                self._judge(outcome, self.baseline)
        return run

    def judge(self, baseline: list[dict[str, Any]]) -> None:
        """Compare every faulted step's state with ``baseline`` (a fault-free run's, played
        meanwhile rather than before)."""
        for outcome in self.outcomes:
            self._judge(outcome, baseline)

    def _judge(self, o: Outcome, baseline: list[dict[str, Any]]) -> None:
        fp = self.fingerprints[o.step - 1]
        if o.step > len(baseline):
            o.converged, o.diff = False, ["the fault-free run has no such step"]
            return
        want = baseline[o.step - 1]
        o.diff = differences(want, fp)
        o.converged, o.is_doubled = not o.diff, doubled(want, fp)

    def stop(self) -> None:
        self.sb.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _kind(argv: list[str], env: Mapping[str, str]) -> str:
    """The event kind a step handled: propose, pull_request, push, issue_comment, schedule."""
    if argv[0] != "handle":
        return argv[0]
    return env.get("GITHUB_EVENT_NAME", "handle")


# --- the story, step by step (as bot/demo/story.py tells it) ---------------------------------


def _auto(st: Stand) -> None:
    st.propose(sample.TUNE, "tune")
    pr = _newest_pull(st)
    before = st.main_sha()
    st.pull_request_opened(pr["number"])
    _expect(st.pull(pr["number"])["merged"], "the auto-tier proposal was not merged")
    st.push_main(before)


def _approval(st: Stand) -> None:
    st.propose(sample.GERMAN, "german")
    pr = _newest_pull(st)
    number = pr["number"]
    before = st.main_sha()
    st.pull_request_opened(number)
    _expect(not st.pull(number)["merged"], "the approval-tier proposal did not wait")
    st.comment_event(number, st.comment(sample.READER, number, "/approve"))
    _expect(not st.pull(number)["merged"], "a read-only /approve merged")
    st.comment_event(number, st.comment(sample.MAINTAINER, number, "/approve"))
    _expect(st.pull(number)["merged"], "the approved proposal was not merged")
    st.push_main(before)


def _reject(st: Stand) -> None:
    st.propose(sample.LOWER, "lower")
    pr = _newest_pull(st)
    st.pull_request_opened(pr["number"])
    _expect(not st.pull(pr["number"])["merged"], "a rejected proposal was merged")


def _rollback(st: Stand) -> None:
    revert = None
    for i in range(1, MAX_MONITOR_RUNS + 1):
        if i in DRIFT_BEFORE_RUN:
            before = st.main_sha()
            st.push_files(sample.drift_files(DRIFT_BEFORE_RUN[i]), "Refresh data",
                          sample.MAINTAINER)
            st.push_main(before)
        st.schedule()
        revert = next((p for p in st.state()["pulls"] if "rollback" in p["labels"]), None)
        if revert is not None:
            break
    _expect(revert is not None, "no revert PR")
    assert revert is not None
    before = st.main_sha()
    st.pull_request_opened(revert["number"])
    if not st.pull(revert["number"])["merged"]:
        st.comment_event(revert["number"],
                         st.comment(sample.MAINTAINER, revert["number"], "/approve"))
    _expect(st.pull(revert["number"])["merged"], "the approved revert was not merged")
    st.push_main(before)


# as in bot/demo/story.py: a little drift warns after two runs, a lot rolls back
MAX_MONITOR_RUNS = 4
DRIFT_BEFORE_RUN = {1: "week1", 3: "week2"}
STORY: list[Callable[[Stand], None]] = [_auto, _approval, _reject, _rollback]


class StoryBroke(Exception):
    """A step did not end as the story says."""


def _expect(ok: bool, what: str) -> None:
    if not ok:
        raise StoryBroke(what)


def _newest_pull(st: Stand) -> dict[str, Any]:
    return max(st.state()["pulls"], key=lambda p: p["number"])


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def play(root: Path, plan: Plan | None = None, baseline: list[dict[str, Any]] | None = None,
         steps: int | None = None, bot_root: Path = ROOT) -> tuple[Stand, str | None]:
    """Play the story's first ``steps`` parts (all by default) under ``plan``, each step run by
    ``bot_root``'s bot (this checkout's by default); the stand and the story's complaint, if a
    step did not end as the story says."""
    stand = Stand(root, plan, baseline, bot_root)
    failure = None
    try:
        for part, fn in enumerate(STORY[:steps], start=1):
            stand.part = part
            fn(stand)
    except StoryBroke as exc:
        failure = str(exc)
    return stand, failure


def stop(stand: Stand) -> None:
    stand.stop()
