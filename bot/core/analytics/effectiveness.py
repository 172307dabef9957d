"""Effectiveness: what became of each proposer's and each proposal type's proposals, from the
records. Pure.

* ``accepted``: the comparison said accept (the release record's, or the open PR's gate);
* ``merged``: released (a release record that is not a rollback);
* ``kept``: its monitor window closed without a rollback;
* ``rolled_back``: a later rollback release names its version (or its monitor says so);
* predicted versus realized gain: the proposal's ``predicted_improvement`` against the delta of
  that metric in the comparison recorded at release.

:func:`track_record` turns a proposer's line into the :class:`~bot.core.tiers.TrackRecord` that
``approval.auto[].min_merged`` / ``max_rollback_rate`` read; :func:`track_record_lines` is the
Markdown a new proposal's PR body shows; :func:`resemblance_warnings` warns when a new proposal
looks like one that was rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.records import MonitorRecord, ReleaseRecord
from bot.core.render import md_escape, signed
from bot.core.tiers import TrackRecord

UNKNOWN = "unknown"
TRACK_LINE = ("**Track record of {who}**: {proposed} proposed, {accepted} accepted, {merged} "
              "merged, {kept} kept, {rolled_back} rolled back{rate}{gain}")
NO_TRACK = "**Track record of {who}**: no earlier proposal on record"
GAIN = "; predicted {predicted} vs realized {realized} on average ({n} measured)"
RESEMBLES_TARGET = ("This proposal resembles {tag} (proposal {id}), which was rolled back: the "
                    "same type ({type}) on {paths}")
RESEMBLES_CHANGE = ("This proposal makes the same change as {tag} (proposal {id}), which was "
                    "rolled back: {what}")


@dataclass(frozen=True)
class Predicted:
    metric: str
    delta: float


@dataclass(frozen=True)
class ProposalOutcome:
    """One proposal as the records know it."""

    id: str
    author: str
    type: str
    accepted: bool = False
    merged: bool = False
    kept: bool = False
    rolled_back: bool = False
    version: str | None = None
    predicted: Predicted | None = None
    realized: float | None = None


@dataclass
class Tally:
    proposed: int = 0
    accepted: int = 0
    merged: int = 0
    kept: int = 0
    rolled_back: int = 0
    predicted: list[float] = field(default_factory=list)
    realized: list[float] = field(default_factory=list)

    def add(self, o: ProposalOutcome) -> None:
        self.proposed += 1
        self.accepted += o.accepted
        self.merged += o.merged
        self.kept += o.kept
        self.rolled_back += o.rolled_back
        if o.predicted is not None and o.realized is not None:
            self.predicted.append(o.predicted.delta)
            self.realized.append(o.realized)

    @property
    def rollback_rate(self) -> float:
        return self.rolled_back / self.merged if self.merged else 0.0

    @property
    def mean_predicted(self) -> float | None:
        return sum(self.predicted) / len(self.predicted) if self.predicted else None

    @property
    def mean_realized(self) -> float | None:
        return sum(self.realized) / len(self.realized) if self.realized else None

    def as_dict(self) -> dict[str, Any]:
        return {"proposed": self.proposed, "accepted": self.accepted, "merged": self.merged,
                "kept": self.kept, "rolled_back": self.rolled_back,
                "rollback_rate": round(self.rollback_rate, 4),
                "mean_predicted": self.mean_predicted, "mean_realized": self.mean_realized,
                "measured": len(self.realized)}


@dataclass
class Effectiveness:
    by_author: dict[str, Tally] = field(default_factory=dict)
    by_type: dict[str, Tally] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"by_author": {k: v.as_dict() for k, v in self.by_author.items()},
                "by_type": {k: v.as_dict() for k, v in self.by_type.items()}}


def rolled_back_versions(releases: Iterable[ReleaseRecord],
                         monitors: Iterable[MonitorRecord] = ()) -> dict[str, ReleaseRecord | None]:
    """Versions rolled back -> the rollback release that did it (None when only a monitor or the
    record's own window says so)."""
    out: dict[str, ReleaseRecord | None] = {}
    for r in releases:
        if r.monitor.state == "rolled_back":
            out.setdefault(r.version, None)
        rb = r.rollback or {}
        if rb.get("version"):
            out[str(rb["version"])] = r
    for m in monitors:
        if m.state == "rolled_back":
            out.setdefault(m.version, None)
    return out


def realized_gain(comparison: Mapping[str, Any], metric: str) -> float | None:
    """The delta of ``metric`` in a recorded comparison (the first suite measuring it)."""
    details = comparison.get("details") or {}
    for suite in details.get("suites") or []:
        for m in suite.get("metrics") or []:
            if m.get("name") == metric and isinstance(m.get("delta"), int | float):
                return float(m["delta"])
    return None


def release_outcomes(
    releases: Sequence[ReleaseRecord],
    monitors: Sequence[MonitorRecord] = (),
    predicted: Mapping[str, Predicted] = {},
) -> list[ProposalOutcome]:
    """One outcome per released proposal (rollback releases are not proposals of their own)."""
    rolled = rolled_back_versions(releases, monitors)
    kept = {m.version for m in monitors if m.state == "kept"}
    kept |= {r.version for r in releases if r.monitor.state == "kept"}
    out = []
    for r in releases:
        if r.rollback or not r.proposal:
            continue
        p = r.proposal
        pid = str(p.get("id") or r.tag)
        pred = predicted.get(pid)
        out.append(ProposalOutcome(
            id=pid, author=str(p.get("author") or UNKNOWN), type=str(p.get("type") or UNKNOWN),
            accepted=(r.comparison or {}).get("decision") == "accept", merged=True,
            kept=r.version in kept and r.version not in rolled,
            rolled_back=r.version in rolled, version=r.version, predicted=pred,
            realized=realized_gain(r.comparison, pred.metric) if pred else None))
    return out


def effectiveness(outcomes: Iterable[ProposalOutcome]) -> Effectiveness:
    eff = Effectiveness()
    for o in outcomes:
        eff.by_author.setdefault(o.author, Tally()).add(o)
        eff.by_type.setdefault(o.type, Tally()).add(o)
    eff.by_author = dict(sorted(eff.by_author.items()))
    eff.by_type = dict(sorted(eff.by_type.items()))
    return eff


def track_record(eff: Effectiveness, author: str) -> TrackRecord:
    """What ``approval_tier(..., record=)`` needs for this proposer."""
    t = eff.by_author.get(author)
    return TrackRecord(merged=t.merged, rolled_back=t.rolled_back) if t else TrackRecord()


def track_record_lines(eff: Effectiveness, author: str) -> list[str]:
    """Markdown lines for a new proposal's PR body: the proposer's record so far.

    Call it with ``effectiveness(release_outcomes(releases, monitors, predicted))`` and the
    proposal's ``author``; the author is untrusted and escaped here."""
    who = md_escape(author, 100)
    t = eff.by_author.get(author)
    if t is None or t.proposed == 0:
        return [NO_TRACK.format(who=who)]
    rate = f" ({t.rollback_rate:.0%} of merged)" if t.merged else ""
    gain = GAIN.format(predicted=signed(t.mean_predicted), realized=signed(t.mean_realized),
                       n=len(t.realized)) if t.realized else ""
    return [TRACK_LINE.format(who=who, proposed=t.proposed, accepted=t.accepted, merged=t.merged,
                              kept=t.kept, rolled_back=t.rolled_back, rate=rate, gain=gain)]


def _new_value(what: str) -> str:
    # "routing.threshold 0.55 -> 0.62": the same change sets the same key to the same value
    head, arrow, tail = what.partition(" -> ")
    return f"{head.split(' ')[0]} -> {tail.strip()}" if arrow else what.strip()


def resemblance_warnings(
    ptype: str,
    changes: Sequence[tuple[str, str]],
    releases: Sequence[ReleaseRecord],
    monitors: Sequence[MonitorRecord] = (),
) -> list[str]:
    """Warnings (Markdown lines) when a new proposal resembles a rolled-back one: the same type
    on a shared target path, or the same change (path, key and new value).

    ``changes`` are the new proposal's ``(path, what)`` pairs, as
    ``bot.core.edits.ChangeSummary`` gives them (``path``, ``description``)."""
    rolled = rolled_back_versions(releases, monitors)
    out: list[str] = []
    mine_paths = {p for p, _ in changes}
    mine_changes = {(p, _new_value(w)) for p, w in changes}
    for r in releases:
        if r.version not in rolled or not r.proposal:
            continue
        p = r.proposal
        theirs = [(str(c.get("path", "")), str(c.get("what", "")))
                  for c in p.get("changes") or [] if isinstance(c, dict)]
        same = sorted({(path, w) for path, w in theirs if (path, _new_value(w)) in mine_changes})
        pid = md_escape(p.get("id") or "?", 100)
        if same:
            what = "; ".join(f"{md_escape(path, 200)}: {md_escape(w, 200)}" for path, w in same)
            out.append(RESEMBLES_CHANGE.format(tag=r.tag, id=pid, what=what))
            continue
        shared = sorted(mine_paths & {path for path, _ in theirs})
        if shared and str(p.get("type")) == ptype:
            paths = ", ".join(md_escape(s, 200) for s in shared)
            out.append(RESEMBLES_TARGET.format(tag=r.tag, id=pid, type=md_escape(ptype, 60),
                                               paths=paths))
    return out
