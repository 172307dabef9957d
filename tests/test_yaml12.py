"""One YAML 1.2 reader for everything the bot reads (proposals, the configuration, suites,
fields read on their own) and for what it writes into target files: the scalars YAML 1.1 and
1.2 read differently, on a table. With PyYAML (1.1) reading the proposal and ruamel (1.2)
writing the target, ``value: [en, de, no]`` wrote ``- false`` into the target."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.core.config import parse_config
from bot.core.edits import set_key
from bot.core.proposal_files import proposal_author
from bot.core.proposals import check_proposal
from bot.core.suites import parse_suite
from bot.core.tuner import parse_values
from bot.core.yamldoc import dump_yaml, load_yaml, parse_yaml

PROPOSAL = """\
title: t
type: constant_tune
risk: low
rationale: r
predicted_improvement: {{metric: accuracy, delta: 0.01}}
author: {author}
changes:
  - path: config/router.yaml
    set: {{key: routing.value, value: {value}}}
"""
TARGET = "routing:\n  value: 1  # tuned\n"

# (text in YAML, what YAML 1.2 reads, what it is written back as in the target)
TABLE: list[tuple[str, Any, str]] = [
    ("no", "no", "no"),
    ("yes", "yes", "yes"),
    ("on", "on", "on"),
    ("off", "off", "off"),
    ("0o17", 15, "15"),
    ("017", 17, "17"),
    ("1_000", 1000, "1000"),
    ("2026-11-21", date(2026, 11, 21), "2026-11-21"),
    ("'0o17'", "0o17", "'0o17'"),
    ("'1e3'", "1e3", "'1e3'"),
    ("[en, de, no]", ["en", "de", "no"], ""),  # a list: written by ruamel's round trip
]


@pytest.mark.parametrize(("text", "value", "written"), TABLE)
def test_every_reader_reads_yaml_1_2(text: str, value: Any, written: str) -> None:
    assert load_yaml(f"v: {text}\n") == {"v": value}
    assert parse_yaml(f"v: {text}\n", "f.yaml").data == {"v": value}
    # a proposal: the value it asks for is the value written into the target
    checked = check_proposal(PROPOSAL.format(author="tuner", value=text), "p.yaml",
                             parse_config(None), date(2026, 11, 21))
    assert checked.problems == [] and checked.proposal is not None
    change = checked.proposal.changes[0]
    assert change.set_ is not None and change.set_.value == value
    new, _ = set_key(TARGET, "config/router.yaml", "routing.value", value)
    if written:  # a scalar is replaced in place: every other byte stays
        assert new == f"routing:\n  value: {written}  # tuned\n"
    assert load_yaml(new)["routing"]["value"] == value  # read back as it was asked


@pytest.mark.parametrize(("text", "value", "written"), TABLE[:4])
def test_the_configuration_suites_and_fields_read_the_same(text: str, value: Any,
                                                           written: str) -> None:
    config = parse_config(f"default_branch: {text}\n")
    assert config.default_branch == value  # a branch named "no" stays a string
    suite = parse_suite(f"id: s\ndescription: {text}\nchecks: [{{id: c, run: 'true'}}]\n",
                        "regressions/s.yaml", "regression")
    assert suite.description == value
    assert proposal_author(PROPOSAL.format(author=text, value=1)) == value
    assert parse_values(text) == [value]


def test_what_the_bot_writes_is_read_back_unchanged() -> None:
    data = {"b": ["no", "0o17", "1e3", "1_000", "2026-11-21", True, 0.62, None], "a": "é"}
    text = dump_yaml(data)
    assert list(load_yaml(text)) == ["b", "a"] and load_yaml(text) == data


def test_a_document_nested_too_deeply_is_bad_input() -> None:
    from bot.errors import InputError

    with pytest.raises(InputError, match="f.yaml: invalid YAML: nested too deeply"):
        parse_yaml("[" * 100_000, "f.yaml")
