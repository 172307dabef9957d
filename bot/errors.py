"""One base error; the entry point turns any of them into one message and one exit code.

Exit codes: 0 ok, 1 the gate or check says no, 2 bad input or configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class ImproveError(Exception):
    """Base of every error the bot reports to a person. Subclasses set the exit code."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file, line, field) and why."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


class InputError(ImproveError):
    """Bad input or configuration (exit 2). Carries every problem found, not only the first."""

    exit_code = 2

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            super().__init__(problems)
        else:
            self.problems = list(problems)
            super().__init__("\n".join(str(p) for p in self.problems))


class GateError(ImproveError):
    """The gate or a check says no (exit 1)."""

    exit_code = 1


class ForgeError(ImproveError):
    """The forge (GitHub or the local one) failed after retries; reported, never lost."""

    exit_code = 1
