"""The GitHub Actions environment: workflow commands (``::group::``, ``::error::``), step outputs
and the job summary. Text that did not come from the bot is printed with workflow commands
stopped, so a task cannot smuggle ``::add-mask::`` or ``::set-env`` lines into the log."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from typing import TextIO


def in_actions(env: Mapping[str, str] | None = None) -> bool:
    return (env if env is not None else os.environ).get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str = "", out: TextIO | None = None, **props: object) -> None:
    out = out or sys.stdout
    given = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items() if v is not None)
    print(f"::{name}{' ' + given if given else ''}::{escape_data(message)}", file=out, flush=True)


@contextlib.contextmanager
def group(title: str, out: TextIO | None = None) -> Iterator[None]:
    out = out or sys.stdout
    print(f"::group::{escape_data(title)}", file=out, flush=True)
    try:
        yield
    finally:
        print("::endgroup::", file=out, flush=True)


def print_untrusted(text: str, out: TextIO | None = None) -> None:
    """Print text from a task or a comment with workflow commands switched off around it."""
    out = out or sys.stdout
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out)
    print(text, file=out)
    print(f"::{token}::", file=out, flush=True)


def append_summary(markdown: str, env: Mapping[str, str] | None = None) -> bool:
    """Append to the job summary; False when there is none (not in Actions)."""
    path = (env if env is not None else os.environ).get("GITHUB_STEP_SUMMARY")
    if not path:
        return False
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(markdown.rstrip("\n") + "\n\n")
    return True


def set_output(name: str, value: str, env: Mapping[str, str] | None = None) -> bool:
    path = (env if env is not None else os.environ).get("GITHUB_OUTPUT")
    if not path:
        return False
    delimiter = f"improve_{secrets.token_hex(8)}"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return True


def run_of(env: Mapping[str, str]) -> tuple[int | None, int | None]:
    """The Actions run this step belongs to: (GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT), None when not
    in a run or not a number. A re-run of a job keeps the id and counts the attempt up."""
    def number(name: str) -> int | None:
        value = (env.get(name) or "").strip()
        return int(value) if value.isdigit() else None
    return number("GITHUB_RUN_ID"), number("GITHUB_RUN_ATTEMPT")
