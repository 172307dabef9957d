"""Progress displays: counts restart with each run a display shows."""

from __future__ import annotations

import io

from bot.adapters.progress import ActionsProgress, PlainProgress


def test_a_display_reused_for_a_second_run_counts_from_one() -> None:
    for cls in (PlainProgress, ActionsProgress):
        out = io.StringIO()
        p = cls(out)
        for title in ("base", "head"):
            p.start(2, title)
            p.done("s/a#1", True, 0.1)
            p.done("s/b#1", False, 0.1)
            p.failure("s/b#1", "crashed", "tail")
            p.finish("2 runs")
        text = out.getvalue()
        assert "[3/2]" not in text, text
        if cls is ActionsProgress:
            assert text.count("::error") == 2  # one per run, not carried into the next
