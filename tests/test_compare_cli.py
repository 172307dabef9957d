"""`improve compare` end to end: files in, report out, exit codes 0, 1 and 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.comparison.compare import Comparison
from tests.helpers.compare import CAND_SHA, bench, results, task

DATA = Path(__file__).parent / "data" / "compare"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for f in DATA.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("cand", "code", "decision"),
    [("cand.json", 0, "accept"), ("cand_failing.json", 1, "reject"), ("base.json", 0, "accept")],
)
def test_exit_codes_follow_the_decision(workdir: Path, capsys: pytest.CaptureFixture[str],
                                        cand: str, code: int, decision: str) -> None:
    assert main(["compare", "base.json", cand, "--format", "json"]) == code
    out = Comparison.model_validate_json(capsys.readouterr().out)
    assert out.decision == decision


def test_failing_fixture_names_both_reasons(workdir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base.json", "cand_failing.json"]) == 1
    md = capsys.readouterr().out
    assert md.startswith("<!-- improve:compare -->\n❌ **improve reject")
    assert "check unit fails on the candidate" in md
    assert "latency\\_ms is slower" in md
    assert "<details>" in md


def test_inconclusive_exits_1(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads((workdir / "cand.json").read_text())
    data["suites"][0]["definition_hash"] = "sha256:" + "9" * 64
    (workdir / "changed.json").write_text(json.dumps(data))
    assert main(["compare", "base.json", "changed.json", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["decision"] == "inconclusive"


def test_output_file_and_byte_identical_json(workdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base.json", "cand.json", "--format", "json", "-o", "out/a.json"]) == 0
    assert main(["compare", "base.json", "cand.json", "--format", "json", "-o", "out/b.json"]) == 0
    a = (workdir / "out" / "a.json").read_bytes()
    assert a == (workdir / "out" / "b.json").read_bytes()
    assert json.loads(a)["suites"][0]["id"] == "router-accuracy-v1"
    # with -o, stdout carries just the one-line verdict
    assert capsys.readouterr().out.splitlines()[0].startswith("improve compare: accept")


@pytest.mark.parametrize(
    ("content", "field", "message"),
    [
        ("{not json", None, "not JSON"),
        ("[1, 2]", None, "a results file is a JSON object"),
        ('{"schema_version": 2}', "schema_version", "schema_version 2 is not supported"),
        ('{"schema_version": 1, "commit": "xyz"}', "commit", "String should match pattern"),
    ],
)
def test_bad_input_exits_2_naming_the_file_and_field(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: str, field: str | None,
    message: str,
) -> None:
    (workdir / "bad.json").write_text(content)
    assert main(["compare", "base.json", "bad.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("improve compare: error: bad.json")
    assert message in err
    if field:
        assert f"bad.json: {field}: " in err
    assert "Traceback" not in err


def test_problems_in_both_files_are_all_reported(workdir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "bad.json").write_text("{")
    assert main(["compare", "missing.json", "bad.json"]) == 2
    err = capsys.readouterr().err
    assert "missing.json: no such file" in err and "bad.json: not JSON" in err


def test_config_from_the_repository_and_from_a_flag(workdir: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    base = results([bench("s", [task(f"t{i}", {"accuracy": [0.70, 0.71, 0.69]})
                                for i in range(6)])])
    cand = results([bench("s", [task(f"t{i}", {"accuracy": [0.68, 0.69, 0.67]})
                                for i in range(6)])], commit=CAND_SHA, ref="x")
    (workdir / "b.json").write_text(base.model_dump_json())
    (workdir / "c.json").write_text(cand.model_dump_json())
    # default tolerance 0: a drop of 0.02 is a confident regression
    assert main(["compare", "b.json", "c.json"]) == 1
    capsys.readouterr()
    (workdir / ".github").mkdir()
    (workdir / ".github" / "improve.yml").write_text("compare:\n  tolerance: {default: 0.05}\n")
    assert main(["compare", "b.json", "c.json", "--format", "json"]) == 1
    out = json.loads(capsys.readouterr().out)
    # within the repository's tolerance, but the mean falls: a person decides
    assert (out["decision"], out["settings"]["tolerance"]) == ("inconclusive", {"default": 0.05})
    assert [r["code"] for r in out["reasons"]] == ["weighted_mean_falls"]
    (workdir / "strict.yml").write_text("compare:\n  tolerance: {default: 0.0}\n")
    assert main(["compare", "b.json", "c.json", "--config", "strict.yml", "--format",
                 "json"]) == 1
    decision = json.loads(capsys.readouterr().out)["decision"]
    assert decision == "reject"
    (workdir / "broken.yml").write_text("compare:\n  tolerance: nope\n")
    assert main(["compare", "b.json", "c.json", "--config", "broken.yml"]) == 2
    assert "broken.yml:2: compare.tolerance" in capsys.readouterr().err


def test_unknown_proposal_type_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base.json", "cand.json", "--type", "nope", "--risk", "low"]) == 2
    assert "--type: unknown proposal type 'nope'" in capsys.readouterr().err


def test_type_and_risk_reach_the_report(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "base.json", "cand.json", "--type", "constant_tune", "--risk",
                 "low"]) == 0
    assert "No person needed" in capsys.readouterr().out
