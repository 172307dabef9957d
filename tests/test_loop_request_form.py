"""The improvement request issue form: valid for GitHub (check-jsonschema's built-in
``vendor.github-issue-forms`` schema), and labelled as ``improve request`` labels its issues."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.core.config import DEFAULT_TYPES
from bot.stages.dashboard import REQUEST_LABEL

ROOT = Path(__file__).resolve().parent.parent
FORM = ROOT / ".github" / "ISSUE_TEMPLATE" / "improvement-request.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def test_form_is_a_valid_issue_form() -> None:
    if not CHECK.exists():
        pytest.fail("check-jsonschema is not installed in the venv (pip install -e '.[dev]')")
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-issue-forms",
                           str(FORM)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_form_matches_the_bot() -> None:
    form = yaml.safe_load(FORM.read_text())
    assert form["labels"] == [REQUEST_LABEL]
    fields = {item.get("id"): item for item in form["body"]}
    assert fields["what"]["validations"]["required"] is True
    assert fields["evidence"]["validations"]["required"] is True
    assert fields["type"]["attributes"]["options"] == list(DEFAULT_TYPES)


def test_a_broken_form_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\nbody:\n  - type: textarea\n")
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-issue-forms",
                           str(broken)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
