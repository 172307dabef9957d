"""The event builder: vendored examples validate after the documented patches; built payloads
carry the facts given and validate; the Actions environment is written as a step sees it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.errors import InputError
from bot.sandbox.events import (
    EVENTS,
    PATCHES,
    actions_env,
    build_event,
    example,
    patched_example,
    validation_problems,
)

WITH_EXAMPLE = [(k, v) for k, v in EVENTS.items() if v[0] is not None]
SHA_A, SHA_B, SHA_C = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize(("event", "keys"), WITH_EXAMPLE, ids=[v[0] for _, v in WITH_EXAMPLE])
def test_every_vendored_example_validates_after_the_patches(
    event: tuple[str, str | None], keys: tuple[str, str]
) -> None:
    example_key, schema_key = keys
    assert validation_problems(schema_key, patched_example(example_key)) == []
    # and a patch is listed only where the upstream example needs it
    assert bool(validation_problems(schema_key, example(example_key))) == bool(
        PATCHES[example_key]
    )


@pytest.mark.parametrize(("event", "action"), list(EVENTS), ids=[f"{e}.{a}" for e, a in EVENTS])
def test_every_event_builds_and_validates(event: str, action: str | None) -> None:
    payload = build_event(event, action, repo="acme/widgets", sender="alice")
    if event != "schedule":
        assert payload["repository"]["full_name"] == "acme/widgets"
        assert payload["repository"]["owner"]["login"] == "acme"
        assert payload["sender"]["login"] == "alice"
        assert "Codertocat/Hello-World" not in json.dumps(payload)
    if action:
        assert payload["action"] == action


def test_pull_request_facts() -> None:
    p = build_event("pull_request", "opened", repo="acme/widgets", number=42, title="Tune",
                    head_ref="improve/p1", head_sha=SHA_A, base_ref="main", base_sha=SHA_B,
                    labels=["improvement"], author="tuner")
    pr = p["pull_request"]
    assert p["number"] == pr["number"] == 42
    assert (pr["head"]["ref"], pr["head"]["sha"], pr["base"]["sha"]) == ("improve/p1", SHA_A,
                                                                         SHA_B)
    assert [lb["name"] for lb in pr["labels"]] == ["improvement"]
    assert pr["user"]["login"] == "tuner"


def test_synchronize_and_merged_close() -> None:
    s = build_event("pull_request", "synchronize", head_sha=SHA_C, before=SHA_A, after=SHA_C)
    assert (s["before"], s["after"]) == (SHA_A, SHA_C)
    m = build_event("pull_request", "closed", merged=True, merge_commit_sha=SHA_B, number=3)
    assert m["pull_request"]["merged"] is True
    assert m["pull_request"]["merge_commit_sha"] == SHA_B
    assert m["pull_request"]["merged_at"]
    c = build_event("pull_request", "closed", merged=False)
    assert c["pull_request"]["merged"] is False and c["pull_request"]["merged_at"] is None


def test_comment_on_a_pull_request() -> None:
    p = build_event("issue_comment", "created", repo="acme/widgets", number=7, body="/approve",
                    sender="alice", comment_id=99)
    assert p["issue"]["number"] == 7
    assert p["issue"]["pull_request"]["url"].endswith("/repos/acme/widgets/pulls/7")
    assert (p["comment"]["body"], p["comment"]["id"]) == ("/approve", 99)
    assert p["comment"]["user"]["login"] == "alice"
    plain = build_event("issue_comment", "created", is_pull_request=False)
    assert "pull_request" not in plain["issue"]


def test_workflow_run_dispatch_schedule_push() -> None:
    run = build_event("workflow_run", "completed", conclusion="success", head_sha=SHA_A,
                      pull_requests=[{"number": 5, "head_ref": "improve/p1", "head_sha": SHA_A}])
    assert run["workflow_run"]["conclusion"] == "success"
    assert run["workflow_run"]["pull_requests"][0]["number"] == 5
    d = build_event("workflow_dispatch", ref="refs/heads/main", inputs={"proposal": "p.yaml"})
    assert d["inputs"] == {"proposal": "p.yaml"}
    assert build_event("schedule", cron="0 6 * * *") == {"schedule": "0 6 * * *"}
    push = build_event("push", ref="refs/heads/main", before=SHA_A, after=SHA_B)
    assert (push["ref"], push["after"], push["head_commit"]["id"]) == ("refs/heads/main", SHA_B,
                                                                        SHA_B)


@pytest.mark.parametrize(
    ("args", "facts", "match"),
    [
        (("pull_request", "edited"), {}, "no builder"),
        (("workflow_run", "completed"), {"conclusion": "exploded"}, "conclusion"),
        (("schedule", None), {"cron": ""}, "schedule"),
    ],
)
def test_invalid_events_are_input_errors(args: tuple[str, str | None], facts: dict[str, str],
                                         match: str) -> None:
    with pytest.raises(InputError, match=match):
        build_event(*args, **facts)


def test_actions_env_writes_the_files(tmp_path: Path) -> None:
    payload = build_event("pull_request", "opened", repo="acme/widgets", sender="alice")
    env = actions_env("pull_request", payload, repo="acme/widgets",
                      api_url="http://127.0.0.1:1/api/v3", server_url="http://127.0.0.1:1",
                      token="ghs_x", sha=SHA_A, ref="refs/pull/1/merge", workdir=tmp_path / "w")
    for var in ("GITHUB_EVENT_NAME", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY", "GITHUB_API_URL",
                "GITHUB_SERVER_URL", "GITHUB_SHA", "GITHUB_REF", "GITHUB_TOKEN", "GITHUB_OUTPUT",
                "GITHUB_STEP_SUMMARY"):
        assert env[var], var
    assert json.loads(Path(env["GITHUB_EVENT_PATH"]).read_text()) == payload
    assert Path(env["GITHUB_OUTPUT"]).read_text() == ""
    assert os.path.exists(env["GITHUB_STEP_SUMMARY"])
    assert env["GITHUB_ACTOR"] == "alice"
