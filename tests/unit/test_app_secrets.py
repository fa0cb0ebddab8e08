"""The apps' variables: name rules, encryption at rest, the key file Forja makes, and redaction in the log hub."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import builder.settings
from builder.app_secrets import (
    KEY_FILE,
    MAX_VALUE_BYTES,
    NAME,
    check_name,
    check_value,
    decrypt,
    derived_key,
    encrypt,
    hidden_values,
    is_public,
    runner_env,
    unsafe,
)
from builder.errors import InvalidInput, ServerUnavailable
from preview_runtime.local import sandbox
from preview_runtime.logs import REDACTED, LogHub


@pytest.fixture
def key_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(builder.settings.settings, "data_dir", tmp_path / "data")
    monkeypatch.setattr(builder.settings.settings, "secret_key", "")
    return tmp_path / "data"


@pytest.mark.parametrize("name", ["STRIPE_KEY", "_X", "A1", "VITE_API_URL", "A" * 100])
def test_environment_variable_names_are_accepted(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "stripe_key", "1ABC", "A-B", "A B", "Ä", "A" * 101, "X=1"])
def test_names_that_are_not_environment_variables_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="not a variable name"):
        check_name(name)


@pytest.mark.parametrize("name", ["PORT", "HOST", "PATH", "HOME", "NODE_ENV", "FORJA_TOKEN"])
def test_names_forja_sets_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="Forja sets"):
        check_name(name)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("LD_PRELOAD", "changes how programs load code"),
        ("LD_LIBRARY_PATH", "changes how programs load code"),
        ("LD_AUDIT", "changes how programs load code"),
        ("GLIBC_TUNABLES", "changes how programs load code"),
        ("NODE_OPTIONS", "changes which code Node.js loads"),
        ("PYTHONPATH", "changes which code Python loads"),
        ("PERL5OPT", "changes which code Perl loads"),
        ("RUBYOPT", "changes which code Ruby loads"),
        ("JAVA_TOOL_OPTIONS", "changes which code Java loads"),
        ("BASH_ENV", "changes what shells run"),
        ("SHELL", "chooses the program that runs commands"),
        ("NODE_EXTRA_CA_CERTS", "names a file of this server that the app's sandbox would be let read"),
    ],
)
def test_names_that_change_how_code_loads_are_refused_saying_why(name: str, why: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_name(name)
    assert refused.value.message == f"{name} {why}; Forja does not let an app set it."


@pytest.mark.parametrize(
    "name", ["PYTHONUNBUFFERED", "PYTHONUTF8", "NODE_TLS_REJECT_UNAUTHORIZED", "LDAP_URL", "SHELL_COLOR", "ENVIRONMENT"]
)
def test_names_that_only_look_alike_are_accepted(name: str) -> None:
    assert check_name(name) == name and not unsafe(name)


def test_every_variable_the_local_sandbox_binds_a_file_of_is_refused() -> None:
    """The local runner shows the sandbox the files these name (sandbox.bwrap_args): an app must not name one."""
    bound = {name for name in sandbox._BOUND_PATH_VARS if NAME.fullmatch(name)}  # pyright: ignore[reportPrivateUsage]
    assert bound and not [name for name in bound if not unsafe(name)]


async def test_a_variable_kept_from_before_its_name_was_refused_is_left_out_and_said(key_folder: Path) -> None:
    logs = LogHub()
    rows = _Rows({"LD_PRELOAD": "./lib.so", "STRIPE_KEY": "sk_test_abcdef"})
    assert await runner_env(rows, logs, "p") == {"STRIPE_KEY": "sk_test_abcdef"}  # pyright: ignore[reportArgumentType]
    [said] = [line.text for line in logs.history("p")]
    assert said == (
        "The variable LD_PRELOAD is not given to the app: LD_PRELOAD changes how programs load code; Forja does not let "
        "an app set it. Remove it."
    )
    assert await runner_env(rows, logs, "p", quiet=True) == {"STRIPE_KEY": "sk_test_abcdef"}  # pyright: ignore[reportArgumentType]
    assert len(logs.history("p")) == 1


def test_database_url_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidInput, match="Forja will set DATABASE_URL itself"):
        check_name("DATABASE_URL")
    with pytest.raises(InvalidInput, match="Forja sets DATA_DIR itself"):
        check_name("DATA_DIR")


def test_values_are_limited_to_8_kb() -> None:
    assert check_value("x" * MAX_VALUE_BYTES)
    with pytest.raises(InvalidInput, match="8 KB"):
        check_value("x" * (MAX_VALUE_BYTES + 1))


def test_public_names_are_those_a_front_end_build_puts_into_the_page() -> None:
    assert [is_public(n) for n in ("VITE_TITLE", "NEXT_PUBLIC_X", "PUBLIC_X", "STRIPE_KEY", "MY_VITE_X")] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_value_is_kept_encrypted_under_a_key_file_forja_makes_once_with_mode_0600(key_folder: Path) -> None:
    token = encrypt("sk_live_planted_value")
    assert "sk_live_planted_value" not in token
    key_file = key_folder / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Fernet(key_file.read_bytes()).decrypt(token.encode()) == b"sk_live_planted_value"
    assert decrypt(token) == "sk_live_planted_value"
    assert [p.name for p in key_folder.iterdir()] == [KEY_FILE]  # no draft left beside it


def test_an_existing_key_file_is_used_as_it_is(key_folder: Path) -> None:
    key_folder.mkdir(parents=True)
    key = Fernet.generate_key()
    (key_folder / KEY_FILE).write_bytes(key + b"\n")
    assert Fernet(key).decrypt(encrypt("kept").encode()) == b"kept"


def test_the_key_setting_wins_and_a_bad_one_says_what_it_must_be(key_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key()
    monkeypatch.setattr(builder.settings.settings, "secret_key", key.decode())
    assert Fernet(key).decrypt(encrypt("set").encode()) == b"set"
    assert not key_folder.exists()
    monkeypatch.setattr(builder.settings.settings, "secret_key", "not-a-key")
    with pytest.raises(ServerUnavailable, match="not a Fernet key"):
        encrypt("x")


def test_a_derived_key_is_one_per_purpose_and_server_key_and_never_the_key_itself(
    key_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = derived_key("app-user-keys")  # the key file made first, and read again: the same derived key
    assert derived_key("app-user-keys") == made and len(made) == 32
    assert derived_key("other") != made and (key_folder / KEY_FILE).read_bytes().strip() not in (made, derived_key("other"))
    key = Fernet.generate_key()
    monkeypatch.setattr(builder.settings.settings, "secret_key", key.decode())
    assert derived_key("app-user-keys") not in (made, key)


def test_a_value_under_another_key_is_refused_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builder.settings.settings, "secret_key", Fernet.generate_key().decode())
    token = encrypt("x")
    monkeypatch.setattr(builder.settings.settings, "secret_key", Fernet.generate_key().decode())
    with pytest.raises(ServerUnavailable, match="was the key changed"):
        decrypt(token)


def test_private_values_are_redacted_in_the_projects_log_lines_only() -> None:
    logs = LogHub()
    logs.hide("p1", hidden_values({"STRIPE_KEY": "sk_test_abcdef", "VITE_TITLE": "My public shop", "FLAG": "1"}))
    logs.emit("p1", "key=sk_test_abcdef title=My public shop flag=1")
    logs.emit("p2", "key=sk_test_abcdef")
    assert logs.history("p1")[0].text == f"key={REDACTED} title=My public shop flag=1"
    assert logs.history("p2")[0].text == "key=sk_test_abcdef"


class _Rows:
    def __init__(self, rows: dict[str, str]) -> None:
        self._rows = rows

    async def env_vars(self, project_id: str) -> list:
        from builder.models import AppEnvVar

        return [AppEnvVar(project_id=project_id, name=n, value=encrypt(v), public=is_public(n)) for n, v in self._rows.items()]


async def test_a_front_end_build_gets_only_the_public_variables(key_folder: Path) -> None:
    logs = LogHub()
    rows = _Rows({"STRIPE_KEY": "sk_test_abcdef", "VITE_TITLE": "Shop"})
    assert await runner_env(rows, logs, "p", ["VITE_"]) == {"VITE_TITLE": "Shop"}  # pyright: ignore[reportArgumentType]
    assert await runner_env(rows, logs, "p") == {"STRIPE_KEY": "sk_test_abcdef", "VITE_TITLE": "Shop"}  # pyright: ignore[reportArgumentType]
    logs.emit("p", "sk_test_abcdef")
    assert logs.history("p")[0].text == REDACTED
