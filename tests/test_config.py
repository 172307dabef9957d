"""The configuration: defaults for everything, and errors that name the file, line and key."""

from __future__ import annotations

import pytest

from bot.core.config import Config, parse_config, read_config
from bot.errors import InputError


def test_no_file_means_every_default() -> None:
    cfg = parse_config(None)
    assert cfg == Config()
    assert cfg.proposals.types["constant_tune"] == "patch"
    assert cfg.proposals.max_changes == 5
    assert cfg.limits.max_open == 3 and cfg.limits.cooldown_hours == 6
    assert cfg.approval.timeout_days == 7 and cfg.approval.auto[0].type == "constant_tune"
    assert cfg.monitor.window_days == 7 and cfg.monitor.warn_drop == 0.03
    assert cfg.monitor.rollback_drop == 0.10
    assert cfg.compare.timing_floor == 0.10
    assert cfg.release.changelog == "CHANGELOG.md" and cfg.data_branch == "improve-data"


def test_values_override_defaults() -> None:
    cfg = parse_config("limits:\n  max_open: 7\ncompare:\n  tolerance: {accuracy: 0.01}\n")
    assert cfg.limits.max_open == 7
    assert cfg.compare.tolerance_for("accuracy") == 0.01
    assert cfg.compare.tolerance_for("other") == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("limits:\n  max_opne: 3\n", [".github/improve.yml:2: limits.max_opne: unknown key"]),
        ("colour: blue\n", [".github/improve.yml:1: colour: unknown key"]),
        (
            "limits:\n  max_open: many\n",
            [".github/improve.yml:2: limits.max_open: Input should be a valid integer"],
        ),
        (
            "monitor:\n  window_days: 7\n  warn_drop: 2\n",
            [".github/improve.yml:3: monitor.warn_drop: Input should be less than 1"],
        ),
        (
            "approval:\n  approvers: [write, owner]\n",
            [".github/improve.yml:2: approval.approvers[1]: Input should be"],
        ),
        (
            "proposals:\n  types: {constant_tune: huge}\n",
            [".github/improve.yml:2: proposals.types.constant_tune: Input should be"],
        ),
        (
            "limits: {max_open: 1}\nlimits: {max_open: 2}\n",
            [".github/improve.yml:2: limits: duplicate key"],
        ),
        ("limits: [1\n", [".github/improve.yml:2: invalid YAML"]),
    ],
)
def test_errors_name_file_line_and_key(text: str, expected: list[str]) -> None:
    with pytest.raises(InputError) as info:
        parse_config(text)
    lines = str(info.value).splitlines()
    assert len(lines) == len(expected), lines
    for line, want in zip(lines, expected, strict=True):
        assert line.startswith(want), (line, want)


def test_every_problem_is_reported_not_only_the_first() -> None:
    with pytest.raises(InputError) as info:
        parse_config("limits:\n  max_open: 0\n  bogus: 1\nmonitor:\n  warn_runs: x\n")
    fields = sorted(p.field or "" for p in info.value.problems)
    assert fields == ["limits.bogus", "limits.max_open", "monitor.warn_runs"]
    assert [p.line for p in sorted(info.value.problems, key=lambda p: p.line or 0)] == [2, 3, 5]


@pytest.mark.parametrize(
    ("files", "max_open", "named"),
    [
        ({}, 3, None),
        ({".github/improve.yml": "limits: {max_open: 4}\n"}, 4, None),
        ({".github/improve.yaml": "limits: {max_open: 5}\n"}, 5, None),
        ({".github/improve.yml": "limits: {max_open: 4}\n",
          ".github/improve.yaml": "limits: {max_open: 5}\n"}, 4, None),
        ({".github/improve.yaml": "limits: {max_open: 0}\n"}, None,
         ".github/improve.yaml (on main):1: limits.max_open"),
    ],
)
def test_the_configuration_under_either_name(files: dict[str, str], max_open: int | None,
                                             named: str | None) -> None:
    """Wherever the bot reads it (the forge, a commit, a working tree), through one reader."""
    if named is not None:
        with pytest.raises(InputError, match=named.replace("(", r"\(").replace(")", r"\)")):
            read_config(files.get, " (on main)")
        return
    assert read_config(files.get, " (on main)").limits.max_open == max_open
