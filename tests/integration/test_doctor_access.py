"""The machine report (GET /api/doctor, services.doctor) is the admins': with accounts a member learns only whether
previews can run here, anyone else gets a 401; and whoever reads it, it holds no address and no configured secret,
though the machine it describes is set up to put both into its sentences."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import builder.settings
from builder.client.backend import NO_TOKEN
from builder.composition import Services
from builder.generation import guard
from builder.services.doctor import PREVIEWS_DO_NOT_RUN, PREVIEWS_RUN
from tests.accounts import PASSWORD, client, someone
from tests.integration.test_cli_remote import served_forja

IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Two groups or more of hex digits joined by colons with a `::`, or eight groups: every way IPv6 is written here.
IPV6 = re.compile(r"(?i)(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])")
SECRETS = {
    "anthropic_api_key": "sk-ant-api03-doctor-planted-4eC39HqLyjWDarjt",
    "openai_api_key": "sk-proj-doctor-planted-9d8c7b6a5f4e3d2c",
    "secret_key": "ZG9jdG9yLXBsYW50ZWQtZmVybmV0LWtleS0zMmJ5dGVz",
}
PROXY_PASSWORD = "proxy-pass-7f3a9c"


@pytest.fixture
def addressed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine whose report would name addresses: a registry name that resolves here (to 127.0.0.1 or ::1), a mirror
    set by its address, Forja reached at an address; and secrets set."""
    for name, value in {
        "preview_egress_hosts": "localhost",
        "npm_registry": "http://127.0.0.1:4873/",
        "public_url": "http://127.0.0.1:3000",
        "preview_offline": False,
        "preview_runner": "local",
        **SECRETS,
    }.items():
        monkeypatch.setattr(builder.settings.settings, name, value)
    guard.secret_values.cache_clear()


def without_addresses_or_secrets(report: object) -> str:
    text = json.dumps(report)
    assert not IPV4.findall(text), IPV4.findall(text)
    assert not IPV6.findall(text), IPV6.findall(text)
    assert not [name for name, value in SECRETS.items() if value in text]
    assert PROXY_PASSWORD not in text
    return text


async def test_the_report_names_no_address_and_no_secret(
    services: Services, addressed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with client() as http:
        report = (await http.get("/api/doctor")).json()
    without_addresses_or_secrets(report)
    checks = {check["name"]: check["detail"] for check in report["checks"]}
    # The sentences still say what they said, less the address.
    assert checks["registries"].startswith("localhost resolves to [address] here, which is this machine. If that is")
    assert checks["app cookies"] == "Forja is reached at an address, not a name: browsers give no domain cookie to an address."
    assert "OPENAI_API_KEY" in checks["models"]  # named, never shown

    # Behind a proxy with a password in its URL, registries are reached through it: neither shows.
    monkeypatch.setenv("HTTPS_PROXY", f"http://forja:{PROXY_PASSWORD}@127.0.0.1:3128")
    report = (await services.doctor.report()).model_dump(mode="json")
    text = without_addresses_or_secrets(report)
    assert "[address]" in text  # the mirror set by its address, among the registries reached


async def test_with_accounts_only_an_admin_reads_the_report(
    services: Services, addressed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(builder.settings.settings, "auth", "password")
    async with (
        someone(services, "ana@example.org", "Ana Admin", admin=True) as ana,
        someone(services, "bo@example.org", "Bo Member") as bo,
        client() as anonymous,
    ):
        refused = await anonymous.get("/api/doctor")
        assert refused.status_code == 401 and "Sign in" in refused.json()["detail"]

        report = await ana.http.get("/api/doctor")
        assert report.status_code == 200 and set(report.json()) == {"auto", "auto_reason", "requested", "runners", "checks"}
        without_addresses_or_secrets(report.json())

        # The settings ask for Docker, and no engine answers here.
        monkeypatch.setattr(builder.settings.settings, "preview_runner", "docker")
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        told = await bo.http.get("/api/doctor")
        assert told.status_code == 200 and told.json() == {"usable": False, "verdict": PREVIEWS_DO_NOT_RUN}
        assert (await services.doctor.report_for(bo.actor)).model_dump() == {"usable": False, "verdict": PREVIEWS_DO_NOT_RUN}

        monkeypatch.setattr(builder.settings.settings, "preview_runner", "local")
        monkeypatch.setattr(builder.settings.settings, "allow_unsandboxed", True)
        assert (await bo.http.get("/api/doctor")).json() == {"usable": True, "verdict": PREVIEWS_RUN}


def test_the_command_asks_the_running_forja_as_the_token_s_person(tmp_path: Path) -> None:
    """`python -m builder doctor` on the server's machine, while Forja runs there with accounts: the report for an
    admin's token, the one-line answer for a member's, and no report without a token."""
    with served_forja(tmp_path, FORJA_PREVIEW_RUNNER="local") as server:
        operator = server.operator
        operator.ok("user", "create", "ana@example.org", "--name", "Ana", "--password-stdin", input=PASSWORD)
        operator.ok("user", "create", "bo@example.org", "--name", "Bo", "--password-stdin", input=PASSWORD)
        ana = operator.ok("token", "create", "ana@example.org").strip()
        bo = operator.ok("token", "create", "bo@example.org").strip()

        assert NO_TOKEN in operator.refused("doctor")
        assert "That API token does not work" in operator.refused("doctor", token="forja_not-a-token")
        told = operator.run("doctor", token=bo)
        assert told.stdout.strip() == (PREVIEWS_RUN if told.returncode == 0 else PREVIEWS_DO_NOT_RUN), told
        assert json.loads(operator.run("doctor", "--json", token=bo).stdout) == {
            "usable": told.returncode == 0,
            "verdict": told.stdout.strip(),
        }
        report = operator.run("doctor", "--json", token=ana)
        assert set(json.loads(report.stdout)) == {"auto", "auto_reason", "requested", "runners", "checks"}
        assert report.returncode == told.returncode
        assert "Preview runners:" in operator.run("doctor", token=ana).stdout
