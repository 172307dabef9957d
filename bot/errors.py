"""One base error; the entry point turns any of them into one message and one exit code.

Exit codes (the README's table says the same):

====  =====================================================================================
0     ok
1     the gate or a check says no
2     bad input or configuration: the message names the file, line, field or argument
3     the forge (GitHub, or the local forge) failed after retries
4     git failed (a clone, fetch, push or another git command)
5     an unexpected error: a bug of the bot's; the only case that prints a traceback
6     bad state: a damaged or inconsistent record on the data branch, named, left untouched
130   interrupted
====  =====================================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_NO = 1
EXIT_INPUT = 2
EXIT_FORGE = 3
EXIT_GIT = 4
EXIT_BUG = 5
EXIT_BAD_STATE = 6
EXIT_INTERRUPTED = 130


class ImproveError(Exception):
    """Base of every error the bot reports to a person. Subclasses set the exit code."""

    exit_code = EXIT_INPUT


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

    exit_code = EXIT_INPUT

    def __init__(self, problems: Iterable[Problem] | str):
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            super().__init__(problems)
        else:
            self.problems = list(problems)
            super().__init__("\n".join(str(p) for p in self.problems))


class GateError(ImproveError):
    """The gate or a check says no (exit 1)."""

    exit_code = EXIT_NO


class ForgeError(ImproveError):
    """The forge (GitHub or the local one) failed after retries; reported, never lost."""

    exit_code = EXIT_FORGE


def _from_gitpython(exc: BaseException) -> bool:
    # GitPython's own errors (``git.exc``), named without importing GitPython
    return type(exc).__module__.split(".")[0] == "git"


def exit_code_of(exc: BaseException) -> int:
    """The exit code an error stands for: its own for the bot's errors, git's for a git command
    that failed without being wrapped, EXIT_BUG for anything else."""
    if isinstance(exc, ImproveError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if _from_gitpython(exc):
        return EXIT_GIT
    return EXIT_BUG


def report(prefix: str, exc: BaseException) -> tuple[str, int]:
    """The message for a failure and its exit code. One line (redacted) for every error the
    bot knows; the traceback too, only for an unexpected one (a bug), so it can be reported."""
    from bot.secrets import redact

    code = exit_code_of(exc)
    if _from_gitpython(exc):  # its message spreads the command and stderr over lines
        return redact(f"{prefix}: error: {' '.join(str(exc).split())}"), code
    if code != EXIT_BUG:
        return redact(f"{prefix}: error: {exc}"), code
    import traceback

    trace = "".join(traceback.format_exception(exc))
    return redact(f"{trace}{prefix}: unexpected error (a bug in improve, please report it): "
                  f"{type(exc).__name__}: {exc}"), code


class DamagedState(ImproveError):
    """A record on the data branch does not parse, has an unknown schema version or names what
    does not exist (exit 6). Reported by path and left untouched; the rest of the run went on."""

    exit_code = EXIT_BAD_STATE
