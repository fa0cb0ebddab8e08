"""Settings of published apps and of the data they keep."""

import ipaddress

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings


def parse_resolver(value: str) -> tuple[str, int] | None:
    """FORJA_DNS_RESOLVER as (address, port): `192.0.2.53`, `127.0.0.1:5353`, `[::1]:53` or `::1`; None when empty
    (the system's resolvers). ValueError says what is wrong with any other value."""
    text = value.strip()
    if not text:
        return None
    address, port = text, "53"
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{value!r} is not ADDRESS or ADDRESS:PORT")
            port = rest[1:]
    elif text.count(":") == 1:
        address, port = text.split(":")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{value!r} does not start with an IP address (a resolver's name would need a resolver)") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} has no valid port")
    return address, int(port)


class PublishSettings(BaseSettings):
    """Published apps"""

    apps_domain: str = Field(
        default="",
        description="Published apps are `https://<name>.<this domain>` (a wildcard DNS name pointing at Forja's preview "
        "port through your front proxy); empty: `http://<name>.apps.<preview domain>:<preview port>`.",
    )
    acme_email: str = Field(
        default="",
        description="With an address here, the preview edge (Traefik) obtains a certificate for each app's custom domain "
        "from Let's Encrypt (ACME, TLS-ALPN-01 on FORJA_APPS_HTTPS_PORT) and serves it over HTTPS; the address gets the "
        "certificate authority's notices.",
    )
    apps_https_port: int = Field(
        default=443, ge=1, le=65535, description="Port of the edge's HTTPS entrypoint for custom domains (with FORJA_ACME_EMAIL)."
    )
    dns_resolver: str = Field(
        default="",
        description="The DNS server Forja asks when it checks an app's custom domain (its TXT record that proves the "
        "domain is the owner's, and where the name points), as `ADDRESS` or `ADDRESS:PORT` (`[ADDRESS]:PORT` for "
        "IPv6). Empty: the servers in the machine's `/etc/resolv.conf`.",
    )
    dns_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Longest one DNS lookup of a custom domain may take, in seconds."
    )
    publish_build_timeout_s: int = Field(
        default=600, gt=0, description="Longest a publish's production build may run (install and build), in seconds."
    )
    publish_build_cpus: float = Field(
        default=2.0,
        gt=0,
        description="CPU limit of a publish's build sandbox (its install and its build), in place of FORJA_PREVIEW_CPUS: "
        "a build is short and someone waits for it, where a preview runs for hours. At most the CPUs of the machine "
        "Forja runs on.",
    )
    publish_max_mb: int = Field(default=200, gt=0, description="Largest build output a publish keeps, in MB.")
    releases_kept: int = Field(
        default=10, gt=0, description="Releases whose files each app keeps for a rollback (the live one always stays)."
    )

    @field_validator("dns_resolver")
    @classmethod
    def _a_resolver_address(cls, value: str) -> str:
        parse_resolver(value)  # refuses at start what a lookup could not use
        return value.strip()


class AppDataSettings(BaseSettings):
    """Apps' data"""

    apps_database_url: str = Field(
        default="",
        description="A PostgreSQL server for the apps' own databases, e.g. `postgresql://forja_apps:secret@db:5432/postgres` "
        "(its role needs CREATEROLE and CREATEDB): each app gets a database and a role of its own there, preview and "
        "published apart. Empty: Forja's own PostgreSQL (`DATABASE_URL`) when it runs on one, else an SQLite file in "
        "each app's /data folder.",
    )
    app_data_mb: int = Field(
        default=500,
        gt=0,
        description="Largest /data folder of one app (preview and published apart), in MB: over it, the folder is "
        "mounted read-only from the app's next start, which Forja makes at once (see [Data](features.md#data)).",
    )
