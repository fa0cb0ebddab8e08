"""Settings of previews: the runners and their limits, installs in them, and WebContainers."""

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings

from builder.settings.server import REPO_ROOT


class PreviewSettings(BaseSettings):
    """Previews"""

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


class InstallSettings(BaseSettings):
    """Installs in previews"""

    npm_registry: str = Field(
        default="",
        description="npm registry mirror for installs inside previews (empty: npm's default); sandboxed previews may "
        "reach it on its URL's port even at a private address. A Yarn 1 project's yarn.lock names the public "
        "registry in each package's URL, which Yarn 1 fetches as written: the copy a preview installs from names this "
        "mirror there instead (the project's own file is unchanged).",
    )
    corepack_integrity_keys: str = Field(
        default="",
        description="The keys corepack checks the pnpm and yarn it downloads against (`COREPACK_INTEGRITY_KEYS` in "
        "previews of every runner and in setup's preparation of the corepack cache). Empty: corepack's own, npm's; "
        "`0`: no check, for a registry mirror that does not serve npm's signatures (corepack then refuses every "
        'download); or a JSON object of keys as corepack reads them (`{"npm": [{"keyid": ..., "key": ...}]}`).',
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
        "FORJA_COREPACK_INTEGRITY_KEYS). Empty: previews download the managers.",
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

    @field_validator("corepack_integrity_keys")
    @classmethod
    def _corepack_keys(cls, value: str) -> str:
        """Refused at start, in words: corepack would refuse every download of a manager instead."""
        text = value.strip()
        if text in ("", "0"):
            return text
        try:
            keys = json.loads(text)
        except ValueError:
            keys = None
        if not isinstance(keys, dict):
            raise ValueError("FORJA_COREPACK_INTEGRITY_KEYS is empty, 0 or a JSON object of keys")
        return text

    engines_dir: Path = Field(
        default=REPO_ROOT / ".cache" / "engines",
        description="Where setup installs the external coding agents a project may pick as its engine (OpenCode in "
        "`opencode/`, Codex in `codex/`, each at the version its lockfile in preview_runtime/engines/<name> pins); they "
        "run in the local runner's sandbox.",
    )

    @field_validator("npm_seed_cache", "pip_seed_wheels", "corepack_cache", mode="before")
    @classmethod
    def _empty_means_none(cls, value: object) -> object:
        # Path("") is the working directory: an empty setting must never mount that into previews.
        return None if value == "" else value

    @property
    def preview_extra_ca(self) -> str:
        """The CA bundle installs in previews must trust: the setting, else the one Forja's own Node trusts.

        On networks that intercept TLS (corporate proxies) the machine already sets NODE_EXTRA_CA_CERTS
        for its own npm; previews need the same, or every install fails on the certificate chain.
        """
        return self.extra_ca_cert or os.environ.get("NODE_EXTRA_CA_CERTS", "")


class WebContainerSettings(BaseSettings):
    """WebContainers"""

    webcontainers: bool = Field(
        default=True,
        description="Run front-end-only projects in a WebContainer in the person's browser first, where "
        "`FORJA_PREVIEW_RUNNER` is `auto` and the page can (it is cross-origin isolated); `false`, or a runner asked for "
        "by name, always uses the server runner.",
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
