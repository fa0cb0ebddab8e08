"""The doctor's models line (builder/services/doctor_models.py) where no database is read: the command's own report,
with no Forja running, names the environment's settings and says where the connected ones are listed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from builder.services.doctor_models import models_detail
from builder.services.model_connections import ModelConnectionInfo
from builder.settings import settings


@pytest.fixture(autouse=True)
def no_model_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("anthropic_api_key", "openai_api_key", "openai_base_url"):
        monkeypatch.setattr(settings, name, "")


def test_without_the_database_the_line_says_where_connected_models_are_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    where = "Those connected on the admin page are listed on the doctor page and the admin page."
    assert models_detail(None) == f"{where} No model is connected: Forja builds apps from its offline starters."
    monkeypatch.setattr(settings, "openai_api_key", "sk-doctor-unit-0123456789")
    monkeypatch.setattr(settings, "openai_base_url", "http://127.0.0.1:11434/v1")
    said = models_detail(None)
    assert said == f"Set in the environment: OPENAI_API_KEY, OPENAI_BASE_URL (values never shown). {where}"
    assert models_detail([]) == "Set in the environment: OPENAI_API_KEY, OPENAI_BASE_URL (values never shown)."


def test_a_connection_another_of_its_provider_stands_in_for_is_said_to_be_unused() -> None:
    def info(model: str, in_use: bool, is_default: bool = False) -> ModelConnectionInfo:
        fields = {"kind": "openai", "label": "OpenAI-compatible", "base_url": "", "key_set": True}
        return ModelConnectionInfo(
            id=1, model=model, in_use=in_use, is_default=is_default, environment_wins=False, added_by="Ana",
            created_at=datetime(2026, 11, 29, tzinfo=UTC), **fields,
        )  # fmt: skip

    said = models_detail([info("llama3.1", True, is_default=True), info("qwen3", False)])
    assert said == (
        "Connected on the admin page: OpenAI-compatible, model llama3.1 (the default); OpenAI-compatible, model qwen3 "
        "(not used: another connection of this provider is) (keys never shown)."
    )
