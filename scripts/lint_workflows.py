"""Lint the workflows and the composite action: zizmor (no findings), check-jsonschema with its
built-in GitHub schemas (shipped inside the package: no download), and the repository's copies
equal to what `improve init` writes. Used by .ci/run and by regressions/project.yaml."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    # next to this interpreter first: a venv's tools are there even when it is not activated
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        sys.exit(f"lint_workflows: {name} is not installed (pip install -e '.[dev]')")
    return found


def main() -> int:
    workflows = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    steps = [
        [tool("zizmor"), "--offline", *workflows, str(ROOT / "action.yml")],
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *workflows],
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-actions",
            str(ROOT / "action.yml"),
        ],
        [sys.executable, str(ROOT / "scripts" / "sync_workflows.py"), "--check"],
    ]
    failed = 0
    for argv in steps:
        print(
            "==",
            " ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv[:3])),
            flush=True,
        )
        failed |= subprocess.run(argv, cwd=ROOT).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
