"""Every Forja setting, read once from environment variables (or `.env`) with defaults.

One place so that docs/settings.md (generated from the descriptions below), the UI, the API and the CLI agree.
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
    """Forja's configuration; each field is read from FORJA_<FIELD NAME> (DATABASE_URL has no prefix).

    Every field's description is its documentation: scripts/docs.py writes docs/settings.md from them, grouped by the
    `# == Group ==` comments below, and tests/unit/test_docs.py fails when one has none or the page is stale.
    """

    model_config = SettingsConfigDict(env_prefix="FORJA_", env_file=REPO_ROOT / ".env", extra="ignore")

    # == Server, storage and workers ==
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

    # == Accounts and quotas ==
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
        default=20, ge=0, description="Most API tokens one person may have working at once; more get a 429. `0` is no limit."
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

    # == Limits on requests and imports ==
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

    # == Models and generation ==
    anthropic_api_key: str = Field(
        default="",
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "FORJA_ANTHROPIC_API_KEY"),
        repr=False,
        description="Makes Claude the default provider. Read by the server only: never sent to the browser, a model, "
        "a log or a preview.",
    )
    anthropic_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "FORJA_ANTHROPIC_BASE_URL"),
        description="Another address for the Anthropic API (a proxy, a gateway).",
    )
    anthropic_model: str = Field(default="claude-sonnet-5-5", description="Claude model used for generation.")
    openai_api_key: str = Field(
        default="",
        validation_alias=AliasChoices("OPENAI_API_KEY", "FORJA_OPENAI_API_KEY"),
        repr=False,
        description="Enables the OpenAI-compatible provider (OpenAI, OpenRouter...). Read by the server only, as the "
        "Anthropic key.",
    )
    openai_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "FORJA_OPENAI_BASE_URL"),
        description="OpenAI-compatible server, e.g. `http://127.0.0.1:11434/v1` for Ollama on this machine (no key "
        "needed; set `FORJA_OPENAI_MODEL` to one of its models).",
    )
    openai_model: str = Field(default="gpt-4.1", description="Model name sent to the OpenAI-compatible server.")
    openai_vision: bool | None = Field(
        default=None,
        description="Whether the OpenAI-compatible model takes pictures (`true`/`false`). Empty means yes for OpenAI's "
        "own API (no `OPENAI_BASE_URL`) and no for other servers; set `true` for a local model that reads images. When "
        "no, an attached picture is kept but not sent, and the person is told so.",
    )
    attach_max_bytes: int = Field(
        default=5 * 1024 * 1024,
        description="Largest picture attached to a prompt (PNG, JPEG, GIF or WebP, recognised by its bytes), in bytes.",
    )
    attach_max_count: int = Field(default=4, description="Most pictures attached to one prompt.")
    provider: str = Field(
        default="",
        description="`anthropic`, `openai` or `offline`; empty picks Claude if its key is set, else OpenAI-compatible "
        "if set, else offline. Each project can pick its own in the workspace.",
    )
    max_output_tokens: int = Field(default=16000, description="`max_tokens` of one answer; a longer answer is continued.")
    max_segments: int = Field(default=4, description="How many parts an answer cut at the output limit may have.")
    generation_timeout_s: float = Field(
        default=1800.0,
        description="A generation running longer is stopped; a generation still marked running and older than this is "
        "from a Forja that is gone.",
    )
    request_timeout_s: float = Field(default=300.0, description="Timeout of one model request, in seconds.")
    connect_timeout_s: float = Field(default=15.0, description="Timeout to connect to the model's API, in seconds.")
    retry_attempts: int = Field(
        default=3,
        description="Tries (with doubling backoff) after 429, 529 or overload, for a request of which nothing was applied yet.",
    )
    retry_base_delay_s: float = Field(default=1.0, description="First backoff delay, in seconds; it doubles each retry.")
    followup_context_bytes: int = Field(
        default=60_000,
        description="File content sent with a follow-up or an Ask mode question; larger projects send only the files "
        "that matter.",
    )
    budget_project_usd: float = Field(
        default=0.0,
        ge=0,
        description="Most estimated model cost per project, in US dollars; `0` is no limit. A request whose largest cost "
        "(its input, and all of `FORJA_MAX_OUTPUT_TOKENS` at the model's price) would pass it is not sent, and the "
        "generation stops with a sentence naming the setting (the API answers 402 when the first request would).",
    )
    budget_daily_usd: float = Field(
        default=0.0,
        ge=0,
        description="Most estimated model cost for all projects together per UTC day, in US dollars, checked as the "
        "project budget is; `0` is no limit.",
    )

    # == Checks and repairs of generated apps ==
    verify_generations: bool = Field(
        default=True,
        description="Run each generated version, check it in headless Chromium and repair it before the generation "
        "ends; the CLI's `--no-verify` and the API's `\"verify\": false` skip it for one generation.",
    )
    auto_fix_attempts: int = Field(
        default=2,
        ge=0,
        description="Most automatic repair rounds after a check finds problems; `0` checks and reports only.",
    )
    chromium_path: str = Field(
        default="",
        validation_alias=AliasChoices("FORJA_CHROMIUM", "FORJA_CHROMIUM_PATH"),
        description="The Chromium that checks generated apps (Debian/Ubuntu: `apt-get install chromium-headless-shell`); "
        "empty: `chromium-headless-shell` on PATH, else `chromium`, else Playwright's own. Without one, generations end "
        '"Not checked" and say why.',
    )
    verify_checks_timeout_s: float = Field(
        default=60,
        description="Time for all of a generated project's own checks together (its package.json `build`, `lint`, "
        "type-check and `test` scripts, pytest, Django's check), run in its running preview; a check that would start "
        "with no time left is skipped.",
    )
    acceptance_check_timeout_s: float = Field(
        default=20,
        gt=0,
        description="Time for each acceptance check (a test in the project's `.forja/checks/`), run in headless "
        "Chromium after each version starts; each of its steps waits at most 5 s (opening a page, 15 s).",
    )
    agent_max_steps: int = Field(
        default=30,
        ge=1,
        description="Most steps (tool calls: read, edit, run a command, open a page...) of one agent-mode run; a run "
        "that reaches it ends without saving, its steps listed in the conversation.",
    )
    agent_command_timeout_s: float = Field(
        default=120,
        gt=0,
        description="Time for each command an agent-mode run runs in the app's sandbox (an install, the tests); one "
        "still running then is stopped and its output so far goes back to the model.",
    )

    # == Previews ==
    preview_runner: Literal["auto", "swarm", "docker", "local"] = Field(
        default="auto",
        description="`auto` (the swarm runner when Docker's engine is a swarm manager; else Docker when an engine is "
        "reachable and the preview image is built, which Forja does by itself; else local; each preview says which "
        "runner and why), `swarm`, `docker` or `local`.",
    )
    preview_port: int = Field(
        default=8800, description="Port of the preview proxy (Traefik); previews live at `http://<id>.<domain>:<port>`."
    )
    preview_domain: str = Field(default="localhost", description="Previews are `<id>.<domain>`.")
    share_previews: int = Field(
        default=5,
        ge=0,
        description="Share links' previews that may run at once on this Forja, all workers together: anyone with a "
        "link may start one, so they count here and never in their project owner's `FORJA_QUOTA_PREVIEWS`. Past it, a "
        "link's page says the app is busy, and starts it once there is room (a parked preview does not count). `0` is no "
        "limit.",
    )
    preview_host: str = Field(default="127.0.0.1", description="Address the preview proxy listens on.")
    terminals_per_project: int = Field(
        default=3,
        ge=0,
        description="Terminals (the Terminal tab's shells in a project's running preview) open at once in one project, "
        "everyone's together; one more is refused, saying so, until one closes. `0`: no terminals at all.",
    )
    terminal_output_bytes_per_s: int = Field(
        default=256 * 1024,
        gt=0,
        description="Most bytes per second a terminal sends to the page; past it, the rest of that second's output is "
        "dropped and the terminal says so in one line (a shell cannot flood the page or the server).",
    )
    terminal_idle_s: int = Field(
        default=900,
        gt=0,
        description="A terminal with no keystroke and no output for this long is closed, saying so (its shell ends).",
    )
    preview_park_after_s: int = Field(
        default=1800,
        gt=0,
        description="A preview nobody looked at for this long (Forja asked about it: the Preview tab, a share link's "
        "page, a save) is parked: its processes or container stop and it holds no memory, its files and installed "
        'dependencies are kept, and its address answers a "Starting the app..." page whose first request wakes it '
        "(as does its share link, or the Preview tab), without installing again; a dev server's own reconnect knock "
        "from a tab left open (Vite's) does not.",
    )
    preview_remove_after_s: int = Field(
        default=7 * 86400,
        gt=0,
        description="A preview parked this long (7 days) is removed, its files too; the next visit starts it afresh.",
    )
    preview_ttl_s: int = Field(
        default=4 * 3600, gt=0, description="A preview running this long is parked, as one nobody looked at."
    )
    preview_silent_s: int = Field(
        default=90,
        description="A dev server that prints nothing and listens on no port for this long is ended, and the Preview tab "
        "says it is stuck.",
    )
    preview_install_timeout_s: int = Field(
        default=900,
        gt=0,
        description="A preview's install (`npm install`, `pip install`...) still running after this long is stopped, "
        "and the preview says so with the install's last line.",
    )
    preview_answer_timeout_s: int = Field(
        default=240,
        gt=0,
        description="A dev server that has run this long while nothing answers HTTP (on `$PORT` or any port it "
        "listens on) is stopped, and the preview says where it listens and its last line. Any answer counts, an error "
        "page too: the preview then shows it.",
    )
    preview_start_timeout_s: int = Field(
        default=300,
        description="How long a preview started with `--wait` (CLI) or `?wait=true` (API) waits for the app to answer, "
        "and how long a generation's check waits for the app to start; past it, they say what the preview was still "
        "doing (installing, or starting its dev server), with the log's last lines.",
    )
    preview_image: str = Field(
        default="forja-preview",
        description="Docker preview containers' image repository: Forja builds it and tags it `in-<hash of its "
        "inputs>`; a `name:tag` is used as it is and never built. `DEBIAN_MIRROR` in Forja's environment changes the "
        "mirror the offline build uses.",
    )
    preview_network: str = Field(
        default="forja-previews",
        description="Docker network of the preview containers; the preview firewall's iptables chains are named after it.",
    )
    preview_memory_mb: int = Field(
        default=2048,
        description="Memory limit of one preview: its container (its /app and home tmpfs count too: a Next.js install "
        "needs about 1.4 GB), or its cgroup with the local runner (where the machine lets Forja make one; swap included "
        "where the kernel accounts it).",
    )
    preview_app_mb: int = Field(
        default=2048,
        gt=0,
        description="Docker and swarm runners: most a preview's /app may hold, its files, installed dependencies and "
        "build caches together (a tmpfs: what it holds counts as the preview's memory too). A Next.js app "
        "fills about 0.5 GB (create-next-app's: 488 MB of /app after its first page, 1.36 GB of memory at its peak); "
        "past it, writes fail with ENOSPC and the preview says which limit it hit.",
    )
    preview_home_mb: int = Field(
        default=1024,
        gt=0,
        description="Docker and swarm runners: most a preview's home may hold (a tmpfs), where npm keeps its download "
        "cache during an install (a few hundred MB for a large project).",
    )
    preview_tmp_mb: int = Field(
        default=512,
        gt=0,
        description="Docker and swarm runners: most a preview's /tmp may hold (a tmpfs), and each folder dev tools "
        "write to in a `node_modules` mounted from the dependency cache (`.vite`, `.cache`).",
    )
    preview_cpus: float = Field(default=1.0, description="CPU limit of one preview: its container, or the local runner's cgroup.")
    preview_pids: int = Field(
        default=256, description="Most processes and threads of one preview: its container, or the local runner's cgroup."
    )
    local_disk_mb: int = Field(
        default=4096,
        gt=0,
        description="Local runner: most disk one preview may fill in its folder, its `/tmp` and its project's home "
        "together (measured every few seconds; past it the preview is stopped), and the largest single file it may "
        "write.",
    )
    allow_unsandboxed: bool = Field(
        default=False,
        description="Local runner without bubblewrap (or where it cannot make a sandbox): `true` runs previews as your "
        "user with no sandbox, with a banner on the Preview tab, instead of refusing them.",
    )
    swarm_node_engines: str = Field(
        default="",
        description="Swarm runner: the Docker engines of the swarm's other nodes, as `hostname=tcp://address:2376` "
        "separated by commas (TLS as the docker CLI reads it: `DOCKER_TLS_VERIFY`, `DOCKER_CERT_PATH`). Previews run on "
        "Forja's own node and on these; empty: on Forja's node only. The tests run a single-node swarm only.",
    )
    preview_warm_pool: int = Field(
        default=1,
        ge=0,
        description="Docker preview containers kept created and started, waiting for a project, so a start only hands "
        "them the files; the pool follows the dependency cache of the most recent starts (a container never gets "
        "another project's cache). `0` turns it off.",
    )

    # == Installs in previews ==
    npm_registry: str = Field(
        default="",
        description="npm registry mirror for installs inside previews (empty: npm's default); sandboxed previews may "
        "reach it on its URL's port even at a private address.",
    )
    npm_seed_cache: Path | None = Field(
        default=REPO_ROOT / ".cache" / "starters-npm",
        description="An npm cache that installs in previews start from, with `prefer-offline` (setup fills it with the "
        "starters' packages). The local runner copies it once; Docker previews mount it read-only and copy it for an "
        "install (a path on the Docker host). Empty: no seed.",
    )
    corepack_cache: Path | None = Field(
        default=REPO_ROOT / ".cache" / "corepack",
        description="corepack's cache (`COREPACK_HOME`) of pnpm and yarn versions, read-only in previews of both runners "
        "(Docker: a path on the Docker host), so pnpm and yarn projects install with no download of the manager; "
        "setup prepares Forja's default versions into it (a registry mirror without npm's signatures needs "
        "`COREPACK_INTEGRITY_KEYS=0` in setup's environment). Empty: previews download the managers.",
    )
    pip_seed_wheels: Path | None = Field(
        default=REPO_ROOT / ".cache" / "starters-wheels",
        description="A folder of wheels pip looks in first (`PIP_FIND_LINKS`), read-only in both runners' sandboxes. "
        "Empty: none.",
    )
    preview_offline: bool = Field(
        default=False,
        description="Installs in previews use only the two seeds above, never a registry (`npm_config_offline`, "
        "`PIP_NO_INDEX`): for air-gapped machines.",
    )
    pip_index_url: str = Field(
        default="",
        description="Python package index mirror for installs inside previews; sandboxed previews may reach it on its "
        "URL's port even at a private address. A proxy in Forja's own `HTTPS_PROXY`/`HTTP_PROXY` (and `NO_PROXY`) is "
        "used by the egress proxy to reach registries.",
    )
    preview_egress_hosts: str = Field(
        default="registry.npmjs.org,registry.yarnpkg.com,pypi.org,files.pythonhosted.org",
        description="Hosts (comma-separated) that installs in sandboxed local previews and swarm previews may reach, "
        "besides the mirrors above; nothing else is reachable from a preview.",
    )
    extra_ca_cert: str = Field(
        default="",
        description="Path of an extra CA bundle trusted by installs inside previews (corporate proxies that intercept "
        "TLS); empty: `NODE_EXTRA_CA_CERTS` of Forja's environment, if set.",
    )

    # == WebContainers ==
    webcontainers: bool = Field(
        default=True,
        description="Run front-end-only projects in a WebContainer in the person's browser first; `false` always uses "
        "the server runner.",
    )
    webcontainer_boot_timeout_s: float = Field(
        default=20.0,
        description="How long the browser waits for a WebContainer to boot before it falls back to the server runner "
        "(offline, the boot never answers).",
    )
    webcontainer_client_id: str = Field(
        default="",
        validation_alias=AliasChoices("WEBCONTAINER_CLIENT_ID", "FORJA_WEBCONTAINER_CLIENT_ID"),
        description="StackBlitz client id for commercial WebContainer use; it is sent to the browser (it is a public "
        "id, not a secret).",
    )

    # == Published apps ==
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

    # == Apps' data ==
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

    @field_validator("npm_seed_cache", "pip_seed_wheels", "corepack_cache", mode="before")
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
