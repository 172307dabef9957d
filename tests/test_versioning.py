"""SemVer 2.0 versions: semver.org's own valid/invalid lists, precedence, bumps, next version."""

from __future__ import annotations

import itertools

import pytest

from bot.core.config import DEFAULT_TYPES
from bot.core.release.versioning import (
    Version,
    bump_kind,
    is_valid,
    next_version,
    parse_tag,
    strip_tag_prefix,
    tag_name,
)
from bot.errors import InputError

# https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
# (the regex101 test lists linked there)
SEMVER_ORG_VALID = [
    "0.0.4", "1.2.3", "10.20.30", "1.1.2-prerelease+meta", "1.1.2+meta", "1.1.2+meta-valid",
    "1.0.0-alpha", "1.0.0-beta", "1.0.0-alpha.beta", "1.0.0-alpha.beta.1", "1.0.0-alpha.1",
    "1.0.0-alpha0.valid", "1.0.0-alpha.0valid",
    "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay", "1.0.0-rc.1+build.1",
    "2.0.0-rc.1+build.123", "1.2.3-beta", "10.2.3-DEV-SNAPSHOT", "1.2.3-SNAPSHOT-123",
    "1.0.0", "2.0.0", "1.1.7", "2.0.0+build.1848", "2.0.1-alpha.1227", "1.0.0-alpha+beta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12+788", "1.2.3----R-S.12.9.1--.12+meta",
    "1.2.3----RC-SNAPSHOT.12.9.1--.12", "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
    "99999999999999999999999.999999999999999999.99999999999999999", "1.0.0-0A.is.legal",
]
SEMVER_ORG_INVALID = [
    "1", "1.2", "1.2.3-0123", "1.2.3-0123.0123", "1.1.2+.123", "+invalid", "-invalid",
    "-invalid+invalid", "-invalid.01", "alpha", "alpha.beta", "alpha.beta.1", "alpha.1",
    "alpha+beta", "alpha_beta", "alpha.", "alpha..", "beta", "1.0.0-alpha_beta", "-alpha.",
    "1.0.0-alpha..", "1.0.0-alpha..1", "1.0.0-alpha...1", "1.0.0-alpha....1",
    "1.0.0-alpha.....1", "1.0.0-alpha......1", "1.0.0-alpha.......1", "01.1.1", "1.01.1",
    "1.1.01", "1.2.3.DEV", "1.2-SNAPSHOT", "1.2.31.2.3----RC-SNAPSHOT.12.09.1--..12+788",
    "1.2-RC-SNAPSHOT", "-1.0.3-gamma+b7718", "+justmeta", "9.8.7+meta+meta",
    "9.8.7-whatever+meta+meta",
    "99999999999999999999999.999999999999999999.99999999999999999----RC-SNAPSHOT.12.09.1"
    "--------------------------------..12",
    # and what people type by accident
    "v1.2.3", " 1.2.3", "1.2.3 ", "1.2.3\n", "1.2.3-", "1.2.3+", "1.2.٣", "", "1.2.3-rc.01",
]


@pytest.mark.parametrize("text", SEMVER_ORG_VALID)
def test_valid_versions_parse_and_round_trip(text: str) -> None:
    assert is_valid(text)
    assert str(Version.parse(text)) == text


@pytest.mark.parametrize("text", SEMVER_ORG_INVALID)
def test_invalid_versions_are_refused_naming_the_text(text: str) -> None:
    assert not is_valid(text)
    with pytest.raises(InputError) as err:
        Version.parse(text)
    assert repr(text) in str(err.value)


def test_parts() -> None:
    v = Version.parse("1.0.0-alpha.1+build.5")
    assert (v.major, v.minor, v.patch) == (1, 0, 0)
    assert v.prerelease == ("alpha", "1")
    assert v.build == ("build", "5")
    assert v.is_prerelease and not Version.parse("1.0.0").is_prerelease


# semver.org item 11's own chain, plus the major/minor/patch chain
PRECEDENCE_CHAIN = [
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0",
]


@pytest.mark.parametrize(
    ("lower", "higher"), list(itertools.combinations(PRECEDENCE_CHAIN, 2))
)
def test_precedence(lower: str, higher: str) -> None:
    a, b = Version.parse(lower), Version.parse(higher)
    assert a < b and b > a and a != b and a <= b and not b <= a


def test_sorting_shuffled_chain_restores_it() -> None:
    shuffled = list(reversed(PRECEDENCE_CHAIN[::2])) + list(PRECEDENCE_CHAIN[1::2])
    assert [str(v) for v in sorted(map(Version.parse, shuffled))] == PRECEDENCE_CHAIN


@pytest.mark.parametrize(
    ("a", "b"),
    [("1.0.0+a", "1.0.0+b"), ("1.0.0", "1.0.0+build.9"), ("1.0.0-rc.1+x", "1.0.0-rc.1")],
)
def test_build_metadata_is_ignored_for_precedence(a: str, b: str) -> None:
    va, vb = Version.parse(a), Version.parse(b)
    assert va == vb and not va < vb and not vb < va and hash(va) == hash(vb)
    assert str(va) == a  # ...but kept in the text


@pytest.mark.parametrize(
    ("current", "kind", "expected"),
    [
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("0.1.9", "patch", "0.1.10"),
        ("0.9.0", "major", "1.0.0"),
        ("1.2.3+build.7", "patch", "1.2.4"),
        # a pre-release is on its way to its release: the bump it already implies finalizes it
        ("1.2.0-rc.1", "patch", "1.2.0"),
        ("1.2.0-rc.1", "minor", "1.2.0"),
        ("1.2.0-rc.1", "major", "2.0.0"),
        ("1.2.3-rc.1", "minor", "1.3.0"),
        ("1.2.3-rc.1", "patch", "1.2.3"),
        ("2.0.0-beta.2", "major", "2.0.0"),
        ("2.0.0-beta.2", "minor", "2.0.0"),
        ("2.0.0-beta.2+sha.1", "patch", "2.0.0"),
    ],
)
def test_bump(current: str, kind: str, expected: str) -> None:
    new = Version.parse(current).bump(kind)
    assert str(new) == expected
    assert new > Version.parse(current)


def test_bump_unknown_kind() -> None:
    with pytest.raises(InputError, match="unknown version bump 'huge'"):
        Version.parse("1.0.0").bump("huge")


@pytest.mark.parametrize(
    ("ptype", "breaking", "rollback", "expected"),
    [
        ("constant_tune", False, False, "1.3.3"),
        ("prompt_edit", False, False, "1.4.0"),
        ("code_change", False, False, "1.4.0"),
        ("constant_tune", True, False, "2.0.0"),
        ("prompt_edit", True, False, "2.0.0"),
        ("prompt_edit", False, True, "1.3.3"),
        ("prompt_edit", True, True, "1.3.3"),  # a rollback is always a patch
        (None, False, True, "1.3.3"),
    ],
)
def test_next_version(ptype: str | None, breaking: bool, rollback: bool, expected: str) -> None:
    got = next_version("1.3.2", ptype, DEFAULT_TYPES, breaking=breaking, rollback=rollback)
    assert str(got) == expected


def test_next_version_uses_the_configured_map() -> None:
    assert str(next_version("1.3.2", "constant_tune", {"constant_tune": "minor"})) == "1.4.0"


def test_unknown_type_names_the_config_field() -> None:
    with pytest.raises(InputError) as err:
        bump_kind("mystery", DEFAULT_TYPES)
    assert err.value.problems[0].field == "proposals.types"
    assert "'mystery'" in str(err.value) and "constant_tune" in str(err.value)


@pytest.mark.parametrize(
    ("tag", "prefix", "expected"),
    [
        ("v1.2.3", "v", "1.2.3"),
        ("v1.2.3-rc.1", "v", "1.2.3-rc.1"),
        ("1.2.3", "", "1.2.3"),
        ("1.2.3", "v", None),
        ("release-1.2.3", "release-", "1.2.3"),
        ("v1.2", "v", None),
        ("vv1.2.3", "v", None),
        ("latest", "v", None),
    ],
)
def test_tag_prefix(tag: str, prefix: str, expected: str | None) -> None:
    assert strip_tag_prefix(tag, prefix) == expected
    parsed = parse_tag(tag, prefix)
    assert (str(parsed) if parsed else None) == expected
    if expected is not None:
        assert tag_name(Version.parse(expected), prefix) == tag
