"""Progress of a long run: a live line on a terminal, a group and annotations in Actions, plain
lines otherwise. What to say is decided by the caller; this only decides how it shows."""

from __future__ import annotations

import sys
import threading
import time
from typing import Protocol, TextIO

from bot.adapters import actions


class Progress(Protocol):
    def start(self, total: int, title: str) -> None: ...
    def done(self, label: str, ok: bool, seconds: float, detail: str = "") -> None: ...
    def failure(self, label: str, reason: str, output: str, file: str | None = None) -> None: ...
    def finish(self, summary: str) -> None: ...


class _Counter:
    def __init__(self) -> None:
        self.total = 0
        self.count = 0
        self.failed = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def reset(self, total: int) -> None:
        # one display may show several runs in turn (a pull request's base, then its head)
        with self.lock:
            self.total, self.count, self.failed = total, 0, 0
            self.started = time.monotonic()

    def tick(self, ok: bool) -> tuple[int, int]:
        with self.lock:
            self.count += 1
            self.failed += 0 if ok else 1
            return self.count, self.total


class PlainProgress(_Counter):
    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out

    def start(self, total: int, title: str) -> None:
        self.reset(total)
        print(f"{title}: {total} run(s)", file=self.out, flush=True)

    def done(self, label: str, ok: bool, seconds: float, detail: str = "") -> None:
        n, total = self.tick(ok)
        mark = "ok  " if ok else "FAIL"
        print(
            f"[{n:>{len(str(total))}}/{total}] {mark} {label} ({seconds:.2f} s) {detail}".rstrip(),
            file=self.out,
            flush=True,
        )

    def failure(self, label: str, reason: str, output: str, file: str | None = None) -> None:
        print(f"  {label}: {reason}", file=self.out, flush=True)

    def finish(self, summary: str) -> None:
        print(summary, file=self.out, flush=True)


class TerminalProgress(PlainProgress):
    """One line rewritten in place; failures are printed above it as they happen."""

    def done(self, label: str, ok: bool, seconds: float, detail: str = "") -> None:
        n, total = self.tick(ok)
        pct = 100 * n // max(total, 1)
        width = 24
        filled = width * n // max(total, 1)
        bar = "█" * filled + "·" * (width - filled)
        elapsed = time.monotonic() - self.started
        line = f"\r\033[K{bar} {n}/{total} {pct:3d}%  {elapsed:5.1f}s  {label}"
        if self.failed:
            line += f"  ({self.failed} failed)"
        print(line[:200], end="", file=self.out, flush=True)

    def failure(self, label: str, reason: str, output: str, file: str | None = None) -> None:
        print(f"\r\033[K✗ {label}: {reason}", file=self.out, flush=True)

    def finish(self, summary: str) -> None:
        print("\r\033[K" + summary, file=self.out, flush=True)


class ActionsProgress(PlainProgress):
    """In Actions: every run inside one foldable group, each failure as an annotation with its
    output folded under it (workflow commands stopped around the output)."""

    def __init__(self, out: TextIO) -> None:
        super().__init__(out)
        self.failures: list[tuple[str, str, str, str | None]] = []

    def start(self, total: int, title: str) -> None:
        self.reset(total)
        self.failures.clear()
        print(f"::group::{actions.escape_data(title)} ({total} runs)", file=self.out, flush=True)

    def failure(self, label: str, reason: str, output: str, file: str | None = None) -> None:
        with self.lock:
            self.failures.append((label, reason, output, file))

    def finish(self, summary: str) -> None:
        print("::endgroup::", file=self.out, flush=True)
        for label, reason, output, file in self.failures:
            actions.command("error", f"{label}: {reason}", self.out, file=file, title="improve")
            with actions.group(f"output of {label}", self.out):
                actions.print_untrusted(output or "(no output)", self.out)
        print(summary, file=self.out, flush=True)


def make_progress(out: TextIO | None = None, env: dict[str, str] | None = None) -> Progress:
    out = out or sys.stderr
    if actions.in_actions(env):
        return ActionsProgress(sys.stdout)  # Actions reads workflow commands from stdout
    if out.isatty():
        return TerminalProgress(out)
    return PlainProgress(out)
