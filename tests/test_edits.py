"""Edits of one file's text: keys set in YAML, JSON and TOML with the rest of the file kept,
replace-exactly-once, content, and reading which paths a patch touches."""

from __future__ import annotations

import difflib
import json
import random
import tomllib
from typing import Any

import pytest
import yaml

from bot.core.edits import (
    ChangeSummary,
    EditError,
    describe_replacement,
    line_changes,
    parse_key,
    patch_hunks,
    patch_paths,
    replace_once,
    set_content,
    set_key,
)


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("a", ("a",)),
        ("routing.threshold", ("routing", "threshold")),
        ("a.b[2].c", ("a", "b", 2, "c")),
        ("a[0][1]", ("a", 0, 1)),
        ("a[-1]", ("a", -1)),
        ('a["x.y"].z', ("a", "x.y", "z")),
        ("a['q']", ("a", "q")),
    ],
)
def test_parse_key(key: str, path: tuple[str | int, ...]) -> None:
    assert parse_key(key) == path


@pytest.mark.parametrize("key", ["", " ", "a..b", ".a", "a.", "[0]", "a]b", "a[x]"])
def test_parse_key_rejects(key: str) -> None:
    with pytest.raises(EditError, match="cannot read the key"):
        parse_key(key)


YAML_DOC = """\
# router configuration
routing:
  threshold: 0.55   # tuned 2026-10
  model: "fast"     # quoted on purpose
  mode: 'single'
  names:
    - alpha   # first
    - beta
flow: {x: 1, y: 2}
long: this line is long enough that a YAML dumper with a default width would fold it somewhere
"""


@pytest.mark.parametrize(
    ("key", "value", "changed_line", "description"),
    [
        ("routing.threshold", 0.62, "  threshold: 0.62   # tuned 2026-10",
         "routing.threshold 0.55 -> 0.62"),
        ("routing.model", "slow", '  model: "slow"     # quoted on purpose',
         'routing.model "fast" -> "slow"'),
        ("routing.mode", "it's", "  mode: 'it''s'", 'routing.mode "single" -> "it\'s"'),
        ("routing.names[1]", "gamma", "    - gamma", 'routing.names[1] "beta" -> "gamma"'),
        ("routing.names[-2]", "zeta", "    - zeta   # first",
         'routing.names[-2] "alpha" -> "zeta"'),
        ("flow.y", 5, "flow: {x: 1, y: 5}", "flow.y 2 -> 5"),
        ("routing.threshold", True, "  threshold: true   # tuned 2026-10",
         "routing.threshold 0.55 -> true"),
    ],
)
def test_set_yaml_in_place_keeps_every_other_byte(
    key: str, value: Any, changed_line: str, description: str
) -> None:
    new, summary = set_key(YAML_DOC, "config/router.yaml", key, value)
    old_lines, new_lines = YAML_DOC.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    diff = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert len(diff) == 1 and diff[0][1] == changed_line
    assert summary == ChangeSummary("config/router.yaml", description)


def test_set_yaml_new_key_under_existing_mapping_keeps_comments_and_order() -> None:
    new, summary = set_key(YAML_DOC, "c.yml", "routing.retries", 3)
    data = yaml.safe_load(new)
    assert data["routing"]["retries"] == 3
    assert list(data["routing"]) == ["threshold", "model", "mode", "names", "retries"]
    # what the ruamel round trip keeps: comments, quotes, indentation, long lines, flow style
    for kept in ("# router configuration", "# tuned 2026-10", '"fast"', "'single'",
                 "    - alpha", "# first", "flow: {x: 1, y: 2}", YAML_DOC.splitlines()[-1]):
        assert kept in new
    assert summary.description == "routing.retries (new) = 3"


def test_set_yaml_structured_value_and_indented_sequences() -> None:
    text = "a:\n    b:\n        - x: 1\n          y: 2\n        - x: 3\n"
    new, _ = set_key(text, "f.yaml", "a.b[1].x", 9)
    assert new == text.replace("x: 3", "x: 9")
    new, summary = set_key(text, "f.yaml", "a.c", [1, 2])
    assert yaml.safe_load(new) == {"a": {"b": [{"x": 1, "y": 2}, {"x": 3}], "c": [1, 2]}}
    assert new.startswith("a:\n    b:\n        - x: 1\n          y: 2\n")
    assert summary.description == "a.c (new) = [1, 2]"


def test_set_yaml_crlf_kept() -> None:
    text = "a: 1\r\nb: 2\r\n"
    new, _ = set_key(text, "f.yaml", "b", 3)
    assert new == "a: 1\r\nb: 3\r\n"


JSON_DOC = '{\n    "a": {"b": 1, "c": [1, 2]},\n    "name": "x",\n    "é": "ü"\n}\n'


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("a.b", 2, JSON_DOC.replace('"b": 1', '"b": 2')),
        ("a.c[1]", 7, JSON_DOC.replace("[1, 2]", "[1, 7]")),
        ("a.c", [3], JSON_DOC.replace("[1, 2]", "[3]")),
        ("name", "y\"z", JSON_DOC.replace('"x"', '"y\\"z"')),
        ("é", "ö", JSON_DOC.replace('"ü"', '"ö"')),
    ],
)
def test_set_json_in_place(key: str, value: Any, expected: str) -> None:
    new, _ = set_key(JSON_DOC, "settings.json", key, value)
    assert new == expected


@pytest.mark.parametrize(
    ("text", "indent_line"),
    [
        ('{\n  "a": 1\n}\n', '  "b": 2'),
        ('{\n\t"a": 1\n}\n', '\t"b": 2'),
        ('{\n    "a": 1\n}', '    "b": 2'),
    ],
)
def test_set_json_new_key_keeps_indentation_and_order(text: str, indent_line: str) -> None:
    new, summary = set_key(text, "x.json", "b", 2)
    assert indent_line in new.splitlines()
    assert list(json.loads(new)) == ["a", "b"]
    assert new.endswith("\n") == text.endswith("\n")
    assert summary.description == "b (new) = 2"


def test_set_json_one_line_stays_one_line() -> None:
    assert set_key('{"a":1,"b":{}}', "x.json", "b.c", 2)[0] == '{"a":1,"b":{"c":2}}'


TOML_DOC = """\
# project
[tool.router]
threshold = 0.55 # tuned
name = "fast"

[[servers]]
port = 1

[[servers]]
port = 2
"""


@pytest.mark.parametrize(
    ("key", "value", "old", "new"),
    [
        ("tool.router.threshold", 0.62, "threshold = 0.55 # tuned", "threshold = 0.62 # tuned"),
        ("tool.router.name", "slow", 'name = "fast"', 'name = "slow"'),
        ("servers[1].port", 8, "port = 2", "port = 8"),
    ],
)
def test_set_toml_keeps_the_rest(key: str, value: Any, old: str, new: str) -> None:
    out, _ = set_key(TOML_DOC, "pyproject.toml", key, value)
    assert out == TOML_DOC.replace(old, new)


def test_set_toml_new_key() -> None:
    out, summary = set_key(TOML_DOC, "p.toml", "tool.router.retries", 3)
    assert tomllib.loads(out)["tool"]["router"]["retries"] == 3
    assert "# project" in out and "threshold = 0.55 # tuned" in out
    assert summary.description == "tool.router.retries (new) = 3"


@pytest.mark.parametrize(
    ("file", "text", "key", "message"),
    [
        ("a.yaml", "a: {b: 1}\n", "a.x.y", "neither the key nor its parent 'a.x' exists"),
        ("a.yaml", "a: 1\n", "a.b", "'a' is not a mapping"),
        ("a.yaml", "a: [1]\n", "a[3]", "'a' has 1 items, so index [3] does not exist"),
        ("a.yaml", "a: {b: 1}\n", "a[0]", "'a' is not a list"),
        ("a.json", '{"a": 1}', "b.c", "neither the key nor its parent 'b' exists"),
        ("a.toml", "a = 1\n", "a.b", "'a' is not a mapping"),
        ("a.txt", "a: 1\n", "a", "works on YAML, JSON or TOML"),
        ("a.yaml", "a: [\n", "a", "not valid YAML"),
        ("a.json", "{", "a", "not valid JSON"),
        ("a.toml", "a = \n", "a", "not valid TOML"),
    ],
)
def test_set_errors(file: str, text: str, key: str, message: str) -> None:
    with pytest.raises(EditError, match=message.replace("[", r"\[").replace("]", r"\]")):
        set_key(text, file, key, 1)


@pytest.mark.parametrize(
    ("text", "old", "message"),
    [
        ("abc", "x", "matched 0 times"),
        ("x\ny\nx\n", "x", r"matched 2 times \(lines 1, 3\)"),
        ("abc", "", "must not be empty"),
    ],
)
def test_replace_must_match_once(text: str, old: str, message: str) -> None:
    with pytest.raises(EditError, match=message):
        replace_once(text, "f.md", old, "z")


@pytest.mark.parametrize(("old", "new", "line", "text"), [
    ("Search once.", "Search twice.", 2, 'replaced "Search once." with "Search twice." (line 2)'),
    # an 18-line addition after a long common start: the counts, not two equal cut texts
    ("## Rules\n" + "Always cite the source of every claim you make.\n",
     "## Rules\n" + "Always cite the source of every claim you make.\n"
     + "".join(f"- rule {i}\n" for i in range(18)), 3,
     '+18 -0 lines at line 5, first added: "- rule 0"'),
    # a long line changed near its end: the part that differs
    ("x = " + "a" * 60 + " old", "x = " + "a" * 60 + " new", 1,
     'replaced "old" with "new" (line 1)'),
    # lines removed
    ("keep\n" * 3 + "drop\n" * 4, "keep\n" * 3, 1, "+0 -4 lines at line 4"),
])
def test_describe_replacement(old: str, new: str, line: int, text: str) -> None:
    assert describe_replacement(old, new, line) == text


def test_long_texts_are_counted_by_one_line_counter() -> None:
    """describe_replacement (a proposal's description) and the release entry's counts
    (line_changes) agree with a line diff without "autojunk" on texts of 200 lines and more,
    where lines repeated often ("}", blank lines) once made difflib.ndiff count 11 added lines
    for 3. The texts: seeded, with a few lines inserted, removed or replaced."""
    rng, counted = random.Random(1), 0
    for _ in range(80):
        old = [rng.choice(["}", "", "x", "  return"]) if rng.random() < 0.6
               else f"l{rng.randint(0, 40)}" for _ in range(rng.randint(200, 260))]
        new = list(old)
        for _ in range(rng.randint(1, 4)):
            k, op = rng.randrange(len(new)), rng.random()
            if op < 0.4:
                new.insert(k, f"n{rng.randint(0, 9)}")
            elif op < 0.7:
                del new[k]
            else:
                new[k] = rng.choice(["}", "", "q"])
        ops = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
        added = sum(j2 - j1 for op, _, _, j1, j2 in ops if op != "equal")
        removed = sum(i2 - i1 for op, i1, i2, _, _ in ops if op != "equal")
        a, b = "\n".join(["top", *old]) + "\n", "\n".join(["top", *new]) + "\n"
        lines = line_changes(a, b)
        assert (lines.added, lines.removed) == (added, removed)
        told = describe_replacement(a, b)
        if " lines at line " in told:  # else one line's part is shown, not counts
            counted += 1
            assert told.startswith(f"+{added} -{removed} lines at line")
    assert counted > 40


def test_replace_once() -> None:
    new, summary = replace_once("a\nSearch once.\n", "s.md", "Search once.", "Search twice.")
    assert new == "a\nSearch twice.\n"
    assert summary.description == 'replaced "Search once." with "Search twice." (line 2)'


def test_set_content() -> None:
    assert set_content(None, "n.md", "a\nb\n")[1].description == "new file (2 lines)"
    assert set_content("x", "n.md", "a")[1].description == "rewritten (1 lines)"


PATCH = """\
diff --git a/x.txt b/x.txt
--- a/x.txt
+++ b/x.txt
@@ -1,3 +1,3 @@ context
 one
-two
+TWO
@@ -8,2 +8,2 @@
 eight
-nine
+NINE
diff --git a/old.md b/new.md
similarity index 90%
rename from old.md
rename to new.md
--- /dev/null
+++ b/created.md
@@ -0,0 +1 @@
+hi
"""


def test_patch_paths_and_hunks() -> None:
    assert patch_paths(PATCH) == ["x.txt", "old.md", "new.md", "created.md"]
    assert patch_hunks(PATCH)["x.txt"] == [(1, "@@ -1,3 +1,3 @@"), (8, "@@ -8,2 +8,2 @@")]
    assert patch_paths("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n") == [
        "../../etc/passwd"
    ]
