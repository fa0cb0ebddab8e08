"""Where published apps live: `<name>.apps.<preview domain>` on the preview edge (Traefik), or `<name>.<FORJA_APPS_DOMAIN>`
on a server, and how a Host header names one."""

from __future__ import annotations

import ipaddress
import itertools
import re
import secrets
from urllib.parse import urlsplit

from builder.settings import is_loopback, settings

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
APP_KEY = "app:"  # a published server app's release sandbox: app:<project>@<release number>
APP_PREVIEW = "app-"  # its preview id: app-<release number>-<random>, so a restart of Forja knows its key again
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


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def cookie_scope(forja_url: str, suffix: str, secure: bool) -> tuple[bool, str]:
    """Whether an app's script can set a cookie that Forja at `forja_url` reads, with apps under `suffix` and Forja's
    session cookie `__Host-` (`secure`), in words; False when it can, or when Forja's own host is an app's host.

    A page may set a cookie for any parent of its own host but a public suffix: an app on `shop.apps.example.com` can
    give one to `example.com`, which the browser then sends to `forja.example.com`. A `__Host-` cookie is host-only by
    rule, so such a cookie can never bear its name; and for `localhost` browsers refuse a cookie for the top-level
    name, and an address never gets a domain cookie. Without a public suffix list, two names sharing their last two
    labels count as one site (`a.co.uk` and `b.co.uk` are flagged though they are not).
    """
    host = (urlsplit(forja_url).hostname or "").lower().rstrip(".")
    suffix = suffix.lower().strip(".")
    if host == suffix or host.endswith(f".{suffix}"):
        return False, (
            f"Forja's own address ({host}) is under the apps' domain ({suffix}): an app's address could be Forja's. "
            "Give the apps a domain of their own (FORJA_APPS_DOMAIN)."
        )
    if _is_address(host):
        return True, "Forja is reached at an address, not a name: browsers give no domain cookie to an address."
    pairs = zip(reversed(host.split(".")), reversed(suffix.split(".")), strict=False)
    shared = [label for label, _ in itertools.takewhile(lambda pair: pair[0] == pair[1], pairs)]
    if len(shared) < 2:
        why = "browsers refuse a cookie for the top-level name localhost" if shared == ["localhost"] else "they share no site"
        return True, f"Apps on *.{suffix} cannot set cookies for Forja at {host}: {why}."
    site = ".".join(reversed(shared))
    if secure:
        return True, (
            f"Apps on *.{suffix} share the site {site} with Forja: they can set cookies for {site}, but Forja reads only its "
            f"__Host- cookies, which no app can set. A domain of their own (not under {site}) keeps them off Forja's site."
        )
    return False, (
        f"An app on *.{suffix} can set a cookie for {site}, which browsers send to Forja at {host} (plain HTTP, so its "
        f"session cookie cannot be __Host-). Serve Forja over HTTPS (FORJA_PUBLIC_URL), or give the apps a domain not "
        f"under {site}."
    )
