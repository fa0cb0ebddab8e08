"""Every Forja setting, read once from environment variables (or `.env`) with defaults.

One place so that the README's settings table, the UI, the API and the CLI agree.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def is_loopback(host: str) -> bool:
    """Whether a listen address or host name stays on this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Forja's configuration; each field is read from FORJA_<FIELD NAME> (DATABASE_URL has no prefix)."""

    model_config = SettingsConfigDict(env_prefix="FORJA_", env_file=REPO_ROOT / ".env", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / "data", description="Where the SQLite database and preview work directories live.")
    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("REDIS_URL", "FORJA_REDIS_URL"),
        description="Redis shared by several Forja workers (generations, logs, leases, the page's state); empty: one "
        "worker, everything in its process.",
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "FORJA_DATABASE_URL"),
        description="SQLAlchemy URL; empty means SQLite in FORJA_DATA_DIR/forja.db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the builder listens on.")
    port: int = Field(default=3000, description="Port of the builder (page, API and websocket share it).")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="warning",
        description="Least severe log record Forja's console shows, Forja's own and its libraries' alike: warning keeps "
        "the console calm; info adds Forja's notes and the libraries' (each HTTP request httpx makes, for example).",
    )
    public_url: str = Field(default="", description="Address people open; empty means http://HOST:PORT.")
    allowed_hosts: str = Field(
        default="",
        description="Extra host names Forja answers to, comma-separated (besides loopback, HOST and PUBLIC_URL's host); "
        "others get a 400 (DNS rebinding guard).",
    )
    auth: Literal["", "none", "password"] = Field(
        default="",
        description="none (one local user, no sign-in) or password (accounts); empty means none when Forja listens on "
        "loopback only. Forja refuses to start open to the network without password.",
    )
    signup: Literal["open", "invite", "closed"] = Field(
        default="invite",
        description="Who may make an account in password mode: anyone (open), people with an admin's invitation link "
        "(invite), or nobody (closed: admins add people with the CLI).",
    )
    session_days: int = Field(default=30, gt=0, description="A sign-in lasts this many days after the last visit.")
    signin_attempts: int = Field(
        default=10,
        gt=0,
        description="Failed sign-ins allowed per account, and per address, in 15 minutes; more are refused until it passes.",
    )
    quota_tokens_day: int = Field(
        default=1_000_000, ge=0, description="Default per user: model tokens a day (0: no limit); admins change it per user."
    )
    quota_cost_day_usd: float = Field(
        default=5.0, ge=0, description="Default per user: estimated model cost a day, in US dollars (0: no limit)."
    )
    quota_previews: int = Field(default=3, ge=0, description="Default per user: previews running at once (0: no limit).")
    quota_projects: int = Field(default=50, ge=0, description="Default per user: projects owned (0: no limit).")
    quota_storage_mb: int = Field(
        default=500,
        ge=0,
        description="Default per user: stored files of the projects they own, all versions, in MB (0: no limit).",
    )
    max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Largest request body, in bytes, except project uploads and imports (MAX_UPLOAD_BYTES); larger get a 413.",
    )

    max_files: int = Field(default=2000, description="Most files one project (or one import) may hold.")
    max_file_bytes: int = Field(default=2 * 1024 * 1024, description="Largest single file, in bytes.")
    max_total_bytes: int = Field(default=50 * 1024 * 1024, description="Largest project, all files together, in bytes.")
    max_upload_bytes: int = Field(default=60 * 1024 * 1024, description="Largest zip upload, in bytes.")
    max_zip_entries: int = Field(
        default=50_000,
        description="Most entries (files, folders, skipped ones too) a zip upload may list; checked before unpacking.",
    )
    max_zip_ratio: int = Field(default=200, description="Largest uncompressed/compressed ratio of a zip member (zip bomb guard).")

    anthropic_api_key: str = Field(
        default="", validation_alias=AliasChoices("ANTHROPIC_API_KEY", "FORJA_ANTHROPIC_API_KEY"), repr=False
    )
    anthropic_base_url: str = Field(default="", validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "FORJA_ANTHROPIC_BASE_URL"))
    anthropic_model: str = Field(default="claude-sonnet-5-5", description="Claude model for generation.")
    openai_api_key: str = Field(default="", validation_alias=AliasChoices("OPENAI_API_KEY", "FORJA_OPENAI_API_KEY"), repr=False)
    openai_base_url: str = Field(default="", validation_alias=AliasChoices("OPENAI_BASE_URL", "FORJA_OPENAI_BASE_URL"))
    openai_model: str = Field(default="gpt-4.1", description="Model name for the OpenAI-compatible provider.")
    openai_vision: bool | None = Field(
        default=None,
        description="Whether the OpenAI-compatible model takes pictures; empty means yes for OpenAI's own API "
        "(no OPENAI_BASE_URL), no for other servers.",
    )
    attach_max_bytes: int = Field(default=5 * 1024 * 1024, description="Largest picture attached to a prompt, in bytes.")
    attach_max_count: int = Field(default=4, description="Most pictures attached to one prompt.")
    provider: str = Field(default="", description="anthropic, openai or offline; empty picks by which key is set.")
    max_output_tokens: int = Field(default=16000, description="max_tokens of one model answer segment.")
    max_segments: int = Field(default=4, description="How many times an answer cut at max_tokens is continued.")
    generation_timeout_s: float = Field(
        default=1800.0, description="A generation running longer is stopped; a 'running' record older is from a dead process."
    )
    request_timeout_s: float = Field(default=300.0, description="Timeout of one model request, in seconds.")
    connect_timeout_s: float = Field(default=15.0, description="Timeout to connect to the model's API, in seconds.")
    retry_attempts: int = Field(
        default=3, description="Tries for a request that fails with 429/529/overload before anything was applied."
    )
    retry_base_delay_s: float = Field(default=1.0, description="First backoff delay; doubles each retry.")
    verify_generations: bool = Field(
        default=True,
        description="Run each generated version, check it in a browser and repair it before the generation ends "
        "(the CLI's --no-verify and the API's verify=false skip it once).",
    )
    auto_fix_attempts: int = Field(
        default=2, ge=0, description="Most automatic repair rounds after a check finds problems (0: check and report only)."
    )
    chromium_path: str = Field(
        default="",
        validation_alias=AliasChoices("FORJA_CHROMIUM", "FORJA_CHROMIUM_PATH"),
        description="Chromium that checks generated apps; empty: `chromium` on PATH, else Playwright's own.",
    )
    budget_project_usd: float = Field(
        default=0.0, ge=0, description="Most estimated model cost one project may spend, in US dollars (0: no limit)."
    )
    budget_daily_usd: float = Field(
        default=0.0, ge=0, description="Most estimated model cost all projects together may spend per UTC day (0: no limit)."
    )
    followup_context_bytes: int = Field(
        default=60_000, description="File content sent with a follow-up; larger projects send only the relevant files."
    )

    preview_runner: Literal["auto", "swarm", "docker", "local"] = Field(
        default="auto",
        description="auto (the swarm when Docker's engine is a swarm manager, else Docker if reachable, else local), "
        "swarm, docker or local.",
    )
    preview_port: int = Field(
        default=8800, description="Port of the preview proxy (Traefik); previews live at http://<id>.<domain>:<port>."
    )
    preview_domain: str = Field(default="localhost", description="Previews are served as subdomains of this domain.")
    preview_host: str = Field(default="127.0.0.1", description="Address the preview proxy listens on.")
    preview_park_after_s: int = Field(
        default=1800,
        gt=0,
        description="A preview nobody looked at for this long is parked: its processes or container stopped, its files "
        "and dependencies kept; the next visit to its address or share link wakes it.",
    )
    preview_remove_after_s: int = Field(
        default=7 * 86400, gt=0, description="A preview parked for this long is removed (its files too)."
    )
    preview_ttl_s: int = Field(default=4 * 3600, gt=0, description="A preview running this long is parked.")
    preview_silent_s: int = Field(
        default=90,
        description="A dev server that prints nothing and listens on no port for this long is reported as stuck and ended.",
    )
    preview_start_timeout_s: int = Field(default=300, description="How long the CLI's --wait and share links wait for a preview.")
    verify_checks_timeout_s: float = Field(
        default=60,
        description="Time for all of a generated project's own checks (build, lint, type-check, tests) in its preview, together.",
    )
    preview_image: str = Field(
        default="forja-preview",
        description="Repository of the preview image, which Forja builds and tags by a hash of its inputs; a name:tag is used as it is.",
    )
    preview_network: str = Field(
        default="forja-previews", description="Docker network of preview containers (its firewall rules are named after it)."
    )
    preview_memory_mb: int = Field(
        default=2048,
        description="Memory limit of one preview: its container (its /app and home tmpfs count too: a Next.js install "
        "needs about 1.4 GB), or its cgroup with the local runner (where the machine lets Forja make one).",
    )
    preview_cpus: float = Field(default=1.0, description="CPU limit of one preview (container, or local runner's cgroup).")
    preview_pids: int = Field(
        default=256, description="Most processes and threads of one preview (container, or local runner's cgroup)."
    )
    local_disk_mb: int = Field(
        default=4096,
        gt=0,
        description="Local runner: most disk one preview may fill in its folder, its /tmp and its project's home together "
        "(checked every few seconds; also the largest single file).",
    )
    allow_unsandboxed: bool = Field(
        default=False,
        description="Local runner without bubblewrap: run previews as your user without a sandbox instead of refusing them.",
    )
    swarm_node_engines: str = Field(
        default="",
        description="Swarm runner: the Docker engines of the swarm's other nodes, as `hostname=tcp://address:2376` "
        "separated by commas (TLS as the docker CLI reads it: DOCKER_TLS_VERIFY, DOCKER_CERT_PATH). Previews run on "
        "Forja's own node and on these.",
    )
    preview_warm_pool: int = Field(
        default=1,
        ge=0,
        description="Docker preview containers kept created and started, waiting for a project (0 turns the pool off).",
    )
    npm_registry: str = Field(default="", description="npm registry mirror for installs in previews (empty: npm's default).")
    npm_seed_cache: Path | None = Field(
        default=REPO_ROOT / ".cache" / "starters-npm",
        description="An npm cache that installs in previews start from (setup fills it with the starters' packages); empty: none.",
    )
    pip_seed_wheels: Path | None = Field(
        default=REPO_ROOT / ".cache" / "starters-wheels",
        description="A folder of wheels that pip installs in previews look in first (setup fills it for the starters); empty: none.",
    )
    preview_offline: bool = Field(
        default=False,
        description="Installs in previews use only the seeded packages above, never a registry (air-gapped machines).",
    )

    pip_index_url: str = Field(default="", description="Python package index mirror for installs in previews.")
    preview_egress_hosts: str = Field(
        default="registry.npmjs.org,registry.yarnpkg.com,pypi.org,files.pythonhosted.org",
        description="Hosts (comma-separated) that installs in sandboxed local previews and swarm previews may reach, besides "
        "the npm registry "
        "and pip index set above; nothing else is reachable from a preview.",
    )
    extra_ca_cert: str = Field(
        default="", description="Path of an extra CA bundle trusted by installs in previews (corporate proxies)."
    )
    webcontainers: bool = Field(
        default=True,
        description="Run front-end-only projects in a WebContainer in the person's browser first (falls back to the server runner).",
    )
    webcontainer_boot_timeout_s: float = Field(
        default=20.0, description="How long the browser waits for WebContainers before falling back."
    )
    webcontainer_client_id: str = Field(
        default="",
        validation_alias=AliasChoices("WEBCONTAINER_CLIENT_ID", "FORJA_WEBCONTAINER_CLIENT_ID"),
        description="StackBlitz client id for commercial WebContainer use.",
    )

    @field_validator("npm_seed_cache", "pip_seed_wheels", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        # Path("") is the working directory: an empty setting must never mount that into previews.
        return None if value == "" else value

    @property
    def default_provider(self) -> str:
        """The provider used when a project has not picked one: explicit setting, else by key."""
        if self.provider:
            return self.provider
        if self.anthropic_api_key:
            return "anthropic"
        if self.openai_api_key or self.openai_base_url:
            return "openai"
        return "offline"

    @property
    def auth_mode(self) -> str:
        """none or password: the setting, else none (Forja refuses to start open to the network that way)."""
        return self.auth or "none"

    @property
    def network_exposure(self) -> str:
        """Why Forja is reachable from other machines (its listen address, its public URL or an extra host name), or ""."""
        if not is_loopback(self.host):
            return f"it listens on {self.host} (FORJA_HOST)"
        public = urlsplit(self.public_url).hostname if self.public_url else None
        if public and not is_loopback(public):
            return f"people open it at {self.public_url} (FORJA_PUBLIC_URL)"
        names = [name.strip() for name in self.allowed_hosts.split(",") if name.strip()]
        if outside := [name for name in names if not is_loopback(name)]:
            return f"it answers to {', '.join(outside)} (FORJA_ALLOWED_HOSTS)"
        return ""

    def open_without_accounts(self) -> str:
        """Why Forja must not start as set up (open to the network, no sign-in), in words; "" when it may."""
        exposure = self.network_exposure
        if not exposure or self.auth_mode == "password":
            return ""
        return (
            f"Forja will not start open to the network without accounts: {exposure}, and FORJA_AUTH is "
            f"{self.auth or 'not set'}, so anyone who reaches it could read, change and delete every project. Set "
            "FORJA_AUTH=password (then make the admin with: python -m builder user create --admin EMAIL), or listen on "
            "loopback only with FORJA_HOST=127.0.0.1."
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "forja.db"

    @property
    def sync_database_url(self) -> str:
        """URL for Alembic and other synchronous callers."""
        url = self.database_url or f"sqlite:///{self.sqlite_path}"
        if url.startswith(("postgres://", "postgresql://")):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def async_database_url(self) -> str:
        """URL for the service layer, with an asyncio driver for the same database."""
        url = self.sync_database_url
        if url.startswith("sqlite://"):
            return "sqlite+aiosqlite://" + url.removeprefix("sqlite://")
        return url

    @property
    def preview_extra_ca(self) -> str:
        """The CA bundle installs in previews must trust: the setting, else the one Forja's own Node trusts.

        On networks that intercept TLS (corporate proxies) the machine already sets NODE_EXTRA_CA_CERTS
        for its own npm; previews need the same, or every install fails on the certificate chain.
        """
        return self.extra_ca_cert or os.environ.get("NODE_EXTRA_CA_CERTS", "")

    @property
    def builder_origins(self) -> list[str]:
        """The origins the builder's own page is served from; nothing else may call its API."""
        origins = {f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"}
        if self.public_url:
            origins.add(self.public_url.rstrip("/"))
        return sorted(origins)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


settings = Settings()
