"""Who is asked to review a proposal that waits for ``/approve`` (pure).

The configured ``approval.reviewers`` when there are any, otherwise the code owners of the
paths the pull request changes, read from its base branch's CODEOWNERS as GitHub reads it: the
first of ``.github/CODEOWNERS``, ``CODEOWNERS``, ``docs/CODEOWNERS``; gitignore-style patterns
(git's wildmatch, ``bot.core.globs``), the last matching line wins, a line with no owners
leaves its paths unowned. Asked once, as Renovate's ``reviewers`` are: the state comment
remembers, and someone who removes themselves is not asked again.

Owners are ``@login`` or ``@org/team``; e-mail owners cannot be asked through the API and are
left out. The pull request's authors and the bot are never asked (GitHub refuses the author).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.core.globs import GlobError, compile_glob

# where GitHub looks, in this order; the first found is the only one read
CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_OWNER = re.compile(r"@([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)"
                    r"(?:/([A-Za-z0-9_.-]+))?$")


@dataclass(frozen=True)
class Rule:
    pattern: str
    regex: re.Pattern[str]
    owners: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class Reviewers:
    """Whom to ask: people by login and teams by slug (``org/team``: the API takes the slug)."""

    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.users and not self.teams

    def names(self) -> tuple[str, ...]:
        return (*self.users, *(f"@{t}" for t in self.teams))


def _glob_of(pattern: str) -> str:
    """A CODEOWNERS pattern as an anchored target glob: one with no ``/`` but a trailing one
    matches at any depth (``*.js``, ``docs/``), as in .gitignore; a leading ``/`` anchors."""
    body = pattern.rstrip("/")
    anchored = pattern.startswith("/") or "/" in body
    body = body.lstrip("/")
    trail = "/" if pattern.endswith("/") else ""
    if body in ("*", "**"):
        return "**"
    return (body if anchored else f"**/{body}") + trail


def parse_codeowners(text: str) -> tuple[list[Rule], list[str]]:
    """The rules of a CODEOWNERS file and the problems of the lines that are skipped (GitHub
    skips a line it cannot read and shows an error on the file; so does this)."""
    rules: list[Rule] = []
    problems: list[str] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        pattern, *owners = line.split()
        if pattern.startswith("!") or "[" in pattern:
            problems.append(f"line {n}: {pattern!r}: CODEOWNERS has no negation or classes")
            continue
        try:
            regex = compile_glob(_glob_of(pattern))
        except GlobError as exc:
            problems.append(f"line {n}: {pattern!r}: {exc}")
            continue
        rules.append(Rule(pattern, regex, tuple(owners), n))
    return rules, problems


def owners_of(path: str, rules: Sequence[Rule]) -> tuple[str, ...]:
    """The owners of ``path``: the last matching rule's (none when it names none)."""
    for rule in reversed(rules):
        if rule.regex.match(path):
            return rule.owners
    return ()


def _split(owners: Iterable[str]) -> Reviewers:
    users: dict[str, None] = {}
    teams: dict[str, None] = {}
    for owner in owners:
        m = _OWNER.match(owner.strip())
        if m is None:
            continue  # an e-mail address: the API asks accounts only
        if m.group(2):
            teams[f"{m.group(1)}/{m.group(2)}"] = None
        else:
            users[m.group(1)] = None
    return Reviewers(tuple(users), tuple(teams))


def reviewers_for(configured: Sequence[str], changed: Sequence[str], codeowners: str | None,
                  exclude: Iterable[str]) -> Reviewers:
    """Whom to ask about a pull request changing ``changed``: ``configured`` (``login`` or
    ``@login`` or ``@org/team``) when given, else the code owners of the changed paths. Logins
    in ``exclude`` (its authors, the bot) are left out, compared without case."""
    if configured:
        found = _split(c if c.startswith("@") else f"@{c}" for c in configured)
    elif codeowners:
        rules, _ = parse_codeowners(codeowners)
        found = _split(o for p in changed for o in owners_of(p, rules))
    else:
        found = Reviewers()
    skip = {e.lower() for e in exclude if e}
    return Reviewers(tuple(u for u in found.users if u.lower() not in skip), found.teams)
