"""``improve mcp`` end to end: the server started as a subprocess, driven over stdio by the
``mcp`` SDK's own client, as an agent's MCP host drives it, against the sandbox and its workflow
runner. The agent (the sample's tuner, with its own token) lists the tools, has a bad proposal
refused with the field named, proposes a good one (the pull request appears and the shipped
workflows evaluate it), and reads the verdict back."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from bot.core.render import find_marker
from bot.demo import sample
from bot.demo.engine import World, clone_main
from bot.demo.story import failed_jobs
from bot.sandbox.actions_runner import dump_journal

TOOLS = {"validate_proposal", "propose", "status", "history", "comparison", "opportunities",
         "request_improvement", "track_record"}
# the German proposal with a risk level that does not exist
BAD = sample.GERMAN.replace("risk: medium", "risk: extreme")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    w = World.start(tmp_path_factory.mktemp("mcp") / "world", app=True)
    try:
        yield w
    finally:
        w.stop()


def server_params(world: World, work: Path) -> StdioServerParameters:
    """``improve mcp`` as an MCP host's configuration starts it: the command, the repository,
    and the environment the README names (the token only in the environment)."""
    improve = Path(sys.executable).with_name("improve")
    env = {"GITHUB_TOKEN": world.tokens[sample.AUTHOR], "GITHUB_REPOSITORY": world.repo,
           "GITHUB_API_URL": world.sb.api_url, "GITHUB_SERVER_URL": world.sb.server_url,
           "IMPROVE_BOT_LOGIN": world.bot_login, "GIT_TERMINAL_PROMPT": "0",
           "PATH": os.environ["PATH"]}
    return StdioServerParameters(command=str(improve), args=["mcp", "--repo", str(work)],
                                 env=env, cwd=str(work))


def text_of(result: Any) -> str:
    return "\n".join(getattr(c, "text", "") for c in result.content)


def test_an_agent_drives_the_loop_through_improve_mcp(world: World) -> None:
    work = clone_main(world.root, world.sb.git_url(world.repo, world.tokens[sample.AUTHOR]),
                      sample.AUTHOR)
    seen: dict[str, Any] = {}

    async def agent() -> None:
        async with stdio_client(server_params(world, work)) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            listed = await session.list_tools()
            seen["tools"] = {t.name for t in listed.tools}

            bad = await session.call_tool("validate_proposal", {"proposal": BAD})
            seen["bad"] = (bad.is_error, text_of(bad))
            refused = await session.call_tool("propose", {"proposal": BAD, "dry_run": False})
            seen["refused"] = (refused.is_error, text_of(refused))
            seen["pulls_after_refusal"] = len(world.state()["pulls"])

            good = await session.call_tool("validate_proposal", {"proposal": sample.GERMAN})
            seen["good"] = (good.is_error, good.structured_content)
            dry = await session.call_tool("propose", {"proposal": sample.GERMAN})
            seen["dry"] = dry.structured_content
            seen["pulls_after_dry_run"] = len(world.state()["pulls"])

            real = await session.call_tool("propose", {"proposal": sample.GERMAN,
                                                       "dry_run": False})
            seen["real"] = (real.is_error, text_of(real), real.structured_content)
            early = await session.call_tool("comparison", {"pr": 1})
            seen["early"] = (early.is_error, text_of(early))

            seen["jobs"] = await anyio.to_thread.run_sync(world.settle)  # CI evaluates the PR

            verdict = await session.call_tool("comparison", {"pr": 1})
            seen["verdict"] = (verdict.is_error, text_of(verdict), verdict.structured_content)
            record = await session.call_tool("track_record", {"proposer": sample.AUTHOR})
            seen["record"] = record.structured_content
            config = await session.read_resource("improve://configuration")
            seen["config"] = config.contents[0]

    anyio.run(agent)

    assert seen["tools"] == TOOLS
    is_error, text = seen["bad"]
    # the CLI's own message: `improve validate` names the file, the line and the field
    assert is_error and "improve validate: error: proposal:4: risk:" in text, text
    is_error, text = seen["refused"]
    assert is_error and "improve propose: error: proposal:4: risk:" in text, text
    assert seen["pulls_after_refusal"] == 0
    assert seen["good"] == (False, {"ok": True, "checked": "proposal proposal"})
    assert seen["dry"]["status"] == "dry-run" and "languages" in seen["dry"]["diff"]
    assert seen["pulls_after_dry_run"] == 0

    is_error, text, real = seen["real"]
    assert not is_error, text
    (pr,) = world.state()["pulls"]
    assert (real["status"], real["branch"], pr["head"]) == (
        "created", "improve/prop-german", "improve/prop-german")
    assert real["url"] and real["url"].endswith("/pull/1")
    is_error, text = seen["early"]
    assert is_error and "carries no comparison by the bot yet" in text, text

    jobs = seen["jobs"]
    assert not failed_jobs(jobs), dump_journal(jobs)
    assert any(j.workflow == "improve-report" for j in jobs), dump_journal(jobs)
    is_error, text, verdict = seen["verdict"]
    assert not is_error, text
    posted = next(c["body"] for c in world.state()["comments"]
                  if c["issue_number"] == 1 and find_marker(c["body"]) == "compare")
    assert verdict["decision"] in ("accept", "reject", "inconclusive")
    assert verdict["decision"] in posted.lower() or verdict["summary"] in posted
    assert verdict["current"] and verdict["head_sha"] == world.pull(1)["head_sha"]
    state, description = world.gate(verdict["head_sha"]) or ("", "")
    assert verdict["gate"] == {"state": state, "description": description}
    metrics = [m["name"] for s in verdict["suites"] for m in s["metrics"]]
    assert "accuracy" in metrics, verdict
    assert seen["record"]["proposer"] == sample.AUTHOR
    assert '"max_open"' in seen["config"].text
