"""The proposal an issue carries, and its problems at the issue's lines (bot/core/
issue_proposals.py), table-tested; the problems come from the real proposal checks."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.comment_commands import ISSUE_COMMAND_NAMES, parse_commands
from bot.core.config import Config
from bot.core.issue_proposals import Block, at_issue_lines, pr_number, proposal_block
from bot.core.proposals import check_proposal

YAML = "id: p\ntitle: t\n"

CASES = [
    ("form field", f"### What\n\nx\n\n### Proposal\n\n```yaml\n{YAML}```\n", Block(YAML, 8)),
    ("form field wins over an earlier block",
     f"```yaml\nother: 1\n```\n\n### Proposal\n\n```yml\n{YAML}```\n", Block(YAML, 8)),
    ("first yaml block", f"Please:\n\n```yaml\n{YAML}```\n\n```yaml\nb: 2\n```\n",
     Block(YAML, 4)),
    ("tilde fence, longer fence", f"~~~~ yaml\n{YAML}~~~~\n", Block(YAML, 2)),
    ("a yaml-looking line inside a text block is not a block",
     "```text\n```yaml\n```\n", None),
    ("the form's empty field", "### Proposal\n\n_No response_\n", None),
    ("no block", "just words", None),
    ("no body", None, None),
    ("Windows line ends", f"```yaml\r\n{YAML.replace(chr(10), chr(13) + chr(10))}```\r\n",
     Block(YAML, 2)),
]


@pytest.mark.parametrize(("body", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_proposal_block(body: str | None, expected: Block | None) -> None:
    assert proposal_block(body) == expected


def test_problems_are_moved_to_the_issue_s_lines() -> None:
    body = ("### Proposal\n\n```yaml\nid: p\ntitle: t\ntype: constant_tune\nrisk: extreme\n"
            "rationale: r\npredicted_improvement: {metric: a, delta: 0.1}\nauthor: me\n"
            "changes:\n  - path: a.yaml\n    set: {key: k, value: 1}\n```\n")
    block = proposal_block(body)
    assert block is not None
    checked = check_proposal(block.text, "#7", Config(), date(2026, 1, 1))
    moved = at_issue_lines(checked.problems, "#7", block)
    assert [(p.file, p.line, p.field) for p in moved] == [("#7", 7, "risk")]
    assert body.split("\n")[6] == "risk: extreme"


@pytest.mark.parametrize(("url", "number"), [
    ("https://github.com/o/r/pull/12", 12), ("#3", 3), (None, None), ("", None)])
def test_pr_number(url: str | None, number: int | None) -> None:
    assert pr_number(url) == number


def test_propose_is_read_on_issues_only() -> None:
    assert [c.name for c in parse_commands("/propose", ISSUE_COMMAND_NAMES)] == ["propose"]
    assert parse_commands("/propose") == []  # a pull request's comment: not a command there
    assert parse_commands("/approve", ISSUE_COMMAND_NAMES) == []
    (cmd,) = parse_commands("/propose now", ISSUE_COMMAND_NAMES)
    assert cmd.error == "takes no argument"
