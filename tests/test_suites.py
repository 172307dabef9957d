"""Suite definitions, target globs, selection, sharding and fingerprints: tables of cases."""

from __future__ import annotations

import pytest

from bot.core.globs import match
from bot.core.suites import (
    BenchmarkSuite,
    definition_hash,
    load_suites,
    parse_suite,
    select_suites,
    shard_units,
)
from bot.errors import InputError

GOOD = """\
id: router-accuracy-v1
targets: ["config/router.yaml", "router/**"]
minimum: 0.75
repeat: 5
timeout: 120
metrics:
  - {name: accuracy, direction: higher, weight: 2}
  - {name: latency_ms, direction: lower, kind: timing}
tasks:
  - id: rt-001
    run: python -m router.eval --split dev
  - id: rt-002
    cases: data/router_cases.jsonl
    run: python -m router.answer
    scorer: {exact: {field: label}}
"""


def test_the_designs_example_suite_loads() -> None:
    suite = parse_suite(GOOD, "benchmarks/router.yaml", "benchmark")
    assert isinstance(suite, BenchmarkSuite)
    assert suite.metrics[0].weight == 2 and suite.metrics[1].kind == "timing"
    assert suite.tasks[1].scorer is not None and suite.tasks[1].scorer.name == "exact"
    assert suite.score_metric(suite.tasks[1]) == "accuracy"


BAD_SUITES = [
    ("id: x\nmetrics: []\ntasks: []\n", ["metrics", "tasks"]),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t}]\n", ["tasks[0].run"]),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: ''}]\n", ["tasks[0].run"]),
    (
        "id: x\nmetrics: [{name: a, direction: up}]\ntasks: [{id: t, run: x}]\n",
        ["metrics[0].direction"],
    ),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: x, cases: c.jsonl}]\n", ["tasks[0]"]),
    (
        "id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: x, cases: c, scorer: {exact: {field: l},"
        " regex: {pattern: a}}}]\n",
        ["tasks[0].scorer"],
    ),
    (
        "id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: x, cases: c, scorer: {regex: "
        "{pattern: '('}}}]\n",
        ["tasks[0].scorer.regex"],
    ),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: x}, {id: t, run: y}]\n", [None]),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: x, weight: 3}]\n", ["tasks[0].weight"]),
    ("id: 'has space'\nmetrics: [{name: a}]\ntasks: [{id: t, run: x}]\n", ["id"]),
    ("id: x\nrepeat: 0\nmetrics: [{name: a}]\ntasks: [{id: t, run: x}]\n", ["repeat"]),
    ("id: x\nmetrics: [{name: a}]\ntasks: [{id: t, run: 'unclosed \"quote'}]\n", ["tasks[0].run"]),
]


@pytest.mark.parametrize(("text", "fields"), BAD_SUITES)
def test_bad_suites_name_the_field(text: str, fields: list[str | None]) -> None:
    with pytest.raises(InputError) as info:
        parse_suite(text, "benchmarks/x.yaml", "benchmark")
    got = [p.field for p in info.value.problems]
    assert got == fields, str(info.value)
    assert all(p.file == "benchmarks/x.yaml" and p.line for p in info.value.problems)


def test_a_regression_suite_and_its_kind_is_checked() -> None:
    text = "id: reg\nchecks:\n  - {id: unit, run: pytest -q, junit: out.xml}\n"
    suite = parse_suite(text, "regressions/r.yaml", "regression")
    assert suite.kind == "regression"
    with pytest.raises(InputError, match="kind 'benchmark'"):
        parse_suite("kind: regression\n" + text, "benchmarks/r.yaml", "benchmark")


def test_duplicate_suite_ids_across_files() -> None:
    text = "id: same\nchecks: [{id: c, run: 'true'}]\n"
    suites, problems = load_suites(
        {"regressions/a.yaml": text, "regressions/b.yaml": text},
        {"regressions/a.yaml": "regression", "regressions/b.yaml": "regression"},
    )
    assert [p for _, p in suites] == ["regressions/a.yaml"]
    assert len(problems) == 1 and "also used by regressions/a.yaml" in str(problems[0])


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("config/router.yaml", "config/router.yaml", True),
        ("config/router.yml", "config/router.yaml", False),
        ("router/a/b.py", "router/**", True),
        ("router", "router/**", False),  # as in .gitignore: inside it, not itself
        ("routerx/a.py", "router/**", False),
        ("a/b/c.md", "**/*.md", True),
        ("c.md", "**/*.md", True),
        ("a/c.md", "*.md", False),
        ("x.md", "*.md", True),
        ("prompts/sys.md", "prompts", True),
        ("prompts/sys.md", "prompts/", True),
        ("anything/at/all", "**", True),
        ("a1.txt", "a?.txt", True),
        ("a/.txt", "a?.txt", False),
        ("b.txt", "[ab].txt", True),
        ("c.txt", "[!ab].txt", True),
        ("./x/y", "x/*", True),
        (".github/improve.yml", ".github/*.yml", True),
    ],
)
def test_target_globs(path: str, pattern: str, expected: bool) -> None:
    assert match(path, pattern) is expected


def _suite(sid: str, targets: list[str]) -> BenchmarkSuite:
    return BenchmarkSuite.model_validate(
        {
            "id": sid,
            "targets": targets,
            "metrics": [{"name": "a"}],
            "tasks": [{"id": "t", "run": "x"}],
        }
    )


def test_selection_by_id_and_by_changed_paths() -> None:
    a, b = _suite("a", ["router/**"]), _suite("b", ["prompts/*.md"])
    assert [s.id for s in select_suites([a, b], None, None)] == ["a", "b"]
    assert [s.id for s in select_suites([a, b], ["b"], None)] == ["b"]
    assert [s.id for s in select_suites([a, b], None, ["prompts/x.md"])] == ["b"]
    assert select_suites([a, b], None, ["README.md"]) == []
    with pytest.raises(InputError, match="unknown suite 'c' .known: a, b."):
        select_suites([a, b], ["c"], None)


def test_shards_partition_the_units_deterministically() -> None:
    units = [("s", f"t{i:02d}") for i in range(10)] + [("r", "c")]
    shards = [shard_units(units, k, 3) for k in (1, 2, 3)]
    assert sorted(u for s in shards for u in s) == sorted(units)
    assert all(3 <= len(s) <= 4 for s in shards)
    assert shard_units(list(reversed(units)), 2, 3) == shards[1]
    with pytest.raises(InputError):
        shard_units(units, 4, 3)


def test_definition_hash_covers_definition_and_inputs() -> None:
    a = _suite("a", ["**"])
    h = definition_hash(a, {"c.jsonl": b"1"})
    assert h == definition_hash(a, {"c.jsonl": b"1"})
    assert h != definition_hash(a, {"c.jsonl": b"2"})
    assert h != definition_hash(_suite("a", ["x/**"]), {"c.jsonl": b"1"})
    assert h.startswith("sha256:")
