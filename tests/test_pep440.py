"""PEP 440 versions: the bump table, the scheme a version file follows, and the release plan."""

from __future__ import annotations

import pytest

from bot.core.config import VersionFile
from bot.core.release.pep440 import Pep440Version
from bot.core.release.version_files import read_version, read_versions, scheme_of, write_versions
from bot.core.release.versioning import Version
from bot.errors import InputError

# (version, patch, minor, major): see bot/core/release/pep440.py for why each bump gives
# what it gives
BUMPS = [
    # a dev release of 0.23.2 is on its way to 0.23.2
    ("0.23.2.dev0", "0.23.2", "0.24.0", "1.0.0"),
    # a release candidate of 1.0 (== 1.0.0): every bump is satisfied by 1.0.0
    ("1.0rc1", "1.0.0", "1.0.0", "1.0.0"),
    ("1.1b2", "1.1.0", "1.1.0", "2.0.0"),
    ("1.0.dev3", "1.0.0", "1.0.0", "1.0.0"),
    ("1.0rc1.post1", "1.0.0", "1.0.0", "1.0.0"),
    # a post-release comes after its release: count on from it
    ("2.0.post1", "2.0.1", "2.1.0", "3.0.0"),
    ("2.0.post1.dev0", "2.0.1", "2.1.0", "3.0.0"),
    # the epoch stays (without it the version would go backwards)
    ("1!2.0", "1!2.0.1", "1!2.1.0", "1!3.0.0"),
    # the local label is dropped, as SemVer build metadata is
    ("1.2.3+local", "1.2.4", "1.3.0", "2.0.0"),
    ("1.2.3.4", "1.2.4", "1.3.0", "2.0.0"),
    ("3", "3.0.1", "3.1.0", "4.0.0"),
    # spellings PEP 440 normalizes are read as written
    ("1.0-RC1", "1.0.0", "1.0.0", "1.0.0"),
]


@pytest.mark.parametrize(("text", "patch", "minor", "major"), BUMPS)
def test_bumps(text: str, patch: str, minor: str, major: str) -> None:
    v = Pep440Version.parse(text)
    got = {k: str(v.bump(k)) for k in ("patch", "minor", "major")}
    assert got == {"patch": patch, "minor": minor, "major": major}
    for k in ("patch", "minor", "major"):
        # PEP 440 ordering: a bump never goes backwards
        assert v.bump(k) > v


def test_ordering_and_equality_follow_pep440() -> None:
    assert Pep440Version("1.0.dev0") < Pep440Version("1.0rc1") < Pep440Version("1.0")
    assert Pep440Version("1.0") == Pep440Version("1.0.0")
    assert Pep440Version("1.0") < Pep440Version("1.0.post1") < Pep440Version("1!0.1")


def test_unknown_bump_and_invalid_text_are_refused() -> None:
    with pytest.raises(InputError, match="unknown version bump 'huge'"):
        Pep440Version("1.0").bump("huge")
    with pytest.raises(InputError, match="'1.0-foo' is not a PEP 440 version"):
        Pep440Version.parse("1.0-foo")


PYPROJECT = '[project]\nname = "x"\nversion = "{v}"  # keep\n'


@pytest.mark.parametrize(("path", "value", "scheme", "want"), [
    ("pyproject.toml", "0.23.2.dev0", "auto", "pep440"),
    ("pyproject.toml", "1.2.3", "auto", "semver"),
    ("pyproject.toml", "1.0.0-rc.1", "auto", "semver"),
    ("setup.cfg", "1.0rc1", "auto", "pep440"),
    ("package.json", "1.0rc1", "auto", "semver"),
    ("src/app/__init__.py", "2.0.post1", "auto", "pep440"),
    ("setup.py", "1.2.3", "auto", "semver"),
    ("VERSION", "1.2.3", "pep440", "pep440"),
    ("pyproject.toml", "1.0rc1", "semver", "semver"),
])
def test_scheme_detection(path: str, value: str, scheme: str, want: str) -> None:
    assert scheme_of(path, value, scheme) == want


def test_version_files_read_and_write_pep440() -> None:
    text = PYPROJECT.format(v="0.23.2.dev0")
    v = read_version("pyproject.toml", text)
    assert isinstance(v, Pep440Version) and str(v) == "0.23.2.dev0"
    specs = [VersionFile(path="pyproject.toml"), VersionFile(path="VERSION", scheme="pep440")]
    files = {"pyproject.toml": text, "VERSION": "0.23.2.dev0\n"}
    assert str(read_versions(files, specs)) == "0.23.2.dev0"
    new = write_versions(files, specs, v.bump("minor"))
    assert new == {"pyproject.toml": PYPROJECT.format(v="0.24.0"), "VERSION": "0.24.0\n"}
    # a SemVer text in a Python file stays SemVer (its pre-release spelling is kept)
    assert read_version("pyproject.toml", PYPROJECT.format(v="1.0.0-rc.1")) == \
        Version.parse("1.0.0-rc.1")


def test_a_forced_semver_scheme_names_the_file_line_and_the_way_out() -> None:
    text = PYPROJECT.format(v="1.0rc1")
    with pytest.raises(InputError) as err:
        read_version("pyproject.toml", text, scheme="semver")
    (p,) = err.value.problems
    assert (p.file, p.line) == ("pyproject.toml", 3)
    assert "not a SemVer 2.0 version (set `scheme: pep440`" in p.message
