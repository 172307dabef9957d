"""The configuration, ``.github/improve.yml``, as pydantic models with a default for everything.

It is always read from the default branch, never from a pull request. Unknown keys are errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Bump = Literal["major", "minor", "patch"]
Risk = Literal["low", "medium", "high"]
Permission = Literal["read", "triage", "write", "maintain", "admin"]

CONFIG_PATH = ".github/improve.yml"

DEFAULT_TYPES: dict[str, Bump] = {
    "constant_tune": "patch",
    "prompt_edit": "minor",
    "skill_edit": "minor",
    "config_change": "minor",
    "code_change": "minor",
}
DEFAULT_AUTO_RISKS: list[Risk] = ["low"]
DEFAULT_APPROVERS: list[Permission] = ["write", "maintain", "admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProposalsConfig(Strict):
    # proposal type -> the version bump its release makes
    types: dict[str, Bump] = Field(default_factory=lambda: dict(DEFAULT_TYPES))
    max_changes: int = Field(5, ge=1, le=100)


class AutoRule(Strict):
    """Proposals matching a rule need no person: the auto tier."""

    type: str
    risk: list[Risk] = Field(default_factory=lambda: list(DEFAULT_AUTO_RISKS))
    # a proposer's track record required before its proposals ride the auto tier
    min_merged: int = Field(0, ge=0)
    max_rollback_rate: float = Field(1.0, ge=0.0, le=1.0)


class ApprovalConfig(Strict):
    # permission levels whose holders may /approve, /hold, /retest and /rollback
    approvers: list[Permission] = Field(default_factory=lambda: list(DEFAULT_APPROVERS))
    auto: list[AutoRule] = Field(default_factory=lambda: [AutoRule(type="constant_tune")])
    timeout_days: float = Field(7.0, gt=0)
    automerge: bool = False


class LimitsConfig(Strict):
    max_open: int = Field(3, ge=1)
    one_per_target: bool = True
    cooldown_hours: float = Field(6.0, ge=0)
    max_releases_per_day: int = Field(10, ge=1)
    max_tune_cycles_per_day: int = Field(4, ge=0)


class CompareConfig(Strict):
    confidence: float = Field(0.95, gt=0.5, lt=1.0)
    # tolerated regression per score metric, as an absolute delta; "default" applies to the rest
    tolerance: dict[str, float] = Field(default_factory=lambda: {"default": 0.0})
    # timing ratios within this floor are never called a change: hosted runners are noisy
    timing_floor: float = Field(0.10, ge=0.0, lt=1.0)
    resamples: int = Field(10000, ge=100)
    seed: int = 20261121
    holm: bool = True

    def tolerance_for(self, metric: str) -> float:
        return self.tolerance.get(metric, self.tolerance.get("default", 0.0))


class MonitorConfig(Strict):
    window_days: float = Field(7.0, gt=0)
    warn_drop: float = Field(0.03, gt=0, lt=1)
    rollback_drop: float = Field(0.10, gt=0, lt=1)
    warn_runs: int = Field(2, ge=1)


class VersionFile(Strict):
    path: str
    # for files other than pyproject.toml, package.json and VERSION: a regex whose group 1 is
    # the version
    pattern: str | None = None


class ReleaseConfig(Strict):
    mode: Literal["push", "pr"] = "push"
    version_files: list[VersionFile] = Field(
        default_factory=lambda: [VersionFile(path="pyproject.toml")]
    )
    changelog: str = "CHANGELOG.md"
    tag_prefix: str = "v"
    push_retries: int = Field(5, ge=1)


class AlertsConfig(Strict):
    rollback_rate: float = Field(0.30, ge=0, le=1)
    rollback_rate_days: int = Field(30, ge=1)
    metric_drop: float = Field(0.20, gt=0, lt=1)
    max_waiting: int = Field(50, ge=1)
    failing_runs: int = Field(5, ge=2)


class Config(Strict):
    default_branch: str = "main"
    data_branch: str = "improve-data"
    benchmarks_dir: str = "benchmarks"
    regressions_dir: str = "regressions"
    proposals: ProposalsConfig = Field(default_factory=ProposalsConfig)
    approval: ApprovalConfig = Field(default_factory=ApprovalConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    compare: CompareConfig = Field(default_factory=CompareConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    release: ReleaseConfig = Field(default_factory=ReleaseConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)

    @field_validator("benchmarks_dir", "regressions_dir", "data_branch", "default_branch")
    @classmethod
    def _not_empty(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty")
        return v


def parse_config(text: str | None, file: str = CONFIG_PATH) -> Config:
    """The configuration from the file's text; no file means every default."""
    from bot.core.yamldoc import load_model

    if text is None:
        return Config()
    return load_model(Config, text, file)
