"""A task's matrix (bot/core/matrix.py): the expansion, on tables, and the expanded tasks a suite
file gives (ids, commands, cases files, environment) or the error naming the field."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.core.matrix import expand, expanded_id, matrix_env, render
from bot.core.suites import BenchmarkSuite, parse_suite
from bot.errors import InputError


@pytest.mark.parametrize(("matrix", "combos"), [
    ({"d": ["a", "b"], "f": [0, 1, 2]},
     ["a0", "a1", "a2", "b0", "b1", "b2"]),
    # the keys' written order decides: the last one varies fastest
    ({"f": [0, 1], "d": ["a", "b"]}, ["0a", "0b", "1a", "1b"]),
    ({"d": ["b", "a"]}, ["b", "a"]),
    # an exclude removes every combination with all its values
    ({"d": ["a", "b"], "f": [0, 1], "exclude": [{"d": "b", "f": 1}]}, ["a0", "a1", "b0"]),
    ({"d": ["a", "b"], "f": [0, 1], "exclude": [{"f": 0}]}, ["a1", "b1"]),
    # an include adds a whole combination, after the product
    ({"d": ["a"], "f": [0], "include": [{"f": 5, "d": "z"}]}, ["a0", "z5"]),
    ({"include": [{"d": "a"}, {"d": "b"}]}, ["a", "b"]),
    ({"v": [1.5, "x-y_z.2"]}, ["1.5", "x-y_z.2"]),
])
def test_expansion(matrix: dict[str, Any], combos: list[str]) -> None:
    assert ["".join(c.values()) for c in expand(matrix)] == combos


@pytest.mark.parametrize(("matrix", "error"), [
    ({"D": ["a"]}, "'D' is not a matrix key"),
    ({"d-1": ["a"]}, "'d-1' is not a matrix key"),
    ({"d": []}, "d: give a list of one or more values"),
    ({"d": "a"}, "d: give a list of one or more values"),
    ({"d": ["a", "a"]}, "d: value 'a' is listed twice"),
    ({"d": ["a", 1, "1"]}, "d: value '1' is listed twice"),
    ({"d": ["a b"]}, "d[0]: 'a b' is not a matrix value"),
    ({"d": ["$(rm -rf ~)"]}, "is not a matrix value"),
    ({"d": ["../x"]}, "is not a matrix value"),
    ({"d": ["-rf"]}, "is not a matrix value"),  # never an option of the command
    ({"d": [True]}, "d[0]: a value is a string or a number, not True"),
    ({"d": [["a"]]}, "a value is a string or a number"),
    ({"d": ["a"], "exclude": [{"e": "a"}]}, "exclude[0]: 'e' is not a key of the matrix"),
    ({"d": ["a", "b"], "exclude": [{"d": "c"}]}, "exclude[0]: {'d': 'c'} matches no combination"),
    ({"d": ["a"], "exclude": [{"d": "a"}]}, "the matrix has no combinations"),
    ({"d": ["a"], "exclude": {"d": "a"}}, "exclude: give a list of combinations"),
    ({"d": ["a"], "include": [{}]}, "include[0]: give a combination"),
    ({"d": ["a"], "f": [1], "include": [{"d": "b"}]}, "include[0]: a combination gives exactly "
                                                      "the keys d, f"),
    ({"d": ["a"], "include": [{"d": "a"}]}, "the combination {'d': 'a'} appears twice"),
    # an include-only matrix: its keys become the task's id and environment variable names
    ({"include": [{"a/b=c": "x"}]}, "'a/b=c' is not a matrix key"),
    ({"d": ["a"], "exclude": [{"D": "a"}]}, "'D' is not a matrix key"),
    ({}, "the matrix has no combinations"),
])
def test_a_bad_matrix_is_refused_saying_why(matrix: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError) as info:
        expand(matrix)
    assert error in str(info.value)


def test_ids_templates_and_environment() -> None:
    combo = {"dataset": "news", "fold": "0"}
    assert expanded_id("clf", combo) == "clf[dataset=news,fold=0]"
    assert render("d/${{ matrix.dataset }}-${{matrix.fold}}.jsonl", combo) == "d/news-0.jsonl"
    assert matrix_env(combo) == {"IMPROVE_MATRIX_DATASET": "news", "IMPROVE_MATRIX_FOLD": "0"}


SUITE = """\
id: texts
metrics: [{name: accuracy}]
tasks:
  - id: first
    run: python first.py
  - id: clf
    matrix:
      dataset: [reviews, news]
      fold: [0, 1]
      exclude: [{dataset: news, fold: 1}]
    cases: data/${{ matrix.dataset }}.jsonl.gz
    batch: true
    run: python clf.py --fold ${{ matrix.fold }} --name "a b"
    env: {DATA: "${{ matrix.dataset }}", OTHER: x}
    scorer: {exact: {field: label}}
  - id: last
    matrix: {seed: [1]}
    run: [python, "--seed=${{ matrix.seed }}"]
"""


def test_a_suite_expands_its_matrix_tasks_in_place() -> None:
    suite = parse_suite(SUITE, "benchmarks/texts.yaml", "benchmark")
    assert isinstance(suite, BenchmarkSuite)
    assert [t.id for t in suite.tasks] == [
        "first", "clf[dataset=reviews,fold=0]", "clf[dataset=reviews,fold=1]",
        "clf[dataset=news,fold=0]", "last[seed=1]"]
    news = suite.tasks[3]
    assert news.run == ["python", "clf.py", "--fold", "0", "--name", "a b"]
    assert news.cases == "data/news.jsonl.gz" and news.batch and news.matrix is None
    assert news.env == {"IMPROVE_MATRIX_DATASET": "news", "IMPROVE_MATRIX_FOLD": "0",
                        "DATA": "news", "OTHER": "x"}
    assert suite.tasks[4].run == ["python", "--seed=1"]


@pytest.mark.parametrize(("task", "where", "error"), [
    ("{id: t, run: x, matrix: {d: [a, 'b c']}}", "tasks[0].matrix", "'b c' is not a matrix value"),
    ("{id: t, run: 'x ${{ matrix.e }}', matrix: {d: [a]}}", "tasks[0]",
     "run: the matrix has no key 'e' (it has: d)"),
    ("{id: t, run: x, cases: '${{ matrix.d }}.jsonl', scorer: {exact: {field: l}}}", "tasks[0]",
     "cases: '${{ matrix.d }}' needs a 'matrix'"),
    ("{id: t, run: x, matrix: {d: [a]}}\n  - {id: t, run: y, matrix: {d: [a]}}", None,
     "duplicate task id 't[d=a]'"),
])
def test_a_bad_matrix_task_names_its_field(task: str, where: str | None, error: str) -> None:
    text = f"id: x\nmetrics: [{{name: a}}]\ntasks:\n  - {task}\n"
    with pytest.raises(InputError) as info:
        parse_suite(text, "b.yaml", "benchmark")
    problem = info.value.problems[0]
    assert (problem.file, problem.field) == ("b.yaml", where)
    assert error in problem.message


def test_validate_names_the_file_line_and_field_of_a_bad_matrix(
        make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({
        "benchmarks/ok.yaml": SUITE.replace("python first.py", "python -c pass")
        .replace("python clf.py", "python -c pass"),
        "data/reviews.jsonl.gz": gzip.compress(b'{"id": 1, "text": "a", "label": "x"}\n'),
        "data/news.jsonl.gz": b"not gzip",
        "benchmarks/bad.yaml": "id: bad\nmetrics: [{name: a}]\ntasks:\n"
                               "  - id: t\n    run: x\n    matrix: {fold: [0, 0]}\n",
    })
    assert main(["validate", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert "benchmarks/bad.yaml:6: tasks[0].matrix: Value error, fold: value '0' is listed " \
           "twice" in err
    # the expanded tasks' files are checked, each by its own name
    assert "data/news.jsonl.gz: not a readable gzip archive: Not a gzipped file" in err
    assert "reviews" not in err


def test_a_cases_file_shared_by_a_matrix_is_read_and_reported_once(
        make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({
        "benchmarks/b.yaml": "id: b\nmetrics: [{name: a}]\ntasks:\n  - id: t\n"
                             "    matrix: {fold: [0, 1, 2]}\n    cases: c.jsonl\n    batch: true\n"
                             "    run: python -c pass\n    scorer: {exact: {field: label}}\n",
        "c.jsonl": '{"id": 1, "label": "x"}\n{"id": 1, "label": "y"}\n{"id": 2}\n',
    })
    assert main(["validate", "--repo", str(repo)]) == 2
    err = capsys.readouterr().err
    assert err.count("c.jsonl: case 2: id 1 is also the id of case 1") == 1
    assert err.count("c.jsonl: case 3 has no field 'label'") == 1
