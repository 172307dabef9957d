"""The published JSON Schemas: generated from the models, they accept what ``improve init``
writes and reject an unknown key; ``improve validate`` in Actions annotates each problem."""

from __future__ import annotations

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
