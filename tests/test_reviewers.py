"""Whom a waiting proposal asks to review (bot/core/reviewers.py), and when it waits
(bot/core/policy.awaits_approval): tables, CODEOWNERS matching checked against pathspec's
.gitignore implementation (GitHub: "CODEOWNERS paths follow most of the rules of .gitignore")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pathspec import GitIgnoreSpec

from bot.core.policy import Approval, Hold, PrState, VerdictRecord, awaits_approval
from bot.core.reviewers import Reviewers, owners_of, parse_codeowners, reviewers_for

CODEOWNERS = """\
# the whole repository
*                  @octo/everyone
*.md               @docs-lead
/config/           @bob
docs/              @writer
apps/**/tests      @qa
/build/logs/       @ops   # trailing comment
/config/router.yaml
src/*.py           dev@example.com @carol
"""

PATHS = ["README.md", "config/router.yaml", "config/a.yaml", "sub/config/x.yaml",
         "docs/guide.md", "sub/docs/x.txt", "apps/web/tests/t.py", "apps/tests/t.py",
         "build/logs/x.log", "src/a.py", "src/deep/b.py", "main.go"]


@pytest.mark.parametrize(("path", "owners"), [
    ("main.go", ("@octo/everyone",)),
    ("README.md", ("@docs-lead",)),
    ("config/a.yaml", ("@bob",)),
    ("sub/config/x.yaml", ("@octo/everyone",)),  # /config/ is anchored at the root
    ("config/router.yaml", ()),  # the last match names nobody: unowned
    ("docs/guide.md", ("@writer",)),  # docs/ unanchored: at any depth, and later than *.md
    ("sub/docs/x.txt", ("@writer",)),
    ("apps/web/tests/t.py", ("@qa",)),
    ("apps/tests/t.py", ("@qa",)),  # ** matches zero directories
    ("build/logs/x.log", ("@ops",)),
    ("src/a.py", ("dev@example.com", "@carol")),
    ("src/deep/b.py", ("@octo/everyone",)),  # * stays within one directory
])
def test_the_last_matching_line_owns_a_path(path: str, owners: tuple[str, ...]) -> None:
    rules, problems = parse_codeowners(CODEOWNERS)
    assert problems == []
    assert owners_of(path, rules) == owners


def test_matching_agrees_with_gitignore() -> None:
    """Each pattern matches exactly the paths .gitignore's rules (pathspec) say it does."""
    rules, _ = parse_codeowners(CODEOWNERS)
    for rule in rules:
        spec = GitIgnoreSpec.from_lines([rule.pattern])
        for path in PATHS:
            assert bool(rule.regex.match(path)) == spec.match_file(path), (rule.pattern, path)


def test_unreadable_lines_are_skipped_and_named() -> None:
    rules, problems = parse_codeowners("!x.md @a\n[ab].md @b\n*.py @c\n")
    assert [r.pattern for r in rules] == ["*.py"]
    assert [p.split(":")[0] for p in problems] == ["line 1", "line 2"]


@pytest.mark.parametrize(("configured", "changed", "exclude", "want"), [
    # configured reviewers win over CODEOWNERS; "@" optional; authors and the bot left out
    (["mo", "@octo/core", "Alice"], ["main.go"], ["alice"], Reviewers(("mo",), ("octo/core",))),
    # code owners of the changed paths, each once, e-mail owners left out
    ([], ["config/a.yaml", "src/a.py", "config/b.yaml"], [], Reviewers(("bob", "carol"))),
    ([], ["config/router.yaml"], [], Reviewers()),
    ([], ["main.go", "README.md"], ["docs-lead"], Reviewers((), ("octo/everyone",))),
])
def test_whom_to_ask(configured: list[str], changed: list[str], exclude: list[str],
                     want: Reviewers) -> None:
    assert reviewers_for(configured, changed, CODEOWNERS, exclude) == want


def test_no_codeowners_and_no_configuration_asks_nobody() -> None:
    assert reviewers_for([], ["a.py"], None, []).empty


NOW = datetime(2026, 11, 21, tzinfo=UTC)
SHA = "a" * 40


def _state(verdict: str, tier: str = "person", **extra: object) -> PrState:
    return PrState(verdict=VerdictRecord(sha=SHA, verdict=verdict, tier=tier),  # type: ignore[arg-type]
                   **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "waits"), [
    (_state("accept"), True),
    (_state("inconclusive"), True),
    (_state("inconclusive", "auto"), True),  # the auto tier never merges an unsettled verdict
    (_state("accept", "auto"), False),
    (_state("reject"), False),
    (_state("error"), False),
    (PrState(), False),  # not compared yet
    (_state("accept", hold=Hold(by="mo", at=NOW)), False),
    (_state("accept", approval=Approval(sha=SHA, by="bob", at=NOW)), False),
    # an approval of another head, or an expired one, leaves it waiting again
    (_state("accept", approval=Approval(sha="b" * 40, by="bob", at=NOW)), True),
    (_state("accept", approval=Approval(sha=SHA, by="bob", at=NOW - timedelta(days=8))), True),
])
def test_when_a_proposal_waits_for_approve(state: PrState, waits: bool) -> None:
    assert awaits_approval(state, SHA, NOW, 7.0) is waits
    assert awaits_approval(state, "c" * 40, NOW, 7.0) is False  # another head's verdict
