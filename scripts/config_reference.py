"""Regenerate the configuration reference in README.md from the pydantic models.

python scripts/config_reference.py          # rewrite README.md
python scripts/config_reference.py --check  # exit 1 when README.md is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.core.config_doc import replace_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    text = README.read_text()
    new = replace_reference(text)
    if "--check" in sys.argv:
        if new != text:
            print(
                "README.md: the configuration reference is out of date; run "
                "python scripts/config_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
