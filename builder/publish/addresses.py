"""Where published apps live: `<name>.apps.<preview domain>` on the preview edge (Traefik), or `<name>.<FORJA_APPS_DOMAIN>`
on a server, and how a Host header names one."""

from __future__ import annotations

import re
import secrets

from builder.settings import is_loopback, settings

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
APP_KEY = "app:"  # a published server app's release sandbox: app:<project>@<release number>
APP_PREVIEW = "app-"  # its preview id: app-<release number>-<random>, so a restart of Forja knows its key again


def apps_suffix() -> str:
    """The domain apps' names sit under."""
    return settings.apps_domain.strip(".").lower() or f"apps.{settings.preview_domain.strip('.').lower()}"


def app_url(name: str) -> str:
    """The app's address: on FORJA_APPS_DOMAIN (https, through the server's front proxy), else on the preview edge."""
    if settings.apps_domain:
        return f"https://{app_host(name)}"
    port = "" if settings.preview_port == 80 else f":{settings.preview_port}"
    return f"http://{app_host(name)}{port}"


def host_name(host: str) -> str:
    """A Host header's name, without its port or a trailing dot, lower-cased."""
    return host.rsplit(":", 1)[0].strip(".").lower()


def app_host(name: str) -> str:
    """The host name of the app's own address."""
    return f"{name}.{apps_suffix()}"


def app_name_of(host: str) -> str | None:
    """The app a Host header names (`shop.apps.localhost:8800` -> `shop`); None for any other host."""
    if host.startswith("["):
        return None
    label, _, rest = host_name(host).partition(".")
    return label if rest == apps_suffix() and LABEL.match(label) else None


def forja_upstream() -> str:
    """Where the edge reaches Forja's own server, which serves the apps' files."""
    host = settings.host if not (settings.host in ("0.0.0.0", "::") or is_loopback(settings.host)) else "127.0.0.1"
    return f"http://{host}:{settings.port}"


def app_key(project_id: str, number: int) -> str:
    return f"{APP_KEY}{project_id}@{number}"


def app_preview_id(number: int) -> str:
    return f"{APP_PREVIEW}{number}-{secrets.token_hex(6)}"


def key_of_app(project_id: str, preview_id: str) -> str | None:
    """The key of a release sandbox taken back after a restart; None for any other preview."""
    if not preview_id.startswith(APP_PREVIEW):
        return None
    number = preview_id.removeprefix(APP_PREVIEW).split("-", 1)[0]
    return app_key(project_id, int(number)) if number.isdigit() else None
