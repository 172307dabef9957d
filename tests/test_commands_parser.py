"""The comment-command parser: where a command counts, what its arguments are, hostile input."""

from __future__ import annotations

import pytest

from bot.core.comment_commands import (
    ARG_LIMIT,
    ERR_APPROVE_ARG,
    ERR_NO_ARG,
    MAX_COMMANDS,
    Command,
    parse_commands,
)


def names(body: str) -> list[tuple[str, str]]:
    return [(c.name, c.args) for c in parse_commands(body)]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/approve", [("approve", "")]),
        ("/approve\n", [("approve", "")]),
        ("   /approve", [("approve", "")]),  # up to 3 spaces, as in Markdown
        ("    /approve", []),  # 4 spaces: an indented code block
        ("\t/approve", []),  # a tab is 4 columns
        ("/approve cancel", [("approve", "cancel")]),
        ("/approve   CANCEL  ", [("approve", "cancel")]),
        ("/APPROVE", [("approve", "")]),
        ("/Hold", [("hold", "")]),
        ("/hold waiting for the nightly data", [("hold", "waiting for the nightly data")]),
        ("/unhold", [("unhold", "")]),
        # the spellings Prow users type to lift a hold (a hold reason "cancel" would hold)
        ("/hold cancel", [("unhold", "")]),
        ("/hold  CANCEL ", [("unhold", "")]),
        ("/remove-hold", [("unhold", "")]),
        ("/Remove-Hold", [("unhold", "")]),
        ("/hold cancel it later", [("hold", "cancel it later")]),
        ("/hold\n/hold cancel", [("hold", ""), ("unhold", "")]),
        ("/unhold\n/hold cancel\n/remove-hold", [("unhold", "")]),
        ("/retest", [("retest", "")]),
        ("/rollback", [("rollback", "")]),
        ("/rollback accuracy fell   by 4%", [("rollback", "accuracy fell by 4%")]),
        ("/help", [("help", "")]),
        ("/help me please", [("help", "me please")]),
        # several per comment, in order, with text around them
        ("LGTM\n/approve\nthanks\n/retest", [("approve", ""), ("retest", "")]),
        # not at the start of a line
        ("please /approve", []),
        ("- /approve", []),
        ("`/approve`", []),
        ("**/approve**", []),
        # unknown words and near misses are ordinary text
        ("/approved", []),
        ("/approve.", []),
        ("/lgtm", []),  # not an alias of /approve: in Prow it is a review, not an approval
        ("/lgtm cancel", []),
        ("/", []),
        ("//approve", []),
        ("/ approve", []),
        ("", []),
        # duplicates are answered once
        ("/approve\n/approve", [("approve", "")]),
        ("/hold a\n/hold b", [("hold", "a"), ("hold", "b")]),
    ],
)
def test_where_commands_count(body: str, expected: list[tuple[str, str]]) -> None:
    assert names(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("> /approve", []),
        (">/approve", []),
        ("   > /approve", []),
        ("> > /approve", []),
        # a line right after a quote continues it (a lazy continuation line)
        ("> quoted text\n/approve", []),
        # a blank line ends the quote
        ("> quoted text\n\n/approve", [("approve", "")]),
        ("```\n/approve\n```", []),
        ("~~~\n/approve\n~~~", []),
        ("```python\n/approve\n```\n/retest", [("retest", "")]),
        # a closing fence must be as long as the opening one and of the same character
        ("````\n```\n/approve\n````\n/hold", [("hold", "")]),
        ("```\n~~~\n/approve\n```", []),
        # a fence that is never closed runs to the end of the comment
        ("```\n/approve", []),
        # an info string with a backtick is not a fence
        ("``` a`b\n/approve", [("approve", "")]),
        ("    code\n    /approve", []),
        ("<!--\n/approve\n-->", []),
        ("<!-- /approve -->", []),
        ("<!-- note -->\n/approve", [("approve", "")]),
        ("text <!-- start\n/approve\nend -->\n/hold", [("hold", "")]),
        ("<!--\n/approve\n--> /retest\n/hold", [("hold", "")]),
        ("/rollback bad <!-- hidden --> numbers", [("rollback", "bad numbers")]),
    ],
)
def test_quotes_code_and_comments_hold_no_commands(
    body: str, expected: list[tuple[str, str]]
) -> None:
    assert names(body) == expected


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("/approve", None),
        ("/approve cancel", None),
        ("/approve foo", ERR_APPROVE_ARG),
        ("/approve cancel now", ERR_APPROVE_ARG),
        ("/unhold now", ERR_NO_ARG),
        ("/retest all", ERR_NO_ARG),
        ("/hold any reason at all", None),
        ("/rollback because", None),
        ("/help whatever", None),
    ],
)
def test_bad_arguments_are_results_not_errors(body: str, error: str | None) -> None:
    (cmd,) = parse_commands(body)
    assert cmd.error == error


def test_positions_and_text() -> None:
    cmds = parse_commands("hi\r\n/approve\r\n\r\n/hold  data  late \r\n")
    assert cmds == [
        Command("approve", "", 2, 0),
        Command("hold", "data late", 4, 1),
    ]
    assert cmds[1].text == "/hold data late"
    assert parse_commands("/approve cancel")[0].cancel
    assert not parse_commands("/approve")[0].cancel


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("\u200b/approve", []),  # zero-width space in front: not a command
        ("\ufeff/approve", []),
        ("\u00a0/approve", []),  # a no-break space is not indentation
        ("\u2215approve", []),  # division slash
        ("\uff0fapprove", []),  # fullwidth solidus
        ("\u2044approve", []),  # fraction slash
        ("/app\u200brove", []),
        ("/\u0430pprove", []),  # Cyrillic a
        ("/approve\u202e", []),  # right-to-left override glued to the word
        ("/hold \u202eevil\u202c", [("hold", "\u202eevil\u202c")]),  # kept as text, escaped later
        ("/hold @org/team and @everyone", [("hold", "@org/team and @everyone")]),
        ("/hold $(rm -rf /); `id` | sh && echo", [("hold", "$(rm -rf /); `id` | sh && echo")]),
        ("/hold a\x00b\x1bc", [("hold", "abc")]),  # control characters dropped
        ("/approve\r/retest", [("approve", ""), ("retest", "")]),  # a lone CR ends a line
        ("/\u212aelp", []),  # Kelvin sign folds to k only outside ASCII matching
    ],
)
def test_hostile_input(body: str, expected: list[tuple[str, str]]) -> None:
    assert names(body) == expected


def test_arguments_are_capped_to_one_line() -> None:
    (cmd,) = parse_commands("/rollback " + "x" * 5000 + "\nmore text")
    assert cmd.args == "x" * ARG_LIMIT


def test_a_64kb_body_is_bounded() -> None:
    lines = "\n".join(["/hold " + str(i) for i in range(20000)])[:65536]
    cmds = parse_commands(lines)
    assert len(cmds) == MAX_COMMANDS
    assert [c.index for c in cmds] == list(range(MAX_COMMANDS))
    one_line = "/hold " + "(" * 70000
    (cmd,) = parse_commands(one_line)
    assert len(cmd.args) == ARG_LIMIT
    quotes = "> " * 30000 + "\n/approve"
    assert parse_commands(quotes) == []


def test_text_past_githubs_limit_is_not_read() -> None:
    body = "x" * 65536 + "\n/approve"
    assert parse_commands(body) == []
