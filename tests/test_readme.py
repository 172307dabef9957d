"""The README stays true: its two commands come first, and its configuration reference is
the one the models generate."""

from __future__ import annotations

import re
from pathlib import Path

from bot.core.config_doc import config_reference

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_the_readme_opens_with_its_two_commands() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert len(blocks) >= 2
    install_and_run, install_and_test = blocks[0], blocks[1]
    assert install_and_run.startswith("python3 -m venv .venv && .venv/bin/pip install -e . && ")
    assert install_and_run.endswith("improve demo --html demo.html")
    assert install_and_test == (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/pytest -q"
    )
    # nothing but a title comes before them
    assert README.index("```bash") < README.index("\n## ")


def test_the_configuration_reference_is_generated_from_the_models() -> None:
    assert config_reference() in README


def test_the_readme_names_every_required_proposal_field() -> None:
    """A newcomer's proposal fails on a field the README did not call required."""
    from bot.core.proposals import PredictedImprovement, Proposal

    required = [n for n, f in Proposal.model_fields.items() if f.is_required()]
    sentence = README[README.index("Required: `title`"):].split("\n\n")[0]
    for name in required:
        assert f"`{name}`" in sentence, name
    for name in (n for n, f in PredictedImprovement.model_fields.items() if f.is_required()):
        assert f"`{name}`" in sentence, name
