"""Where published apps live: `<name>.apps.<preview domain>` on the preview edge (Traefik), or `<name>.<FORJA_APPS_DOMAIN>`
on a server, and how a Host header names one."""

from __future__ import annotations

import re

from builder.settings import is_loopback, settings

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# A release pinned by a share link has a host of its own, `<name>--r<N>`: app names may not hold "--" (check_name), so
# such a label is never an app's own name.
PINNED = re.compile(r"^(?P<name>[a-z0-9-]+?)--r(?P<number>[1-9][0-9]{0,8})$")


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


def release_label(name: str, number: int) -> str | None:
    """The label of a release's own host (`shop--r3`), or None when it would be longer than a DNS label may be."""
    label = f"{name}--r{number}"
    return label if LABEL.match(label) else None


def pinned_of(label: str) -> tuple[str, int] | None:
    """The app's name and release number a pinned release's label names (`shop--r3` -> ("shop", 3)), else None."""
    match = PINNED.match(label)
    return (match["name"], int(match["number"])) if match else None


def forja_upstream() -> str:
    """Where the edge reaches Forja's own server, which serves the apps' files."""
    host = settings.host if not (settings.host in ("0.0.0.0", "::") or is_loopback(settings.host)) else "127.0.0.1"
    return f"http://{host}:{settings.port}"
