"""The apps' own variables (a project's Environment): their name rules, and their values encrypted at rest.

Values are encrypted with Fernet under one key: FORJA_SECRET_KEY, or the one Forja makes into its data folder on its
first start (`secret.key`, mode 0600). Only the runners ever get a value in clear (builder/services/app_env.py). Keys
Forja gives apps (derived_key) come from the same key, so they outlive a restart and need nothing stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken

from builder.errors import InvalidInput, ServerUnavailable
from builder.settings import settings
from preview_runtime.logs import LogLevel

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
# Names that change how a program loads code, or which code it loads, and names of files the local runner lets the
# sandbox read: given to an app, they reach more than its own code. The local runner starts the sandbox with the
# preview's environment, from the project's folder, so LD_PRELOAD=./x.so would load a library of the project into
# the processes that build the sandbox, on the server; and it shows the sandbox each file its certificate and
# package variables name, so SSL_CERT_DIR=/ would show it the server's files (tests/integration/test_app_env.py
# proves both). Inside a sandbox, the others would make the install, the build or Forja's own helpers run code
# nobody sees in the project. Forja's own settings set what of these a preview needs. (PYTHONUNBUFFERED, PYTHONUTF8,
# PYTHONHASHSEED and their kin tune a program without naming code: allowed.)
_LOADS_CODE = "changes how programs load code"
_READS_FILES = "names a file of this server that the app's sandbox would be let read"
UNSAFE_PREFIXES = {"LD_": _LOADS_CODE}
UNSAFE_NAMES = {
    **dict.fromkeys(("GCONV_PATH", "GLIBC_TUNABLES"), _LOADS_CODE),
    **dict.fromkeys(("NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE"), "changes which code Node.js loads"),
    **dict.fromkeys(
        (
            "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONINSPECT", "PYTHONUSERBASE", "PYTHONBREAKPOINT",
            "PYTHONWARNINGS", "PYTHONPYCACHEPREFIX", "PYTHONPLATLIBDIR", "PYTHONEXECUTABLE",
        ),
        "changes which code Python loads",
    ),
    **dict.fromkeys(("PERL5OPT", "PERL5LIB", "PERLLIB", "PERL5DB"), "changes which code Perl loads"),
    **dict.fromkeys(("RUBYOPT", "RUBYLIB"), "changes which code Ruby loads"),
    **dict.fromkeys(("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH"), "changes which code Java loads"),
    **dict.fromkeys(("BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4"), "changes what shells run"),
    "SHELL": "chooses the program that runs commands",
    # preview_runtime/local/sandbox.py's _BOUND_PATH_VARS (tests/unit/test_app_secrets.py keeps the two together).
    **dict.fromkeys(
        (
            "NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT", "PIP_FIND_LINKS",
            "NPM_CONFIG_CAFILE", "COREPACK_HOME",
        ),
        _READS_FILES,
    ),
}  # fmt: skip
# What the front-end frameworks build into the page (production.py's public_env_prefixes, and Next.js's): anyone who
# opens the app can read these.
PUBLIC_PREFIXES = ("VITE_", "NEXT_PUBLIC_", "PUBLIC_", "REACT_APP_", "GATSBY_", "VUE_APP_")
# Shorter values (a flag of "1", a port) would redact harmless text in the logs.
MIN_REDACTED = 6

_lock = threading.Lock()
# By (FORJA_SECRET_KEY, data folder): read once each (tests change both).
_fernets: dict[tuple[str, Path], Fernet] = {}
_raw: dict[tuple[str, Path], bytes] = {}


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
    if why := unsafe(name):
        raise InvalidInput(why)
    return name


def unsafe(name: str) -> str:
    """Why an app may not have this variable (UNSAFE_NAMES), in a sentence; "" when it may."""
    why = UNSAFE_NAMES.get(name) or next((why for prefix, why in UNSAFE_PREFIXES.items() if name.startswith(prefix)), "")
    return f"{name} {why}; Forja does not let an app set it." if why else ""


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


def derived_key(purpose: str) -> bytes:
    """A key of its own for `purpose` (HMAC-SHA256 of it under this server's secret key): never the secret key itself."""
    return hmac.new(_raw_key(), purpose.encode(), hashlib.sha256).digest()


def _key() -> Fernet:
    where = (settings.secret_key, settings.data_dir)
    with _lock:
        if where not in _fernets:
            _fernets[where] = _from_setting() if settings.secret_key else Fernet(_key_file(settings.data_dir / KEY_FILE))
        return _fernets[where]


def _raw_key() -> bytes:
    where = (settings.secret_key, settings.data_dir)
    if where not in _raw:
        _key()  # checked (a bad FORJA_SECRET_KEY says so) and, in the data folder, made
        _raw[where] = (
            settings.secret_key.strip().encode() if settings.secret_key else (settings.data_dir / KEY_FILE).read_bytes().strip()
        )
    return _raw[where]


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


# Shorter values (a flag, a port, a word) turn up in any page by chance: they would be findings of nothing.
MIN_VALUE = 8
# Nor is a plain word or phrase a secret ("production", "Hello from the server"): any page may hold it by chance.
_PLAIN = re.compile(r"[A-Za-z ]+")


def private_values(env: Mapping[str, str], public: tuple[str, ...], database_passwords: Mapping[str, str]) -> dict[str, str]:
    """What to look for, by the words that name it: each private variable (not public by its name's prefix) and each
    database password (by its scope: "live", "preview") long enough to mean something and more than letters."""
    found = {f"the value of {name}": value for name, value in env.items() if not name.startswith(public)}
    found |= {f"the password of the app's {scope} database": password for scope, password in database_passwords.items()}
    return {words: value for words, value in found.items() if len(value) >= MIN_VALUE and not _PLAIN.fullmatch(value)}


def hidden_values(env: dict[str, str]) -> tuple[str, ...]:
    """The values to keep out of the logs: the private ones long enough to mean something, longest first."""
    found = {value for name, value in env.items() if not is_public(name) and len(value) >= MIN_REDACTED}
    return tuple(sorted(found, key=len, reverse=True))


async def runner_env(
    store: AppEnvRecords, logs: LogHub, project_id: str, prefixes: Sequence[str] | None = None, quiet: bool = False
) -> dict[str, str]:
    """The project's variables in clear, for its app's processes only (a preview, a publish's build); with `prefixes`,
    only those whose names start with one (what a front-end build may put into the page). From here on the project's
    log lines show its private values redacted. A variable kept from before its name was refused (`unsafe`) is left
    out, and the project's log says so, unless `quiet`."""
    env = {row.name: decrypt(row.value) for row in await store.env_vars(project_id)}
    logs.hide(project_id, hidden_values(env))
    for name in [name for name in env if unsafe(name)]:
        del env[name]
        log.warning("app variable %s of %s not given to its processes: its name is refused", name, project_id)
        if not quiet:
            logs.emit(project_id, f"The variable {name} is not given to the app: {unsafe(name)} Remove it.", LogLevel.warning)
    if prefixes is not None:
        env = {name: value for name, value in env.items() if name.startswith(tuple(prefixes))}
    return env
