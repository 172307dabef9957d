"""Proposal files: the model, every problem reported at once with line and field, ids, paths."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from bot.core.config import Config, ProposalsConfig
from bot.core.proposals import (
    TRAILER_AUTHOR,
    TRAILER_PROPOSAL,
    TRAILER_RISK,
    TRAILER_TYPE,
    check_path,
    check_proposal,
    commit_message,
    make_id,
    proposal_file_text,
    slug,
    targets,
)

TODAY = date(2026, 11, 21)

GOOD = """\
# why: the tuner's last run
title: Raise the router's confidence threshold
type: constant_tune
risk: low
rationale: Low-confidence routes cause most misroutes in the last 30 runs.
predicted_improvement: {metric: accuracy, delta: 0.02}
author: tuner
depends_on: []
evidence: {failed_tasks: [rt-014, rt-022]}
changes:
  - path: config/router.yaml
    set: {key: routing.threshold, value: 0.62}
    rationale: fewer misroutes
  - path: skills/search/SKILL.md
    replace: {old: "Search once.", new: "Search, then verify."}
  - path: prompts/system.md
    content: "Be brief.\\n"
  - patch: |
      --- a/x.txt
      +++ b/x.txt
      @@ -1 +1 @@
      -a
      +b
"""


def test_good_proposal_gets_a_generated_id() -> None:
    checked = check_proposal(GOOD, "p.yaml", Config(), TODAY)
    assert checked.problems == []
    assert checked.proposal is not None
    assert checked.proposal.id == "prop-20261121-raise-the-routers-confidence-threshold"
    assert checked.proposal.branch == "improve/" + checked.proposal.id
    assert [c.kind for c in checked.proposal.changes] == ["set", "replace", "content", "patch"]
    assert targets(checked.proposal) == [
        "config/router.yaml", "prompts/system.md", "skills/search/SKILL.md", "x.txt"
    ]


def test_given_id_is_kept() -> None:
    checked = check_proposal("id: prop-1\n" + GOOD, "p.yaml", Config(), TODAY)
    assert checked.proposal is not None and checked.proposal.id == "prop-1"


def _problems(text: str, config: Config | None = None) -> set[tuple[int | None, str | None, str]]:
    checked = check_proposal(text, "p.yaml", config or Config(), TODAY)
    assert checked.proposal is None
    return {(p.line, p.field, p.message) for p in checked.problems}


def test_every_problem_at_once_with_line_and_field() -> None:
    text = """\
title: x
type: nonsense
risk: extreme
predicted_improvement: {metric: accuracy}
author: a
changes:
  - path: ../outside.yaml
    set: {key: a, value: 1}
  - path: a.md
    replace: {old: x, new: y}
    content: both
  - patch: "not a diff"
  - path: .git/config
    content: x
"""
    found = _problems(text)
    fields = {f for _, f, _ in found}
    assert {"rationale", "risk", "predicted_improvement.delta", "type", "changes[0].path",
            "changes[1]", "changes[2].patch", "changes[3].path"} <= fields
    lines = {f: line for line, f, _ in found}
    assert lines["type"] == 2
    assert lines["risk"] == 3
    assert lines["changes[0].path"] == 7
    assert lines["changes[3].path"] == 13
    messages = {f: m for _, f, m in found}
    assert messages["rationale"] == "required key is missing"
    assert "unknown proposal type 'nonsense'" in messages["type"]
    assert "leads outside the repository" in messages["changes[0].path"]
    assert "exactly one of 'set', 'replace', 'content' or 'patch'" in messages["changes[1]"]
    assert "not a unified diff" in messages["changes[2].patch"]
    assert "inside .git" in messages["changes[3].path"]


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (lambda d: d.pop("rationale"), "rationale", "required key is missing"),
        (lambda d: d.update(rationale="  "), "rationale", "must not be empty"),
        (lambda d: d.pop("predicted_improvement"), "predicted_improvement",
         "required key is missing"),
        (lambda d: d.pop("risk"), "risk", "required key is missing"),
        (lambda d: d.update(changes=[]), "changes", "at least 1 item"),
        (lambda d: d.update(surprise=1), "surprise", "unknown key"),
        (lambda d: d.update(depends_on=["Not An Id"]), "depends_on", "is not a proposal id"),
        (lambda d: d.update(id="Bad Id"), "id", "should match pattern"),
        (lambda d: d["changes"].__setitem__(0, {"set": {"key": "a", "value": 1}}), "changes[0]",
         "'path' is required for a set change"),
        (lambda d: d["changes"].__setitem__(0, {"path": "a.yaml", "set": {"key": "a"}}),
         "changes[0].set.value", "required key is missing"),
    ],
)
def test_single_problem(edit: object, field: str, message: str) -> None:
    data = yaml.safe_load(GOOD)
    edit(data)  # type: ignore[operator]
    found = _problems(yaml.safe_dump(data, sort_keys=False))
    assert any(f == field and message in m for _, f, m in found), found


def test_too_many_changes_counts_the_configured_limit() -> None:
    config = Config(proposals=ProposalsConfig(max_changes=2))
    found = _problems(GOOD, config)
    assert (10, "changes", "4 changes; at most 2 are allowed (proposals.max_changes)") in found


def test_patch_paths_confined_and_matched_to_path() -> None:
    text = GOOD.replace("  - patch: |", "  - path: y.txt\n    patch: |").replace(
        "+++ b/x.txt", "+++ b/../x.txt"
    )
    messages = {m for _, f, m in _problems(text) if f == "changes[3].patch"}
    assert any("leads outside the repository" in m for m in messages)
    assert any("the patch touches 'x.txt', but the change's path is 'y.txt'" in m
               for m in messages)


def test_syntax_error_names_the_line() -> None:
    found = _problems("title: [unclosed\nrisk: low\n")
    assert any(line is not None and "invalid YAML" in m for line, _, m in found)


def test_not_a_mapping() -> None:
    assert _problems("- a\n- b\n") == {(1, None, "a proposal is a YAML mapping")}


@pytest.mark.parametrize(
    ("path", "normalised", "why"),
    [
        ("config/router.yaml", "config/router.yaml", None),
        ("./a//b.md", "a/b.md", None),
        ("a/../b.md", "b.md", None),
        ("../x", None, "leads outside the repository"),
        ("a/../../x", None, "leads outside the repository"),
        ("..", None, "leads outside the repository"),
        ("/etc/passwd", None, "is absolute"),
        ("C:/x", None, "is absolute"),
        ("a\\b", None, "backslash"),
        (".git/config", None, "inside .git"),
        ("sub/.GIT/hooks/x", None, "inside .git"),
        ("a/..", None, "names the repository's root"),
        ("", None, "empty"),
        ("a\nb", None, "control character"),
    ],
)
def test_check_path(path: str, normalised: str | None, why: str | None) -> None:
    got, reason = check_path(path)
    assert got == normalised
    if why is None:
        assert reason is None
    else:
        assert reason is not None and why in reason


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Raise the router's confidence threshold", "raise-the-routers-confidence-threshold"),
        ("  Ünïcode & symbols!!  ", "n-code-symbols"),
        ("!!!", "proposal"),
        ("a " * 60, "-".join(["a"] * 24)),
    ],
)
def test_slug(title: str, expected: str) -> None:
    assert slug(title) == expected
    assert len(slug(title)) <= 48


def test_make_id_uses_the_given_date() -> None:
    assert make_id("Tune it", date(2025, 1, 2)) == "prop-20250102-tune-it"


def test_proposal_file_text_inserts_the_id_and_keeps_the_rest() -> None:
    out = proposal_file_text(GOOD, "prop-x")
    assert out.startswith("# why: the tuner's last run\nid: prop-x\ntitle:")
    assert out.replace("id: prop-x\n", "") == GOOD
    assert proposal_file_text("id: prop-x\n" + GOOD, "prop-x") == "id: prop-x\n" + GOOD
    flow = proposal_file_text("{title: t, risk: low}", "prop-y")
    assert yaml.safe_load(flow) == {"id": "prop-y", "title": "t", "risk": "low"}


def test_commit_message_trailers_are_last_and_one_line() -> None:
    checked = check_proposal(GOOD.replace("author: tuner", 'author: "tu\\nner"'), "p.yaml",
                             Config(), TODAY)
    assert checked.proposal is not None
    msg = commit_message(checked.proposal, [])
    assert msg.splitlines()[0] == "Raise the router's confidence threshold"
    assert msg.splitlines()[-4:] == [
        f"{TRAILER_PROPOSAL}: prop-20261121-raise-the-routers-confidence-threshold",
        f"{TRAILER_TYPE}: constant_tune",
        f"{TRAILER_RISK}: low",
        f"{TRAILER_AUTHOR}: tu ner",
    ]
