"""What a comparison says, as models: the verdicts' vocabularies, the reasons' and
recommendations' texts, and :class:`Comparison` with its suites, metrics and checks (also the
``--format json`` output). bot/core/comparison/compare.py computes it;
bot/core/comparison/report.py renders it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from bot.core.tiers import Tier

Decision = Literal["accept", "reject", "inconclusive"]
MetricVerdict = Literal["improved", "ok", "unclear", "regressed", "not compared"]
# what the numbers showed with confidence, for changelogs and release notes: a metric whose
# interval includes no change is "unchanged", whatever its point estimate says
Change = Literal["better", "worse", "unchanged"]
CheckVerdict = Literal["pass", "fixed", "new failure", "still failing", "missing"]
Presence = Literal["both", "baseline", "candidate"]

COMPARISON_VERSION = 1
HISTOGRAM_MIN_TASKS = 5
HISTOGRAM_BINS = 8
OUTPUT_TAIL_LIMIT = 2000
LIST_LIMIT = 10

# Reasons: code -> message format. The codes are stable for machines; the texts for people.
R_CHECK_FAILS = "check {subject} fails on the candidate"
R_TASK_FAILS = "task {subject} fails on the candidate but passed on the baseline"
R_TASK_FAILS_NEW = "task {subject} fails on the candidate (no baseline result to compare)"
R_METRIC_DROPPED = (
    "task {subject} no longer reports the gating metric {metric} (the baseline does): a "
    "failure of the task"
)
R_UNDER_MINIMUM = "suite score {value} is under the minimum {minimum}"
R_SCORE_REGRESSED = "{subject} regressed by {delta} ({level} CI {ci}), past the tolerance {tol}"
R_TIMING_REGRESSED = (
    "{subject} is slower: x{ratio} ({level} CI {ci}), past the floor of {floor} with confidence"
)
R_TASK_TIMING_REGRESSED = (
    "task {task}: {subject} is slower: x{ratio}, past the floor of {floor} with confidence "
    "(Holm-adjusted p = {p} across {tests} per-task timing tests)"
)
R_CHECK_STILL_FAILS = "check {subject} fails on the baseline too: a person must judge it"
R_CHECK_MISSING = "check {subject} did not run on the candidate"
R_SUITE_MISSING = "the suite did not run on the candidate"
R_TASKS_MISSING = "{count} task(s) measured on the baseline are missing on the candidate: {ids}"
R_DEFINITION_CHANGED = "the suite definition changed between baseline and candidate"
R_PARTIAL = "the {side} results are one shard ({index}/{total}), not the whole run"
R_UNCLEAR = "{subject} is unclear: {detail}"
R_WEIGHTED_FALLS = (
    "the weighted mean delta falls with confidence ({delta}, {level} CI {ci}), though within "
    "tolerance"
)
R_NOTHING = "nothing was compared: no suite ran on both sides"
R_NOT_COMPARED = "{subject} could not be compared: no task has values on both sides"

REC_REPEATS = (
    "run suite {suite} with repeat: {repeats} (now {current}) to settle {metrics}, if the "
    "effect stays near its estimate"
)
REC_REPEATS_NO_ESTIMATE = "run suite {suite} with more repeats to settle {metrics}"
REC_PERSON_TASKS_DISAGREE = (
    "{metrics} in suite {suite}: more repeats would not settle it (the tasks disagree, or "
    "the effect sits on the tolerance); a person must decide"
)
REC_PERSON = "a person must review: {what}"

SUMMARY = {
    "accept": "accept: nothing regressed with confidence",
    "reject": "reject: {reason}",
    "inconclusive": "inconclusive: {reason}",
}


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Interval(Model):
    low: float | None
    high: float | None


class Histogram(Model):
    """Tasks by their delta (candidate - baseline): ``counts[i]`` in [edges[i], edges[i+1])."""

    edges: list[float | None]
    counts: list[int]


class TaskTiming(Model):
    """A task whose timing regressed past the floor with confidence, on its own."""

    id: str
    ratio: float | None
    p_adjusted: float | None


class TaskDelta(Model):
    """A task whose score moved past the tolerance the wrong way, on its own: what a reader
    looks at first when a suite's score regressed (the task ids say which data or fold)."""

    id: str
    base: float | None
    cand: float | None
    delta: float | None


class MetricComparison(Model):
    name: str
    kind: Literal["score", "timing"]
    direction: Literal["higher", "lower"]
    weight: float
    gate: bool
    # scores: the tolerated regression (absolute); timings: the effect-size floor (fraction)
    tolerance: float
    tasks: int
    base: float | None
    cand: float | None
    delta: float | None
    delta_pct: float | None
    # timings: candidate / baseline, the geometric mean over tasks of the ratio of medians
    ratio: float | None = None
    # scores: of the delta; timings: of the ratio
    ci: Interval | None = None
    # bootstrap p for "worse than the tolerance" (scores) or "slower past the floor" (timings)
    p_value: float | None = None
    # after Holm's correction across the gating metrics of the whole comparison
    p_adjusted: float | None = None
    verdict: MetricVerdict
    # "better"/"worse" only when the interval excludes no change (timings: lies past the
    # floor); None when nothing was compared or no interval could be computed
    change: Change | None = None
    histogram: Histogram | None = None
    missing_tasks: list[str] = []
    # timings: the tasks that, each on its own, are slower past the floor with confidence
    slower_tasks: list[TaskTiming] = []
    # scores: the tasks whose delta is worse than the tolerance, worst first (at most
    # WORSE_TASKS_SHOWN; ``worse_tasks_more`` counts the others)
    worse_tasks: list[TaskDelta] = []
    worse_tasks_more: int = 0


class CheckComparison(Model):
    id: str
    base: Literal["ok", "failed"] | None
    cand: Literal["ok", "failed"] | None
    verdict: CheckVerdict
    reason: str | None = None
    failures: list[str] = []
    output_tail: str = ""


class TaskFailure(Model):
    id: str
    side: Literal["baseline", "candidate", "both"]
    reason: str | None
    output_tail: str


class SuiteComparison(Model):
    id: str
    kind: Literal["benchmark", "regression"]
    present: Presence
    base_hash: str | None
    cand_hash: str | None
    definition_changed: bool
    repeat: int
    minimum: float | None = None
    # suite score: see suite_score(); the delta is candidate - baseline with its interval, the
    # change is relative to the baseline's score (what the monitor watches)
    score_base: float | None = None
    score_cand: float | None = None
    score_delta: float | None = None
    score_delta_ci: Interval | None = None
    score_change: float | None = None
    score_change_ci: Interval | None = None
    # weighted mean over gating score metrics, signed so that positive is better
    weighted_delta: float | None = None
    tasks_paired: int = 0
    tasks_base_only: list[str] = []
    tasks_cand_only: list[str] = []
    metrics: list[MetricComparison] = []
    checks: list[CheckComparison] = []
    failed_tasks: list[TaskFailure] = []
    notes: list[str] = []
    verdict: Decision


class Reason(Model):
    code: str
    suite: str | None
    subject: str | None
    message: str


class Recommendation(Model):
    kind: Literal["repeats", "person"]
    suite: str | None
    repeats: int | None
    message: str


class Side(Model):
    commit: str
    ref: str


class Approval(Model):
    type: str | None
    risk: str | None
    tier: Tier
    needs_person: bool
    approvers: list[str]
    timeout_days: float


class Settings(Model):
    confidence: float
    tolerance: dict[str, float]
    timing_floor: float
    resamples: int
    seed: int
    holm: bool


class Comparison(Model):
    version: int = COMPARISON_VERSION
    decision: Decision
    summary: str
    reasons: list[Reason]
    recommendations: list[Recommendation]
    base: Side
    cand: Side
    settings: Settings
    approval: Approval
    suites: list[SuiteComparison]
    notes: list[str]
