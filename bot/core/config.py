"""The configuration, ``.github/improve.yml``, as pydantic models with a default for everything.

It is always read from the default branch, never from a pull request. Unknown keys are errors.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Literal

from pydantic import Field, field_validator

from bot.core.globs import check_glob
from bot.core.strict import Strict

Bump = Literal["major", "minor", "patch"]
Risk = Literal["low", "medium", "high"]
Permission = Literal["read", "triage", "write", "maintain", "admin"]

CONFIG_PATH = ".github/improve.yml"

# a command to run: a string (split into words as a shell would) or its words
Command = str | list[str]


def command_argv(run: Command) -> list[str]:
    """A command as argv. Strings are split like a shell would, but no shell runs it."""
    return shlex.split(run) if isinstance(run, str) else list(run)

DEFAULT_TYPES: dict[str, Bump] = {
    "constant_tune": "patch",
    "prompt_edit": "minor",
    "skill_edit": "minor",
    "config_change": "minor",
    "code_change": "minor",
}
DEFAULT_AUTO_RISKS: list[Risk] = ["low"]
DEFAULT_APPROVERS: list[Permission] = ["write", "maintain", "admin"]


class ProposalsConfig(Strict):
    types: dict[str, Bump] = Field(
        default_factory=lambda: dict(DEFAULT_TYPES),
        description="Proposal types and the version bump a release of each makes.",
    )
    max_changes: int = Field(5, ge=1, le=100, description="Most changes one proposal may make.")
    close_rejected_days: float = Field(
        14.0, ge=0,
        description="Days a rejected proposal may stay open (it holds its targets) before the "
        "scheduled run closes it with a comment; 0: never.",
    )


class AutoRule(Strict):
    """Proposals matching a rule need no person: the auto tier."""

    type: str = Field(description="The proposal type this rule lets through.")
    risk: list[Risk] = Field(
        default_factory=lambda: list(DEFAULT_AUTO_RISKS), description="Risk levels it covers."
    )
    min_merged: int = Field(
        0, ge=0, description="Merged proposals the proposer needs before riding the auto tier."
    )
    max_rollback_rate: float = Field(
        1.0, ge=0.0, le=1.0, description="Highest share of the proposer's releases rolled back."
    )


class ApprovalConfig(Strict):
    approvers: list[Permission] = Field(
        default_factory=lambda: list(DEFAULT_APPROVERS),
        description="Permission levels whose holders may /approve, /hold, /retest, /rollback.",
    )
    auto: list[AutoRule] = Field(
        default_factory=lambda: [AutoRule(type="constant_tune")],
        description="The auto tier: accepted proposals matching a rule need no person.",
    )
    timeout_days: float = Field(7.0, gt=0, description="Days after which an approval expires.")
    automerge: bool = Field(
        False, description="Merge with the approved SHA once the gate is green."
    )
    reviewers: list[str] = Field(
        default_factory=list,
        description="Asked to review a proposal that waits for /approve, once: logins or "
                    "@org/team. Empty: the code owners (CODEOWNERS) of the changed paths.",
    )


class LimitsConfig(Strict):
    max_open: int = Field(3, ge=1, description="Most improvement proposals open at once.")
    one_per_target: bool = Field(True, description="At most one open proposal per target path.")
    cooldown_hours: float = Field(
        6.0, ge=0, description="Hours after a release of a path before it may be proposed again."
    )
    max_releases_per_day: int = Field(10, ge=1, description="Most releases in 24 hours.")
    max_tune_cycles_per_day: int = Field(4, ge=0, description="Most tuner runs in 24 hours.")


class CompareConfig(Strict):
    confidence: float = Field(0.95, gt=0.5, lt=1.0, description="Confidence of the intervals.")
    tolerance: dict[str, float] = Field(
        default_factory=lambda: {"default": 0.0},
        description="Tolerated drop per score metric (absolute); `default` covers the rest.",
    )
    timing_floor: float = Field(
        0.10,
        ge=0.0,
        lt=1.0,
        description="Timing ratios within this are never a change: hosted runners are noisy.",
    )
    resamples: int = Field(10000, ge=100, description="Bootstrap resamples.")
    seed: int = Field(20261121, description="Seed: the same inputs always give the same verdict.")
    holm: bool = Field(True, description="Holm correction across gating metrics.")
    max_looks: int = Field(
        10, ge=1, le=20,
        description="Comparisons at most on a pull request; while the verdict is unclear, more "
        "repeats run between them (each look at a group-sequential boundary that spends the "
        "error rate over this many looks).",
    )
    max_repeats: int = Field(
        50, ge=1, le=1000,
        description="Runs per task and side at most, on average over a suite's tasks, when "
        "more repeats settle an unclear verdict (a very noisy task may get more than the rest).",
    )
    max_minutes: float = Field(
        20.0, gt=0,
        description="Task time (both sides, in minutes) that extra repeats may bring the run to.",
    )

    def tolerance_for(self, metric: str) -> float:
        return self.tolerance.get(metric, self.tolerance.get("default", 0.0))


class MonitorConfig(Strict):
    window_days: float = Field(7.0, gt=0, description="Days a release is watched after it.")
    warn_drop: float = Field(0.03, gt=0, lt=1, description="Relative drop that warns.")
    rollback_drop: float = Field(
        0.10, gt=0, lt=1, description="Relative drop, with confidence, that opens a revert PR."
    )
    warn_runs: int = Field(2, ge=1, description="Runs in a row past the warning before it warns.")
    bisect: bool = Field(
        True, description="Bisect a warned drop to the commit that caused it before blaming the "
        "release."
    )
    bisect_runs: int = Field(
        400, ge=1, description="Task runs a bisection may spend (all its measurements)."
    )
    bisect_minutes: float = Field(30.0, gt=0, description="Minutes a bisection may spend.")
    bisect_attempts: int = Field(
        2, ge=1, description="Measurements of a commit whose drop is not settled before it "
        "counts as unchanged."
    )


class VersionFile(Strict):
    path: str = Field(description="A file holding the version.")
    pattern: str | None = Field(
        None,
        description="For files other than pyproject.toml, package.json and VERSION: "
        "a regex whose group 1 is the version.",
    )
    scheme: Literal["auto", "semver", "pep440"] = Field(
        "auto",
        description="How the version is read and bumped: `semver` (SemVer 2.0), `pep440` "
        "(Python's versions: `0.23.2.dev0`, `1.0rc1`, `2.0.post1`) or `auto`: PEP 440 for "
        "pyproject.toml, setup.cfg and `.py` files when the version there is not valid SemVer, "
        "else SemVer.",
    )


class ReleaseConfig(Strict):
    mode: Literal["push", "pr"] = Field(
        "push",
        description="`push` the release commit, or open a release `pr` (protected branches).",
    )
    version_files: list[VersionFile] = Field(
        default_factory=lambda: [VersionFile(path="pyproject.toml")],
        description="Files whose version a release rewrites in place.",
    )
    changelog: str = Field("CHANGELOG.md", description="The changelog a release writes to.")
    tag_prefix: str = Field("v", description="Tags are this prefix and the version.")
    push_retries: int = Field(5, ge=1, description="Tries when a push is rejected.")
    measure: bool = Field(
        True,
        description="Measure the suites a merge touched on the release commit: the monitor's "
        "reference (results from pull-request jobs are untrusted artifacts).",
    )


class AlertsConfig(Strict):
    rollback_rate: float = Field(
        0.30, ge=0, le=1, description="Rollback rate that raises an alert and pauses the auto tier."
    )
    rollback_rate_days: int = Field(30, ge=1, description="Days the rollback rate looks back.")
    metric_drop: float = Field(0.20, gt=0, lt=1, description="Monitored metric drop that alerts.")
    max_waiting: int = Field(50, ge=1, description="Proposals waiting that raise an alert.")
    failing_runs: int = Field(5, ge=2, description="Runs in a row a task fails before it alerts.")
    opportunity_failures: int = Field(
        3, ge=2, description="Failures of one task within `history_runs` runs that file an "
        "opportunity issue.",
    )
    history_runs: int = Field(
        10, ge=4, description="Recent runs the opportunities look at (failures and drift)."
    )
    drift: float = Field(
        0.05, gt=0, lt=1,
        description="Relative fall of a suite's score across `history_runs` runs (newer half "
        "against older half) that files an opportunity issue.",
    )


class AgentConfig(Strict):
    command: str | None = Field(
        None, description="A program (split into words, never run by a shell) the scheduled "
        "improve-tune workflow runs for one open opportunity at a time, in a scratch worktree, "
        "with the evidence on stdin: it must write a proposal to $IMPROVE_PROPOSAL_FILE. "
        "None: off.")
    name: str = Field("agent", min_length=1, max_length=100,
                      description="The author of the agent's proposals: its track record.")
    timeout: int = Field(900, ge=1, description="Seconds the command may run before it is "
                         "stopped.")


class PrTestConfig(Strict):
    shards: int = Field(
        1, ge=1, le=64,
        description="Shard the suites of a pull request's evaluation over this many jobs of "
                    "an Actions matrix; the report merges them. Written into the test workflow "
                    "by improve init.",
    )


class SetupConfig(Strict):
    """What the suites need installed, as a CI job's dependency step does
    (bot/core/setup.py, bot/adapters/setup_env.py)."""

    run: list[str | list[str]] = Field(
        default_factory=list,
        description="Commands run in order in each side's scratch worktree (base and head) "
        "before any suite, in the setup environment (a Python virtual environment over the "
        "bot's, first on PATH for setup and suites: `python -m pip install -r "
        "requirements.txt` installs there). Each is a string split into words or a list of "
        "words, never run by a shell. Empty: no setup.",
    )
    cache: list[str] = Field(
        default_factory=list,
        description="Lock files (globs, as `targets`): setup runs again only when their "
        "contents, the commands or the Python change; what it installed is kept in "
        "$IMPROVE_CACHE_DIR (the test workflow keeps it with actions/cache keyed by these "
        "files: written there by improve init). Empty: setup runs every time.",
    )
    timeout: int = Field(900, ge=1, description="Seconds each setup command may take.")

    @field_validator("run")
    @classmethod
    def _commands(cls, v: list[str | list[str]]) -> list[str | list[str]]:
        for i, command in enumerate(v):
            try:
                argv = command_argv(command)
            except ValueError as exc:
                raise ValueError(f"command {i + 1}: cannot split it: {exc}") from None
            if not argv or not argv[0]:
                raise ValueError(f"command {i + 1} is empty")
        return v

    @field_validator("cache")
    @classmethod
    def _globs(cls, v: list[str]) -> list[str]:
        for pattern in v:
            why = check_glob(pattern)
            if why:
                raise ValueError(f"{pattern!r}: {why}")
            # the globs go into the test workflow's hashFiles() expression as they are
            if any(c in pattern for c in "{}\n\r$"):
                raise ValueError(f"{pattern!r}: braces, $ and line breaks cannot be in a lock "
                                 "file's glob")
        return v


class Config(Strict):
    default_branch: str = Field("main", description="Used when the forge cannot say.")
    data_branch: str = Field("improve-data", description="Branch holding the bot's records.")
    benchmarks_dir: str = Field("benchmarks", description="Folder of benchmark suites.")
    regressions_dir: str = Field("regressions", description="Folder of regression suites.")
    proposals: ProposalsConfig = Field(default_factory=ProposalsConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    test: PrTestConfig = Field(default_factory=PrTestConfig)
    setup: SetupConfig = Field(default_factory=SetupConfig)

    @field_validator("benchmarks_dir", "regressions_dir", "data_branch", "default_branch")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


# GitHub reads its own files under either extension, and so do people: both names are read,
# ``.yml`` first (when both exist ``improve validate`` refuses: one would be ignored)
CONFIG_PATHS = (CONFIG_PATH, ".github/improve.yaml")
BOTH_CONFIGS = "both .github/improve.yml and .github/improve.yaml exist; the bot reads only " \
    ".github/improve.yml: merge them into it and delete .github/improve.yaml"


def read_config(read: Callable[[str], str | None], where: str = "") -> Config:
    """The configuration read through ``read`` (a path -> its text, or None when absent):
    ``.github/improve.yml``, else ``.github/improve.yaml``, else every default. ``where`` is
    appended to the file's name in messages (" (on main)")."""
    for path in CONFIG_PATHS:
        text = read(path)
        if text is not None:
            return parse_config(text, f"{path}{where}")
    return Config()


def parse_config(text: str | None, file: str = CONFIG_PATH) -> Config:
    """The configuration from the file's text; no file means every default."""
    from bot.core.yamldoc import load_model

    if text is None:
        return Config()
    return load_model(Config, text, file)
