"""Benchmark of the forge adapters: wall time of a ten-call PyGithub flow against the sandbox,
the HTTP requests it takes, and the same flow on the local (git-only) forge.

Prints one JSON object of metrics on its last stdout line (medians over ``--rounds``)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.git import Git  # noqa: E402
from bot.adapters.github_forge import GitHubForge  # noqa: E402
from bot.adapters.local_forge import LocalForge  # noqa: E402
from bot.core.forge import Forge  # noqa: E402
from bot.core.render import marker  # noqa: E402
from bot.sandbox import Sandbox  # noqa: E402

FILES = {"README.md": "hello\n", "config/router.yaml": "threshold: 0.5\n"}


def flow(forge: Forge, branch: str) -> None:
    """The ten operations a pull-request job makes."""
    info = forge.repo_info()                                        # 1
    forge.read_file(".github/improve.yml", info.default_branch)     # 2
    pr = forge.create_pull(title="Tune", body="b", head=branch, base="main")   # 3
    forge.get_pull(pr.number)                                       # 4
    forge.list_pulls(head=branch)                                   # 5
    forge.upsert_comment(pr.number, "compare", marker("compare") + "\none")   # 6, 7
    forge.upsert_comment(pr.number, "compare", marker("compare") + "\ntwo")   # 8, 9
    forge.set_status(pr.head_sha, state="success", context="improve/gate")    # 10


def push_branch(url: str, branch: str, work: Path, token: str | None = None) -> None:
    g = Git.clone(url, work, token=token)
    g.checkout("origin/main", create=branch)
    g.commit_files({"config/router.yaml": "threshold: 0.6\n"}, "tune")
    g.push(f"{branch}:refs/heads/{branch}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-validate", action="store_true",
                    help="skip the sandbox's checks against GitHub's description")
    ap.add_argument("--smoke", action="store_true", help="smallest size: one round")
    args = ap.parse_args()
    if args.smoke:
        args.rounds = 1
    gh_ms, gh_requests, local_ms = [], [], []
    with tempfile.TemporaryDirectory() as tmp, Sandbox.start(validate=not args.no_validate) as sb:
        for i in range(args.rounds):
            name = f"bench/repo{i}"
            sb.create_repo(name, files=FILES)
            push_branch(sb.git_url(name), "improve/p1", Path(tmp) / f"w{i}")
            forge = GitHubForge(name, sb.token, api_url=sb.api_url)
            t0 = time.perf_counter()
            flow(forge, "improve/p1")
            gh_ms.append((time.perf_counter() - t0) * 1000)
            gh_requests.append(forge.calls.requests)
            forge.close()

            bare = Path(tmp) / f"local{i}.git"
            seed = Path(tmp) / f"seed{i}"
            seed.mkdir()
            for rel, text in FILES.items():
                (seed / rel).parent.mkdir(parents=True, exist_ok=True)
                (seed / rel).write_text(text)
            for cmd in (["init", "-q", "-b", "main"], ["add", "-A"],
                        ["commit", "-q", "-m", "seed"]):
                subprocess.run(["git", *cmd], cwd=seed, check=True)
            subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
            push_branch(str(bare), "improve/p1", Path(tmp) / f"lw{i}")
            local = LocalForge(bare)
            t0 = time.perf_counter()
            flow(local, "improve/p1")
            local_ms.append((time.perf_counter() - t0) * 1000)
        violations = len(sb.violations)
    print(json.dumps({
        "github_flow_ms": round(statistics.median(gh_ms), 1),
        "github_flow_requests": statistics.median(gh_requests),
        "local_flow_ms": round(statistics.median(local_ms), 1),
        "sandbox_violations": violations,
    }))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
