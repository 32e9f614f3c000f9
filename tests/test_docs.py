"""The README and .env.example name every setting Tessera reads, as generated from the settings
classes (python -m tools.settings_doc), so the documentation cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from tools.settings_doc import env_file, markdown, settings_rows

ROOT = Path(__file__).resolve().parents[1]


def test_readme_settings_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown() in readme, "README settings table is stale: python -m tools.settings_doc --markdown"


def test_env_example_is_current() -> None:
    assert (ROOT / ".env.example").read_text() == env_file(), "regenerate: python -m tools.settings_doc --env"


def test_every_setting_has_a_description() -> None:
    missing = [env for _group, env, _default, text in settings_rows() if not text.strip()]
    assert not missing


def test_quick_start_is_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make run", "make test"]
