"""Settings of published apps and of the data they keep."""

from pydantic import Field
from pydantic_settings import BaseSettings


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
