"""Reading the results that benchmark and evaluation tools write themselves, so a task can name
its tool's results file instead of printing the bot's JSON line.

Pure: each parser takes the file's bytes (``{path: bytes}``; a directory's files for asv and
lm-eval) and returns :class:`Entry` values. An entry is one thing the tool measured (a
benchmark, a test case, an evaluation sample) and becomes a task of the results file named
``<task id>/<entry name>``; its samples stay samples (every round a timing tool measured, every
epoch of an eval sample), so the comparison keeps its statistics. The stage reads the files."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from bot.core.formats import (
    asv,
    custom,
    google_benchmark,
    hyperfine,
    inspect_log,
    junit,
    lm_eval,
    promptfoo,
    pytest_benchmark,
)
from bot.core.formats.common import Entry, FormatError

Direction = Literal["higher", "lower"]
Kind = Literal["score", "timing"]

# parse(files, metric paths of the generic json format) -> entries
Parser = Callable[[Mapping[str, bytes], Mapping[str, str]], list[Entry]]


@dataclass(frozen=True)
class FormatInfo:
    name: str
    # the metrics the format reports: (name, direction, kind); the generic json format's come
    # from the suite
    metrics: tuple[MetricSpec, ...]
    parse: Parser
    # reads a directory (every file under it) rather than one file
    directory: bool = False
    # what the tool is and where its results come from, for the README and error messages
    about: str = ""
    # the file records failing cases (a failed test, a failed eval case): when the tool wrote
    # it, its non-zero exit code is those failures, not a crash
    failures_in_file: bool = False


MetricSpec = tuple[str, Direction, Kind]
TIME: MetricSpec = ("time_s", "lower", "timing")

FORMATS: dict[str, FormatInfo] = {
    f.name: f
    for f in (
        FormatInfo("pytest-benchmark", (TIME,), pytest_benchmark.parse,
                   about="pytest --benchmark-json=FILE"),
        FormatInfo("junit", (TIME,), junit.parse, failures_in_file=True,
                   about="JUnit XML (pytest --junitxml=FILE, …)"),
        FormatInfo("json", (), custom.parse_paths, about="any JSON, a path per metric"),
        FormatInfo("customBiggerIsBetter", (("value", "higher", "score"),), custom.parse_bigger,
                   about="github-action-benchmark's custom JSON, bigger is better"),
        FormatInfo("customSmallerIsBetter", (("value", "lower", "score"),), custom.parse_smaller,
                   about="github-action-benchmark's custom JSON, smaller is better"),
        FormatInfo("hyperfine", (TIME,), hyperfine.parse, about="hyperfine --export-json FILE"),
        FormatInfo("google-benchmark", (TIME,), google_benchmark.parse,
                   about="--benchmark_out=FILE --benchmark_out_format=json"),
        FormatInfo("asv", (TIME, ("value", "lower", "score")), asv.parse, directory=True,
                   about="asv run's results directory"),
        FormatInfo("lm-eval", (("score", "higher", "score"),), lm_eval.parse, directory=True,
                   about="lm_eval --output_path DIR --log_samples"),
        FormatInfo("inspect", (("score", "higher", "score"),), inspect_log.parse,
                   failures_in_file=True, about="an Inspect eval log (.eval or .json)"),
        FormatInfo("promptfoo", (("score", "higher", "score"), ("pass", "higher", "score")),
                   promptfoo.parse, failures_in_file=True,
                   about="promptfoo eval --output FILE.json"),
    )
}

FormatName = Literal[
    "pytest-benchmark", "junit", "json", "customBiggerIsBetter", "customSmallerIsBetter",
    "hyperfine", "google-benchmark", "asv", "lm-eval", "inspect", "promptfoo",
]

__all__ = ["FORMATS", "Entry", "FormatError", "FormatInfo", "FormatName", "parse"]


def parse(fmt: str, files: Mapping[str, bytes], paths: Mapping[str, str] | None = None
          ) -> list[Entry]:
    """The entries of a tool's results; FormatError (with the file and what is wrong) when the
    files are not what the format says."""
    entries = FORMATS[fmt].parse(files, paths or {})
    if not entries:
        raise FormatError(f"no results in {', '.join(sorted(files)) or 'the directory'}")
    return entries
