"""The comment-command parser: ``/approve``, ``/hold`` and friends, read from a PR comment.

A command is a line that starts (after at most 3 spaces, as in Markdown) with ``/`` and a known
word. Lines inside block quotes, fenced or indented code blocks and HTML comments are never
commands: quoting someone's ``/approve`` must not approve anything. Only ASCII spaces and the
ASCII slash count, so an invisible or look-alike character in front makes a line inert.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

CommandName = Literal["approve", "hold", "unhold", "retest", "rollback", "help", "propose"]
# the commands of a pull request's comments
COMMAND_NAMES: tuple[CommandName, ...] = (
    "approve", "hold", "unhold", "retest", "rollback", "help",
)
# the commands of an issue's comments: /propose turns the issue's proposal into a pull request
ISSUE_COMMAND_NAMES: tuple[CommandName, ...] = ("propose",)

# arguments are one line of plain text; anything longer is cut here, before anyone sees it
ARG_LIMIT = 200
# a comment that lists the same command many times gets answered a bounded number of times
MAX_COMMANDS = 10
# GitHub caps a comment at 65536 characters; anything past that is not from GitHub
BODY_LIMIT = 65536

ERR_APPROVE_ARG = "takes no argument or `cancel`"
ERR_NO_ARG = "takes no argument"

# the spellings Prow users type, mapped to the bot's own command (the alias is the word after
# the slash; ``/hold cancel`` is handled apart, as its argument decides). ``/lgtm`` is not an
# alias of /approve on purpose: in Prow it records a review, not the approval that lets a
# change merge, so reading it as /approve would merge on a word its writer meant as less.
ALIASES: dict[str, CommandName] = {"remove-hold": "unhold"}


@dataclass(frozen=True)
class Command:
    """One command as written: its name, its argument text, and where it stood."""

    name: CommandName
    args: str
    line: int  # 1-based line of the comment
    index: int  # 0-based position among the comment's commands (idempotence keys use it)
    error: str | None = None  # a bad argument: the reason, for the stage to answer

    @property
    def cancel(self) -> bool:
        return self.name == "approve" and self.args.lower() == "cancel"

    @property
    def text(self) -> str:
        """The command as the user wrote it (argument included), for replies."""
        return f"/{self.name} {self.args}".rstrip()


# up to 3 ASCII spaces, an ASCII slash, an ASCII word, then the end or a blank and arguments
_COMMAND = re.compile(r" {0,3}/([A-Za-z][A-Za-z-]*)(?:[ \t]+(.*))?", re.ASCII)
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_QUOTE = re.compile(r" {0,3}>")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean_args(raw: str) -> str:
    s = _HTML_COMMENT.sub("", raw).replace("\t", " ")
    s = re.sub(" {2,}", " ", _CONTROL.sub("", s)).strip()
    return s[:ARG_LIMIT].rstrip()


def _check_args(name: CommandName, args: str) -> str | None:
    if name == "approve":
        return None if args in ("", "cancel") else ERR_APPROVE_ARG
    if name in ("unhold", "retest", "propose"):
        return None if not args else ERR_NO_ARG
    # /hold and /rollback take an optional reason; /help ignores what follows it
    return None


def _open_comment(line: str) -> bool:
    """Whether the line leaves an HTML comment open (a ``<!--`` without its ``-->``)."""
    return "<!--" in _HTML_COMMENT.sub("", line)


def _plain_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines (1-based number, text) that may hold a command: not in a fenced code block,
    an HTML comment or a block quote (with its lazy continuation lines)."""
    fence: str | None = None  # the opening fence while inside a fenced code block
    in_comment = False
    in_quote = False  # a quote continues over following lines until a blank line
    for lineno, line in enumerate(text.split("\n"), start=1):
        if fence is not None:
            stripped = line.lstrip(" ")
            if (
                len(line) - len(stripped) <= 3
                and stripped.startswith(fence[0] * len(fence))
                and not stripped.strip(fence[0]).strip()
            ):
                fence = None
            continue
        if in_comment:
            if "-->" in line:
                in_comment = _open_comment(line.split("-->", 1)[1])
            continue
        if not line.strip():
            in_quote = False
            continue
        if _QUOTE.match(line):
            in_quote = True
            continue
        if in_quote:
            continue  # a lazy continuation line belongs to the quote above it
        m = _FENCE_OPEN.match(line)
        if m and not (m.group(1)[0] == "`" and "`" in m.group(2)):
            fence = m.group(1)
            continue
        if line.lstrip(" ").startswith("<!--"):
            in_comment = _open_comment(line)
            continue
        in_comment = _open_comment(line)
        yield lineno, line


def _command(line: str, names: tuple[CommandName, ...]) -> tuple[CommandName, str] | None:
    """The command a line states, as (name, cleaned argument), or None: an unknown ``/word``
    is ordinary text, not an error."""
    cm = _COMMAND.fullmatch(line)
    if not cm:
        return None
    word = cm.group(1).lower()
    word = ALIASES.get(word, word)
    if word not in names:
        return None
    name = cast(CommandName, word)
    args = _clean_args(cm.group(2) or "")
    if name == "approve" and args.lower() == "cancel":
        args = "cancel"
    if name == "hold" and args.lower() == "cancel":
        # Prow's way to lift a hold; read as a reason it would hold instead
        name, args = "unhold", ""
    return name, args


def parse_commands(body: str | None,
                   names: tuple[CommandName, ...] = COMMAND_NAMES) -> list[Command]:
    """Every command in a comment body, in order, duplicates dropped, at most MAX_COMMANDS;
    ``names``: the commands read (a pull request's, or an issue's)."""
    text = (body or "")[:BODY_LIMIT].replace("\r\n", "\n").replace("\r", "\n")
    found: list[Command] = []
    seen: set[tuple[str, str]] = set()
    for lineno, line in _plain_lines(text):
        command = _command(line, names)
        if command is None or command in seen:
            continue
        seen.add(command)
        name, args = command
        found.append(Command(name, args, lineno, len(found), _check_args(name, args)))
        if len(found) >= MAX_COMMANDS:
            break
    return found
