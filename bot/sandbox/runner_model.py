"""What the sandbox's workflow runner keeps of a run: the workflow file, its runs, jobs and steps
as they go, the journal's records, and the GitHub App the repository has installed."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.expressions import to_string


@dataclass
class App:
    """The GitHub App installed on the repository (the README's setup)."""

    app_id: str = "424242"
    private_key: str = "-----BEGIN RSA PRIVATE KEY-----\nsandbox\n-----END RSA PRIVATE KEY-----"
    slug: str = "improve-app"
    permissions: dict[str, str] = field(default_factory=lambda: {
        "actions": "write", "contents": "write", "issues": "write", "pull-requests": "write",
        "statuses": "write", "metadata": "read"})

    @property
    def login(self) -> str:
        return f"{self.slug}[bot]"


@dataclass
class StepRecord:
    name: str
    outcome: str  # success | failure | skipped
    conclusion: str
    argv: list[str] | None = None
    out: str = ""
    err: str = ""
    message: str = ""
    seconds: float = 0.0
    code: int | None = None  # a bot step's exit code (1: the gate or check says no)
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Workflow:
    file: str  # .github/workflows/<name>.yml
    name: str
    doc: dict[Any, Any]  # (YAML 1.1 reads the key ``on`` as True)

    @property
    def on(self) -> dict[str, Any]:
        on = self.doc.get("on", self.doc.get(True))
        if isinstance(on, str):
            return {on: None}
        if isinstance(on, list):
            return {e: None for e in on}
        return dict(on or {})


@dataclass
class Job:
    run: WorkflowRun
    key: str
    spec: dict[str, Any]
    state: str = "waiting"  # waiting | ready | pending | done
    conclusion: str | None = None
    steps: list[StepRecord] = field(default_factory=list)
    group: str | None = None
    api_calls: int = 0
    # a matrix job's values (``matrix.shard``) and its ``strategy`` context
    matrix: dict[str, Any] = field(default_factory=dict)
    strategy: dict[str, Any] = field(default_factory=dict)
    spec_key: str = ""
    outputs: dict[str, str] = field(default_factory=dict)  # its ``outputs:``, once it ran
    deadline: float = math.inf  # time.monotonic() past which GitHub cancels it (timeout-minutes)

    @property
    def needs(self) -> list[str]:
        """The jobs (their keys in ``jobs:``) this one waits for."""
        needs = self.spec.get("needs") or []
        return [needs] if isinstance(needs, str) else [str(n) for n in needs]

    @property
    def name(self) -> str:
        base = str(self.spec.get("name") or self.spec_key or self.key)
        if not self.matrix:
            return base
        # as GitHub names a matrix job: its name and its values
        return f"{base} ({', '.join(to_string(v) for v in self.matrix.values())})"

    def label(self) -> str:
        return f"{self.run.workflow.name}/{self.name}"


@dataclass
class WorkflowRun:
    id: int
    workflow: Workflow
    event: str
    payload: dict[str, Any]
    sha: str
    ref: str
    head_branch: str
    actor: str
    attempt: int = 1
    state: str = "queued"  # queued | pending | in_progress | completed
    conclusion: str | None = None
    jobs: list[Job] = field(default_factory=list)
    group: str | None = None

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return str(action) if isinstance(action, str) else None


@dataclass
class JobRecord:
    """What the journal keeps of each job that ran (or was skipped or cancelled)."""

    workflow: str
    file: str
    job: str
    run_id: int
    attempt: int
    event: str
    action: str | None
    conclusion: str
    steps: list[StepRecord]
    api_calls: int = 0  # REST requests the sandbox logged while the job ran

    def bot_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.argv is not None]
