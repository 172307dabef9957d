"""The ticket router: sends a support ticket to the answering bot when the triage model is
confident enough and the ticket's language is supported; otherwise to a person.

``python router/route.py --split NAME`` routes every ticket of ``data/NAME.jsonl`` and prints
its accuracy against the labels as one JSON object (a benchmark task of improve)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def setting(file: str, key: str) -> str:
    """One ``key: value`` line of a rules file (the router has no YAML dependency)."""
    for line in (ROOT / file).read_text().splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.split("#")[0].strip()
    raise SystemExit(f"router/{file}: no {key}")


def languages_of(value: str) -> list[str]:
    """``["en", "de"]`` or ``[en, de]``: a flow list of language codes."""
    return [v.strip().strip("'\"") for v in value.strip("[] ").split(",") if v.strip()]


def route(ticket: dict, threshold: float, languages: list[str]) -> str:
    if ticket["lang"] not in languages:
        return "person"
    return "bot" if ticket["score"] >= threshold else "person"


def main() -> None:
    split = sys.argv[sys.argv.index("--split") + 1]
    threshold = float(setting("rules.yaml", "threshold"))
    languages = languages_of(setting("languages.yaml", "languages"))
    right = total = 0
    for line in (ROOT.parent / "data" / f"{split}.jsonl").read_text().splitlines():
        ticket = json.loads(line)
        right += route(ticket, threshold, languages) == ticket["label"]
        total += 1
    print(json.dumps({"accuracy": round(right / total, 4)}))


if __name__ == "__main__":
    main()
