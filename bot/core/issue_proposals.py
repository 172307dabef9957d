"""Proposals from issues: the proposal an issue carries, and the answers to ``/propose``. Pure.

An issue carries a proposal in a fenced ``yaml`` block: the one the improvement-request form's
optional "Proposal" field renders (GitHub writes it under ``### Proposal`` as a ```yaml block),
or else the first ```yaml block of the body. Problems are reported at the issue's own lines, so
"#12:9: risk" points at the line of the issue a maintainer reads."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import Problem

FORM_HEADING = "proposal"  # the form field's label, as GitHub renders it: "### Proposal"
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*")
_HEADING = re.compile(r" {0,3}#{1,6}[ \t]+(.*?)[ \t#]*")
YAML_INFO = ("yaml", "yml")

NO_PROPOSAL = ("the issue carries no proposal: put it in a fenced yaml block (```yaml) in the "
               "issue's body, or in the request form's Proposal field")
ISSUE_CLOSED = "the issue is closed"
NOTE_PROPOSED = "proposed as #{number} ({branch})"
NOTE_ALREADY = "already proposed as #{number} ({branch})"
CLOSES = "Proposed in #{issue}. Closes #{issue}."


@dataclass(frozen=True)
class Block:
    text: str
    first_line: int  # the body's line (1-based) where the block's first line of YAML is


def _blocks(body: str) -> list[tuple[Block, str | None]]:
    """Every fenced yaml block, with the heading it stands under (lowercased) or None."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[Block, str | None]] = []
    heading: str | None = None
    i = 0
    while i < len(lines):
        h = _HEADING.fullmatch(lines[i])
        if h:
            heading = h.group(1).strip().lower()
        m = _FENCE.fullmatch(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group(1), m.group(2).lower()
        end = i + 1
        while end < len(lines):
            stripped = lines[end].lstrip(" ")
            if (len(lines[end]) - len(stripped) <= 3 and stripped.startswith(fence)
                    and not stripped.strip(fence[0]).strip()):
                break
            end += 1
        if info in YAML_INFO:
            out.append((Block("\n".join(lines[i + 1:end]) + "\n", i + 2), heading))
        i = end + 1
    return out


def proposal_block(body: str | None) -> Block | None:
    """The proposal the issue carries: the yaml block under the form's Proposal heading, else
    the body's first yaml block; None when there is none."""
    found = _blocks(body or "")
    for block, heading in found:
        if heading == FORM_HEADING:
            return block
    return found[0][0] if found else None


def at_issue_lines(problems: Sequence[Problem], name: str, block: Block) -> list[Problem]:
    """The proposal's problems, moved to the issue's lines and named after the issue."""
    return [Problem(name, p.message, None if p.line is None else p.line + block.first_line - 1,
                    p.field) for p in problems]


def pr_number(url: str | None) -> int | None:
    """The pull request's number from its URL (``.../pull/12``) or ``#12``."""
    m = re.search(r"(\d+)$", url or "")
    return int(m.group(1)) if m else None
