"""Settings of Forja's server: where it keeps its data and listens, accounts and quotas, and limits on requests."""

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


def is_loopback(host: str) -> bool:
    """Whether a listen address or host name stays on this machine (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class ServerSettings(BaseSettings):
    """Server, storage and workers"""

    data_dir: Path = Field(
        default=REPO_ROOT / "data", description="Where the SQLite database, preview folders and the proxy's files live."
    )
    shared_dir: Path | None = Field(
        default=None,
        description="With several workers: a folder every worker mounts (a shared volume, NFS), the same on each, for "
        "what any worker must serve: the published apps' built files (`releases/`) and the apps' `/data` folders "
        "(`appdata/`). Empty: both live under `FORJA_DATA_DIR`, which is right for one worker (see "
        "[Several workers](deploying.md#several-workers)).",
    )
    redis_url: str = Field(
        default="",
        validation_alias=AliasChoices("REDIS_URL", "FORJA_REDIS_URL"),
        description="Redis shared by several Forja workers, e.g. `redis://redis:6379/0`: the page's state (Reflex's Redis "
        "state manager), generations' events, every project's log lines, the leases that say which worker runs a "
        "generation, and the leader that runs the sweeps (see [Several workers](deploying.md#several-workers)). Empty: "
        "one worker, everything in its process.",
    )
    worker_lease_s: float = Field(
        default=15.0,
        gt=0,
        description="With several workers: how long a worker's leases (the leader's, and those of the generations, "
        "previews and publishes it runs) outlive it, in seconds; each is renewed every third of it. A dead worker's "
        "generations and publishes end, and its previews are freed, about this long after it died.",
    )
    sweep_every_s: float = Field(
        default=10.0,
        gt=0,
        description="How often each worker sweeps, in seconds: previews that missed a save brought to their project's "
        "version, previews of expired share links ended, custom domains checked, the apps' `/data` folders measured; "
        "with several workers the leader also ends the generations and publishes a dead worker left, and starts a "
        "backup when one is due.",
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "FORJA_DATABASE_URL"),
        description="SQLAlchemy URL, e.g. `postgresql://forja:secret@db:5432/forja`; empty means SQLite in "
        "`FORJA_DATA_DIR/forja.db`.",
    )
    secret_key: str = Field(
        default="",
        description="The key that encrypts the apps' own variables (their Environment panel) in the database: a Fernet "
        "key, made with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`. "
        "Empty: Forja makes one into `FORJA_DATA_DIR/secret.key` (mode 0600) on its first start and uses it from then "
        "on; back that file up with the database, since without it the variables cannot be read. Every worker must "
        "have the same key.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on (`0.0.0.0` on a server).")
    port: int = Field(default=3000, description="Port of the page, the API and the websocket (one port).")
    public_url: str = Field(
        default="",
        description="The address people open, e.g. `https://forja.example.com`; links Forja makes (invitations, "
        "password resets) use it. Empty: the page is `http://localhost:PORT`, and links made from the command line "
        "use `http://FORJA_HOST:PORT`.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="warning",
        description="Least severe log record Forja's console shows, Forja's own and its libraries' alike: `warning` keeps "
        "the console calm; `info` adds Forja's notes and the libraries' (each HTTP request httpx makes, for example).",
    )
    allowed_hosts: str = Field(
        default="",
        description="Extra host names Forja answers to, comma-separated. Besides these it answers only to `localhost`, "
        "`127.0.0.1`, `[::1]`, `FORJA_HOST` and `FORJA_PUBLIC_URL`'s host; any other `Host` gets a 400 (guards against "
        "DNS rebinding).",
    )
    trusted_proxies: str = Field(
        default="",
        description="Addresses or networks (CIDR) of the reverse proxies in front of Forja, comma-separated, e.g. "
        "`127.0.0.1,172.16.0.0/12`. Only a request from one of these may say, with `X-Forwarded-For`, "
        "`X-Forwarded-Proto` and `X-Forwarded-Host`, whom it comes from and how it was asked for; from anyone else "
        "those headers are dropped, so nobody can pose as another address. Empty: no proxy is trusted.",
    )
    drain_seconds: float = Field(
        default=0,
        ge=0,
        le=300,
        description="With several workers behind a load balancer: on SIGTERM a worker answers `/health` with a 503 for "
        "this many seconds while it goes on serving, so the balancer's health check takes it out of its pool before it "
        "stops (set it above the check's interval); then it finishes the requests under way and stops. 0: it stops at "
        "once.",
    )

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

    @property
    def served_dir(self) -> Path:
        """Where what every worker serves lives: FORJA_SHARED_DIR, else the data folder."""
        return self.shared_dir or self.data_dir

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
    def builder_origins(self) -> list[str]:
        """The origins the builder's own page is served from; nothing else may call its API."""
        origins = {f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"}
        if self.public_url:
            origins.add(self.public_url.rstrip("/"))
        return sorted(origins)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def page_url(self) -> str:
        """The address a person opens in a browser, the one every message to a person names: the public address, else
        `localhost` for a Forja that listens on this machine's every or loopback address, else its own."""
        host = self.host.strip("[]")
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://localhost:{self.port}" if host in ("0.0.0.0", "::", "") or is_loopback(host) else self.local_url

    @property
    def local_url(self) -> str:
        """Where this machine reaches Forja's page and API: its listen address (loopback for every address) and port."""
        host = self.host.strip("[]")
        reach = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
        reach = f"[{reach}]" if ":" in reach else reach
        return f"http://{reach}:{self.port}"


class AccountSettings(BaseSettings):
    """Accounts and quotas"""

    auth: Literal["", "none", "password"] = Field(
        default="",
        description="`none`: no accounts, one local user (the default when Forja listens on loopback only, as on a "
        "laptop). `password`: accounts with sign-in (see [Accounts](accounts.md)). Forja refuses to start without "
        "`password` when it is open to the network: `FORJA_HOST` not loopback, or `FORJA_PUBLIC_URL`/"
        "`FORJA_ALLOWED_HOSTS` naming another host.",
    )
    signup: Literal["open", "invite", "closed"] = Field(
        default="invite",
        description="With accounts, who may sign up: `open` (anyone who reaches the page), `invite` (with an admin's "
        "invitation link), `closed` (admins add people with `python -m builder user create`). The first account is "
        "always the admin's (it needs the setup code Forja prints in its log).",
    )
    session_days: int = Field(default=30, gt=0, description="A sign-in lasts this many days after the last visit.")
    signin_attempts: int = Field(
        default=10,
        gt=0,
        description="Failed sign-ins (or other checks of a password or the setup code) in 15 minutes before Forja slows "
        "down: per account from one address, after which that address waits 15 minutes for that account; per account "
        "from everywhere, after which each further try must wait a growing delay (2 s, 4 s... at most a minute; earlier "
        "ones get a short 429); and ten times as many per address. A browser that signed in to the account before is "
        "never slowed by others' failures (see [Accounts](accounts.md#failed-sign-ins)).",
    )
    signups_per_hour: int = Field(
        default=5,
        ge=0,
        description="With open sign-up or invitations, most accounts made from one address (an IPv6 /64) in an hour; "
        "more get a 429. `0` is no limit.",
    )
    tokens_per_person: int = Field(
        default=20,
        ge=0,
        description="Most API tokens one person may have working at once, and as many git tokens (counted apart); more "
        "get a 429. `0` is no limit.",
    )
    git_token_max_days: int = Field(
        default=90,
        gt=0,
        le=3650,
        description="Most days a git token (one project's, for git alone) may last. The Clone dialog's default is 30 days, "
        "or this when shorter (see [Accounts: git tokens](accounts.md#git-tokens)).",
    )
    git_pushes_per_hour: int = Field(
        default=60,
        ge=0,
        description="With accounts, most git pushes to Forja one person may make in an hour (pushes taken count, "
        "refused ones do not); the next is refused with a sentence saying when they may push again. `0` is no limit.",
    )
    git_push_mb_per_hour: int = Field(
        default=200,
        ge=0,
        description="With accounts, most MB one person's git pushes to Forja may bring in an hour, as git received "
        "them (the push's objects on disk, measured before anything is kept); a push that would pass it is refused with "
        "a sentence saying when they may push again. `0` is no limit.",
    )
    quota_tokens_day: int = Field(
        default=1_000_000,
        ge=0,
        description="With accounts, each person's default model tokens per UTC day; a request whose largest use would "
        "pass it is not sent (429). `0` is no limit. Admins change the defaults and each person's values on the admin "
        "page.",
    )
    quota_cost_day_usd: float = Field(
        default=5.0,
        ge=0,
        description="With accounts, each person's default estimated model cost per UTC day, in US dollars, checked as "
        "the tokens are. `0` is no limit.",
    )
    quota_previews: int = Field(
        default=3,
        ge=0,
        description="With accounts, each person's default previews of their projects running at once (share links' "
        "previews count in `FORJA_SHARE_PREVIEWS` instead). `0` is no limit.",
    )
    quota_projects: int = Field(
        default=50, ge=0, description="With accounts, each person's default projects owned (the trash counts). `0` is no limit."
    )
    quota_storage_mb: int = Field(
        default=500,
        ge=0,
        description="With accounts, each person's default stored files of the projects they own, all versions, in MB. "
        "`0` is no limit.",
    )
    quota_published_apps: int = Field(
        default=5,
        ge=0,
        description="With accounts, each person's default published apps live at once (apps of the projects they own; "
        "a taken-down app does not count). A publish that would pass it is refused (429). `0` is no limit.",
    )
    quota_build_minutes_day: int = Field(
        default=30,
        ge=0,
        description="With accounts, each person's default minutes of publish builds per UTC day (the build time of "
        "every release of the projects they own, failed ones too); once used, the next publish is refused (429) until "
        "midnight (UTC). `0` is no limit.",
    )

    @property
    def auth_mode(self) -> str:
        """none or password: the setting, else none (Forja refuses to start open to the network that way)."""
        return self.auth or "none"


class LimitSettings(BaseSettings):
    """Limits on requests and imports"""

    max_request_bytes: int = Field(
        default=8 * 1024 * 1024,
        description="Largest request body (8 MB), except project creation and uploads, which may be "
        "`FORJA_MAX_UPLOAD_BYTES` plus 1 MB; larger bodies get a 413 before they are read.",
    )
    max_json_bytes: int = Field(
        default=2 * 1024 * 1024,
        gt=0,
        description="Largest JSON request body (2 MB), project creation included: a larger project comes as a zip "
        "upload. A prompt's pictures may add their own size. Past it a 413, before the body is read.",
    )
    max_files: int = Field(default=2000, description="Most files in one project or import.")
    max_file_bytes: int = Field(default=2 * 1024 * 1024, description="Largest single file (2 MB).")
    max_total_bytes: int = Field(default=50 * 1024 * 1024, description="Largest project, all files together (50 MB).")
    max_upload_bytes: int = Field(default=60 * 1024 * 1024, description="Largest zip upload (60 MB).")
    max_zip_entries: int = Field(
        default=50_000,
        description="Most entries (folders and skipped files too) a zip may list; checked from the zip's last bytes, "
        "before anything is unpacked.",
    )
    max_zip_ratio: int = Field(
        default=200, description="Largest unpacked/packed ratio of a zip member over 1 MB (zip-bomb guard)."
    )
    collab_max_editors: int = Field(
        default=10,
        ge=1,
        description="Most people editing one project's files together at once (each open file's room counts them, on "
        "every worker); one more is refused with a sentence saying so. Viewers following read-only are not counted.",
    )
    git_import_private: bool = Field(
        default=False,
        description="Let an import from a git URL, and a project's remote, reach loopback and private addresses (a git "
        "server on Forja's own network). Off, only public addresses: a URL cannot make Forja reach what only it can reach.",
    )
