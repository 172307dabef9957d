"""The demo's labelled tickets, generated deterministically (``python -m bot.demo.dataset``
rewrites the shipped files; a test checks they are what this gives).

Each ticket has a triage score in [0, 1], a language and the right destination: ``bot`` when
the score clears the language's true boundary, else ``person``, with a little label noise.
English's boundary is 0.62, so raising the router's threshold from 0.5 towards it helps. German
tickets start with the same boundary; then their scores drift: a little in the first week
(boundary 0.68: the monitor warns), a lot in the second (0.86: past the rollback threshold),
which the German rule, once released, gets wrong."""

from __future__ import annotations

import json
import random
from pathlib import Path

SPLITS = "abcdefgh"  # one task each: enough paired tasks for a confident verdict
CASES = 30
BOUNDARY = {"en": 0.62, "de": 0.62}
DRIFT = {"week1": 0.68, "week2": 0.86}
NOISE = 0.03


def tickets(lang: str, split: str, boundary: float, tag: str = "") -> str:
    rng = random.Random(f"demo-{lang}-{split}{tag}")
    lines = []
    for i in range(CASES):
        score = round(rng.random(), 3)
        label = "bot" if score >= boundary else "person"
        if rng.random() < NOISE:
            label = "person" if label == "bot" else "bot"
        lines.append(json.dumps({"id": f"{lang}-{split}-{i:03d}", "lang": lang,
                                 "score": score, "label": label}))
    return "\n".join(lines) + "\n"


def data_files() -> dict[str, str]:
    """The tickets the sample repository starts with, by repository path."""
    return {f"data/{lang}-{s}.jsonl": tickets(lang, s, BOUNDARY[lang])
            for lang in ("en", "de") for s in SPLITS}


def drifted_files(week: str) -> dict[str, str]:
    """The German tickets after a week of drift (a data refresh pushed to main)."""
    return {f"data/de-{s}.jsonl": tickets("de", s, DRIFT[week], f"-{week}") for s in SPLITS}


def accuracy(files: dict[str, str], lang: str, threshold: float, languages: list[str]) -> float:
    """The router's accuracy over ``lang``'s tickets in ``files`` (for checks and the tests)."""
    right = total = 0
    for path, text in files.items():
        if not path.startswith(f"data/{lang}-"):
            continue
        for line in text.splitlines():
            t = json.loads(line)
            guess = "bot" if t["lang"] in languages and t["score"] >= threshold else "person"
            right += guess == t["label"]
            total += 1
    return right / total


def main() -> None:
    here = Path(__file__).resolve().parent
    trees = [(here / "repo", data_files())]
    trees += [(here / "drift" / week, drifted_files(week)) for week in DRIFT]
    for root, files in trees:
        for rel, text in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    print("rewrote bot/demo/repo/data and bot/demo/drift/*/data")


if __name__ == "__main__":
    main()
