"""Regenerate the recorded api.github.com exchanges the sandbox's fidelity test compares with.

PyGithub records real exchanges with api.github.com for its own tests
(``tests/ReplayData/<Class>.<test>.txt``, LGPL-3.0). This script picks, from a PyGithub
checkout, one exchange for each endpoint and answer in ``PICKS`` and writes them to
``tests/data/github_replay/exchanges.json`` (method, path, status, response headers and body,
exactly as recorded), with PyGithub's licence files beside it. Run from the repository root:

    git clone --depth 1 https://github.com/PyGithub/PyGithub /tmp/PyGithub
    python scripts/vendor_replay.py --source /tmp/PyGithub
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "tests" / "data" / "github_replay"

# (recording file, method, path template, status): the first such exchange of each file; the
# newest recordings PyGithub has for the endpoints the bot uses
PICKS: list[tuple[str, str, str, int]] = [
    ("RateLimitOverview.setUp.txt", "GET", "/rate_limit", 200),
    ("Branch.setUp.txt", "GET", "/user", 200),
    ("NamedUser.setUp.txt", "GET", "/users/{username}", 200),
    ("CompletableGithubObjectWithPaginatedProperty.testPullCommitsFiles.txt", "GET",
     "/repos/{owner}/{repo}", 200),
    ("CompletableGithubObjectWithPaginatedProperty.testPullCommitsFiles.txt", "GET",
     "/repos/{owner}/{repo}/pulls/{pull_number}", 200),
    ("PullRequest.testDeleteBranch.txt", "GET", "/repos/{owner}/{repo}/pulls", 200),
    ("PullRequest.testDeleteOnMerge.txt", "PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
     200),
    ("PullRequest.testDeleteOnMerge.txt", "GET", "/repos/{owner}/{repo}/pulls/{pull_number}/merge",
     404),
    ("Branch.setUp.txt", "GET", "/repos/{owner}/{repo}/branches/{branch}", 200),
    ("Tag.setUp.txt", "GET", "/repos/{owner}/{repo}/tags", 200),
    ("GitRef.testExample.txt", "GET", "/repos/{owner}/{repo}/git/ref/{ref}", 200),
    ("IssueDependencies.setUp.txt", "GET", "/repos/{owner}/{repo}/issues/{issue_number}", 200),
    ("IssueComment.setUp.txt", "GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", 200),
    ("Label.setUp.txt", "GET", "/repos/{owner}/{repo}/labels/{name}", 200),
    ("CheckRun.setUp.txt", "GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}", 200),
    ("Repository.testGetWorkflowRunsCreated.txt", "GET", "/repos/{owner}/{repo}/actions/runs",
     200),
    ("Repository.testCollaboratorPermission.txt", "GET",
     "/repos/{owner}/{repo}/collaborators/{username}/permission", 200),
    ("Repository.testCollaboratorPermissionNoPushAccess.txt", "GET",
     "/repos/{owner}/{repo}/collaborators/{username}/permission", 403),
]


def _regex(template: str) -> re.Pattern[str]:
    # a ref may hold slashes (heads/x); any other parameter is one path segment
    def one(m: re.Match[str]) -> str:
        return "[^?]+" if m.group(1) == "ref" else "[^/?]+"

    return re.compile(re.sub(r"\\\{(\w+)\\\}", one, re.escape(template)))


def exchanges(text: str) -> list[dict[str, Any]]:
    """PyGithub's replay format: ten lines per exchange (scheme, method, host, port, path,
    request headers, request body, status, response headers, response body), then a blank
    line."""
    lines = text.split("\n")
    out = []
    i = 0
    while i + 9 < len(lines):
        if lines[i] not in ("http", "https"):
            i += 1
            continue
        headers = ast.literal_eval(lines[i + 8])
        out.append({"method": lines[i + 1], "host": lines[i + 2], "path": lines[i + 4],
                    "request_body": None if lines[i + 6] == "None" else lines[i + 6],
                    "status": int(lines[i + 7]), "headers": [list(h) for h in headers],
                    "body": lines[i + 9]})
        i += 10
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True, help="a PyGithub checkout")
    args = parser.parse_args(argv)
    replay = args.source / "tests" / "ReplayData"
    picked = []
    for name, method, path, status in PICKS:
        pattern = _regex(path)
        found = [e for e in exchanges((replay / name).read_text(encoding="utf-8"))
                 if e["method"] == method and e["status"] == status and e["host"] ==
                 "api.github.com" and pattern.fullmatch(e["path"].split("?")[0])]
        if not found:
            print(f"error: no {method} {path} {status} in {name}", file=sys.stderr)
            return 2
        picked.append({"file": f"tests/ReplayData/{name}", "template": path, **found[0]})
    commit = subprocess.run(["git", "-C", str(args.source), "rev-parse", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    TARGET.mkdir(parents=True, exist_ok=True)
    (TARGET / "exchanges.json").write_text(json.dumps(
        {"source": "https://github.com/PyGithub/PyGithub", "commit": commit,
         "exchanges": picked}, indent=1) + "\n", encoding="utf-8")
    for licence in ("COPYING", "COPYING.LESSER"):
        shutil.copyfile(args.source / licence, TARGET / licence)
    print(f"wrote {len(picked)} exchanges to {TARGET.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
