"""PROPOSE on real repositories: the branch, the commit's trailers and files, idempotence,
refusals that write nothing, and the user's working tree and index left alone."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli import main
from bot.commands.propose import NO_TOKEN
from bot.errors import GateError, InputError
from bot.stages.propose import LABEL, PublishRequest, propose, unified_diff
from tests.helpers.git import commit_all, git, write_files

PID = "prop-20261121-raise-the-routers-confidence-threshold"
TODAY = date(2026, 11, 21)
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

PROPOSAL = """\
title: Raise the router's confidence threshold
type: constant_tune
risk: low
rationale: Low-confidence routes cause most misroutes in the last 30 runs.
predicted_improvement: {metric: accuracy, delta: 0.02}
author: tuner
evidence: {failed_tasks: [rt-014, rt-022]}
changes:
  - path: config/router.yaml
    set: {key: routing.threshold, value: 0.62}
    rationale: fewer misroutes
  - path: skills/search/SKILL.md
    replace: {old: "Search once.", new: "Search, then verify."}
"""

FILES = {
    "config/router.yaml": "# router\nrouting:\n  threshold: 0.55  # tuned\n",
    "skills/search/SKILL.md": "Search once.\nAnswer.\n",
    "bin/tool": "#!/bin/sh\necho hi\n",
    "README.md": "hello\n",
}


@pytest.fixture
def repo(make_repo: Callable[..., Path]) -> Path:
    root = make_repo(FILES)
    (root / "bin/tool").chmod(0o755)
    commit_all(root, "exec bit")
    # the user's own state, which PROPOSE must not touch: a dirty file, a staged one, another branch
    git(root, "checkout", "-q", "-b", "work")
    (root / "README.md").write_text("edited, not committed\n")
    (root / "staged.txt").write_text("staged\n")
    git(root, "add", "staged.txt")
    return root


def _user_state(root: Path) -> tuple[str, str, str, str]:
    index = hashlib.sha256((root / ".git/index").read_bytes()).hexdigest()
    return (git(root, "status", "--porcelain"), git(root, "rev-parse", "HEAD"),
            (root / "README.md").read_text(), index)


def _refs(root: Path) -> str:
    return git(root, "for-each-ref", "--format=%(refname) %(objectname)")


def _propose(root: Path, text: str = PROPOSAL, **kw: object):  # type: ignore[no-untyped-def]
    kw.setdefault("today", TODAY)
    kw.setdefault("now", NOW)
    return propose(root, text, "proposal.yaml", **kw)  # type: ignore[arg-type]


def test_propose_commits_the_branch_and_leaves_the_user_alone(repo: Path) -> None:
    before = _user_state(repo)
    main_tip = git(repo, "rev-parse", "main")
    outcome = _propose(repo)
    assert outcome.status == "created"
    assert _user_state(repo) == before
    branch = f"improve/{PID}"
    tip = git(repo, "rev-parse", branch)
    assert tip == outcome.commit
    assert git(repo, "rev-parse", f"{branch}^") == main_tip
    assert git(repo, "log", "-1", "--format=%(trailers:only)", branch).splitlines() == [
        f"Improve-Proposal: {PID}",
        "Improve-Type: constant_tune",
        "Improve-Risk: low",
        "Improve-Author: tuner",
    ]
    assert git(repo, "diff", "--name-only", main_tip, branch).splitlines() == [
        f".improve/proposals/{PID}.yaml", "config/router.yaml", "skills/search/SKILL.md"
    ]
    assert git(repo, "show", f"{branch}:config/router.yaml") == (
        "# router\nrouting:\n  threshold: 0.62  # tuned"
    )
    assert git(repo, "show", f"{branch}:.improve/proposals/{PID}.yaml") == (
        f"id: {PID}\n" + PROPOSAL
    ).rstrip("\n")
    # the working tree's edit of README.md and the staged file are not in the commit
    assert git(repo, "show", f"{branch}:README.md") == "hello"
    assert "staged.txt" not in git(repo, "ls-tree", "-r", "--name-only", branch)


def test_proposing_again_changes_nothing(repo: Path) -> None:
    first = _propose(repo)
    refs = _refs(repo)
    requests: list[PublishRequest] = []
    again = _propose(repo, publish=lambda r: requests.append(r) or "url")
    assert again.status == "unchanged" and again.commit == first.commit
    assert _refs(repo) == refs
    # the publisher is still asked, so a missing push or pull request is made good next round
    assert requests == [first.plan.request(first.commit or "")]
    # a proposal without an id, proposed again on another day, finds its earlier branch
    later = _propose(repo, today=date(2026, 11, 25))
    assert later.status == "unchanged" and later.plan.id == PID
    assert _refs(repo) == refs


def test_publisher_gets_the_branch_commit_title_body_and_label(repo: Path) -> None:
    requests: list[PublishRequest] = []
    outcome = _propose(repo, publish=lambda r: requests.append(r) or "https://pr/1")
    assert outcome.url == "https://pr/1"
    (req,) = requests
    assert (req.branch, req.base_branch, req.commit, req.labels) == (
        f"improve/{PID}", "main", outcome.commit, (LABEL,)
    )
    assert req.title == "Raise the router's confidence threshold"
    assert req.body.startswith("<!-- improve:proposal -->")
    for text in ("Low-confidence routes", "accuracy +0.02", "routing.threshold 0.55 -\\> 0.62",
                 "rt-014", "**Auto tier**"):
        assert text in req.body


def test_a_high_risk_proposal_waits_for_a_person(repo: Path) -> None:
    outcome = _propose(repo, PROPOSAL.replace("risk: low", "risk: high"), dry_run=True)
    assert outcome.plan.tier == "person"
    assert "**A person decides**" in outcome.plan.body and "/approve" in outcome.plan.body


def test_dry_run_touches_nothing(repo: Path) -> None:
    before, refs = _user_state(repo), _refs(repo)
    objects = git(repo, "count-objects", "-v")
    outcome = _propose(repo, dry_run=True)
    assert outcome.status == "dry-run" and outcome.commit is None
    assert (_user_state(repo), _refs(repo)) == (before, refs)
    assert git(repo, "count-objects", "-v") == objects
    diff = unified_diff(outcome.plan, repo)
    assert "-  threshold: 0.55  # tuned\n+  threshold: 0.62  # tuned\n" in diff
    assert f"+++ b/.improve/proposals/{PID}.yaml" in diff


def test_malformed_proposal_writes_nothing(repo: Path) -> None:
    before, refs = _user_state(repo), _refs(repo)
    bad = PROPOSAL.replace("risk: low\n", "").replace("Search once.", "Not there.")
    with pytest.raises(InputError) as exc:
        _propose(repo, bad)
    assert [p.field for p in exc.value.problems] == ["risk"]
    # once the model is valid, the file checks report every change's problem too
    with pytest.raises(InputError) as exc:
        _propose(repo, PROPOSAL.replace("Search once.", "Not there.").replace(
            "routing.threshold", "routing.nope.x"))
    assert [p.field for p in exc.value.problems] == [
        "changes[0].set.key", "changes[1].replace.old"
    ]
    assert (_user_state(repo), _refs(repo)) == (before, refs)


def test_a_branch_with_commits_improve_did_not_make_is_refused(repo: Path) -> None:
    _propose(repo)
    branch = f"improve/{PID}"
    git(repo, "branch", "-q", "-f", "scratch", branch)
    git(repo, "worktree", "add", "-q", str(repo.parent / "wt"), branch)
    write_files(repo.parent / "wt", {"mine.txt": "a person's work\n"})
    theirs = commit_all(repo.parent / "wt", "a person's commit")
    with pytest.raises(GateError, match="has commits improve did not make"):
        _propose(repo)
    assert git(repo, "rev-parse", branch) == theirs


def test_a_branch_holding_another_version_is_refused(repo: Path) -> None:
    _propose(repo)
    tip = git(repo, "rev-parse", f"improve/{PID}")
    with pytest.raises(GateError, match="already holds a different version"):
        _propose(repo, PROPOSAL.replace("0.62", "0.65"))
    assert git(repo, "rev-parse", f"improve/{PID}") == tip


def test_a_second_proposal_on_an_open_target_is_refused(repo: Path) -> None:
    _propose(repo)
    refs = _refs(repo)
    other = PROPOSAL.replace("Raise the router's", "Lower the router's").replace("0.62", "0.5")
    other = other.split("  - path: skills/")[0]
    with pytest.raises(GateError) as exc:
        _propose(repo, other)
    assert "'config/router.yaml' is already the target of the open proposal " + PID in str(
        exc.value
    )
    assert _refs(repo) == refs
    # once the first one is merged (its proposal file is on main), the target is free
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--ff-only", f"improve/{PID}")
    assert _propose(repo, other, now=NOW).status == "created"


def test_depends_on_must_be_merged(repo: Path) -> None:
    needs = PROPOSAL.replace("changes:", "depends_on: [prop-earlier]\nchanges:")
    with pytest.raises(GateError, match="depends on 'prop-earlier', which is not merged yet"):
        _propose(repo, needs)
    git(repo, "checkout", "-q", "main")
    write_files(repo, {".improve/proposals/prop-earlier.yaml": "id: prop-earlier\n"})
    git(repo, "add", ".improve")
    git(repo, "commit", "-q", "-m", "merged earlier")
    assert _propose(repo, needs).status == "created"


def test_patch_keeps_the_executable_bit_and_config_comes_from_main(repo: Path) -> None:
    text = PROPOSAL.split("changes:")[0] + (
        "changes:\n  - patch: |\n      --- a/bin/tool\n      +++ b/bin/tool\n"
        "      @@ -1,2 +1,2 @@\n       #!/bin/sh\n      -echo hi\n      +echo hello\n"
    )
    # a configuration in the working tree (not on main) does not count
    write_files(repo, {".github/improve.yml": "proposals: {max_changes: 0}\n"})
    outcome = _propose(repo, text)
    assert outcome.status == "created"
    assert git(repo, "ls-tree", f"improve/{PID}", "bin/tool").startswith("100755 ")
    assert git(repo, "show", f"improve/{PID}:bin/tool") == "#!/bin/sh\necho hello"


def test_cli_dry_run_no_push_and_the_unwired_forge(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = tmp_path / "p.yaml"
    file.write_text(PROPOSAL.replace("title:", f"id: {PID}\ntitle:"))
    refs = _refs(repo)
    assert main(["propose", str(file), "--repo", str(repo)]) == 2
    assert NO_TOKEN in capsys.readouterr().err
    assert main(["propose", str(file), "--repo", str(repo), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "+  threshold: 0.62  # tuned" in out and "<!-- improve:proposal -->" in out
    assert _refs(repo) == refs
    assert main(["propose", str(file), "--repo", str(repo), "--no-push", "--forge", "local"]) == 0
    assert f"created improve/{PID}" in capsys.readouterr().out
    assert main(["propose", str(file), "--repo", str(repo), "--no-push"]) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert main(["propose", str(tmp_path / "missing.yaml"), "--no-push"]) == 2
    assert "missing.yaml: no such file" in capsys.readouterr().err


@pytest.mark.parametrize("config", [None, "default_branch: main\n"])
def test_the_forge_s_default_branch_wins_over_the_configured_one(
    make_repo: Callable[..., Path], tmp_path: Path, config: str | None
) -> None:
    """A clone of a repository whose default branch is master: origin's HEAD says so, and the
    configuration's default_branch (its default "main", or a stale value) does not override it."""
    files = dict(FILES)
    if config is not None:
        files[".github/improve.yml"] = config
    origin = make_repo(files)
    git(origin, "branch", "-m", "main", "master")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    assert git(clone, "symbolic-ref", "--short", "refs/remotes/origin/HEAD") == "origin/master"
    master_tip = git(clone, "rev-parse", "origin/master")
    outcome = _propose(clone)
    assert outcome.status == "created"
    assert git(clone, "rev-parse", f"improve/{PID}^") == master_tip
