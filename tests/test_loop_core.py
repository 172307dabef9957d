"""The pure parts of seeing and steering the loop: alerts, effectiveness and track records,
resemblance warnings, opportunities, proposal states, health, charts and the tuner's choice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core import policy
from bot.core.analytics.alerts import (
    Alert,
    auto_tier_paused,
    current_alerts,
    rollback_rate,
    update_alerts,
)
from bot.core.analytics.dashboard import (
    ProposalView,
    alert_state,
    dashboard,
    mermaid,
    proposal_state,
    render_markdown,
    svg,
)
from bot.core.analytics.effectiveness import (
    Predicted,
    effectiveness,
    release_outcomes,
    resemblance_warnings,
    track_record,
    track_record_lines,
)
from bot.core.analytics.opportunities import filed_keys, find_opportunities, to_file
from bot.core.analytics.trends import Point, drift, failing_streaks
from bot.core.config import Config, parse_config
from bot.core.tiers import TrackRecord, approval_tier
from bot.core.tuner import parse_target, parse_values
from bot.errors import InputError
from tests.helpers.loop import NOW, monitor, release, runs

CFG = Config()


# --- alerts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("releases", "raised"),
    [
        ([], False),
        ([release("1.0.0", 3)], False),
        # 1 of 3 = 33% > 30%
        ([release("1.0.0", 10), release("1.0.1", 8), release("1.0.2", 5),
          release("1.0.3", 4, rollback_of="1.0.2")], True),
        # 1 of 4 = 25%: under the line
        ([release("1.0.0", 10), release("1.0.1", 8), release("1.0.2", 5), release("1.0.4", 2),
          release("1.0.3", 4, rollback_of="1.0.2")], False),
        # the rolled-back release is older than 30 days: it no longer counts
        ([release("1.0.0", 40), release("1.0.1", 35, rollback_of="1.0.0"),
          release("1.0.2", 5)], False),
        # the release's own monitor window says rolled back
        ([release("1.0.0", 5, state="rolled_back"), release("1.0.1", 3)], True),
    ],
)
def test_rollback_rate_alert_and_auto_pause(releases: list, raised: bool) -> None:
    alerts = current_alerts(releases, [], [], [], NOW, CFG)
    assert any(a.kind == "rollback_rate" for a in alerts) is raised
    assert auto_tier_paused(releases, NOW, CFG) is raised


def test_rollback_rate_counts_only_proposals() -> None:
    rr = rollback_rate([release("1.0.0", 5), release("1.0.1", 4, rollback_of="1.0.0")], NOW, 30)
    assert rr.released == ("1.0.0",) and rr.rolled_back == ("1.0.0",) and rr.rate == 1.0


@pytest.mark.parametrize(
    ("worsts", "state", "raised"),
    [
        ([-0.05, -0.25], "watching", True),
        ([-0.25, -0.05], "warned", False),  # the newest run is what counts
        ([-0.20], "watching", False),  # exactly 20% is not over 20%
        ([-0.30], "kept", False),  # the window closed
        ([None], "watching", False),
        ([-0.21], "rollback_opened", True),
    ],
)
def test_metric_drop_alert(worsts: list, state: str, raised: bool) -> None:
    alerts = current_alerts([], [monitor("v1.2.0", worsts, state)], [], [], NOW, CFG)
    assert [a.key for a in alerts] == (["metric_drop:v1.2.0"] if raised else [])


@pytest.mark.parametrize(("count", "raised"), [(50, False), (51, True), (0, False)])
def test_waiting_alert(count: int, raised: bool) -> None:
    waiting = [(i, f"p{i}", "awaiting approval") for i in range(count)]
    alerts = current_alerts([], [], [], waiting, NOW, CFG)
    assert any(a.kind == "waiting" for a in alerts) is raised


@pytest.mark.parametrize(
    ("failed", "streak"),
    [
        ([{"s/t"}] * 5, 5),
        ([{"s/t"}] * 4, 4),
        ([{"s/t"}] * 3 + [set()] + [{"s/t"}] * 4, 4),  # broken by a pass
        ([{"s/t"}] * 6 + [set()], None),  # passes now
        ([{"s/t"}, {"s/u"}, {"s/t"}], 1),
    ],
)
def test_failing_streaks(failed: list, streak: int | None) -> None:
    got = failing_streaks(runs(failed)).get("s/t")
    assert got == streak
    alerts = current_alerts([], [], runs(failed), [], NOW, CFG)
    assert any(a.key == "failing_task:s/t" for a in alerts) is bool(streak and streak >= 5)


def test_a_run_of_another_suite_does_not_break_a_streak() -> None:
    rs = runs([{"s/t"}] * 5)
    other = runs([set()], suite="other")[0]
    merged = sorted([*rs, other.__class__(at=rs[2].at + timedelta(minutes=1), commit="f" * 40,
                                          source="y", suites=frozenset({"other"}))],
                    key=lambda r: r.at)
    assert failing_streaks(merged)["s/t"] == 5


def test_alerts_are_raised_once_and_clear() -> None:
    a = Alert("waiting", "waiting", "51 proposals are waiting")
    first = update_alerts({}, [a], NOW)
    assert first.raised == [a] and first.cleared == []
    later = NOW + timedelta(hours=6)
    second = update_alerts(first.state(), [a], later)
    assert second.raised == [] and second.active[0].since == NOW
    third = update_alerts(second.state(), [], later)
    assert third.raised == [] and third.cleared == ["waiting"] and third.state() == {}


def test_alert_state_round_trips_through_the_issue_body() -> None:
    a = Alert("failing_task:s/t", "failing_task", "task s/t failed in 5 runs in a row")
    up = update_alerts({}, [a], NOW)
    d = dashboard([], [], [], [], up.active, effectiveness([]), NOW, CFG)
    body = render_markdown(d, up.state())
    assert alert_state(body) == {"failing_task:s/t": NOW.isoformat()}
    assert alert_state("no data here") == {}


# --- effectiveness ----------------------------------------------------------------------------


def test_effectiveness_per_proposer_and_type() -> None:
    rels = [release("1.0.0", 20, author="tuner", state="kept", delta=0.01),
            release("1.0.1", 10, author="tuner", delta=0.05),
            release("1.1.0", 9, author="alice", ptype="prompt_edit", decision="inconclusive"),
            release("1.1.1", 8, rollback_of="1.0.1")]
    pred = {"prop-1-0-0": Predicted("accuracy", 0.02), "prop-1-0-1": Predicted("accuracy", 0.04)}
    eff = effectiveness(release_outcomes(rels, [], pred))
    tuner = eff.by_author["tuner"]
    assert (tuner.proposed, tuner.accepted, tuner.merged, tuner.kept, tuner.rolled_back) == \
        (2, 2, 2, 1, 1)
    assert tuner.mean_predicted == pytest.approx(0.03)
    assert tuner.mean_realized == pytest.approx(0.03)
    alice = eff.by_author["alice"]
    assert (alice.accepted, alice.merged, alice.rolled_back) == (0, 1, 0)
    assert set(eff.by_type) == {"constant_tune", "prompt_edit"}
    assert track_record(eff, "tuner") == TrackRecord(merged=2, rolled_back=1)
    assert track_record(eff, "nobody") == TrackRecord()


def test_track_record_feeds_the_auto_tier() -> None:
    cfg = parse_config("approval:\n  auto:\n    - {type: constant_tune, min_merged: 2, "
                       "max_rollback_rate: 0.4}\n")
    good = effectiveness(release_outcomes([release("1.0.0", 5), release("1.0.1", 4)]))
    bad = effectiveness(release_outcomes([release("1.0.0", 5), release("1.0.1", 4),
                                          release("1.0.2", 3, rollback_of="1.0.1")]))
    new = effectiveness([])
    tier = [approval_tier("constant_tune", "low", cfg.approval, track_record(e, "tuner"))
            for e in (good, bad, new)]
    assert tier == ["auto", "person", "person"]


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("tuner", "**Track record of tuner**: 2 proposed, 2 accepted, 2 merged, 0 kept, "
                  "1 rolled back (50% of merged); predicted +0.020 vs realized +0.030 on "
                  "average (1 measured)"),
        ("stranger", "**Track record of stranger**: no earlier proposal on record"),
        ("@evil", "**Track record of @\u2060evil**: no earlier proposal on record"),
    ],
)
def test_track_record_lines(author: str, expected: str) -> None:
    rels = [release("1.0.0", 5), release("1.0.1", 4), release("1.0.2", 3, rollback_of="1.0.1")]
    eff = effectiveness(release_outcomes(rels, [], {"prop-1-0-0": Predicted("accuracy", 0.02)}))
    assert track_record_lines(eff, author) == [expected]


@pytest.mark.parametrize(
    ("ptype", "changes", "expected"),
    [
        ("constant_tune", [("config/router.yaml", "routing.threshold 0.70 -> 0.62")],
         "same change"),
        ("constant_tune", [("config/router.yaml", "routing.threshold 0.55 -> 0.80")],
         "resembles"),
        ("prompt_edit", [("config/router.yaml", "routing.threshold 0.55 -> 0.80")], None),
        ("constant_tune", [("config/other.yaml", "routing.threshold 0.55 -> 0.62")], None),
    ],
)
def test_resemblance_to_a_rolled_back_proposal(ptype: str, changes: list,
                                               expected: str | None) -> None:
    rels = [release("1.0.0", 9), release("1.0.1", 4, rollback_of="1.0.0")]
    got = resemblance_warnings(ptype, changes, rels)
    if expected is None:
        assert got == []
    else:
        assert len(got) == 1 and expected in got[0] and "v1.0.0" in got[0]


def test_no_resemblance_to_a_kept_release() -> None:
    rels = [release("1.0.0", 9, state="kept")]
    assert resemblance_warnings("constant_tune",
                                [("config/router.yaml", "routing.threshold 0.1 -> 0.62")],
                                rels) == []


# --- opportunities ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failed", "scores", "kinds"),
    [
        ([{"s/t"}, set(), {"s/t"}, set(), {"s/t"}], None, ["failing_task"]),
        ([{"s/t"}, set(), set(), set(), {"s/t"}], None, []),
        ([set()] * 6, [0.9, 0.9, 0.9, 0.8, 0.8, 0.8], ["drift"]),
        ([set()] * 6, [0.9, 0.9, 0.9, 0.88, 0.88, 0.88], []),  # -2.2%: under the 5% line
        ([set()] * 6, [0.8, 0.8, 0.8, 0.9, 0.9, 0.9], []),  # rising
        ([set()] * 3, [0.9, 0.5, 0.1], []),  # too few points
    ],
)
def test_find_opportunities(failed: list, scores: list | None, kinds: list) -> None:
    found = find_opportunities(runs(failed, scores), CFG)
    assert [o.kind for o in found] == kinds


def test_opportunities_are_filed_once() -> None:
    found = find_opportunities(runs([{"s/t"}] * 3), CFG)
    assert len(found) == 1
    body = f"text\n{found[0].key_line()}\n"
    assert filed_keys([body, "", "other"]) == {found[0].key}
    assert to_file(found, filed_keys([body])) == []
    assert to_file(found, set()) == found


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1.0, 1.0, 0.9, 0.9], -0.1), ([1.0, 1.0, 1.0], None), ([0.0, 0.0, 1.0, 1.0], None)],
)
def test_drift(values: list, expected: float | None) -> None:
    pts = [Point(NOW, "x", v) for v in values]
    got = drift(pts, 10)
    assert got == (pytest.approx(expected) if expected is not None else None)


# --- the dashboard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "state"),
    [
        (None, "evaluating"),
        (policy.DESC_WAITING, "evaluating"),
        (policy.DESC_REJECT, "rejected"),
        (policy.DESC_ERROR, "error"),
        (policy.DESC_AUTO, "approved"),
        (policy.DESC_AWAIT.format(verdict="accepted"), "awaiting approval"),
        (policy.DESC_AWAIT.format(verdict="inconclusive"), "awaiting approval"),
        (policy.DESC_STALE.format(verdict="accepted", sha="abc1234"), "awaiting approval"),
        (policy.DESC_EXPIRED.format(verdict="accepted", by="bob"), "awaiting approval"),
        (policy.DESC_APPROVED.format(verdict="accepted", by="bob", sha="abc1234"), "approved"),
        (policy.DESC_APPROVED_EARLY.format(by="bob", sha="abc1234"), "evaluating"),
        (policy.DESC_HELD.format(by="bob") + ": waiting for data", "held"),
    ],
)
def test_proposal_state_from_the_gate(description: str | None, state: str) -> None:
    assert proposal_state(description) == state


@pytest.mark.parametrize(
    ("case", "health"),
    [
        ("nothing", "good"),
        ("released", "excellent"),
        ("rejected", "fair"),
        ("warned", "fair"),
        ("failing", "fair"),
        ("alert", "needs attention"),
    ],
)
def test_health_line(case: str, health: str) -> None:
    rels = [release("1.0.0", 3)] if case == "released" else []
    mons = [monitor("v1.0.0", [-0.04], "warned")] if case == "warned" else []
    rs = runs([{"s/t"}]) if case == "failing" else []
    props = [ProposalView(3, "p", "rejected")] if case == "rejected" else []
    alerts = update_alerts({}, [Alert("waiting", "waiting", "too many")], NOW).active \
        if case == "alert" else []
    d = dashboard(rels, mons, rs, props, alerts, effectiveness([]), NOW, CFG)
    assert d.health == health
    assert d.reason


def test_charts_mermaid_and_svg() -> None:
    d = dashboard([], [], runs([set()] * 3, [0.8, 0.85, 0.9], suite='a"b]'), [], [],
                  effectiveness([]), NOW, CFG)
    chart = d.charts[0]
    text = mermaid(chart)
    assert text.startswith("xychart-beta") and "line [0.8000, 0.8500, 0.9000]" in text
    assert '"a_b_"' in text  # quotes and brackets cannot end the label
    pic = svg(chart)
    assert pic.count("<circle") == 3 and 'data-suite="a&quot;b]"' in pic


def test_markdown_escapes_untrusted_titles() -> None:
    props = [ProposalView(7, "<img src=x> | @team", "held", author="[x](http://e)")]
    d = dashboard([], [], [], props, [], effectiveness([]), NOW, CFG)
    body = render_markdown(d, {})
    assert "\\<img src=x\\>" in body and "\\|" in body and "@\u2060team" in body
    assert "[x](http" not in body


# --- the tuner's options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [("config/r.yaml:routing.threshold", ("config/r.yaml", "routing.threshold")),
     ("a.toml:tool.x", ("a.toml", "tool.x")),
     ("c:/x.json:k", ("c:/x.json", "k"))],
)
def test_parse_target(spec: str, expected: tuple) -> None:
    assert parse_target(spec) == expected


@pytest.mark.parametrize("spec", ["config/r.yaml", ":k", "r.yaml:", "notes.txt:k"])
def test_parse_target_refuses(spec: str) -> None:
    with pytest.raises(InputError) as exc:
        parse_target(spec)
    assert exc.value.problems[0].file == "--set"


@pytest.mark.parametrize(
    ("text", "values"),
    [("0.5,0.6, 0.7", [0.5, 0.6, 0.7]), ("1,2", [1, 2]), ("true,fast", [True, "fast"]),
     ("[1],x", ["[1]", "x"])],
)
def test_parse_values(text: str, values: list) -> None:
    assert parse_values(text) == values


def test_parse_values_refuses_nothing() -> None:
    with pytest.raises(InputError):
        parse_values(" , ")


def test_the_loop_benchmark_suite_loads() -> None:
    from pathlib import Path

    from bot.core.suites import parse_suite

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "loop.yaml"
    suite = parse_suite(path.read_text(), "benchmarks/loop.yaml", "benchmark")
    assert suite.id == "loop-dashboard" and len(suite.tasks) == 2


def test_the_dashboard_says_when_releases_wait_for_the_daily_limit() -> None:
    config = parse_config("limits:\n  max_releases_per_day: 2\n")
    recent = [release("1.0.1", 0.5), release("1.0.0", 0.25)]
    d = dashboard(recent, [], [], [], [], effectiveness([]), NOW, config)
    opens = NOW - timedelta(days=0.5) + timedelta(hours=24)
    assert d.releases_wait == (f"2 releases in the last 24 hours, at most 2 "
                               f"(limits.max_releases_per_day); the next may be released after "
                               f"{opens.strftime('%Y-%m-%d %H:%M %Z')}")
    assert "**Releases wait**: 2 releases in the last 24 hours" in render_markdown(d, {})
    # one of them a day old: a slot is free, nothing said
    older = [release("1.0.1", 1.5), release("1.0.0", 0.25)]
    assert dashboard(older, [], [], [], [], effectiveness([]), NOW, config).releases_wait == ""
