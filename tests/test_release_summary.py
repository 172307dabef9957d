"""The changelog's measurement lines from a comparison, and the facts of a merged pull request:
tables of cases over the pure functions."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.adapters.patch import apply_patch
from bot.core.comparison.compare import Comparison
from bot.core.config import Config
from bot.core.embed import embed
from bot.core.forge import PullRequest
from bot.core.release.facts import (
    MergedDiff,
    described_changes,
    handmade_facts,
    pending,
    proposal_facts,
    proposal_path_of,
    rollback_facts,
)
from bot.core.release.summary import (
    NOT_MEASURED,
    NOTHING_COMPARED,
    UNREADABLE,
    comparison_summary,
    fmt_value,
    summary_from_comment,
)
from bot.errors import InputError
from tests.helpers.release import comparison_data

TIMING = {"name": "latency_ms", "kind": "timing", "direction": "lower", "weight": 1.0,
          "gate": True, "tolerance": 0.0, "tasks": 3, "base": 41.0, "cand": 40.2, "delta": -0.8,
          "delta_pct": -2.0, "ratio": 0.98, "ci": {"low": 0.95, "high": 1.01},
          "verdict": "ok"}


def _comparison(metrics: list[dict[str, Any]] | None = None, decision: str = "accept",
                checks: list[dict[str, Any]] | None = None,
                suites: int = 1) -> Comparison:
    data = comparison_data()
    suite = data["suites"][0]
    if metrics is not None:
        suite["metrics"] = metrics
    suite["checks"] = checks or []
    for i in range(1, suites):
        other = copy.deepcopy(suite)
        other["id"] = f"other-{i}"
        data["suites"].append(other)
    data["decision"] = decision
    return Comparison.model_validate(data)


ACC = comparison_data()["suites"][0]["metrics"][0]


def _m(**changes: Any) -> dict[str, Any]:
    return {**ACC, **changes}


@pytest.mark.parametrize(("x", "text"), [
    (0.842, "0.842"), (41.0, "41.0"), (40.2, "40.2"), (1234.5, "1234.5"), (0.0123, "0.0123"),
    (0.0, "0.0"), (-3.25, "-3.25"), (100.0, "100.0"),
])
def test_fmt_value(x: float, text: str) -> None:
    assert fmt_value(x) == text


@pytest.mark.parametrize(("comparison", "improvement", "metrics"), [
    (_comparison(), "accuracy +0.031 [+0.012, +0.050], no regression",
     ["accuracy: 0.842 -> 0.873 (+3.7%)"]),
    (_comparison([ACC, TIMING]), "accuracy +0.031 [+0.012, +0.050], no regression",
     ["accuracy: 0.842 -> 0.873 (+3.7%)", "latency_ms: 41.0 -> 40.2 (-2.0%)"]),
    # the largest improved delta is the headline
    (_comparison([_m(name="recall", delta=0.01), ACC]),
     "accuracy +0.031 [+0.012, +0.050], no regression", None),
    # a regression is named
    (_comparison([ACC, {**TIMING, "verdict": "regressed"}]),
     "accuracy +0.031 [+0.012, +0.050], regressed: latency_ms", None),
    # only a timing improved
    (_comparison([_m(verdict="ok", delta=0.0, ci={"low": -0.01, "high": 0.01}),
                  {**TIMING, "verdict": "improved", "ratio": 0.8,
                   "ci": {"low": 0.7, "high": 0.9}}]),
     "latency_ms x0.80 [0.70, 0.90], no regression", None),
    # a timing faster by its point estimate only (its interval holds no change; issue 17's
    # "change"): never the improvement, and its line says unchanged
    (_comparison([{**TIMING, "name": "ms_per_text", "verdict": "improved", "ratio": 0.71,
                   "base": 12.0, "cand": 8.5, "delta": -3.5, "delta_pct": -29.2,
                   "ci": {"low": 0.45, "high": 1.1}, "change": "unchanged"}]),
     "ms_per_text unchanged (x0.71 [0.45, 1.10]: no change shown with confidence), "
     "no regression", ["ms_per_text: 12.0 -> 8.50 (-29.2%, unchanged)"]),
    # beside a score that is better: the score is the headline
    (_comparison([_m(change="better"), {**TIMING, "verdict": "improved", "ratio": 0.71,
                                        "change": "unchanged"}]),
     "accuracy +0.031 [+0.012, +0.050], no regression",
     ["accuracy: 0.842 -> 0.873 (+3.7%)", "latency_ms: 41.0 -> 40.2 (-2.0%, unchanged)"]),
    # a score whose interval holds zero
    (_comparison([_m(verdict="ok", delta=0.004, delta_pct=0.5, ci={"low": -0.02, "high": 0.03},
                     change="unchanged")]),
     "accuracy unchanged (+0.004 [-0.020, +0.030]: no change shown with confidence), "
     "no regression", ["accuracy: 0.842 -> 0.873 (+0.5%, unchanged)"]),
    # nothing improved: the score that moved most, as it is
    (_comparison([_m(verdict="unclear", delta=-0.004, ci={"low": -0.02, "high": 0.01})],
                 decision="inconclusive"),
     "accuracy -0.004 [-0.020, +0.010], no regression (the comparison said inconclusive)",
     None),
    # two suites: metric names carry the suite
    (_comparison([ACC], suites=2),
     "router-accuracy-v1/accuracy +0.031 [+0.012, +0.050], no regression",
     ["router-accuracy-v1/accuracy: 0.842 -> 0.873 (+3.7%)",
      "other-1/accuracy: 0.842 -> 0.873 (+3.7%)"]),
    # no metrics at all
    (_comparison([]), NOTHING_COMPARED, []),
    # a failing check with no metrics
    (_comparison([], checks=[{"id": "unit", "base": "ok", "cand": "failed",
                              "verdict": "new failure"}], decision="reject"),
     "regressed: check unit (the comparison said reject)", []),
    # a metric without values on one side has no metric line
    (_comparison([_m(base=None, delta=None, delta_pct=None, verdict="not compared")]),
     NOTHING_COMPARED, []),
])
def test_comparison_summary(comparison: Comparison, improvement: str,
                            metrics: list[str] | None) -> None:
    got = comparison_summary(comparison)
    assert got.improvement == improvement
    if metrics is not None:
        assert got.metrics == metrics
    assert got.decision == comparison.decision
    assert got.details["suites"][0]["id"] == "router-accuracy-v1"


@pytest.mark.parametrize(("predicted", "improvement"), [
    # the proposal predicted recall: recall is the headline, although accuracy gained more
    ("recall", "recall +0.010 [+0.012, +0.050], no regression"),
    ("router-accuracy-v1/recall", "recall +0.010 [+0.012, +0.050], no regression"),
    # it predicted a timing: shown as a ratio, even though it did not improve
    ("latency_ms", "latency_ms x0.98 [0.95, 1.01], no regression"),
    # a metric that was not measured: the largest improvement, as without a prediction
    ("f1", "accuracy +0.031 [+0.012, +0.050], no regression"),
    (None, "accuracy +0.031 [+0.012, +0.050], no regression"),
])
def test_headline_is_the_predicted_metric(predicted: str | None, improvement: str) -> None:
    comparison = _comparison([_m(name="recall", delta=0.01), ACC, TIMING])
    assert comparison_summary(comparison, predicted).improvement == improvement
    body = "<!-- improve:compare -->\n" + embed("comparison", comparison.model_dump(mode="json"))
    assert summary_from_comment(body, predicted).improvement == improvement


def test_proposal_facts_carry_the_predicted_metric() -> None:
    data = {"id": "p", "type": "constant_tune", "title": "Raise the threshold",
            "predicted_improvement": {"metric": "recall", "delta": 0.02}}
    facts = proposal_facts(data, "p.yaml")
    assert (facts.predicted_metric, facts.title) == ("recall", "Raise the threshold")
    assert proposal_facts({"id": "p", "type": "t"}, "p.yaml").predicted_metric is None


@pytest.mark.parametrize(("body", "improvement"), [
    (None, NOT_MEASURED),
    ("<!-- improve:compare --> no data", UNREADABLE),
    ("<!-- improve:compare -->\n" + embed("comparison", {"decision": "accept"}), UNREADABLE),
    ("<!-- improve:compare -->\n" + embed("comparison", [1, 2]), UNREADABLE),
    ("<!-- improve:compare -->\n" + embed("comparison", comparison_data()),
     "accuracy +0.031 [+0.012, +0.050], no regression"),
])
def test_summary_from_comment(body: str | None, improvement: str) -> None:
    assert summary_from_comment(body).improvement == improvement


def _pr(number: int, sha: str | None = None, labels: tuple[str, ...] = ("improvement",),
        merged: bool = True, base: str = "main", head: str = "improve/x",
        body: str = "") -> PullRequest:
    return PullRequest(number=number, title=f"PR {number}", body=body, state="closed",
                       merged=merged, merge_commit_sha=sha if merged else None, head_ref=head,
                       head_sha="h" * 40, base_ref=base, base_sha="b" * 40, labels=labels)


PULLS = [
    _pr(1, "s1"), _pr(2, "s2"), _pr(3, "s3", labels=()), _pr(4, "s4", merged=False),
    _pr(5, "s5", base="dev"), _pr(6, "s6", head="improve-release"), _pr(7, "s7"),
    _pr(8, "s8", labels=("rollback",)), _pr(9, "s9"),
]
ORDER = {"s1": 5, "s2": 2, "s3": 1, "s4": 0, "s5": 3, "s6": 4, "s8": 6, "s9": 7}


@pytest.mark.parametrize(("released", "only", "numbers"), [
    (set(), None, [2, 1, 8, 9]),  # merge order; unlabelled, unmerged, other base, the release
    # PR and a merge not on the branch (7) are left out
    ({1, 9}, None, [2, 8]),
    (set(), 3, [3]),  # asked for by number: the label does not matter
    (set(), 4, []),
    (set(), 7, []),
])
def test_pending(released: set[int], only: int | None, numbers: list[int]) -> None:
    got = pending(PULLS, branch="main", released=released, order=ORDER, only=only)
    assert [p.number for p in got] == numbers


@pytest.mark.parametrize(("head", "changed", "path"), [
    ("improve/prop-a", [".improve/proposals/prop-a.yaml", "x"],
     ".improve/proposals/prop-a.yaml"),
    ("feature", [".improve/proposals/mine.yml", "x"], ".improve/proposals/mine.yml"),
    ("feature", [".improve/proposals/a.yaml", ".improve/proposals/b.yaml"], None),
    ("improve/prop-a", ["x"], None),
])
def test_proposal_path_of(head: str, changed: list[str], path: str | None) -> None:
    assert proposal_path_of(_pr(1, "s", head=head), changed) == path


def test_proposal_facts_take_the_commit_descriptions() -> None:
    data = {"id": "p", "type": "constant_tune", "risk": "low", "title": "T", "changes": [
        {"path": "a.yaml", "set": {"key": "k", "value": 2}, "rationale": "why a"},
        {"path": "b.md", "replace": {"old": "x", "new": "y"}},
        {"patch": "--- a/c.py\n+++ b/c.py\n@@ -1 +1 @@\n-x\n+y\n"},
        {"path": "d.md", "content": "new"},
    ]}
    messages = "T\n\n- a.yaml: k 1 -> 2 — why a\n- b.md: 'x' -> 'y'\n\nImprove-Proposal: p\n"
    facts = proposal_facts(data, "p.yaml", messages)
    assert [(c.path, c.what, c.why) for c in facts.changes] == [
        ("a.yaml", "k 1 -> 2", "why a"), ("b.md", "'x' -> 'y'", ""), ("c.py", "patch", ""),
        ("d.md", "new content", "")]
    assert (facts.id, facts.type, facts.risk, facts.breaking) == ("p", "constant_tune", "low",
                                                                  False)
    assert proposal_facts({**data, "breaking": True, "risk": "odd"}, "p.yaml").breaking
    assert proposal_facts(data, "p.yaml").changes[0].what == "k -> 2"
    with pytest.raises(InputError, match="p.yaml: is not a proposal"):
        proposal_facts(["not", "a", "mapping"], "p.yaml")


_CFG = "routing:\n  threshold: 0.55\n"
_SET = {"path": "c.yaml", "set": {"key": "routing.threshold", "value": 0.62}, "rationale": "why"}
_REPL = {"path": "s.md", "replace": {"old": "Search once.", "new": "Search, then verify."}}
_STALE = "T\n\n- c.yaml: routing.threshold 0.55 -> 0.6 — why\n"


@pytest.mark.parametrize(("changes", "after", "messages", "expected"), [
    # merged as proposed: the proposal's description
    ([_SET], {"c.yaml": "routing:\n  threshold: 0.62\n"}, "",
     [("c.yaml", "routing.threshold 0.55 -> 0.62", None)]),
    # the commit message is stale (the proposal file was edited in review, as was the file):
    # what merged, told fresh from the edit, not the first commit's words
    ([_SET], {"c.yaml": "routing:\n  threshold: 0.62\n"}, _STALE,
     [("c.yaml", "routing.threshold 0.55 -> 0.62", None)]),
    # the value was changed in review and the proposal file was not
    ([_SET], {"c.yaml": "routing:\n  threshold: 0.63\n"}, "",
     [("c.yaml", "routing.threshold 0.55 -> 0.63", "routing.threshold 0.55 -> 0.62")]),
    # the value changed in review, in a file with a key given twice: read as the bot reads
    # YAML everywhere (the last one counts), not refused by a reader of its own
    ([_SET], {"c.yaml": "routing:\n  threshold: 0.63\nother: 1\nother: 2\n"}, "",
     [("c.yaml", "routing.threshold 0.55 -> 0.63", "routing.threshold 0.55 -> 0.62")]),
    # the key merged as proposed, with another line of the file changed beside it
    ([_SET], {"c.yaml": "routing:\n  threshold: 0.62\n  retries: 2\n"}, "",
     [("c.yaml", "routing.threshold 0.55 -> 0.62 and +1 -0 lines",
       "routing.threshold 0.55 -> 0.62")]),
    # a replacement edited in review: told by the lines the merge changed
    ([_REPL], {"s.md": "# S\nSearch twice, then verify.\n"}, "",
     [("s.md", "+1 -1 lines",
       "replaced \"Search once.\" with \"Search, then verify.\" (line 2)")]),
    # a file the proposal did not name, and a proposed change the merge left out
    ([_SET, _REPL], {"c.yaml": "routing:\n  threshold: 0.62\n", "extra.md": "x\n"}, "",
     [("c.yaml", "routing.threshold 0.55 -> 0.62", None),
      ("s.md", "not changed by the merge",
       "replaced \"Search once.\" with \"Search, then verify.\" (line 2)"),
      ("extra.md", "not in the proposal: +1 -0 lines", None)]),
])
def test_the_changes_are_what_merged(changes: list[dict[str, Any]], after: dict[str, str],
                                     messages: str,
                                     expected: list[tuple[str, str, str | None]]) -> None:
    before: dict[str, str | None] = {"c.yaml": _CFG, "s.md": "# S\nSearch once.\n",
                                     "extra.md": None}
    full_after = {**before, **after}
    changed = tuple(p for p in full_after if full_after[p] != before.get(p))
    data = {"id": "p", "type": "constant_tune", "changes": changes}
    facts = proposal_facts(data, "p.yaml", messages,
                           MergedDiff(changed=(*changed, ".improve/proposals/p.yaml"),
                                      before=before, after=full_after))
    assert [(c.path, c.what, c.proposed) for c in facts.changes] == expected


_PATCH = ("--- a/s.md\n+++ b/s.md\n@@ -1,2 +1,2 @@\n # S\n-Search once.\n"
          "+Search, then verify.\n")


@pytest.mark.parametrize(("after", "patcher", "expected"), [
    # merged as proposed: the proposal's description
    ("# S\nSearch, then verify.\n", apply_patch, ("patch (+1 -1 lines)", None)),
    # a line added in review: what merged, and what the patch proposed
    ("# S\nSearch, then verify.\nCite.\n", apply_patch,
     ("+2 -1 lines", "patch (+1 -1 lines)")),
    # no patcher to apply the patch with: what merged, nothing claimed about the proposal
    ("# S\nSearch, then verify.\nCite.\n", None, ("+2 -1 lines", None)),
])
def test_a_patch_is_told_as_merged(after: str, patcher: Any,
                                   expected: tuple[str, str | None]) -> None:
    """Before, a patch's entry always said what was proposed, whatever merged."""
    before: dict[str, str | None] = {"s.md": "# S\nSearch once.\n"}
    data = {"id": "p", "type": "prompt_edit", "changes": [{"patch": _PATCH}]}
    facts = proposal_facts(data, "p.yaml", "", MergedDiff(
        changed=("s.md", ".improve/proposals/p.yaml"), before=before, after={"s.md": after}),
        patcher=patcher)
    assert [(c.path, c.what, c.proposed) for c in facts.changes] == [("s.md", *expected)]


def test_described_changes() -> None:
    assert described_changes("x\r\n- a: one\r\n- a: two\n- b c: three\n") == {
        "a": "one", "b c": "three"}


@pytest.mark.parametrize(("labels", "ptype", "breaking"), [
    (("improvement",), "code_change", False),
    (("improvement", "prompt_edit"), "prompt_edit", False),
    (("improvement", "breaking"), "code_change", True),
])
def test_handmade_facts(labels: tuple[str, ...], ptype: str, breaking: bool) -> None:
    facts = handmade_facts(_pr(12, "s", labels=labels, head="feature"), Config(), ["a", "b"])
    assert (facts.id, facts.type, facts.breaking) == ("pr-12", ptype, breaking)
    assert [c.path for c in facts.changes] == ["a", "b"]


def test_handmade_facts_need_a_type() -> None:
    config = Config.model_validate({"proposals": {"types": {"prompt_edit": "minor"}}})
    with pytest.raises(InputError, match="no proposal file and no label naming a proposal type"):
        handmade_facts(_pr(12, "s", head="feature"), config, [])


def test_rollback_facts() -> None:
    assert rollback_facts(_pr(3, "s")) is None
    data = {"version": "1.4.0", "restores": "1.3.2", "reason": "accuracy fell",
            "proposal_id": "prop-a"}
    facts = rollback_facts(_pr(3, "s", body="Revert\n" + embed("rollback", data)))
    assert facts is not None and (facts.version, facts.restores) == ("1.4.0", "1.3.2")
    with pytest.raises(InputError, match="the rollback data in its description does not read"):
        rollback_facts(_pr(3, "s", body=embed("rollback", {"version": "1.4.0"})))
