"""The published JSON Schemas: generated from the models, they accept what ``improve init``
writes and reject an unknown key; ``improve validate`` in Actions annotates each problem."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.cli import main
from bot.core.config import CONFIG_PATH
from bot.core.init_files import BENCHMARK_SUITE, REGRESSION_SUITE
from bot.core.schemas import SCHEMA_DIR, SCHEMAS, schema_text
from tests.helpers.release import proposal_yaml

PACKAGED = Path(__file__).parent.parent / "bot" / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_published_schemas_are_generated_from_the_models(name: str) -> None:
    # regenerate with `python scripts/schemas.py`
    assert (PACKAGED / name).read_text(encoding="utf-8") == schema_text(name)
    jsonschema.Draft202012Validator.check_schema(json.loads(schema_text(name)))


def _validator(root: Path, name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        json.loads((root / SCHEMA_DIR / name).read_text(encoding="utf-8")))


def test_init_writes_schemas_that_accept_its_files_and_validate_annotates_problems(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = make_repo({"README.md": "# app\n"})
    assert main(["init", "--dir", str(repo)]) == 0
    capsys.readouterr()
    files = {CONFIG_PATH: "improve.schema.json", BENCHMARK_SUITE: "benchmark-suite.schema.json",
             REGRESSION_SUITE: "regression-suite.schema.json"}
    for path, schema in files.items():
        text = (repo / path).read_text(encoding="utf-8")
        first = text.splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
        # the editor resolves the path from the file's directory: it must land on the copy
        target = (repo / path).parent / first.split("$schema=", 1)[1]
        assert target.resolve() == (repo / SCHEMA_DIR / schema).resolve()
        assert target.read_text(encoding="utf-8") == schema_text(schema)
        data = yaml.safe_load(text)
        _validator(repo, schema).validate(data)
        # a key the model does not know is refused by the schema as by the bot
        with pytest.raises(jsonschema.ValidationError, match="typo_key"):
            _validator(repo, schema).validate({**data, "typo_key": 1})
    proposal = yaml.safe_load(proposal_yaml("2026-01-02-raise-threshold"))
    _validator(repo, "proposal.schema.json").validate(proposal)
    with pytest.raises(jsonschema.ValidationError, match="rationail"):
        _validator(repo, "proposal.schema.json").validate({**proposal, "rationail": "x"})

    # a deliberate error: the repeat count of the example suite is not a number
    suite = repo / BENCHMARK_SUITE
    lines = suite.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("repeat:"))
    lines[at] = "repeat: many\n"
    suite.write_text("".join(lines), encoding="utf-8")
    config = repo / CONFIG_PATH
    config.write_text(config.read_text(encoding="utf-8") + "typo_key: 1\n", encoding="utf-8")
    config_line = len(config.read_text(encoding="utf-8").splitlines())

    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["validate", "--repo", str(repo)]) == 2
    out = capsys.readouterr().out
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert any(a.startswith(f"::error file={BENCHMARK_SUITE},line={at + 1},") and "repeat" in a
               for a in annotations), out
    assert any(a.startswith(f"::error file={CONFIG_PATH},line={config_line},")
               and "typo_key" in a for a in annotations), out

    # outside Actions: no workflow commands, the same problems on stderr
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert main(["validate", "--repo", str(repo)]) == 2
    out, err = capsys.readouterr()
    assert "::error" not in out and "typo_key" in err


def test_the_schemas_take_setup_matrix_and_batch_and_refuse_a_typo_in_them(
    make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 19's new keys, added by hand to the files ``improve init`` wrote: both copies of
    the schemas (the package's and the repository's) accept them, as ``improve validate``
    does, and refuse an unknown key beside them."""
    repo = make_repo({"README.md": "# app\n"})
    assert main(["init", "--dir", str(repo)]) == 0
    config = repo / CONFIG_PATH
    # init writes the setup section empty, commented: filled in as a user would
    head, tail = config.read_text(encoding="utf-8").split("\nsetup:\n")
    tail = tail.replace("  run: []", "  run: ['python -m pip install -r requirements.txt']", 1)
    tail = tail.replace("  cache: []", "  cache: [requirements.txt]", 1)
    config.write_text(f"{head}\nsetup:\n{tail}", encoding="utf-8")
    suite = repo / BENCHMARK_SUITE
    suite.write_text(suite.read_text(encoding="utf-8") + (
        "  - id: clf\n"
        "    matrix: {dataset: [news, reviews], fold: [0, 1],"
        " exclude: [{dataset: news, fold: 1}]}\n"
        "    cases: data/${{ matrix.dataset }}-${{ matrix.fold }}.jsonl.gz\n"
        "    batch: true\n"
        "    run: python clf.py --fold ${{ matrix.fold }}\n"
        "    scorer: {exact: {field: label}}\n"), encoding="utf-8")
    for name in ("news-0", "reviews-0", "reviews-1"):
        (repo / "data").mkdir(exist_ok=True)
        (repo / "data" / f"{name}.jsonl.gz").write_bytes(
            gzip.compress(b'{"id": 1, "text": "a", "label": "x"}\n'))
    (repo / "requirements.txt").write_text("\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["validate", "--repo", str(repo)]) == 0, capsys.readouterr()

    data = {"config": yaml.safe_load(config.read_text(encoding="utf-8")),
            "suite": yaml.safe_load(suite.read_text(encoding="utf-8"))}
    assert data["config"]["setup"] and data["suite"]["tasks"][-1]["matrix"]
    typos = {"config": {**data["config"], "setup": {**data["config"]["setup"], "cahce": []}},
             "suite": {**data["suite"], "tasks": [
                 *data["suite"]["tasks"][:-1], {**data["suite"]["tasks"][-1], "bacth": True}]}}
    schemas = {"config": "improve.schema.json", "suite": "benchmark-suite.schema.json"}
    for root in (repo, PACKAGED.parent.parent):
        for kind, name in schemas.items():
            where = root / (SCHEMA_DIR if root == repo else "bot/schemas")
            validator = jsonschema.Draft202012Validator(
                json.loads((where / name).read_text(encoding="utf-8")))
            validator.validate(data[kind])
            with pytest.raises(jsonschema.ValidationError, match="cahce|bacth"):
                validator.validate(typos[kind])
