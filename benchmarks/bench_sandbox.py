"""Benchmark of the sandbox: requests per second it sustains on loopback (GETs from several
threads over keep-alive connections, with and without validation), how long a started
sandbox takes to be ready, and the wall time of a ten-call PyGithub flow against it.

Prints one JSON object of metrics on its last stdout line."""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.sandbox import Sandbox  # noqa: E402

REPO = "bench/repo"


def hammer(sb: Sandbox, total: int, threads: int) -> float:
    """Requests per second for ``total`` GETs spread over ``threads`` keep-alive clients."""
    paths = ["/api/v3/repos/bench/repo", "/api/v3/repos/bench/repo/labels",
             "/api/v3/rate_limit", "/api/v3/repos/bench/repo/issues/1/comments"]
    per = total // threads
    errors: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)
        headers = {"Authorization": f"token {sb.token}"}
        for i in range(per):
            conn.request("GET", paths[i % len(paths)], headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                errors.append(str(resp.status))
        conn.close()

    workers = [threading.Thread(target=client) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise SystemExit(f"bench_sandbox: {len(errors)} failed requests, e.g. {errors[0]}")
    return per * threads / elapsed


def seed(sb: Sandbox) -> None:
    sb.create_repo(REPO, {"README.md": "hello\n"})
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)
    headers = {"Authorization": f"token {sb.token}", "Content-Type": "application/json"}
    for path, body in [("/api/v3/repos/bench/repo/labels", {"name": "improvement"}),
                       ("/api/v3/repos/bench/repo/issues", {"title": "t"}),
                       ("/api/v3/repos/bench/repo/issues/1/comments", {"body": "c"})]:
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        conn.getresponse().read()
    conn.close()


def pygithub_flow(sb: Sandbox, work: Path) -> float:
    """Wall time of ten REST calls through PyGithub: the PR loop of one improvement."""
    from github import Auth, Github

    subprocess.run(["git", "-C", str(work), "checkout", "-q", "-B", "improve/bench",
                    "origin/main"], check=True)
    (work / "README.md").write_text(f"hello {time.time()}\n")
    subprocess.run(["git", "-C", str(work), "commit", "-qam", "bench"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-qf", "origin", "HEAD:improve/bench"],
                   check=True)
    gh = Github(auth=Auth.Token(sb.token), base_url=sb.api_url, retry=None,
                seconds_between_requests=0, seconds_between_writes=0)
    start = time.perf_counter()
    repo = gh.get_repo(REPO)                                           # 1
    pr = repo.create_pull(title="bench", body="b", head="improve/bench", base="main")  # 2
    pr.add_to_labels("improvement")                                    # 3
    comment = pr.create_issue_comment("report")                        # 4
    comment.edit("report, edited")                                     # 5
    comment.create_reaction("eyes")                                    # 6
    commit = repo.get_commit(pr.head.sha)                              # 7
    commit.create_status("success", description="ok", context="improve/gate")  # 8
    repo.get_collaborator_permission("github-actions[bot]")            # 9
    pr.merge(merge_method="squash", sha=pr.head.sha)                   # 10
    elapsed = time.perf_counter() - start
    subprocess.run(["git", "-C", str(work), "fetch", "-q", "origin"], check=True)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--flows", type=int, default=5, help="PyGithub flows to time (median)")
    p.add_argument("--smoke", action="store_true",
                   help="smallest size: 100 requests on 2 threads, one flow")
    args = p.parse_args(argv)
    if args.smoke:
        args.requests, args.threads, args.flows = 100, 2, 1

    t0 = time.perf_counter()
    first = Sandbox.start()
    first_ms = (time.perf_counter() - t0) * 1000
    first.stop()
    t0 = time.perf_counter()
    sb = Sandbox.start()
    ready_ms = (time.perf_counter() - t0) * 1000
    try:
        seed(sb)
        rps = hammer(sb, args.requests, args.threads)
        flows = []
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp) / "w"
            subprocess.run(["git", "clone", "-q", sb.git_url(REPO), str(work)], check=True)
            for _ in range(args.flows):
                flows.append(pygithub_flow(sb, work))
        violations = len(sb.violations)
    finally:
        sb.stop()
    with Sandbox.start(validate=False) as raw:
        seed(raw)
        rps_raw = hammer(raw, args.requests, args.threads)
    metrics = {
        "rps": round(rps, 1),
        "rps_unvalidated": round(rps_raw, 1),
        "flow_ms": round(statistics.median(flows) * 1000, 1),
        "first_start_ms": round(first_ms, 1),
        "ready_ms": round(ready_ms, 1),
        "violations": violations,
    }
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
