"""The apps' own variables (a project's Environment): their name rules, and their values encrypted at rest.

Values are encrypted with Fernet under one key: FORJA_SECRET_KEY, or the one Forja makes into its data folder on its
first start (`secret.key`, mode 0600). Only the runners ever get a value in clear (builder/services/app_env.py).
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from builder.errors import InvalidInput, ServerUnavailable
from builder.settings import settings

if TYPE_CHECKING:
    from builder.store.app_env import AppEnvRecords
    from preview_runtime.logs import LogHub

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"
MAX_NAME = 100
MAX_VALUE_BYTES = 8 * 1024
MAX_VARIABLES = 100
NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
# What Forja sets in every preview itself: a person's value would be overwritten, or break the runner.
SET_BY_FORJA = frozenset({"PORT", "HOST", "PATH", "HOME", "NODE_ENV"})
# What Forja gives each server app for its data (builder/services/app_data.py): a person's value would be overwritten.
RESERVED = {
    "DATABASE_URL": "Forja will set DATABASE_URL itself, to a database of the app's own.",
    "DATABASE_PATH": "Forja sets DATABASE_PATH itself, to the SQLite file in the app's /data folder.",
    "DATA_DIR": "Forja sets DATA_DIR itself, to the app's own /data folder.",
}
# What the front-end frameworks build into the page (production.py's public_env_prefixes, and Next.js's): anyone who
# opens the app can read these.
PUBLIC_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "PUBLIC_", "REACT_APP_", "GATSBY_", "VUE_APP_")
# Shorter values (a flag of "1", a port) would redact harmless text in the logs.
MIN_REDACTED = 6

_lock = threading.Lock()
# By (FORJA_SECRET_KEY, data folder): read once each (tests change both).
_fernets: dict[tuple[str, Path], Fernet] = {}


def check_name(name: str) -> str:
    """The name as an environment variable's; InvalidInput (in words) when it is not one a person may set."""
    if not name or len(name) > MAX_NAME or not NAME.fullmatch(name):
        raise InvalidInput(
            f"{name[:MAX_NAME]!r} is not a variable name: use capital letters, digits and _ (not first a digit), "
            f"at most {MAX_NAME} characters, like STRIPE_KEY."
        )
    if name in RESERVED:
        raise InvalidInput(RESERVED[name])
    if name in SET_BY_FORJA or name.startswith("FORJA_"):
        raise InvalidInput(f"Forja sets {name} itself in the app's processes; choose another name.")
    return name


def check_value(value: str) -> str:
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise InvalidInput(f"The value is too long: at most {MAX_VALUE_BYTES // 1024} KB.")
    if "\0" in value:
        raise InvalidInput("The value cannot hold a NUL character.")
    return value


def is_public(name: str, prefixes: tuple[str, ...] = PUBLIC_PREFIXES) -> bool:
    """Whether a front-end build puts the variable into the page (so anyone who opens the app can read it)."""
    return name.startswith(prefixes)


def encrypt(value: str) -> str:
    return _key().encrypt(value.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _key().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise ServerUnavailable(
            "An app variable cannot be read with this server's secret key (FORJA_SECRET_KEY or data/secret.key): "
            "was the key changed? Restore the one it was saved with."
        ) from None


def load_key() -> None:
    """Read (or make) the key now, at start, so a bad key or an unwritable data folder shows before any request."""
    _key()


def _key() -> Fernet:
    where = (settings.secret_key, settings.data_dir)
    with _lock:
        if where not in _fernets:
            _fernets[where] = _from_setting() if settings.secret_key else Fernet(_key_file(settings.data_dir / KEY_FILE))
        return _fernets[where]


def _from_setting() -> Fernet:
    try:
        return Fernet(settings.secret_key.strip().encode())
    except ValueError:
        raise ServerUnavailable(
            "FORJA_SECRET_KEY is not a Fernet key (32 bytes in URL-safe base64, as Fernet.generate_key() makes)."
        ) from None


def _key_file(path: Path) -> bytes:
    """The key in `path`, made there first when missing: written whole to a file of its own (mode 0600) and linked
    into place, so two workers starting at once end up with one key, and none ever reads half of one."""
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
            f.flush()
            os.fsync(f.fileno())
        os.link(draft, path)
        log.warning(
            "Forja made the key that encrypts the apps' variables: %s. Back it up with the database: without it they "
            "cannot be read. Or set FORJA_SECRET_KEY.",
            path,
        )
    except FileExistsError:
        pass  # another worker made it first: use that one
    finally:
        draft.unlink(missing_ok=True)
    return path.read_bytes().strip()


def hidden_values(env: dict[str, str]) -> tuple[str, ...]:
    """The values to keep out of the logs: the private ones long enough to mean something, longest first."""
    found = {value for name, value in env.items() if not is_public(name) and len(value) >= MIN_REDACTED}
    return tuple(sorted(found, key=len, reverse=True))


async def runner_env(
    store: AppEnvRecords, logs: LogHub, project_id: str, prefixes: Sequence[str] | None = None
) -> dict[str, str]:
    """The project's variables in clear, for its app's processes only (a preview, a publish's build); with `prefixes`,
    only those whose names start with one (what a front-end build may put into the page). From here on the project's
    log lines show its private values redacted."""
    env = {row.name: decrypt(row.value) for row in await store.env_vars(project_id)}
    logs.hide(project_id, hidden_values(env))
    if prefixes is not None:
        env = {name: value for name, value in env.items() if name.startswith(tuple(prefixes))}
    return env
