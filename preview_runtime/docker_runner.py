"""Docker runner: one hardened container per preview, on an isolated bridge network.

Each preview is one container made from the preview image (preview_runtime/images: Debian
bookworm, Node 24 + npm, Python 3 + venv + pip, tini, user `preview` uid 10001). The runner

1. creates a per-preview volume `<network>-app-<preview>` backed by tmpfs (size-limited, owned by
   uid 10001, exec allowed) and mounts it at /app. It is a *volume* rather than a HostConfig
   tmpfs because Docker's archive API (put_archive/get_archive) only reaches volumes when the
   root filesystem is read-only: a plain --tmpfs /app could not receive the project files;
2. starts the container, which waits for the project files, uploads them with put_archive (tar
   entries owned by 10001), then the container runs `sh -c "$INSTALL"` and `exec sh -c "$DEV"`
   as user `preview` with PORT=plan.port and HOST=0.0.0.0;
3. follows the container's output line by line into the LogSink (source "install" until the dev
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
  never-started holder container (no network, never runs) and writes /deps/.forja-complete last,
  so a half-written cache is never used;
* hit: the container copies /deps/node_modules (and .venv) into its own /app with `cp -a`, drops
  tool caches (node_modules/.vite, .cache) that the dev server may have been writing while the
  copy was taken, and skips the install.

Measured here: a Vite + React project installs in ~10 s and answers ~15 s after start; the next
start of the same project restores 35 MiB of node_modules in 0.2 s and answers after ~1.1 s.
tests/test_docker_runner.py::test_dependency_cache checks it with a real npm install.

Copying rather than mounting keeps node_modules writable for tools that write into it (Vite's
node_modules/.vite) while the shared copy stays read-only and can't be changed by a running
preview. A symlink to a read-only /deps would break those tools; a shared writable volume would
let one preview poison the next. `prune_dependency_caches()` removes unused cache volumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import aiodocker
import httpx
from aiodocker.exceptions import DockerError

from preview_runtime.logs import LogLevel
from preview_runtime.runner import LogSink, PreviewInfo, PreviewSpec, PreviewState, Runner, RunnerError

PREVIEW_UID = 10001
APP_DIR = "/app"
DEPS_DIR = "/deps"
BOOTSTRAP = ".forja-bootstrap"  # uploaded into /app, moved out by the container before anything runs
CACHED_DIRS = ("node_modules", ".venv")
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

# The container's entry script. Commands come in through the environment (FORJA_INSTALL,
# FORJA_DEV) so nothing in them needs quoting; lines starting with "[forja:<nonce>]" are
# markers for the runner and are not shown to the user. stderr goes into stdout so markers and
# output keep their order (Docker logs each stream separately and may interleave them).
ENTRY_SCRIPT = r"""
exec 2>&1
M="[forja:$FORJA_NONCE]"
i=0
while [ ! -e /app/.forja-bootstrap/ready ]; do
  i=$((i+1)); if [ $i -gt 1200 ]; then echo "$M no-files"; exit 97; fi; sleep 0.05
done
mkdir -p /home/preview/.forja
cp -a /app/.forja-bootstrap/. /home/preview/.forja/ && rm -rf /app/.forja-bootstrap
if [ -f /home/preview/.forja/extra-ca.pem ]; then
  cat /etc/ssl/certs/ca-certificates.crt /home/preview/.forja/extra-ca.pem > /home/preview/.forja/ca-bundle.pem
fi
export PATH="/app/.venv/bin:/app/node_modules/.bin:$PATH"
if [ -n "$FORJA_INSTALL" ]; then
  if [ -n "$FORJA_DEPS_CACHE" ] && [ -f /deps/.forja-complete ]; then
    echo "$M deps-restoring"
    t0=$(date +%s%N)
    for d in node_modules .venv; do
      if [ -e "/deps/$d" ]; then cp -a "/deps/$d" /app/ || { echo "$M restore-failed"; exit 98; }; fi
    done
    rm -rf /app/node_modules/.vite /app/node_modules/.cache
    echo "$M deps-restored $(( ($(date +%s%N) - t0) / 1000000 ))"
  else
    echo "$M installing"
    t0=$(date +%s%N)
    case "$FORJA_INSTALL" in
      *pip*) [ -e /app/.venv ] || python -m venv --system-site-packages --without-pip /app/.venv ;;
    esac
    sh -c "$FORJA_INSTALL" || { rc=$?; echo "$M install-failed $rc"; exit $rc; }
    dirs=""
    for d in node_modules .venv; do [ -e "/app/$d" ] && dirs="$dirs $d"; done
    echo "$M deps-installed $(( ($(date +%s%N) - t0) / 1000000 ))$dirs"
  fi
fi
echo "$M dev"
exec sh -c "$FORJA_DEV"
"""

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


def _safe_name(text: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_.-]", "-", text)[:100].strip("-.")
    return name or hashlib.sha256(text.encode()).hexdigest()[:16]


def _clean_relpath(path: str) -> str:
    """A project path as a safe relative POSIX path; RunnerError for absolute or escaping paths."""
    p = PurePosixPath(path.replace("\\", "/"))
    if p.is_absolute() or not p.parts or any(part in ("..", "") for part in p.parts):
        raise RunnerError(f"Forja cannot write {path!r}: project paths must stay inside the project folder.")
    return str(p)


def _tar_files(files: Mapping[str, bytes], *, prefix: str = "") -> bytes:
    """A tar archive of files (and their parent folders), all owned by the preview user."""
    buf = io.BytesIO()
    now = time.time()
    dirs: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:

        def add_dir(d: str) -> None:
            if not d or d in dirs:
                return
            parent = str(PurePosixPath(d).parent)
            if parent != ".":
                add_dir(parent)
            dirs.add(d)
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
    state: PreviewState = PreviewState.starting
    detail: str = ""
    source: str = "install"
    log: LogSink | None = None
    started_at: float = field(default_factory=time.monotonic)
    phase_at: float = field(default_factory=time.monotonic)
    stopping: bool = False
    tasks: set[asyncio.Task] = field(default_factory=set)

    @property
    def upstream(self) -> str:
        return f"http://{self.ip}:{self.port}" if self.ip else ""


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
        manage_firewall: bool = True,
        dns_servers: Iterable[str] | None = None,
        deps_cache: bool = True,
        deps_cache_scope: str = "project",
        deps_cache_max_bytes: int = 2 << 30,
        ready_path: str = "/",
        default_log_sink: LogSink | None = None,
    ) -> None:
        if deps_cache_scope not in ("project", "global"):
            raise ValueError('deps_cache_scope must be "project" or "global"')
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
        self.manage_firewall = manage_firewall
        self.dns_servers = list(dns_servers) if dns_servers is not None else None
        self.deps_cache = deps_cache
        self.deps_cache_scope = deps_cache_scope
        self.deps_cache_max_bytes = deps_cache_max_bytes
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
        self._http: httpx.AsyncClient | None = None

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
            await self._ensure_network()
            if self.manage_firewall:
                await self.install_firewall()
            self._ready = True

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
        h = hashlib.sha256()
        h.update(
            json.dumps(
                [
                    self.deps_cache_scope,
                    spec.project_id if self.deps_cache_scope == "project" else "",
                    self._image_id,
                    plan.install,
                ]
            ).encode()
        )
        for name in sorted(plan.lockfile_hash_inputs):
            data = spec.files.get(name)
            if data is None:
                continue
            h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:24]

    def _env(self, spec: PreviewSpec, nonce: str, deps_key: str) -> list[str]:
        env = {
            "PORT": str(spec.plan.port),
            "HOST": "0.0.0.0",
            "HOME": "/home/preview",
            "BROWSER": "none",
            "PYTHONUNBUFFERED": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "npm_config_cache": "/home/preview/.npm",
            "npm_config_update_notifier": "false",
            "npm_config_fund": "false",
            "npm_config_audit": "false",
            "FORJA_NONCE": nonce,
            "FORJA_INSTALL": spec.plan.install,
            "FORJA_DEV": spec.plan.dev,
            "FORJA_DEPS_CACHE": "1" if deps_key else "",
        }
        if self.extra_ca_path:
            env["NODE_EXTRA_CA_CERTS"] = "/home/preview/.forja/extra-ca.pem"
            for var in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
                env[var] = "/home/preview/.forja/ca-bundle.pem"
        if self.npm_registry:
            env["npm_config_registry"] = self.npm_registry
        if self.pip_index_url:
            env["PIP_INDEX_URL"] = self.pip_index_url
        return [f"{k}={v}" for k, v in env.items()]

    def _names(self, preview_id: str) -> tuple[str, str]:
        """Container and /app volume names; prefixed by the network so two runners on one host never clash."""
        safe = _safe_name(preview_id)
        return f"{self.network}-{safe}", f"{self.network}-app-{safe}"

    def _labels(self, spec: PreviewSpec) -> dict[str, str]:
        return {
            LABEL_MANAGED: "1",
            LABEL_NETWORK: self.network,
            "forja.preview_id": spec.preview_id,
            "forja.project_id": spec.project_id,
            "forja.version": str(spec.version),
            "forja.port": str(spec.plan.port),
        }

    async def start(self, spec: PreviewSpec, log: LogSink) -> PreviewInfo:
        await self._ensure_ready()
        docker = await self._client()
        name, app_volume = self._names(spec.preview_id)
        if spec.preview_id in self._previews:
            await self.stop(spec.preview_id)
        await self._remove_container(name)
        await self._remove_volume(app_volume)
        extra_ca: bytes | None = None
        if self.extra_ca_path:
            try:
                extra_ca = open(self.extra_ca_path, "rb").read()  # noqa: ASYNC230 (small file)
            except OSError as exc:
                raise RunnerError(f"Forja cannot read the extra CA bundle {self.extra_ca_path}: {exc}") from exc
        files = {_clean_relpath(path): data for path, data in spec.files.items()}
        labels = self._labels(spec)
        try:
            await docker.volumes.create(
                {
                    "Name": app_volume,
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
        deps_key = self._deps_key(spec)
        mounts: list[dict[str, Any]] = [{"Type": "volume", "Source": app_volume, "Target": APP_DIR}]
        deps_volume = ""
        if deps_key:
            deps_volume = f"forja-deps-{deps_key}"
            with contextlib.suppress(DockerError):
                await docker.volumes.create(
                    {"Name": deps_volume, "Labels": {"forja.deps": "1", "forja.deps_key": deps_key, LABEL_NETWORK: self.network}}
                )
            mounts.append({"Type": "volume", "Source": deps_volume, "Target": DEPS_DIR, "ReadOnly": True})
        nonce = secrets.token_hex(6)
        config = {
            "Image": self.image,
            "Hostname": "preview",
            "User": f"{PREVIEW_UID}:{PREVIEW_UID}",
            "WorkingDir": APP_DIR,
            "Entrypoint": ["/usr/bin/tini", "-g", "--"],
            "Cmd": ["sh", "-c", ENTRY_SCRIPT],
            "Env": self._env(spec, nonce, deps_key),
            "Labels": labels,
            "AttachStdout": False,
            "AttachStderr": False,
            "Tty": False,
            "NetworkDisabled": False,
            "HostConfig": self._host_config(mounts),
            "NetworkingConfig": {"EndpointsConfig": {self.network: {}}},
        }
        try:
            container = await docker.containers.create(config, name=name)
        except DockerError as exc:
            await self._remove_volume(app_volume)
            raise RunnerError(f"Docker could not create the preview container: {exc.message}") from exc
        p = _Preview(
            preview_id=spec.preview_id,
            project_id=spec.project_id,
            version=spec.version,
            container_id=container.id,
            port=spec.plan.port,
            app_volume=app_volume,
            deps_volume=deps_volume,
            deps_key=deps_key,
            nonce=nonce,
            log=log,
        )
        self._previews[spec.preview_id] = p
        try:
            await container.start()
            info = await container.show()
            p.ip = info["NetworkSettings"]["Networks"][self.network]["IPAddress"]
            bootstrap: dict[str, bytes] = {}
            if extra_ca is not None:
                bootstrap[f"{BOOTSTRAP}/extra-ca.pem"] = extra_ca
            await container.put_archive(APP_DIR, _tar_files({**files, **bootstrap}))
            await container.put_archive(APP_DIR, _tar_files({f"{BOOTSTRAP}/ready": b""}))
        except (DockerError, KeyError) as exc:
            self._previews.pop(spec.preview_id, None)
            await self._remove_container(name)
            await self._remove_volume(app_volume)
            message = exc.message if isinstance(exc, DockerError) else f"no address on {self.network}"
            raise RunnerError(f"Docker could not start the preview: {message}") from exc
        p.started_at = p.phase_at = time.monotonic()
        self._emit(p, f"Preview container started ({self._limits_text()}).", LogLevel.info, "forja")
        self._spawn(p, self._follow(p))
        self._spawn(p, self._wait_ready(p))
        return self._info(p)

    def _host_config(self, mounts: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "NetworkMode": self.network,
            "Privileged": False,
            "ReadonlyRootfs": True,
            "Tmpfs": {
                "/tmp": f"rw,nosuid,nodev,exec,size={self.tmp_size_bytes}",
                "/home/preview": f"rw,nosuid,nodev,exec,size={self.home_size_bytes},uid={PREVIEW_UID},gid={PREVIEW_UID},mode=0700",
            },
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

    async def _cancel_tasks(self, p: _Preview) -> None:
        """Cancel a preview's background tasks and let their clean-up (e.g. a cache holder) finish."""
        tasks = [t for t in p.tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)

    def _spawn(self, p: _Preview, coro: Any) -> None:
        task = asyncio.create_task(coro)
        p.tasks.add(task)
        task.add_done_callback(p.tasks.discard)

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
                self._spawn(p, self._save_deps(p, dirs))
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
                await asyncio.sleep(0.25)
                continue
            if p.state in (PreviewState.starting, PreviewState.installing):
                p.state = PreviewState.running
                p.source = "dev-server"
                self._emit(
                    p,
                    f"The dev server answers on port {p.port} ({time.monotonic() - p.started_at:.1f} s after start).",
                    LogLevel.info,
                    "forja",
                )
            return

    async def _exited(self, p: _Preview) -> None:
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
                    async with docker._query(
                        f"containers/{p.container_id}/archive", method="GET", params={"path": f"{APP_DIR}/{d}"}, timeout=None
                    ) as response:
                        async for chunk in response.content.iter_chunked(1 << 20):
                            total += len(chunk)
                            if total > self.deps_cache_max_bytes:
                                raise RunnerError(f"the dependencies are larger than {_human_bytes(self.deps_cache_max_bytes)}")
                            spool.write(chunk)
                    spool.seek(0)
                    await holder.put_archive(DEPS_DIR, spool)
            await holder.put_archive(DEPS_DIR, _tar_files({".forja-complete": p.deps_key.encode()}))
        finally:
            with contextlib.suppress(DockerError):
                await holder.delete(force=True)
        return total

    async def prune_dependency_caches(self) -> list[str]:
        """Remove this runner's dependency cache volumes that no container uses; returns their names."""
        docker = await self._client()
        removed = []
        listing = await docker.volumes.list(filters={"label": ["forja.deps=1", f"{LABEL_NETWORK}={self.network}"]})
        for vol in listing.get("Volumes") or []:
            with contextlib.suppress(DockerError):  # in use: kept
                await (await docker.volumes.get(vol["Name"])).delete()
                removed.append(vol["Name"])
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
        if p is not None:
            p.stopping = True
            p.state = PreviewState.stopped
            await self._cancel_tasks(p)
            await self._remove_container(p.container_id)
            await self._remove_volume(p.app_volume)
            return
        name, app_volume = self._names(preview_id)
        await self._remove_container(name)
        await self._remove_volume(app_volume)

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
        """Previews of this runner's network still alive after a restart; exited ones are removed."""
        docker = await self._client()
        await self._ensure_ready()
        adopted: list[PreviewInfo] = []
        filters = json.dumps({"label": [f"{LABEL_MANAGED}=1", f"{LABEL_NETWORK}={self.network}"]})
        for summary in await docker.containers.list(all=True, filters=filters):
            cid = summary.id
            try:
                info = await docker.containers.container(cid).show()
            except DockerError:
                continue
            labels = info["Config"].get("Labels") or {}
            preview_id = labels.get("forja.preview_id", "")
            if not info["State"].get("Running") or not preview_id:
                await self._remove_container(cid)
                await self._remove_volume(self._names(preview_id)[1] if preview_id else "")
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
                app_volume=self._names(preview_id)[1],
                nonce=env.get("FORJA_NONCE", ""),
                state=PreviewState.running,
                source="dev-server",
                log=log,
            )
            self._previews[preview_id] = p
            self._spawn(p, self._follow(p, since=int(time.time())))
            adopted.append(self._info(p))
        # Holders left behind by a crash in the middle of caching dependencies.
        holders = json.dumps({"label": ["forja.deps_holder=1", f"{LABEL_NETWORK}={self.network}"]})
        for summary in await docker.containers.list(all=True, filters=holders):
            await self._remove_container(summary.id)
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
        """Forget the previews (they keep running; adopt() takes them back) and close connections."""
        for p in self._previews.values():
            p.stopping = True
            await self._cancel_tasks(p)
        self._previews.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self._docker is not None:
            await self._docker.close()
            self._docker = None
        self._ready = False
