"""Version files rewritten in place: only the version's characters change, byte for byte."""

from __future__ import annotations

import pytest

from bot.core.config import VersionFile
from bot.core.release.version_files import (
    read_version,
    read_versions,
    version_spans,
    write_version,
    write_versions,
)
from bot.errors import InputError

PYPROJECT = """\
# a comment before everything
[build-system]
requires = ["setuptools>=68"]  # version = "9.9.9" in a comment

[tool.poetry]
version = "0.0.1"   # another table's version key stays

[project]
name = "demo"
description = '''
version = "7.7.7" inside a multi-line string
'''
version   =   "1.2.3"    # trailing comment kept
dependencies = ["x"]

[project.urls]
version = "not me"
"""

PACKAGE_JSON = """{
  "name": "demo",
  "dependencies": {"version": "0.0.9", "left-pad": "^1.0.0"},
  "scripts": {"bump": "npm version"},
  "version"  :  "1.2.3",
  "nested": [{"version": "2.0.0"}]
}
"""

CASES = [
    ("pyproject.toml", PYPROJECT, None),
    ("pyproject.toml", PYPROJECT.replace("\n", "\r\n"), None),
    ("pyproject.toml", "[project]\nname = 'x'\nversion = '1.2.3'\n", None),
    ("sub/pyproject.toml", '[project]\n"version" = "1.2.3"\n', None),
    ("package.json", PACKAGE_JSON, None),
    ("package.json", PACKAGE_JSON.replace("\n", "\r\n"), None),
    ("package.json", '\ufeff{"version":"1.2.3","name":"x"}', None),
    ("package.json", '{\n\t"version": "1.2.3"\n}', None),
    ("VERSION", "1.2.3\n", None),
    ("VERSION", "1.2.3", None),
    ("VERSION", "  1.2.3  \r\n\r\n", None),
    ("src/demo/__init__.py", '"""Doc."""\n__version__ = "1.2.3"\nOTHER = "1.2.3"\n',
     r'^__version__ = "([^"]+)"'),
    ("Chart.yaml", "apiVersion: v2\nversion: 1.2.3\nappVersion: '1.2.3'\n",
     r"^version: (\S+)"),
    ("setup.cfg", "[metadata]\nversion = 1.2.3\n[x]\nversion = 1.2.3\n", r"^version = (\S+)"),
]


@pytest.mark.parametrize(("path", "text", "pattern"), CASES)
def test_read_then_rewrite_changes_only_the_version(
    path: str, text: str, pattern: str | None
) -> None:
    assert str(read_version(path, text, pattern)) == "1.2.3"
    new = write_version(path, text, "1.10.0-rc.1", pattern)
    assert str(read_version(path, new, pattern)) == "1.10.0-rc.1"
    # putting the old version back at the same places gives the original, byte for byte
    assert write_version(path, new, "1.2.3", pattern) == text
    spans = version_spans(path, text, pattern)
    expected = text
    for s in sorted(spans, key=lambda s: -s.start):
        expected = expected[:s.start] + "1.10.0-rc.1" + expected[s.end:]
    assert new == expected
    assert len(new) - len(text) == len(spans) * (len("1.10.0-rc.1") - len("1.2.3"))


def test_pyproject_other_tables_untouched() -> None:
    new = write_version("pyproject.toml", PYPROJECT, "2.0.0")
    assert 'version = "0.0.1"' in new and 'version = "not me"' in new
    assert 'version = "7.7.7" inside' in new and 'version = "9.9.9" in a comment' in new
    assert 'version   =   "2.0.0"    # trailing comment kept' in new


def test_package_json_nested_versions_untouched() -> None:
    new = write_version("package.json", PACKAGE_JSON, "2.0.0")
    assert '{"version": "0.0.9"' in new and '[{"version": "2.0.0"}]' in new
    assert '"version"  :  "2.0.0"' in new


def test_spans_name_the_line() -> None:
    assert [s.line for s in version_spans("pyproject.toml", PYPROJECT)] == [13]
    assert [s.line for s in version_spans("package.json", PACKAGE_JSON)] == [5]


@pytest.mark.parametrize(
    ("path", "text", "pattern", "message"),
    [
        ("pyproject.toml", "[tool.x]\nversion = '1.0.0'\n", None, "no [project] table"),
        ("pyproject.toml", "[project]\nname = 'x'\n", None, "[project] has no version"),
        ("pyproject.toml", "[project]\ndynamic = ['version']\n", None, "dynamic"),
        ("pyproject.toml", "[project\n", None, "not valid TOML"),
        ("pyproject.toml", "project = {version = '1.0.0'}\n", None, "cannot find"),
        # 1.0 is a PEP 440 version (read as such, tests/test_pep440.py); this one is neither
        ("pyproject.toml", "[project]\nversion = '1.0-foo'\n", None, "'1.0-foo' is not a PEP 440"),
        ("package.json", '{"name": "x"}', None, 'no top-level "version"'),
        ("package.json", '{"version": 1}', None, 'no top-level "version"'),
        ("package.json", '{"version": "1.0.0",', None, "not valid JSON"),
        ("package.json", '{"version": "1.0.0", "version": "1.0.0"}', None, "cannot find one"),
        ("VERSION", "", None, "must hold the version alone"),
        ("VERSION", "1.0.0 beta\n", None, "must hold the version alone"),
        ("VERSION", "v1.0.0\n", None, "'v1.0.0' is not a SemVer"),
        ("version.txt", "1.0.0\n", None, "add `pattern:`"),
        ("x.py", "__version__ = '1.0.0'\n", r"^VERSION = '(.*)'", "matches nothing"),
        ("x.py", "a = '1.0.0'\na = '1.1.0'\n", r"^a = '(.*)'", "different versions"),
        ("x.py", "a = '1.0.0'\n", r"^a = '.*'", "needs a group"),
        ("x.py", "a = '1.0.0'\n", r"^a = '(.*", "not a valid regular expression"),
    ],
)
def test_errors_name_the_file_and_reason(
    path: str, text: str, pattern: str | None, message: str
) -> None:
    with pytest.raises(InputError) as err:
        read_version(path, text, pattern)
    assert message in str(err.value)
    assert str(err.value).startswith(path)
    if "not valid" not in message and "not a SemVer" not in message \
            and "not a PEP 440" not in message:
        with pytest.raises(InputError):
            write_version(path, text, "9.9.9", pattern)


SPECS = [VersionFile(path="pyproject.toml"), VersionFile(path="VERSION"),
         VersionFile(path="src/x.py", pattern=r"^__version__ = \"(.*)\"")]


def test_read_versions_agree() -> None:
    files = {"pyproject.toml": "[project]\nversion = '1.2.3'\n", "VERSION": "1.2.3\n",
             "src/x.py": '__version__ = "1.2.3"\n'}
    assert str(read_versions(files, SPECS)) == "1.2.3"
    new = write_versions(files, SPECS, "1.3.0")
    assert new == {"pyproject.toml": "[project]\nversion = '1.3.0'\n", "VERSION": "1.3.0\n",
                   "src/x.py": '__version__ = "1.3.0"\n'}
    assert read_versions({}, []) is None


def test_read_versions_disagree_names_both_files() -> None:
    files = {"pyproject.toml": "[project]\nversion = '1.2.3'\n", "VERSION": "1.2.4\n",
             "src/x.py": '__version__ = "1.2.3"\n'}
    with pytest.raises(InputError) as err:
        read_versions(files, SPECS)
    assert "VERSION: release.version_files: says version 1.2.4 but pyproject.toml says " \
        "1.2.3" in str(err.value)


def test_read_versions_reports_every_problem() -> None:
    files = {"pyproject.toml": "[project]\nname = 'x'\n", "VERSION": "1.2.3\n"}
    with pytest.raises(InputError) as err:
        read_versions(files, SPECS)
    assert [p.file for p in err.value.problems] == ["pyproject.toml", "src/x.py"]
    assert "does not exist" in err.value.problems[1].message
