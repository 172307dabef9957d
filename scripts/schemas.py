"""Regenerate the JSON Schemas in bot/schemas/ from the models (tests/test_schemas.py checks
that they match): ``python scripts/schemas.py``."""

from __future__ import annotations

from pathlib import Path

from bot.core.schemas import SCHEMAS, schema_text

OUT = Path(__file__).resolve().parent.parent / "bot" / "schemas"

if __name__ == "__main__":
    for name in SCHEMAS:
        (OUT / name).write_text(schema_text(name), encoding="utf-8")
        print(f"wrote bot/schemas/{name}")
