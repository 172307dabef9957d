"""SWEEP, on the scheduled run: the gates of open proposals that only time changes (expired
approvals, proposals waiting past the approval timeout) and rejected proposals left open past
``proposals.close_rejected_days`` (``bot/core/sweep.py`` decides). A few calls per open
proposal: its comments (the state comment), the head's statuses when time may have changed its
gate, and the writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from bot.adapters.event import Event
from bot.core.config import Config
from bot.core.forge import Forge
from bot.core.policy import GATE_CONTEXT
from bot.core.proposal_files import LABEL
from bot.core.render import render
from bot.core.router import Router
from bot.core.sweep import sweep_decision
from bot.stages.context import StageContext
from bot.stages.pr_state import read_state, set_gate

CLOSE_MARKER = "closed-rejected"
GATE_LINE = "improve sweep: #{number} {sha}: improve/gate {state} ({description})"
CLOSE_LINE = "improve sweep: #{number}: closed, rejected and left open too long"

router: Router[Event, StageContext] = Router()


@dataclass(frozen=True)
class Swept:
    number: int
    what: str  # "gate" or "closed"


def sweep_proposals(forge: Forge, config: Config, now: datetime, out: TextIO,
                    dry_run: bool = False) -> list[Swept]:
    done: list[Swept] = []
    for pr in forge.list_pulls(state="open"):
        if LABEL not in pr.labels:
            continue
        comments = forge.list_comments(pr.number)
        stored = read_state(forge, pr.number, comments)
        # the head's gate is read only when the record says time may have moved it
        probe = sweep_decision(stored.state, pr.head_sha, None, now, config)
        if probe.gate is None and probe.close is None:
            continue
        decision = probe
        if probe.gate is not None:
            status = forge.combined_status(pr.head_sha).get(GATE_CONTEXT)
            current = (status.state, status.description) if status else None
            decision = sweep_decision(stored.state, pr.head_sha, current, now, config)
        if decision.gate is not None:
            print(GATE_LINE.format(number=pr.number, sha=pr.head_sha[:7],
                                   state=decision.gate.state,
                                   description=decision.gate.description), file=out)
            if not dry_run:
                set_gate(forge, pr.head_sha, decision.gate)
            done.append(Swept(pr.number, "gate"))
        if decision.close is not None:
            print(CLOSE_LINE.format(number=pr.number), file=out)
            if not dry_run:
                # the comment first, found by its marker on a re-run: said once, then closed
                forge.upsert_comment(pr.number, CLOSE_MARKER,
                                     render("closed_rejected.md.j2", text=decision.close),
                                     comments)
                forge.update_pull(pr.number, state="closed")
            done.append(Swept(pr.number, "closed"))
    return done


@router.register("schedule")
@router.register("workflow_dispatch")
def on_schedule(event: Event, services: StageContext) -> int:
    sweep_proposals(services.forge, services.config, services.now(), services.out)
    return 0
