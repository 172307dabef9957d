"""Rewrite this repository's .github/workflows/improve-*.yml from bot/workflows/ and its
improvement-request issue form from bot/templates/ (one source each: what `improve init` installs).

Usage: python scripts/sync_workflows.py [--check]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.workflows import render_workflows, request_form  # noqa: E402


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for rel, text in {**render_workflows(), **request_form()}.items():
        path = ROOT / rel
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(rel)
            if not check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    for rel in stale:
        print(("stale: " if check else "wrote: ") + rel)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
