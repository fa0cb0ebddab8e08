"""Models an admin connects (/api/admin/models), on SQLite and PostgreSQL: kept with their keys encrypted, never shown,
used at once by every process on the database, after the environment's keys; "Test it" against tests/llm_server.py.

Who may call the routes (members get 403) is tests/integration/test_admin_api.py's ROUTES.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from builder import db
from builder.app_secrets import decrypt
from builder.composition import Services
from builder.generation.guard import REDACTED, redact
from builder.generation.providers import stored
from builder.generation.providers.choice import (
    available_providers,
    connections,
    default_provider,
    get_provider,
    labelled_providers,
)
from builder.services.access import LOCAL_ACTOR
from builder.services.model_connections import NewModelConnection
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.free_ports import free_port
from preview_runtime.logs import LogHub
from tests.accounts import client as api_client
from tests.conftest import TEST_ANTHROPIC_KEY, DatabaseUrls
from tests.integration import test_admin_api
from tests.integration.test_admin_api import Server
from tests.integration.test_cli import Cli
from tests.llm_server import HTTPErrorAnswer, ScriptedLLMServer, TextAnswer

MODELS = "/api/admin/models"
# The admin API's Forja with accounts (an admin, Ana, and a member), as a fixture of this module too.
admin_server = test_admin_api.server


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """The API without accounts: its one user is the admin."""
    async with api_client() as http:
        yield http


def a_key(prefix: str = "sk-ant-kept-") -> str:
    return prefix + secrets.token_hex(16)


async def test_a_connected_model_is_kept_encrypted_never_shown_and_used_by_another_process_at_once(
    admin_server: Server,
    database_urls: DatabaseUrls,
    offline_only: None,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(settings, "secret_key", Fernet.generate_key().decode())
    key = a_key()
    # Another Forja on the same database: its providers read what this one's admin connects, with no restart.
    other = Services(ProjectStore(db.create_engine(database_urls.async_)), LogHub())
    try:
        assert await available_providers() == ["offline"] and await default_provider() == "offline"
        added = await admin_server.admin.post(MODELS, json={"kind": "anthropic", "api_key": f"  {key}\n"})
        assert added.status_code == 201, added.text
        assert key not in added.text
        made = added.json()
        assert (made["label"], made["model"], made["key_set"], made["is_default"]) == (
            "Claude",
            settings.anthropic_model,
            True,
            True,
        )
        assert made["added_by"] == "Ana" and made["environment_wins"] is False
        listed = await admin_server.admin.get(MODELS)
        assert key not in listed.text and [m["id"] for m in listed.json()] == [made["id"]]

        # Read through the other process's store: in the database, not in this one's memory.
        assert await available_providers() == ["offline", "anthropic"]
        assert await default_provider() == "anthropic"
        provider = await get_provider()
        assert (provider.name, provider.model) == ("anthropic", settings.anthropic_model)
        # Once read, a stored key is kept out of prompts and logs as Forja's own keys are.
        assert redact(f"my key is {key}") == f"my key is {REDACTED}"

        async with other._store.engine.connect() as connection:  # pyright: ignore[reportPrivateUsage]
            rows = (await connection.execute(text("SELECT * FROM modelconnection"))).all()
        assert len(rows) == 1 and key not in repr(rows)
        assert decrypt(rows[0].api_key) == key

        ollama = {"kind": "openai", "base_url": "http://127.0.0.1:11434/v1/", "model": "llama3.1"}
        second = (await admin_server.admin.post(MODELS, json=ollama)).json()
        assert (second["base_url"], second["key_set"], second["is_default"]) == ("http://127.0.0.1:11434/v1", False, False)
        assert second["in_use"] is True and await default_provider() == "anthropic"
        # A second connection of one provider: the newer is used, the list and the menu say which.
        third = (await admin_server.admin.post(MODELS, json={**ollama, "model": "qwen3"})).json()
        in_use = {m["model"]: m["in_use"] for m in (await admin_server.admin.get(MODELS)).json()}
        assert in_use == {settings.anthropic_model: True, "llama3.1": False, "qwen3": True}
        assert (await get_provider("openai")).model == "qwen3"
        assert dict(await labelled_providers())["openai"] == "OpenAI-compatible \u00b7 qwen3"
        made_default = await admin_server.admin.post(f"{MODELS}/{second['id']}/default")
        assert [(m["is_default"], m["in_use"]) for m in made_default.json()] == [(False, True), (True, True), (False, False)]
        assert await default_provider() == "openai" and (await get_provider()).model == "llama3.1"
        assert dict(await labelled_providers())["openai"] == "OpenAI-compatible \u00b7 llama3.1"

        assert (await admin_server.admin.delete(f"{MODELS}/{third['id']}")).status_code == 204
        assert (await admin_server.admin.delete(f"{MODELS}/{second['id']}")).status_code == 204
        assert (await admin_server.admin.delete(f"{MODELS}/{second['id']}")).status_code == 404
        assert [m["is_default"] for m in (await admin_server.admin.get(MODELS)).json()] == [True]
        assert await available_providers() == ["offline", "anthropic"]
        assert (await admin_server.admin.delete(f"{MODELS}/{made['id']}")).status_code == 204
        assert await available_providers() == ["offline"] and await default_provider() == "offline"
    finally:
        await other.close()
    assert key not in caplog.text


async def test_a_model_not_connected_is_for_the_admin_to_connect_and_for_a_member_to_ask_for(
    admin_server: Server, offline_only: None
) -> None:
    for client, words in (
        (admin_server.admin, "you can connect it yourself in the Models section of the admin page."),
        (admin_server.member, "the person who runs it can connect it on the admin page."),
    ):
        response = await client.post("/api/generate", json={"prompt": "A page", "provider": "anthropic"})
        assert response.status_code == 400
        assert response.json()["detail"] == f"Claude is not connected on this Forja: {words}"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"kind": "anthropic"}, "Paste the key of your Anthropic account"),
        ({"kind": "openai"}, "Paste an OpenAI key, or give the address"),
        ({"kind": "openai", "base_url": "ftp://10.0.0.1/v1", "model": "m"}, "must start with http:// or https://"),
        ({"kind": "openai", "base_url": "http://", "model": "m"}, "must start with http:// or https://"),
        ({"kind": "openai", "base_url": "http://u:p@127.0.0.1/v1", "model": "m"}, "not in the address"),
        ({"kind": "openai", "base_url": "http://127.0.0.1:11434/v1"}, "Name the model to use at that address"),
        ({"kind": "anthropic", "api_key": "sk ant"}, "cannot hold spaces"),
        ({"kind": "gemini", "api_key": "k"}, "kind"),
        ({"kind": "anthropic", "api_key": "k", "secret": "x"}, "secret"),
    ],
)
async def test_bad_input_is_refused_in_words(
    services: Services, client: httpx.AsyncClient, body: dict[str, str], words: str, offline_only: None
) -> None:
    response = await client.post(MODELS, json=body)
    assert response.status_code == 422, response.text
    assert words in response.text
    assert (await client.get(MODELS)).json() == []


async def test_the_environments_key_wins_over_a_connected_one(services: Services, scripted_llm: ScriptedLLMServer) -> None:
    stored = await services.models.add(
        LOCAL_ACTOR, NewModelConnection(kind="anthropic", api_key=a_key(), base_url=f"http://127.0.0.1:{free_port()}")
    )
    assert stored.environment_wins is True
    used = (await connections())["anthropic"]
    assert (used.api_key, used.base_url) == (TEST_ANTHROPIC_KEY, scripted_llm.anthropic_base_url)


async def test_doctor_lists_the_connected_models_and_what_the_environment_overrides_never_a_key(
    services: Services, offline_only: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def models_line() -> str:
        return next(check.detail for check in report.checks if check.name == "models")

    report = await services.doctor.report()
    assert models_line() == "No model is connected: Forja builds apps from its offline starters."
    claude_key, local_key = a_key(), a_key("sk-local-")
    await services.models.add(LOCAL_ACTOR, NewModelConnection(kind="anthropic", api_key=claude_key, model="claude-kept"))
    await services.models.add(
        LOCAL_ACTOR,
        NewModelConnection(kind="openai", api_key=local_key, base_url="http://ollama.localhost:11434/v1", model="llama3.1"),
    )
    monkeypatch.setattr(settings, "anthropic_api_key", TEST_ANTHROPIC_KEY)
    report = await services.doctor.report()
    assert models_line() == (
        "Set in the environment: ANTHROPIC_API_KEY (values never shown). Connected on the admin page: Claude, model "
        "claude-kept (the default; ANTHROPIC_API_KEY overrides it); OpenAI-compatible at http://ollama.localhost:11434/v1, "
        "model llama3.1 (keys never shown)."
    )
    # No key, nor any part of one: each of their last eight characters is nowhere in the report.
    text = report.model_dump_json()
    assert not [key for key in (claude_key, local_key, TEST_ANTHROPIC_KEY) if key[-8:] in text or key[:12] in text]


async def test_a_key_this_servers_secret_key_cannot_read_leaves_its_model_out(
    services: Services, offline_only: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    made = await services.models.add(LOCAL_ACTOR, NewModelConnection(kind="anthropic", api_key=a_key()))
    assert await available_providers() == ["offline", "anthropic"]
    monkeypatch.setattr(settings, "secret_key", Fernet.generate_key().decode())
    assert await available_providers() == ["offline"] and await default_provider() == "offline"
    assert f"connected model {made.id} left out: its key cannot be read" in caplog.text


async def test_test_it_times_an_answer_and_says_what_went_wrong_without_the_key(
    services: Services,
    client: httpx.AsyncClient,
    offline_only: None,
    llm_server: ScriptedLLMServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = a_key("sk-test-kept-")
    body = {"kind": "openai", "api_key": key, "base_url": llm_server.openai_base_url, "model": "local-model"}
    made = (await client.post(MODELS, json=body)).json()
    llm_server.queue(TextAnswer("OK"), HTTPErrorAnswer(401, "invalid_api_key", f"Incorrect API key provided: {key}"))

    tested = await client.post(f"{MODELS}/{made['id']}/test")
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["ok"] is True and isinstance(answer["ms"], int) and answer["message"] == f"It answered in {answer['ms']} ms."
    sent = llm_server.requests[-1]
    assert (sent.path, sent.body["max_tokens"], sent.body["model"]) == ("/v1/chat/completions", 1, "local-model")
    assert sent.headers["authorization"] == f"Bearer {key}"

    refused = (await client.post(f"{MODELS}/{made['id']}/test")).json()
    assert refused == {"ok": False, "ms": None, "message": "The key was refused."}

    closed = {"kind": "anthropic", "api_key": key, "base_url": f"http://127.0.0.1:{free_port()}"}
    nowhere = (await client.post(MODELS, json=closed)).json()
    assert (await client.post(f"{MODELS}/{nowhere['id']}/test")).json()["message"] == "Nothing answered at that address."
    assert (await client.post(f"{MODELS}/99999/test")).status_code == 404
    assert key not in caplog.text


def test_forja_models_adds_tests_lists_and_removes_a_model(tmp_path: Path, llm_server: ScriptedLLMServer) -> None:
    cli = Cli(tmp_path / "data", ANTHROPIC_API_KEY="", OPENAI_API_KEY="", OPENAI_BASE_URL="")
    key = a_key("sk-test-cli-")
    # The key from stdin, never an argument; without it and without a terminal, a sentence says how.
    assert cli.refused("models", "add", "anthropic") == "Type the key on a terminal, or pipe it in with --key-stdin."
    add = ("models", "add", "openai", "--url", llm_server.openai_base_url, "--model", "local-model", "--key-stdin")
    made = cli.json(*add, input=f"{key}\n")
    assert (made["key_set"], made["is_default"], made["model"]) == (True, True, "local-model") and key not in str(made)
    listed = cli.ok("models", "list")
    assert "local-model" in listed and "default, key set" in listed and key not in listed

    llm_server.queue(TextAnswer("OK"))
    tested = cli.json("models", "test", str(made["id"]))
    assert tested["ok"] is True and llm_server.requests[-1].headers["authorization"] == f"Bearer {key}"
    assert cli.ok("models", "remove", str(made["id"])).strip() == f"Model {made['id']} removed; its key is deleted."
    assert cli.ok("models", "list").strip() == "No model is connected: Forja builds from its offline starters."
    assert cli.refused("models", "test", str(made["id"])) == f"There is no connected model {made['id']}."


async def test_closed_services_leave_no_reader_of_their_models_behind(
    migrated_sqlite: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closed services' database may be gone: the providers then read no connection from it, and closing older services
    keeps the reader of newer ones."""
    monkeypatch.setattr(settings, "secret_key", Fernet.generate_key().decode())

    def services_on(name: str) -> Services:
        path = tmp_path / name
        path.write_bytes(migrated_sqlite.read_bytes())
        return Services(ProjectStore(db.create_engine(f"sqlite+aiosqlite:///{path}")), LogHub())

    older, newer = services_on("older.db"), services_on("newer.db")
    await newer.models.add(LOCAL_ACTOR, NewModelConnection(kind="anthropic", api_key=a_key(), model="claude-x"))
    await older.close()
    assert (await stored.stored()).by_kind["anthropic"].model == "claude-x"
    await newer.close()
    assert await stored.stored() == stored.Stored()
