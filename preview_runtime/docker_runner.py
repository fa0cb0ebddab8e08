"""Docker runner: one hardened container per preview, on an isolated bridge network.

Each preview is one container made from the preview image (preview_runtime/images: Debian
bookworm, Node 24 + npm, Python 3 + venv + pip, tini, user `preview` uid 10001). The runner

1. creates a volume for /app backed by tmpfs (size-limited, owned by uid 10001, exec allowed). It
   is a *volume* rather than a HostConfig tmpfs because Docker's archive API
   (put_archive/get_archive) only reaches volumes when the root filesystem is read-only: a plain
   --tmpfs /app could not receive the project files;
2. creates and starts the container, or claims one from the warm pool (below) that was created
   and started before anyone asked. Either way the container's entry script waits for
   /app/.forja-bootstrap/ready; nothing in the container's configuration is specific to the
   preview except its labels;
3. uploads, in one put_archive (tar entries owned by 10001), the project files, the bootstrap
   (an `env` file with PORT, the install and dev commands and whether a dependency cache applies,
   shell-quoted; the extra CA bundle when set) and, as the tar's last entry, `ready`. The
   container moves the bootstrap out of /app, sources `env`, then runs `sh -c "$INSTALL"` and
   `exec sh -c "$DEV"` as user `preview` with PORT=plan.port and HOST=0.0.0.0;
4. follows the container's output line by line into the LogSink (source "install" until the dev
   command starts, then "dev-server"), polls http://<container ip>:<port>/ until it answers
   (state starting -> installing -> running), and reports an exit in plain words, out of memory
   included (State.OOMKilled).

Hardening of every container: User 10001:10001, ReadonlyRootfs with tmpfs /tmp and /home/preview,
CapDrop ALL, no-new-privileges, Memory (= MemorySwap, default 1 GiB), NanoCpus (default 1 CPU),
PidsLimit (default 256), optionally a nofile ulimit, json-file logs capped by max-size/max-file, IPv6 off,
never privileged, no Docker socket, no host network, no published ports.

Network isolation
-----------------
Previews join one user-defined bridge network per runner (default "forja-previews") created with
com.docker.network.bridge.enable_icc=false (Docker then drops container-to-container traffic on it).
On top of that the runner installs, idempotently and before the first container starts, its own
rules scoped to that network's bridge interface BR (e.g. br-0123456789ab), in two chains named
after the bridge (C = the bridge name without "br-"):

    iptables -N FORJA-FWD-C            # flushed and refilled on every install
    -A FORJA-FWD-C -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
    -A FORJA-FWD-C -o BR -j DROP                            # preview -> other preview
    -A FORJA-FWD-C -d NS/32 -p udp --dport 53 -j RETURN     # for each nameserver of the host:
    -A FORJA-FWD-C -d NS/32 -p tcp --dport 53 -j RETURN     #   Docker's DNS forwards from the container
    -A FORJA-FWD-C -d 0.0.0.0/8 -j DROP
    -A FORJA-FWD-C -d 10.0.0.0/8 -j DROP
    -A FORJA-FWD-C -d 100.64.0.0/10 -j DROP
    -A FORJA-FWD-C -d 127.0.0.0/8 -j DROP
    -A FORJA-FWD-C -d 169.254.0.0/16 -j DROP                # link-local, cloud metadata 169.254.169.254
    -A FORJA-FWD-C -d 172.16.0.0/12 -j DROP
    -A FORJA-FWD-C -d 192.168.0.0/16 -j DROP
    -A FORJA-FWD-C -d 224.0.0.0/3 -j DROP                   # multicast and reserved
    -A FORJA-FWD-C -d HOSTADDR/32 -j DROP                   # for each IPv4 address of the host
    -A FORJA-FWD-C -j RETURN                                # public internet: the package registries
    -I DOCKER-USER 1 -i BR -j FORJA-FWD-C
    -I DOCKER-USER 1 -o BR -m conntrack --ctstate NEW -j DROP   # nothing forwarded opens a connection to a preview

    iptables -N FORJA-IN-C
    -A FORJA-IN-C -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A FORJA-IN-C -j DROP
    -I INPUT 1 -i BR -j FORJA-IN-C

    ip6tables -I INPUT 1 -i BR -j DROP ; ip6tables -I FORWARD 1 -i BR -j DROP   (when ip6tables exists)

Rules left behind by a network that was removed (its bridge is gone) are deleted on each install
(remove_stale_firewall_rules). The FORWARD rules (DOCKER-USER runs first in FORWARD) keep previews off other previews, private
ranges, link-local/metadata and anything routed to the host's networks. The INPUT rule matters
as much: a packet from a preview to *any* address of the host itself (the bridge gateway, the
host's LAN address, an address on lo such as a local metadata endpoint) is delivered locally and
never crosses FORWARD, so without it a preview could reach Forja, PostgreSQL or anything else
listening on 0.0.0.0. Only replies to connections the host opened are accepted: the proxy
(Traefik, on the host) connects *to* each container at its bridge IP (PreviewInfo.upstream), so
previews never need to open anything towards the host. The bridge netfilter hook
(net.bridge.bridge-nf-call-iptables) must be on for intra-bridge rules to apply; the runner turns it
on or refuses to start previews. The rules need root on the Docker host; with
manage_firewall=False an administrator installs them instead (`firewall_commands()` lists them).

Dependency cache
----------------
A project's dependencies are cached in a named volume `forja-deps-<key>`, key = hash of the plan's
lockfile_hash_inputs (package.json, package-lock.json, requirements.txt...), the install command,
the image id and the scope (per project by default, so one project's install scripts can never
plant code into another project's previews; `deps_cache_scope="global"` shares across projects).
Previews mount it read-only at /deps; it is written only by the runner:

* miss: the container installs into /app (node_modules, and for pip a venv at /app/.venv), says
  so and goes on to the dev command; meanwhile the runner streams /app/node_modules and /app/.venv
  out with get_archive (capped by deps_cache_max_bytes), extracts them into the volume through a
  never-started holder container (no network, never runs), writes /deps/.forja-complete and then
  a marker volume `forja-deps-<key>.complete` (labelled with the folders it holds), so a
  half-written cache is never used and a restarted Forja knows which caches are complete;
* hit, the usual case: a container created once the cache is complete gets its folders
  bind-mounted read-only in place (/app/node_modules, /app/.venv, from the volume's path on the
  Docker host), with a small tmpfs over each folder in node_modules that dev tools write to
  (TOOL_DIRS: Vite's .vite and .vite-temp, loaders' .cache). Nothing is copied: the start skips
  the install at once, and node_modules costs no memory. Copied into /app's tmpfs it was ~50 MB
  of the preview's memory for the React + Vite starter (tmpfs pages count toward the container's
  limit); mounted, an idle preview measures ~112 MB instead of ~178 MB (bench/preview.py).
  A preview cannot change what the next one gets. Tools that write elsewhere in node_modules
  while the dev server runs get EROFS; install-time writes (postinstall, generated clients) are
  in the cache already;
* hit, fallback: a container made before the cache was complete (a pool container), or a cache
  without its marker, copies /deps/node_modules (and .venv) into /app with `cp -a`, dropping the
  tool folders the dev server may have been writing while the copy was taken. Pool containers do
  that copy while they wait, and are replaced by ones with the cache mounted once it is complete.

Docker holds a container's lock from the start of a get_archive until the archive has been read
to the end or the connection is closed; while it is held, inspect, logs, exec, rename and delete
of that container all wait. The copy therefore closes its connection on every way out (a size cap
hit, an error, a cancellation): a reader that merely stopped reading left dockerd's `docker-tar`
blocked on a full pipe and every later call on the container, the preview's own stop included,
waiting forever. stop() lets a copy that is under way finish (bounded by deps_save_timeout_s)
before it removes the container, so stopping a preview right after its first install still
leaves a cache for the next start.

The /deps mount stays when the folders are bind-mounted: it is what tells Docker the volume is in
use, so `prune_dependency_caches()` (which removes unused cache volumes and their markers) never
removes a cache under a running preview.

Seeds: `npm_seed` (an npm cache; scripts/prefetch_starters.py fills one with the starters'
packages) and `wheel_seed` (a folder of wheels) are host folders mounted read-only at /seed. An
install copies the npm seed into $HOME/.npm first and installs with prefer-offline (PIP_FIND_LINKS
for the wheels), then deletes $HOME/.npm: it lies on a tmpfs, which would count as the idle
preview's memory. With `extra_env` {npm_config_offline, PIP_NO_INDEX} installs use only the seeds,
as an air-gapped machine needs (Forja's FORJA_PREVIEW_OFFLINE).

The dev command is the package.json script itself when the plan runs `npm run <script>` and npm
would add nothing (plan.npm_script): npm's own Node process costs ~17 MB per idle preview.

Warm pool
---------
With warm_pool=N (Forja's setting FORJA_PREVIEW_WARM_POOL, default 1; the class defaults to 0)
the runner keeps N containers created, started and waiting for their bootstrap, with the same
hardened configuration as any preview. start() claims one instead of creating and starting a
container (about 0.3-0.5 s of the engine's time), then the pool is refilled in the background
once the claimed preview answers (or after a few seconds), so the refill does not compete with
the start it replaces.

What cannot change after a container is created, and how the pool deals with it:

* the environment: nothing preview-specific is in it. PORT, the install and dev commands and
  the cache flag come in the bootstrap's `env` file, for pooled and fresh containers alike;
  FORJA_NONCE (the marker prefix) is made when the container is created.
* mounts: /app is the pool container's own tmpfs volume. The dependency cache volume is the
  one thing a preview needs that is specific to its project, and mounting every cache into
  every container would let one project read another's dependencies. So each pool container is
  made for one cache key (or for none): the pool follows the keys of the most recent starts
  (N=1: a container ready for the project started last, e.g. its restart or a share link of it),
  and a start only claims a container made for its own key. A start that finds none gets a fresh
  container, as without a pool.
* labels and name: a pool container is labelled forja.pool=1 and named `<network>.pool-<hex>`.
  On claim it is renamed to the preview's usual name, and the preview's identity (preview id,
  project, version, port, its /app volume) is written as the labels of a small claim-record
  volume `<network>.claim-<preview>`, which no container mounts: previews cannot reach the Docker
  API, so they cannot forge it. adopt() reads identities from claim records for pool containers
  and from container labels otherwise.

After a Forja restart, adopt() removes pool containers that were never claimed (they are cheap
to make again, and their configuration may be stale) with their volumes, adopts claimed ones
that still run, removes claim records whose container is gone, and fills the pool again. close()
removes the unclaimed pool containers; running previews stay for adopt(), as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import json
import logging
import os
import re
import secrets
import shlex
import shutil
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import aiodocker
import aiohttp
import httpx
from aiodocker.exceptions import DockerError

from preview_runtime.logs import LogLevel
from preview_runtime.plan import dependency_key, npm_script
from preview_runtime.runner import LogSink, PreviewInfo, PreviewSpec, PreviewState, Runner, RunnerError

log = logging.getLogger(__name__)

PREVIEW_UID = 10001
APP_DIR = "/app"
DEPS_DIR = "/deps"
SEED_DIR = "/seed"  # packages fetched ahead (npm cache, wheels), mounted read-only: installs work offline
BOOTSTRAP = ".forja-bootstrap"  # uploaded into /app, moved out by the container before anything runs
CACHED_DIRS = ("node_modules", ".venv")
# Folders in node_modules that dev tools write to (Vite's pre-bundled deps and bundled config, loaders'
# caches): writable tmpfs over a node_modules that is mounted read-only from the cache.
TOOL_DIRS = (".vite", ".vite-temp", ".cache")
PRIVATE_RANGES = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/3",
)
LABEL_MANAGED = "forja.managed"
LABEL_NETWORK = "forja.network"

# The container's entry script (bash, which the preview image has). Everything specific to the
# preview (PORT, FORJA_INSTALL, FORJA_DEV, FORJA_DEPS_CACHE) comes in the bootstrap's `env` file,
# so that a container started before anyone asked (the warm pool) serves any preview; lines
# starting with "[forja:<nonce>]" are markers for the runner and are not shown to the user.
# stderr goes into stdout so markers and output keep their order (Docker logs each stream
# separately and may interleave them). While waiting it polls every 20 ms with bash's `read -t`
# on a FIFO of its own (no process started per poll), and a container that has the dependency
# cache mounted copies it into /app meanwhile.
ENTRY_SCRIPT = r"""
exec 2>&1
M="[forja:$FORJA_NONCE]"
B=/app/.forja-bootstrap
F=/home/preview/.forja
export PATH="/app/.venv/bin:/app/node_modules/.bin:$PATH"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
restore() {
  for d in node_modules .venv; do
    if [ -e "/deps/$d" ]; then cp -a "/deps/$d" /app/ || return 1; fi
  done
  rm -rf /app/node_modules/.vite /app/node_modules/.cache
}
if mkfifo /tmp/.forja-tick 2>/dev/null && exec 9<>/tmp/.forja-tick; then
  tick() { read -r -t 0.02 -u 9 _; }
else
  tick() { sleep 0.05; }
fi
restored=""
if [ -n "$FORJA_DEPS_MOUNTED" ]; then restored=mounted; fi
deadline=$((SECONDS + ${FORJA_WAIT_S:-60}))
while [ ! -e "$B/ready" ]; do
  if [ -z "$restored" ] && [ -f /deps/.forja-complete ]; then
    t0=$(now_ms)
    if restore; then restored=$(( $(now_ms) - t0 )); else restored=failed; fi
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then echo "$M no-files"; exit 97; fi
  tick
done
exec 9<&-
rm -f /tmp/.forja-tick
mkdir -p "$F"
cp -a "$B/." "$F/" && rm -rf "$B"
if [ -f "$F/env" ]; then . "$F/env"; fi
if [ -f "$F/extra-ca.pem" ]; then
  cat /etc/ssl/certs/ca-certificates.crt "$F/extra-ca.pem" > "$F/ca-bundle.pem"
fi
if [ -n "$FORJA_INSTALL" ]; then
  if [ -n "$FORJA_DEPS_CACHE" ] && [ "$restored" = mounted ]; then
    echo "$M deps-mounted"
  elif [ -n "$FORJA_DEPS_CACHE" ] && [ -n "$restored" ] && [ "$restored" != failed ]; then
    echo "$M deps-restored $restored"
  elif [ -n "$FORJA_DEPS_CACHE" ] && [ -f /deps/.forja-complete ]; then
    echo "$M deps-restoring"
    t0=$(now_ms)
    restore || { echo "$M restore-failed"; exit 98; }
    echo "$M deps-restored $(( $(now_ms) - t0 ))"
  else
    echo "$M installing"
    t0=$(now_ms)
    if [ -d /seed/npm/_cacache ] && [ ! -e "$HOME/.npm" ]; then cp -a /seed/npm "$HOME/.npm"; fi
    case "$FORJA_INSTALL" in
      *pip*) [ -e /app/.venv ] || python -m venv --system-site-packages --without-pip /app/.venv ;;
    esac
    sh -c "$FORJA_INSTALL" || { rc=$?; echo "$M install-failed $rc"; exit $rc; }
    rm -rf "$HOME/.npm"  # the download cache lies on a tmpfs, which counts as the preview's memory
    dirs=""
    for d in node_modules .venv; do [ -e "/app/$d" ] && dirs="$dirs $d"; done
    echo "$M deps-installed $(( $(now_ms) - t0 ))$dirs"
  fi
fi
echo "$M dev"
exec sh -c "$FORJA_DEV"
"""
FRESH_WAIT_S = 60  # a fresh container gets its files within a second; give up after a minute
POOL_WAIT_S = 24 * 3600  # a pool container waits this long for a claim, then exits (removed on the next claim or adopt)
LABEL_POOL = "forja.pool"
LABEL_POOL_DEPS = "forja.pool_deps"
LABEL_CLAIM = "forja.claim"
DEPS_SAVE_CHUNK = 1 << 20

_EXIT_MEANINGS = {
    1: "the command failed",
    2: "the command was misused",
    126: "a command could not run",
    127: "a command was not found",
    130: "interrupted",
    134: "aborted",
    137: "killed",
    139: "crashed: segmentation fault",
    143: "terminated",
}


def _human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"


def _ms(words: list[str], fallback: float) -> float:
    """Seconds from a marker's millisecond count (measured in the container), else the runner's own timing."""
    try:
        return int(words[0]) / 1000
    except (IndexError, ValueError):
        return fallback


def _deps_volume_name(deps_key: str) -> str:
    return f"forja-deps-{deps_key}"


def _deps_marker_name(deps_key: str) -> str:
    return f"forja-deps-{deps_key}.complete"


def _safe_name(text: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:100].strip("-.")
    return name or hashlib.sha256(text.encode()).hexdigest()[:16]


def _clean_relpath(path: str) -> str:
    """A project path as a safe relative POSIX path; RunnerError for absolute or escaping paths."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts):
        raise RunnerError(f"Forja cannot write {path!r}: project paths must stay inside the project folder.")
    return str(p)


def _tar_files(files: Mapping[str, bytes], *, prefix: str = "", dirs: Iterable[str] = ()) -> bytes:
    """A tar archive of files and folders (and their parent folders), all owned by the preview user."""
    buf = io.BytesIO()
    now = time.time()
    added: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(d: str) -> None:
            if not d or d in added:
                return
            parent = str(PurePosixPath(d).parent)
            if parent != ".":
                add_dir(parent)
            added.add(d)
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.uid, info.gid, info.mtime = tarfile.DIRTYPE, 0o755, PREVIEW_UID, PREVIEW_UID, now
            tar.addfile(info)

        for raw_path, data in files.items():
            path = _clean_relpath(prefix + raw_path if prefix else raw_path)
            parent = str(PurePosixPath(path).parent)
            if parent != ".":
                add_dir(parent)
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o644, PREVIEW_UID, PREVIEW_UID, now
            if path.endswith((".sh",)) or data.startswith(b"#!"):
                info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
        for d in dirs:
            add_dir(_clean_relpath(d))
    return buf.getvalue()


def _nameservers() -> list[str]:
    """IPv4 nameservers Docker's embedded DNS forwards to (from the container's namespace)."""
    found: list[str] = []
    for path in ("/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"):
        try:
            text = open(path, encoding="utf-8").read()
        except OSError:
            continue
        for match in re.finditer(r"^\s*nameserver\s+(\S+)", text, re.MULTILINE):
            try:
                ip = ipaddress.ip_address(match.group(1))
            except ValueError:
                continue
            if ip.version == 4 and not ip.is_loopback and str(ip) not in found:
                found.append(str(ip))
        if found:
            break
    return found


async def _run(*argv: str, check: bool = True) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace").strip()
    if check and proc.returncode != 0:
        raise RunnerError(f"{' '.join(argv)} failed: {text}")
    return proc.returncode or 0, text


async def _host_ipv4_addresses() -> list[str]:
    if not shutil.which("ip"):
        return []
    _, out = await _run("ip", "-4", "-o", "addr", "show", check=False)
    addrs = []
    for match in re.finditer(r"\sinet\s+([0-9.]+)/", out):
        if not match.group(1).startswith("127."):
            addrs.append(match.group(1))
    return sorted(set(addrs))


def _interfaces() -> set[str]:
    try:
        return set(os.listdir("/sys/class/net"))
    except OSError:
        return set()


async def remove_stale_firewall_rules() -> list[str]:
    """Remove Forja's preview rules whose bridge is gone (its network was removed); returns the bridges.

    Docker deletes a network's bridge but not rules others hung on it; install_firewall() calls
    this so a host that saw many networks come and go keeps a tidy ruleset.
    """
    if not shutil.which("iptables"):
        return []
    _, out = await _run("iptables", "-S", check=False)
    bridges = set(re.findall(r"^-N FORJA-(?:FWD|IN)-([0-9a-zA-Z_.-]+)$", out, re.MULTILINE))
    stale = []
    interfaces = _interfaces()
    if not interfaces:
        return []  # cannot tell which bridges exist: touch nothing
    for suffix in sorted(bridges):
        bridge = f"br-{suffix}"
        if bridge in interfaces or suffix in interfaces:
            continue  # alive (Docker's br-<id>, or a bridge named by the network's options)
        stale.append(bridge)
        for binary in ("iptables", "ip6tables"):
            if not shutil.which(binary):
                continue
            _, rules = await _run(binary, "-S", check=False)
            for line in rules.splitlines():
                if line.startswith("-A ") and (f" -i {bridge} " in line + " " or f" -o {bridge} " in line + " "):
                    await _run(binary, *line.replace("-A ", "-D ", 1).split(), check=False)
        for chain in (f"FORJA-FWD-{suffix}", f"FORJA-IN-{suffix}"):
            await _run("iptables", "-F", chain, check=False)
            await _run("iptables", "-X", chain, check=False)
    return stale


@dataclass
class _Preview:
    preview_id: str
    project_id: str
    version: int
    container_id: str
    port: int
    ip: str = ""
    app_volume: str = ""
    deps_volume: str = ""
    deps_key: str = ""
    nonce: str = ""
    claim_volume: str = ""  # the claim record of a preview that runs in a pool container
    state: PreviewState = PreviewState.starting
    detail: str = ""
    source: str = "install"
    log: LogSink | None = None
    started_at: float = field(default_factory=time.monotonic)
    phase_at: float = field(default_factory=time.monotonic)
    stopping: bool = False
    tasks: set[asyncio.Task] = field(default_factory=set)
    save_task: asyncio.Task | None = None  # copying freshly installed dependencies into the cache
    settled: asyncio.Event = field(default_factory=asyncio.Event)  # answers, failed or stopped

    @property
    def upstream(self) -> str:
        return f"http://{self.ip}:{self.port}" if self.ip else ""


@dataclass(frozen=True)
class _CompleteCache:
    """A dependency cache that is complete: where its volume lies on the Docker host and what it holds."""

    host_path: str
    dirs: tuple[str, ...]


@dataclass
class _Slot:
    """A pool container: created, started, waiting for a bootstrap; made for one cache key ("" = none)."""

    container_id: str
    name: str
    app_volume: str
    deps_key: str
    nonce: str
    ip: str = ""
    deps_mounted: bool = False  # the cache is mounted as node_modules (made once the cache was complete)


def _noop_sink(preview_id: str, text: str, level: LogLevel | None, source: str) -> None:
    return None


class DockerRunner(Runner):
    """Runs each preview in its own hardened container; see the module docstring."""

    name = "docker"

    def __init__(
        self,
        *,
        image: str = "forja-preview:latest",
        network: str = "forja-previews",
        docker_url: str | None = None,
        memory_bytes: int = 1 << 30,
        nano_cpus: int = 1_000_000_000,
        pids_limit: int = 256,
        app_size_bytes: int = 1 << 30,
        tmp_size_bytes: int = 256 << 20,
        home_size_bytes: int = 512 << 20,
        nofile_limit: int | None = None,
        log_max_size: str = "10m",
        log_max_file: int = 3,
        extra_ca_path: str | os.PathLike[str] | None = None,
        npm_registry: str | None = None,
        pip_index_url: str | None = None,
        npm_seed: str | os.PathLike[str] | None = None,
        wheel_seed: str | os.PathLike[str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        manage_firewall: bool = True,
        dns_servers: Iterable[str] | None = None,
        deps_cache: bool = True,
        deps_cache_scope: str = "project",
        deps_cache_max_bytes: int = 2 << 30,
        deps_save_timeout_s: float = 120,
        warm_pool: int = 0,
        ready_path: str = "/",
        default_log_sink: LogSink | None = None,
    ) -> None:
        if deps_cache_scope not in ("project", "global"):
            raise ValueError('deps_cache_scope must be "project" or "global"')
        if warm_pool < 0:
            raise ValueError("warm_pool must be 0 or more")
        self.image = image
        self.network = network
        self.docker_url = docker_url
        self.memory_bytes = memory_bytes
        self.nano_cpus = nano_cpus
        self.pids_limit = pids_limit
        self.app_size_bytes = app_size_bytes
        self.tmp_size_bytes = tmp_size_bytes
        self.home_size_bytes = home_size_bytes
        self.nofile_limit = nofile_limit
        self.log_max_size = log_max_size
        self.log_max_file = log_max_file
        self.extra_ca_path = str(extra_ca_path) if extra_ca_path else None
        self.npm_registry = npm_registry
        self.pip_index_url = pip_index_url
        self.npm_seed = str(npm_seed) if npm_seed else None
        self.wheel_seed = str(wheel_seed) if wheel_seed else None
        self._seed_dirs: dict[str, str] = {}  # the seeds previews get: set once, when the runner gets ready
        self.extra_env = dict(extra_env or {})
        self.manage_firewall = manage_firewall
        self.dns_servers = list(dns_servers) if dns_servers is not None else None
        self.deps_cache = deps_cache
        self.deps_cache_scope = deps_cache_scope
        self.deps_cache_max_bytes = deps_cache_max_bytes
        self.deps_save_timeout_s = deps_save_timeout_s
        self.warm_pool = warm_pool
        self.ready_path = ready_path
        self.default_log_sink = default_log_sink or _noop_sink
        self._docker: aiodocker.Docker | None = None
        self._previews: dict[str, _Preview] = {}
        self._setup_lock = asyncio.Lock()
        self._ready = False
        self._image_id = ""
        self.bridge = ""
        self.gateway = ""
        self.subnet = ""
        self._deps_locks: dict[str, asyncio.Lock] = {}
        self._complete_caches: dict[str, _CompleteCache] = {}
        self._http: httpx.AsyncClient | None = None
        self._pool: list[_Slot] = []  # started and waiting, oldest first
        self._pool_keys: list[str] = []  # cache keys of the most recent starts, newest first
        self._pool_task: asyncio.Task | None = None
        self._pool_dirty = False
        self._background: set[asyncio.Task] = set()
        self.pool_problem = ""  # why the pool could not be filled, if it could not

    # -- setup ----------------------------------------------------------------------------

    async def _client(self) -> aiodocker.Docker:
        if self._docker is None:
            try:
                self._docker = aiodocker.Docker(url=self.docker_url) if self.docker_url else aiodocker.Docker()
            except (ValueError, OSError) as exc:
                raise RunnerError(f"Docker cannot be reached: {exc}") from exc
        return self._docker

    async def _ensure_ready(self) -> None:
        async with self._setup_lock:
            if self._ready:
                if self.manage_firewall:
                    await self._check_firewall_jumps()
                return
            docker = await self._client()
            try:
                image = await docker.images.inspect(self.image)
            except DockerError as exc:
                if exc.status == 404:
                    raise RunnerError(
                        f"The preview image {self.image} is not installed: build it with "
                        "preview_runtime/images/build_offline.sh (or docker build preview_runtime/images)."
                    ) from exc
                raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
            self._image_id = image["Id"]
            await self._check_seeds()
            await self._ensure_network()
            if self.manage_firewall:
                await self.install_firewall()
            self._ready = True

    async def _check_seeds(self) -> None:
        """Seeds are folders on Forja's machine, bound into containers by the engine: when the engine sees
        another file system (a remote engine, Forja in a container of its own), every preview would fail to
        start. A container that is created but never started tells, and the seeds are dropped then."""
        self._seed_dirs = self._seeds()
        if not self._seed_dirs:
            return
        docker = await self._client()
        config = {
            "Image": self.image,
            "Cmd": ["true"],
            "NetworkDisabled": True,
            "Labels": {LABEL_NETWORK: self.network},
            "HostConfig": {"NetworkMode": "none", "Mounts": self._seed_mounts()},
        }
        try:
            probe = await docker.containers.create(config, name=f"forja-seed-probe-{secrets.token_hex(4)}")
        except DockerError as exc:
            log.warning(
                "installs in previews start without the seeded packages: the Docker engine cannot mount them (%s)", exc.message
            )
            self._seed_dirs = {}
            return
        with contextlib.suppress(DockerError):
            await probe.delete(force=True)

    async def _ensure_network(self) -> None:
        docker = await self._client()
        try:
            info = await (await docker.networks.get(self.network)).show()
        except DockerError as exc:
            if exc.status != 404:
                raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
            try:
                await docker.networks.create(
                    {
                        "Name": self.network,
                        "Driver": "bridge",
                        "CheckDuplicate": True,
                        "Internal": False,
                        "EnableIPv6": False,
                        "Options": {
                            "com.docker.network.bridge.enable_icc": "false",
                            "com.docker.network.bridge.enable_ip_masquerade": "true",
                        },
                        "Labels": {LABEL_MANAGED: "1"},
                    }
                )
            except DockerError as create_exc:
                if create_exc.status != 409:  # created concurrently by another runner
                    raise RunnerError(f"Forja could not create the Docker network {self.network}: {create_exc.message}") from None
            info = await (await docker.networks.get(self.network)).show()
        options = info.get("Options") or {}
        if info.get("Driver") != "bridge" or options.get("com.docker.network.bridge.enable_icc") != "false":
            raise RunnerError(
                f"The Docker network {self.network} exists but is not a bridge with inter-container traffic off; "
                "remove it (docker network rm) and Forja will create it properly."
            )
        self.bridge = options.get("com.docker.network.bridge.name") or f"br-{info['Id'][:12]}"
        configs = (info.get("IPAM") or {}).get("Config") or [{}]
        self.gateway = configs[0].get("Gateway", "")
        self.subnet = configs[0].get("Subnet", "")

    # -- firewall -------------------------------------------------------------------------

    def _chains(self) -> tuple[str, str]:
        suffix = self.bridge.removeprefix("br-")[:18]
        return f"FORJA-FWD-{suffix}", f"FORJA-IN-{suffix}"

    async def firewall_commands(self) -> list[list[str]]:
        """The iptables/ip6tables commands install_firewall() runs (for manage_firewall=False setups)."""
        if not self.bridge:
            await self._ensure_network()
        fwd, inp = self._chains()
        br = self.bridge
        cmds: list[list[str]] = [
            ["iptables", "-N", fwd],
            ["iptables", "-F", fwd],
            ["iptables", "-A", fwd, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "RETURN"],
            ["iptables", "-A", fwd, "-o", br, "-j", "DROP"],
        ]
        for ns in self.dns_servers if self.dns_servers is not None else _nameservers():
            for proto in ("udp", "tcp"):
                cmds.append(["iptables", "-A", fwd, "-d", f"{ns}/32", "-p", proto, "--dport", "53", "-j", "RETURN"])
        for cidr in PRIVATE_RANGES:
            cmds.append(["iptables", "-A", fwd, "-d", cidr, "-j", "DROP"])
        for addr in await _host_ipv4_addresses():
            cmds.append(["iptables", "-A", fwd, "-d", f"{addr}/32", "-j", "DROP"])
        cmds += [
            ["iptables", "-A", fwd, "-j", "RETURN"],
            ["iptables", "-N", inp],
            ["iptables", "-F", inp],
            ["iptables", "-A", inp, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
            ["iptables", "-A", inp, "-j", "DROP"],
        ]
        return cmds

    def _jumps(self) -> list[tuple[str, list[str]]]:
        fwd, inp = self._chains()
        br = self.bridge
        return [
            ("iptables", ["DOCKER-USER", "-i", br, "-j", fwd]),
            ("iptables", ["DOCKER-USER", "-o", br, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"]),
            ("iptables", ["INPUT", "-i", br, "-j", inp]),
            ("ip6tables", ["INPUT", "-i", br, "-j", "DROP"]),
            ("ip6tables", ["FORWARD", "-i", br, "-j", "DROP"]),
        ]

    async def install_firewall(self) -> None:
        """Install (or refresh) the isolation rules for this runner's bridge; idempotent."""
        if not shutil.which("iptables"):
            raise RunnerError("Forja cannot isolate previews: iptables is not installed on the Docker host.")
        if os.geteuid() != 0:
            raise RunnerError(
                "Forja cannot isolate previews: installing the firewall rules needs root "
                "(or run with manage_firewall=False after installing them yourself)."
            )
        await self._ensure_bridge_netfilter()
        await remove_stale_firewall_rules()
        rc, out = await _run("iptables", "-L", "DOCKER-USER", "-n", check=False)
        if rc != 0:
            raise RunnerError(f"Forja cannot isolate previews: the DOCKER-USER chain is missing ({out}).")
        for cmd in await self.firewall_commands():
            if cmd[1] == "-N":
                await _run(*cmd, check=False)  # exists already: fine, it is flushed next
            else:
                await _run(*cmd)
        await self._check_firewall_jumps()

    async def _check_firewall_jumps(self) -> None:
        # Inserted at the top in reverse so the final order is as listed.
        for binary, rule in reversed(self._jumps()):
            if not shutil.which(binary):
                continue
            rc, _ = await _run(binary, "-C", *rule, check=False)
            if rc != 0:
                rc, out = await _run(binary, "-I", rule[0], "1", *rule[1:], check=False)
                if rc != 0 and binary == "iptables":
                    raise RunnerError(f"Forja could not install the preview firewall rule {' '.join(rule)}: {out}")

    async def _ensure_bridge_netfilter(self) -> None:
        path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        try:
            with open(path) as f:  # noqa: ASYNC230 (procfs, instant)
                if f.read().strip() == "1":
                    return
            with open(path, "w") as f:  # noqa: ASYNC230
                f.write("1")
        except OSError as exc:
            raise RunnerError(
                f"Forja cannot isolate previews from each other: the bridge netfilter hook is off ({path}; load br_netfilter)."
            ) from exc

    async def remove_firewall(self) -> None:
        """Remove this runner's rules (tests and uninstall); containers lose their isolation."""
        if not self.bridge:
            docker = await self._client()
            try:
                info = await (await docker.networks.get(self.network)).show()
            except DockerError:
                return
            self.bridge = (info.get("Options") or {}).get("com.docker.network.bridge.name") or f"br-{info['Id'][:12]}"
        fwd, inp = self._chains()
        for binary, rule in self._jumps():
            if shutil.which(binary):
                while (await _run(binary, "-D", *rule, check=False))[0] == 0:
                    pass
        for chain in (fwd, inp):
            await _run("iptables", "-F", chain, check=False)
            await _run("iptables", "-X", chain, check=False)

    # -- start ----------------------------------------------------------------------------

    def _deps_key(self, spec: PreviewSpec) -> str:
        plan = spec.plan
        if not (self.deps_cache and plan.install and plan.lockfile_hash_inputs):
            return ""
        project = spec.project_id if self.deps_cache_scope == "project" else ""
        return dependency_key(plan, spec.files, [self.deps_cache_scope, project, self._image_id])

    def _env(self, nonce: str, wait_s: int, deps_mounted: bool) -> list[str]:
        """The container's environment: nothing in it is specific to one preview (see ENTRY_SCRIPT)."""
        env = {
            "HOST": "0.0.0.0",
            "HOME": "/home/preview",
            "BROWSER": "none",
            "PYTHONUNBUFFERED": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "npm_config_cache": "/home/preview/.npm",
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            # Rust tools built on mimalloc (Vite 8's rolldown, oxc, lightningcss...) otherwise commit a 1 GiB
            # arena up front, which transparent huge pages then back with ~100 MB per idle dev server.
            "MIMALLOC_ARENA_EAGER_COMMIT": "0",
            "FORJA_NONCE": nonce,
            "FORJA_WAIT_S": str(wait_s),
        }
        if deps_mounted:
            env["FORJA_DEPS_MOUNTED"] = "1"
        if self.extra_ca_path:
            env["NODE_EXTRA_CA_CERTS"] = "/home/preview/.forja/extra-ca.pem"
            for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
                env[var] = "/home/preview/.forja/ca-bundle.pem"
        if self.npm_registry:
            env["npm_config_registry"] = self.npm_registry
        if self.pip_index_url:
            env["PIP_INDEX_URL"] = self.pip_index_url
        if "npm" in self._seed_dirs:
            env["npm_config_prefer_offline"] = "true"
        if "wheels" in self._seed_dirs:
            env["PIP_FIND_LINKS"] = f"{SEED_DIR}/wheels"
        env |= self.extra_env
        return [f"{k}={v}" for k, v in env.items()]

    def _seeds(self) -> dict[str, str]:
        """Seed folders that hold what they should, by their name under /seed (host paths: see _check_seeds).

        Checked because a mistaken path would show any folder to untrusted code: only an npm cache
        (with its _cacache) and a folder with wheels in it qualify.
        """
        seeds = {}
        if self.npm_seed and os.path.isdir(os.path.join(self.npm_seed, "_cacache")):
            seeds["npm"] = self.npm_seed
        if self.wheel_seed and os.path.isdir(self.wheel_seed) and any(n.endswith(".whl") for n in os.listdir(self.wheel_seed)):
            seeds["wheels"] = self.wheel_seed
        return seeds

    @staticmethod
    def _env_file(spec: PreviewSpec, deps_key: str) -> bytes:
        """What the entry script sources once the files are there: the preview's own settings, shell-quoted."""
        values = {
            "PORT": str(spec.plan.port),
            "FORJA_INSTALL": spec.plan.install,
            "FORJA_DEV": spec.plan.dev,
            "FORJA_DEPS_CACHE": "1" if deps_key else "",
        }
        if (script := npm_script(spec.plan, spec.files)) is not None:
            command, npm_env = script
            values |= {**npm_env, "npm_package_json": f"{APP_DIR}/package.json", "INIT_CWD": APP_DIR, "FORJA_DEV": command}
        return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items()).encode()

    def _names(self, preview_id: str) -> tuple[str, str]:
        """Container and /app volume names; prefixed by the network so two runners on one host never clash."""
        safe = _safe_name(preview_id)
        return f"{self.network}-{safe}", f"{self.network}-app-{safe}"

    def _claim_name(self, preview_id: str) -> str:
        # "." after the network: _safe_name never starts with ".", so no preview's own names look like it.
        return f"{self.network}.claim-{_safe_name(preview_id)}"

    def _labels(self, spec: PreviewSpec) -> dict[str, str]:
        return {
            LABEL_MANAGED: "1",
            LABEL_NETWORK: self.network,
            "forja.preview_id": spec.preview_id,
            "forja.project_id": spec.project_id,
            "forja.version": str(spec.version),
            "forja.port": str(spec.plan.port),
        }

    def _container_config(self, env: list[str], labels: dict[str, str], mounts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Image": self.image,
            "Hostname": "preview",
            "User": f"{PREVIEW_UID}:{PREVIEW_UID}",
            "WorkingDir": APP_DIR,
            "Entrypoint": ["/usr/bin/tini", "-g", "--"],
            "Cmd": ["bash", "-c", ENTRY_SCRIPT],
            "Env": env,
            "Labels": labels,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": False,
            "NetworkDisabled": False,
            "HostConfig": self._host_config(mounts),
            "NetworkingConfig": {"EndpointsConfig": {self.network: {}}},
        }

    async def _create_app_volume(self, name: str, labels: dict[str, str]) -> None:
        docker = await self._client()
        try:
            await docker.volumes.create(
                {
                    "Name": name,
                    "Driver": "local",
                    "DriverOpts": {
                        "type": "tmpfs",
                        "device": "tmpfs",
                        "o": f"size={self.app_size_bytes},uid={PREVIEW_UID},gid={PREVIEW_UID},mode=0755,nosuid,nodev",
                    },
                    "Labels": labels,
                }
            )
        except DockerError as exc:
            raise RunnerError(f"Docker could not create the preview's /app volume: {exc.message}") from exc

    async def _ensure_deps_volume(self, deps_key: str) -> str:
        docker = await self._client()
        name = _deps_volume_name(deps_key)
        with contextlib.suppress(DockerError):  # exists already: the same volume is returned
            await docker.volumes.create(
                {"Name": name, "Labels": {"forja.deps": "1", "forja.deps_key": deps_key, LABEL_NETWORK: self.network}}
            )
        return name

    async def _complete_cache(self, deps_key: str) -> _CompleteCache | None:
        """The cache of `deps_key` when it is complete and lies in a local volume on the Docker host; else None.

        Completeness is recorded as a small marker volume, written after the cache itself, so a
        restarted Forja knows it without looking inside.
        """
        if not deps_key:
            return None
        if (known := self._complete_caches.get(deps_key)) is not None:
            return known
        docker = await self._client()
        try:
            marker = await docker._query_json(f"volumes/{_deps_marker_name(deps_key)}")
            volume = await docker._query_json(f"volumes/{_deps_volume_name(deps_key)}")
        except DockerError:
            return None
        host_path = volume.get("Mountpoint") or ""
        dirs = tuple(d for d in ((marker.get("Labels") or {}).get("forja.deps_dirs") or "").split() if d in CACHED_DIRS)
        if volume.get("Driver") != "local" or not host_path.startswith("/") or not dirs:
            return None
        self._complete_caches[deps_key] = cache = _CompleteCache(host_path, dirs)
        return cache

    def _mounts(self, app_volume: str, deps_volume: str, cache: _CompleteCache | None) -> list[dict[str, Any]]:
        """/app, the cache at /deps and, once the cache is complete, its folders read-only in place.

        Mounting rather than copying node_modules keeps it out of the /app tmpfs, whose pages count
        as the preview's memory (~50 MB for a Vite + React project). The /deps mount stays even
        then: it is what tells Docker that the volume is in use, so pruning never removes it under
        a running preview.
        """
        mounts: list[dict[str, Any]] = [{"Type": "volume", "Source": app_volume, "Target": APP_DIR}]
        if deps_volume:
            mounts.append({"Type": "volume", "Source": deps_volume, "Target": DEPS_DIR, "ReadOnly": True})
        for d in cache.dirs if cache else ():
            mounts.append({"Type": "bind", "Source": f"{cache.host_path}/{d}", "Target": f"{APP_DIR}/{d}", "ReadOnly": True})
        return mounts + self._seed_mounts()

    def _seed_mounts(self) -> list[dict[str, Any]]:
        return [
            {"Type": "bind", "Source": os.path.abspath(path), "Target": f"{SEED_DIR}/{name}", "ReadOnly": True}
            for name, path in self._seed_dirs.items()
        ]

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        await self._ensure_ready()
        docker = await self._client()
        name, app_volume = self._names(spec.preview_id)
        if spec.preview_id in self._previews:
            await self.stop(spec.preview_id)
        await self._remove_untracked(spec.preview_id)
        extra_ca: bytes | None = None
        if self.extra_ca_path:
            try:
                extra_ca = open(self.extra_ca_path, "rb").read()  # noqa: ASYNC230 (small file)
            except OSError as exc:
                raise RunnerError(f"Forja cannot read the extra CA bundle {self.extra_ca_path}: {exc}") from exc
        # The bootstrap folder is Forja's: a project file there could only confuse the entry script.
        files = {
            path: data
            for path, data in ((_clean_relpath(k), v) for k, v in spec.files.items())
            if path != BOOTSTRAP and not path.startswith(BOOTSTRAP + "/")
        }
        deps_key = self._deps_key(spec)
        deps_volume = await self._ensure_deps_volume(deps_key) if deps_key else ""
        labels = self._labels(spec)
        claim_volume = ""
        claimed = await self._claim(deps_key, spec, name) if self.warm_pool else None
        slot: _Slot | None = None
        if claimed is not None:
            slot, claim_volume = claimed
            container_id, nonce, ip, app_volume = slot.container_id, slot.nonce, slot.ip, slot.app_volume
        else:
            await self._create_app_volume(app_volume, labels)
            nonce = secrets.token_hex(6)
            cache = await self._complete_cache(deps_key)
            config = self._container_config(
                self._env(nonce, FRESH_WAIT_S, cache is not None), labels, self._mounts(app_volume, deps_volume, cache)
            )
            try:
                container_id = (await docker.containers.create(config, name=name)).id
            except DockerError as exc:
                await self._remove_volume(app_volume)
                raise RunnerError(f"Docker could not create the preview container: {exc.message}") from exc
            ip = ""
        container = docker.containers.container(container_id)
        p = _Preview(
            preview_id=spec.preview_id,
            project_id=spec.project_id,
            version=spec.version,
            container_id=container_id,
            port=spec.plan.port,
            ip=ip,
            app_volume=app_volume,
            deps_volume=deps_volume,
            deps_key=deps_key,
            nonce=nonce,
            claim_volume=claim_volume,
            log=log,
        )
        self._previews[spec.preview_id] = p
        try:
            if slot is None:
                await container.start()
                info = await container.show()
                p.ip = info["NetworkSettings"]["Networks"][self.network]["IPAddress"]
            bootstrap: dict[str, bytes] = {f"{BOOTSTRAP}/env": self._env_file(spec, deps_key)}
            if extra_ca is not None:
                bootstrap[f"{BOOTSTRAP}/extra-ca.pem"] = extra_ca
            # One upload; `ready` is the tar's last entry, so everything before it is in place when the script sees it.
            await container.put_archive(APP_DIR, _tar_files({**files, **bootstrap, f"{BOOTSTRAP}/ready": b""}))
        except (DockerError, KeyError) as exc:
            self._previews.pop(spec.preview_id, None)
            await self._remove_container(container_id)
            await self._remove_volume(app_volume)
            await self._remove_volume(claim_volume)
            message = exc.message if isinstance(exc, DockerError) else f"no address on {self.network}"
            raise RunnerError(f"Docker could not start the preview: {message}") from exc
        p.started_at = p.phase_at = time.monotonic()
        pooled = " from the warm pool" if slot is not None else ""
        self._emit(p, f"Preview container started{pooled} ({self._limits_text()}).", LogLevel.info, "forja")
        self._spawn(p, self._follow(p))
        self._spawn(p, self._wait_ready(p))
        if self.warm_pool:
            self._pool_used(deps_key, p)
        return self._info(p)

    def _host_config(self, mounts: list[dict[str, Any]]) -> dict[str, Any]:
        tmpfs = {
            "/tmp": f"rw,nosuid,nodev,exec,size={self.tmp_size_bytes}",
            "/home/preview": f"rw,nosuid,nodev,exec,size={self.home_size_bytes},uid={PREVIEW_UID},gid={PREVIEW_UID},mode=0700",
        }
        if any(m["Target"] == f"{APP_DIR}/node_modules" for m in mounts):
            for d in TOOL_DIRS:
                tmpfs[f"{APP_DIR}/node_modules/{d}"] = (
                    f"rw,nosuid,nodev,size={self.tmp_size_bytes},uid={PREVIEW_UID},gid={PREVIEW_UID},mode=0755"
                )
        return {
            "NetworkMode": self.network,
            "Privileged": False,
            "ReadonlyRootfs": True,
            "Tmpfs": tmpfs,
            "Mounts": mounts,
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges"],
            "Memory": self.memory_bytes,
            "MemorySwap": self.memory_bytes,
            "NanoCpus": self.nano_cpus,
            "PidsLimit": self.pids_limit,
            # nofile: the daemon's own limit unless set (raising it above the daemon's hard limit fails).
            "Ulimits": [{"Name": "nofile", "Soft": self.nofile_limit, "Hard": self.nofile_limit}] if self.nofile_limit else [],
            "Sysctls": {"net.ipv6.conf.all.disable_ipv6": "1"},
            "LogConfig": {"Type": "json-file", "Config": {"max-size": self.log_max_size, "max-file": str(self.log_max_file)}},
            "RestartPolicy": {"Name": "no"},
            "IpcMode": "private",
            "AutoRemove": False,
        }

    def _limits_text(self) -> str:
        cpus = self.nano_cpus / 1e9
        return f"memory {_human_bytes(self.memory_bytes)}, {cpus:g} CPU, {self.pids_limit} processes"

    async def _cancel_tasks(self, p: _Preview, keep: asyncio.Task | None = None) -> None:
        """Cancel a preview's background tasks (but `keep`) and let their clean-up (e.g. a cache holder) finish."""
        tasks = [t for t in p.tasks if t is not asyncio.current_task() and t is not keep]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _spawn(self, p: _Preview, coro: Any) -> asyncio.Task:
        task = asyncio.create_task(coro)
        p.tasks.add(task)
        task.add_done_callback(p.tasks.discard)
        return task

    def _spawn_background(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- warm pool ------------------------------------------------------------------------

    @property
    def pool_containers(self) -> list[str]:
        """Ids of the pool containers that are started and waiting to be claimed."""
        return [slot.container_id for slot in self._pool]

    async def warm_up(self) -> list[str]:
        """Fill the warm pool now and wait until it is full; returns pool_containers."""
        await self._ensure_ready()
        self._kick_pool()
        while self._pool_task is not None and not self._pool_task.done():
            await asyncio.shield(self._pool_task)
        return self.pool_containers

    async def _claim(self, deps_key: str, spec: PreviewSpec, name: str) -> tuple[_Slot, str] | None:
        """Take a running pool container made for this cache key: rename it and write the claim record."""
        docker = await self._client()
        record = self._claim_name(spec.preview_id)
        # Containers with the cache mounted first: the others copy it into their memory.
        while (
            slot := next((s for s in sorted(self._pool, key=lambda s: not s.deps_mounted) if s.deps_key == deps_key), None)
        ) is not None:
            self._pool.remove(slot)
            container = docker.containers.container(slot.container_id)
            try:
                info = await container.show()
                if not info["State"].get("Running"):
                    raise RunnerError("the pool container has exited")
                slot.ip = info["NetworkSettings"]["Networks"][self.network]["IPAddress"] or slot.ip
                labels = {
                    **self._labels(spec),
                    LABEL_CLAIM: "1",
                    "forja.container": slot.container_id,
                    "forja.app_volume": slot.app_volume,
                }
                await docker.volumes.create({"Name": record, "Labels": labels})
                await container.rename(name)
            except (DockerError, RunnerError, KeyError):
                await self._remove_volume(record)
                self._spawn_background(self._remove_slot(slot))
                continue
            return slot, record
        return None

    def _pool_used(self, deps_key: str, p: _Preview) -> None:
        """A start used this cache key: the pool follows the most recent keys; refill once the start has settled."""
        if deps_key in self._pool_keys:
            self._pool_keys.remove(deps_key)
        self._pool_keys.insert(0, deps_key)
        del self._pool_keys[self.warm_pool :]
        self._spawn_background(self._refill_when_settled(p))

    async def _refill_when_settled(self, p: _Preview) -> None:
        # Creating and starting a container takes the engine and a CPU for a moment: not while a start is under way.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(p.settled.wait(), timeout=5)
        self._kick_pool()

    def _kick_pool(self) -> None:
        if not self.warm_pool:
            return
        self._pool_dirty = True
        if self._pool_task is None or self._pool_task.done():
            self._pool_task = asyncio.create_task(self._fill_pool(), name="forja-docker-pool")

    async def _fill_pool(self) -> None:
        while self._pool_dirty:
            self._pool_dirty = False
            keys = self._pool_keys or [""]
            wanted = Counter(keys[i % len(keys)] for i in range(self.warm_pool))
            kept: Counter[str] = Counter()
            outdated: list[_Slot] = []  # made before their cache was complete: they copy it; replaced, then removed
            for slot in list(self._pool):
                if slot not in self._pool:  # claimed meanwhile
                    continue
                if not slot.deps_mounted and slot.deps_key in self._complete_caches:
                    outdated.append(slot)
                elif kept[slot.deps_key] < wanted[slot.deps_key]:
                    kept[slot.deps_key] += 1
                else:  # made for a key no recent start used
                    self._pool.remove(slot)
                    await self._remove_slot(slot)
            for key in keys:
                while kept[key] < wanted[key]:
                    try:
                        slot = await self._create_slot(key)
                    except RunnerError as exc:
                        self.pool_problem = str(exc)
                        return  # tried again on the next start
                    self.pool_problem = ""
                    self._pool.append(slot)
                    kept[key] += 1
            for slot in outdated:
                if slot in self._pool:
                    self._pool.remove(slot)
                    await self._remove_slot(slot)

    async def _create_slot(self, deps_key: str) -> _Slot:
        docker = await self._client()
        token = secrets.token_hex(5)
        name = f"{self.network}.pool-{token}"
        app_volume = f"{self.network}.pool-app-{token}"
        labels = {LABEL_MANAGED: "1", LABEL_NETWORK: self.network, LABEL_POOL: "1", LABEL_POOL_DEPS: deps_key}
        nonce = secrets.token_hex(6)
        cache = await self._complete_cache(deps_key)
        try:
            deps_volume = await self._ensure_deps_volume(deps_key) if deps_key else ""
            await self._create_app_volume(app_volume, labels)
            config = self._container_config(
                self._env(nonce, POOL_WAIT_S, cache is not None), labels, self._mounts(app_volume, deps_volume, cache)
            )
            container = await docker.containers.create(config, name=name)
            await container.start()
            info = await container.show()
            ip = info["NetworkSettings"]["Networks"][self.network]["IPAddress"]
        except BaseException as exc:  # cancelled (close) included: leave nothing half made
            await self._remove_container(name)
            await self._remove_volume(app_volume)
            if isinstance(exc, DockerError):
                raise RunnerError(f"Docker could not start a pool container: {exc.message}") from exc
            if isinstance(exc, KeyError):
                raise RunnerError(f"A pool container got no address on {self.network}") from exc
            raise
        return _Slot(container.id, name, app_volume, deps_key, nonce, ip, deps_mounted=cache is not None)

    async def _remove_slot(self, slot: _Slot) -> None:
        await self._remove_container(slot.container_id)
        await self._remove_volume(slot.app_volume)

    def _emit(self, p: _Preview, text: str, level: LogLevel | None, source: str | None = None) -> None:
        sink = p.log or self.default_log_sink
        with contextlib.suppress(Exception):
            sink(p.preview_id, text, level, source or p.source)

    def _info(self, p: _Preview) -> PreviewInfo:
        return PreviewInfo(
            preview_id=p.preview_id,
            project_id=p.project_id,
            version=p.version,
            runner=self.name,
            state=p.state,
            upstream=p.upstream,
            detail=p.detail,
            handle=p.container_id,
        )

    # -- logs, readiness, exit ------------------------------------------------------------

    async def _follow(self, p: _Preview, since: int = 0) -> None:
        docker = await self._client()
        container = docker.containers.container(p.container_id)
        marker = f"[forja:{p.nonce}] " if p.nonce else None
        buffer = ""
        try:
            while True:
                try:
                    async for chunk in container.log(stdout=True, stderr=True, follow=True, since=since):
                        buffer += chunk
                        *lines, buffer = buffer.split("\n")
                        for line in lines:
                            await self._line(p, line.rstrip("\r"), marker)
                    if buffer:
                        await self._line(p, buffer.rstrip("\r"), marker)
                        buffer = ""
                except (TimeoutError, DockerError, OSError):
                    pass
                if p.stopping:
                    return
                try:
                    state = (await container.show())["State"]
                except DockerError:
                    return
                if not state.get("Running"):
                    break
                since = int(time.time())  # the stream broke while the container still runs: follow again
                await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            raise
        await self._exited(p)

    async def _line(self, p: _Preview, line: str, marker: str | None) -> None:
        if marker and line.startswith(marker):
            await self._on_marker(p, line[len(marker) :].split())
            return
        if len(line) > 4000:
            line = line[:4000] + " …"
        self._emit(p, line, None)

    async def _on_marker(self, p: _Preview, words: list[str]) -> None:
        if not words:
            return
        kind, now = words[0], time.monotonic()
        if kind == "installing":
            self._set_state(p, PreviewState.installing)
            p.phase_at = now
            self._emit(p, "Installing dependencies…", LogLevel.info, "forja")
        elif kind == "deps-mounted":
            self._emit(p, "Dependencies come from the cache, mounted read-only: no install needed.", LogLevel.info, "forja")
        elif kind == "deps-restoring":
            self._set_state(p, PreviewState.installing)
            p.phase_at = now
        elif kind == "deps-restored":
            took = _ms(words[1:], now - p.phase_at)
            self._emit(p, f"Dependencies restored from the cache in {took:.1f} s (no install needed).", LogLevel.info, "forja")
        elif kind == "deps-installed":
            took = _ms(words[1:], now - p.phase_at)
            self._emit(p, f"Dependencies installed in {took:.1f} s.", LogLevel.info, "forja")
            dirs = [w for w in words[2:] if w in CACHED_DIRS]
            if p.deps_key and dirs:
                p.save_task = self._spawn(p, self._save_deps(p, dirs))
        elif kind == "install-failed":
            code = words[1] if len(words) > 1 else "?"
            p.detail = f"The install failed: exit code {code}."
        elif kind == "restore-failed":
            p.detail = "The cached dependencies could not be copied into the preview."
        elif kind == "no-files":
            p.detail = "The project files never arrived in the preview container."
        elif kind == "dev":
            p.source = "dev-server"
            p.phase_at = now
            if p.state == PreviewState.starting:
                self._set_state(p, PreviewState.installing)

    def _set_state(self, p: _Preview, state: PreviewState) -> None:
        if p.state in (PreviewState.failed, PreviewState.stopped):
            return
        p.state = state

    async def _wait_ready(self, p: _Preview) -> None:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=0.5), trust_env=False)
        url = p.upstream + self.ready_path
        while not p.stopping and p.state in (PreviewState.starting, PreviewState.installing):
            try:
                await self._http.get(url)
            except (httpx.HTTPError, OSError):
                await asyncio.sleep(0.05)  # a refused connection to the container's address costs next to nothing
                continue
            if p.state in (PreviewState.starting, PreviewState.installing):
                p.state = PreviewState.running
                p.settled.set()
                p.source = "dev-server"
                self._emit(
                    p,
                    f"The dev server answers on port {p.port} ({time.monotonic() - p.started_at:.1f} s after start).",
                    LogLevel.info,
                    "forja",
                )
            return

    async def _exited(self, p: _Preview) -> None:
        p.settled.set()
        if p.stopping:
            return
        docker = await self._client()
        try:
            info = await docker.containers.container(p.container_id).show()
        except DockerError:
            return
        if p.stopping:
            return
        state = info["State"]
        code = int(state.get("ExitCode") or 0)
        if state.get("OOMKilled"):
            limit = int((info.get("HostConfig") or {}).get("Memory") or self.memory_bytes)
            meaning = f"out of memory: it needed more than the {_human_bytes(limit)} a preview may use"
        else:
            meaning = _EXIT_MEANINGS.get(code, "")
        text = f"The preview stopped: exit code {code}" + (f" ({meaning})" if meaning else "") + "."
        if code == 0:
            p.state = PreviewState.stopped
            text = "The preview stopped: the dev server exited (exit code 0)."
        else:
            p.state = PreviewState.failed
        p.detail = f"{p.detail} {text}" if p.detail else text
        self._emit(p, text, LogLevel.error if code else LogLevel.warning, "forja")

    # -- dependency cache -----------------------------------------------------------------

    async def _save_deps(self, p: _Preview, dirs: list[str]) -> None:
        """Copy the freshly installed dependencies into the read-only cache volume (the dev server starts meanwhile)."""
        try:
            async with self._deps_locks.setdefault(p.deps_key, asyncio.Lock()):
                started = time.monotonic()
                saved = await self._copy_deps_to_volume(p, dirs)
                if saved:
                    self._emit(
                        p,
                        f"Dependencies cached for the next start ({_human_bytes(saved)}, {time.monotonic() - started:.1f} s).",
                        LogLevel.info,
                        "forja",
                    )
            if await self._complete_cache(p.deps_key) is not None:
                self._kick_pool()  # pool containers made for this key while it was filled are made again, with it mounted
        except Exception as exc:  # the cache is an optimisation: never fail the preview for it
            if not p.stopping:
                self._emit(p, f"Forja could not cache the dependencies: {exc}", LogLevel.warning, "forja")

    async def _copy_deps_to_volume(self, p: _Preview, dirs: list[str]) -> int:
        docker = await self._client()
        holder = await docker.containers.create(
            {
                "Image": self.image,
                "Cmd": ["true"],
                "Labels": {"forja.deps_holder": "1", LABEL_NETWORK: self.network},
                "NetworkDisabled": True,
                "HostConfig": {
                    "NetworkMode": "none",
                    "Mounts": [{"Type": "volume", "Source": p.deps_volume, "Target": DEPS_DIR}],
                },
            },
            name=f"forja-deps-holder-{secrets.token_hex(4)}",
        )
        total = 0
        try:
            try:
                await holder.get_archive(f"{DEPS_DIR}/.forja-complete")
                return 0  # another preview filled it meanwhile
            except DockerError:
                pass
            for d in dirs:
                with tempfile.TemporaryFile() as spool:
                    total += await self._read_archive(p.container_id, f"{APP_DIR}/{d}", spool, self.deps_cache_max_bytes - total)
                    spool.seek(0)
                    await holder.put_archive(DEPS_DIR, spool)
            # Mount points for the tool folders' tmpfs: the cache is mounted read-only, so they must exist in it.
            tool_dirs = [f"node_modules/{d}" for d in TOOL_DIRS] if "node_modules" in dirs else []
            await holder.put_archive(DEPS_DIR, _tar_files({".forja-complete": p.deps_key.encode()}, dirs=tool_dirs))
            await docker.volumes.create(
                {
                    "Name": _deps_marker_name(p.deps_key),
                    "Labels": {
                        "forja.deps_marker": "1",
                        "forja.deps_key": p.deps_key,
                        "forja.deps_dirs": " ".join(dirs),
                        LABEL_NETWORK: self.network,
                    },
                }
            )
        finally:
            with contextlib.suppress(DockerError):
                await holder.delete(force=True)
        return total

    async def _read_archive(self, container_id: str, path: str, spool: Any, limit: int) -> int:
        """Write get_archive(path) of a container into spool; returns its size. RunnerError past `limit` bytes.

        Docker holds the container's lock until the archive is read to the end or the connection
        closes (see the module docstring): whatever ends this early, the connection is closed here,
        never left open with unread data. aiodocker's _query() hands the response over without
        closing it on an exception, and aiohttp stops reading a socket whose buffer nobody drains.
        """
        docker = await self._client()
        size = 0
        async with docker._query(
            f"containers/{container_id}/archive",
            method="GET",
            params={"path": path},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120),
        ) as response:
            try:
                async for chunk in response.content.iter_chunked(DEPS_SAVE_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise RunnerError(f"the dependencies are larger than {_human_bytes(self.deps_cache_max_bytes)}")
                    spool.write(chunk)
            except BaseException:
                response.close()  # drops the connection: dockerd's copy stops and the container's lock is released
                raise
            response.release()
        return size

    async def prune_dependency_caches(self) -> list[str]:
        """Remove this runner's dependency cache volumes that no container uses; returns their names."""
        docker = await self._client()
        removed = []
        listing = await docker.volumes.list(filters={"label": ["forja.deps=1", f"{LABEL_NETWORK}={self.network}"]})
        for vol in listing.get("Volumes") or []:
            with contextlib.suppress(DockerError):  # in use: kept
                await (await docker.volumes.get(vol["Name"])).delete()
                removed.append(vol["Name"])
                deps_key = (vol.get("Labels") or {}).get("forja.deps_key", "")
                self._complete_caches.pop(deps_key, None)
                await self._remove_volume(_deps_marker_name(deps_key))
        return removed

    # -- the rest of the Runner interface -------------------------------------------------

    async def status(self, preview_id: str) -> PreviewInfo:
        p = self._previews.get(preview_id)
        if p is None:
            raise RunnerError(f"There is no Docker preview {preview_id}.")
        return self._info(p)

    async def push_files(self, preview_id: str, changed: Mapping[str, bytes], deleted: list[str]) -> None:
        p = self._previews.get(preview_id)
        if p is None:
            raise RunnerError(f"There is no Docker preview {preview_id}.")
        docker = await self._client()
        container = docker.containers.container(p.container_id)
        try:
            if changed:
                await container.put_archive(APP_DIR, _tar_files({_clean_relpath(k): v for k, v in changed.items()}))
            if deleted:
                paths = [_clean_relpath(d) for d in deleted]
                run = await container.exec(["rm", "-f", "--", *paths], user=f"{PREVIEW_UID}:{PREVIEW_UID}", workdir=APP_DIR)
                output = b""
                async with run.start(detach=False) as stream:  # wait until rm is done
                    while (message := await stream.read_out()) is not None:
                        output += message.data
                if (await run.inspect()).get("ExitCode"):
                    raise RunnerError(f"Forja could not delete files in the preview: {output.decode(errors='replace').strip()}")
        except DockerError as exc:
            raise RunnerError(f"Forja could not write the files into the preview: {exc.message}") from exc

    async def stop(self, preview_id: str) -> None:
        p = self._previews.pop(preview_id, None)
        if p is None:
            await self._remove_untracked(preview_id)
            return
        p.stopping = True
        p.state = PreviewState.stopped
        p.settled.set()
        save = p.save_task
        await self._cancel_tasks(p, keep=save)
        if save is not None and not save.done():
            # The first install's copy into the cache is what makes the next start fast: let it finish.
            await asyncio.wait([save], timeout=self.deps_save_timeout_s)
        await self._cancel_tasks(p)
        await self._remove_container(p.container_id)
        await self._remove_volume(p.app_volume)
        await self._remove_volume(p.claim_volume)

    async def _remove_untracked(self, preview_id: str) -> None:
        """A preview this runner does not track (another process's, or from before a restart): container, volumes, record."""
        name, app_volume = self._names(preview_id)
        record = self._claim_name(preview_id)
        docker = await self._client()
        claimed_app_volume = ""
        try:
            claimed_app_volume = ((await docker._query_json(f"volumes/{record}")).get("Labels") or {}).get("forja.app_volume", "")
        except DockerError:
            record = ""
        await self._remove_container(name)
        await self._remove_volume(app_volume)
        await self._remove_volume(claimed_app_volume)
        await self._remove_volume(record)

    async def _remove_container(self, ref: str) -> None:
        docker = await self._client()
        with contextlib.suppress(DockerError):
            await docker.containers.container(ref).delete(force=True, v=True)

    async def _remove_volume(self, name: str) -> None:
        if not name:
            return
        docker = await self._client()
        for attempt in range(10):
            try:
                await (await docker.volumes.get(name)).delete()
                return
            except DockerError as exc:
                if exc.status == 404:
                    return
                if attempt == 9:
                    return
                await asyncio.sleep(0.2)  # the container is still going away

    async def adopt(self, log: LogSink | None = None) -> list[PreviewInfo]:
        """Previews of this runner's network still alive after a restart; exited ones are removed.

        Pool containers nobody claimed are removed (the pool is filled again); claimed ones are
        previews like the others, whose identity is in their claim record rather than their labels.
        """
        docker = await self._client()
        await self._ensure_ready()
        adopted: list[PreviewInfo] = []
        records: dict[str, dict[str, Any]] = {}
        claims = await docker.volumes.list(filters={"label": [f"{LABEL_CLAIM}=1", f"{LABEL_NETWORK}={self.network}"]})
        for volume in claims.get("Volumes") or []:
            records[(volume.get("Labels") or {}).get("forja.container", "")] = volume
        tracked_pool = {slot.container_id for slot in self._pool}
        filters = json.dumps({"label": [f"{LABEL_MANAGED}=1", f"{LABEL_NETWORK}={self.network}"]})
        for summary in await docker.containers.list(all=True, filters=filters):
            cid = summary.id
            if cid in tracked_pool:
                continue
            try:
                info = await docker.containers.container(cid).show()
            except DockerError:
                continue
            labels = info["Config"].get("Labels") or {}
            app_volume = next((m.get("Name", "") for m in info.get("Mounts") or [] if m.get("Destination") == APP_DIR), "")
            claim_volume = ""
            if labels.get(LABEL_POOL) == "1":
                record = records.pop(cid, None)
                if record is not None:
                    claim_volume = record["Name"]
                    labels = record.get("Labels") or {}
            preview_id = labels.get("forja.preview_id", "")
            if not info["State"].get("Running") or not preview_id:
                await self._remove_container(cid)
                await self._remove_volume(app_volume)
                await self._remove_volume(claim_volume)
                continue
            if preview_id in self._previews:
                adopted.append(self._info(self._previews[preview_id]))
                continue
            network = (info["NetworkSettings"].get("Networks") or {}).get(self.network) or {}
            env = dict(e.split("=", 1) for e in info["Config"].get("Env") or [] if "=" in e)
            p = _Preview(
                preview_id=preview_id,
                project_id=labels.get("forja.project_id", ""),
                version=int(labels.get("forja.version", "0") or 0),
                container_id=cid,
                port=int(labels.get("forja.port", "0") or 0),
                ip=network.get("IPAddress", ""),
                app_volume=app_volume or self._names(preview_id)[1],
                nonce=env.get("FORJA_NONCE", ""),
                claim_volume=claim_volume,
                state=PreviewState.running,
                source="dev-server",
                log=log,
            )
            self._previews[preview_id] = p
            self._spawn(p, self._follow(p, since=int(time.time())))
            adopted.append(self._info(p))
        # Claim records whose container is gone, with the /app volume they name.
        for cid, record in records.items():
            if not any(p.container_id == cid for p in self._previews.values()):
                await self._remove_volume((record.get("Labels") or {}).get("forja.app_volume", ""))
                await self._remove_volume(record["Name"])
        # Holders left behind by a crash in the middle of caching dependencies.
        holders = json.dumps({"label": ["forja.deps_holder=1", f"{LABEL_NETWORK}={self.network}"]})
        for summary in await docker.containers.list(all=True, filters=holders):
            await self._remove_container(summary.id)
        # /app volumes of pool containers that were never made (a crash between the volume and its container).
        tracked_volumes = {slot.app_volume for slot in self._pool}
        leftovers = await docker.volumes.list(filters={"label": [f"{LABEL_POOL}=1", f"{LABEL_NETWORK}={self.network}"]})
        for volume in leftovers.get("Volumes") or []:
            if volume["Name"] not in tracked_volumes and not any(p.app_volume == volume["Name"] for p in self._previews.values()):
                with contextlib.suppress(DockerError):  # in use: a pool container being made right now
                    await (await docker.volumes.get(volume["Name"])).delete()
        self._kick_pool()
        return adopted

    async def stats(self, preview_id: str) -> dict[str, int]:
        """Memory use (bytes), its limit, the process count and CPU time used (ns) of a running preview."""
        p = self._previews.get(preview_id)
        if p is None:
            raise RunnerError(f"There is no Docker preview {preview_id}.")
        docker = await self._client()
        try:
            data = await docker._query_json(f"containers/{p.container_id}/stats", params={"stream": "0", "one-shot": "1"})
        except DockerError as exc:
            raise RunnerError(f"Docker could not report on the preview: {exc.message}") from exc
        memory = data.get("memory_stats") or {}
        usage = int(memory.get("usage") or 0)
        cache = int(
            (memory.get("stats") or {}).get("total_inactive_file") or (memory.get("stats") or {}).get("inactive_file") or 0
        )
        return {
            "memory_bytes": max(usage - cache, 0),
            "memory_limit_bytes": int(memory.get("limit") or self.memory_bytes),
            "pids": int((data.get("pids_stats") or {}).get("current") or 0),
            "cpu_ns": int(((data.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0),
        }

    async def close(self) -> None:
        """Forget the previews (they keep running; adopt() takes them back), remove the pool, close connections."""
        for p in self._previews.values():
            p.stopping = True
            await self._cancel_tasks(p)
        self._previews.clear()
        for task in [*self._background, *([self._pool_task] if self._pool_task else [])]:
            task.cancel()
        pending = [*self._background, *([self._pool_task] if self._pool_task else [])]
        if pending:
            await asyncio.wait(pending, timeout=30)
        self._pool_task = None
        self._pool_keys.clear()
        if self._docker is not None:
            for slot in self._pool:
                await self._remove_slot(slot)
        self._pool.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._docker is not None:
            await self._docker.close()
            self._docker = None
        self._ready = False
