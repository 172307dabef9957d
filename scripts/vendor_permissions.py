"""Regenerate the sandbox's trimmed copy of GitHub's endpoint-to-permission table.

Reads ``server-to-server-permissions.json`` from the github/docs repository
(``src/github-apps/data/fpt-2022-11-28/server-to-server-permissions.json``: for each
permission an App installation token - and so a GITHUB_TOKEN - can hold, the REST endpoints
that accept it and at which level) and writes
``bot/sandbox/vendor/permissions/server-to-server-permissions.json``: the same structure, with
only the entries for the operations the sandbox serves (``OPERATIONS`` of
``scripts/vendor_openapi.py``), every entry byte-for-byte as upstream. Run from the repository
root:

    curl -sLO https://raw.githubusercontent.com/github/docs/main/src/github-apps/data/\\
fpt-2022-11-28/server-to-server-permissions.json
    python scripts/vendor_permissions.py --source server-to-server-permissions.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vendor_openapi import OPERATIONS  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "bot" / "sandbox" / "vendor" / "permissions"


def trim(table: dict[str, Any]) -> dict[str, Any]:
    wanted = {(method.lower(), path) for method, path in OPERATIONS}
    out: dict[str, Any] = {}
    for section, body in table.items():
        kept = [e for e in body["permissions"] if (e["verb"], e["requestPath"]) in wanted]
        if kept:
            out[section] = {"title": body["title"], "displayTitle": body["displayTitle"],
                            "permissions": kept}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True,
                        help="github/docs' server-to-server-permissions.json")
    args = parser.parse_args(argv)
    trimmed = trim(json.loads(args.source.read_text(encoding="utf-8")))
    TARGET.mkdir(parents=True, exist_ok=True)
    target = TARGET / "server-to-server-permissions.json"
    target.write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    served = {(m.lower(), p) for m, p in OPERATIONS if p.startswith("/repos/")}
    found = {(e["verb"], e["requestPath"]) for s in trimmed.values() for e in s["permissions"]}
    for method, path in sorted(served - found):
        print(f"warning: no permission entry for {method.upper()} {path}", file=sys.stderr)
    print(f"wrote {target.relative_to(ROOT)}: {len(trimmed)} permissions, "
          f"{sum(len(s['permissions']) for s in trimmed.values())} entries", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
