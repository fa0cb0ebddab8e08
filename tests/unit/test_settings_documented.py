"""Every setting is in the README's settings table, under the variable name Forja reads it from."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices

from builder.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = [f"FORJA_{name.upper()}", *(alias.choices if isinstance(alias, AliasChoices) else [])]
        if not any(f"`{variable}`" in README for variable in names if isinstance(variable, str)):
            missing.append(names[0])
    assert missing == []
