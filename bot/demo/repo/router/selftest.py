"""A regression check: the rules parse and stay in range."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from route import languages_of, setting  # noqa: E402

threshold = float(setting("rules.yaml", "threshold"))
languages = languages_of(setting("languages.yaml", "languages"))
if not 0.0 <= threshold <= 1.0:
    raise SystemExit(f"threshold {threshold} is outside [0, 1]")
if "en" not in languages:
    raise SystemExit("English must stay supported")
print("ok")
