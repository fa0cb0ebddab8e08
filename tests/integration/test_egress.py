"""The egress proxy with registry mirrors, plain-HTTP requests and an upstream (corporate) proxy: real sockets.

Network rule (shared/environment.md): every server here listens on 127.0.0.1 and every connection goes there. Names
are never asked of the system's resolver: an injected one maps the test's names to 127.0.0.1 (a mirror on a private
address stands in as loopback, which the proxy refuses just the same for names that are not mirrors), and with an
upstream proxy the names are never resolved at all.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import os
import shlex
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from builder.services.install_gate import InstallGate
from builder.settings.review_packages import ReviewPackageSettings
from preview_runtime.local import LocalRunner
from preview_runtime.local.egress import (
    DEFAULT_EGRESS_HOSTS,
    EgressPolicy,
    EgressProxy,
    Refusal,
    Resolver,
    Route,
    registry_hosts,
    registry_refusals,
)
from preview_runtime.local.registry_certs import CertificateAuthority
from preview_runtime.local.registry_reading import asked, without
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.upstream import UpstreamProxy
from tests.integration.test_local_isolation import PROBE, _bwrap_or_fail_in_ci, _log, _running, _spec
from tests.package_registry import Registry, RegistryServer, Version, days_ago

MIRROR_BODY = b"from the mirror"
UPSTREAM_BODY = b"from the upstream proxy"
# Credentials of the upstream proxy, percent-encoded in its URL as a corporate one often is.
USER, PASSWORD = "forja@corp", "s3cret:pass"
PROXY_USERINFO = "forja%40corp:s3cret%3Apass"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def names_to_loopback(*names: str) -> Resolver:
    """A resolver knowing only these names, each at 127.0.0.1; any other name does not resolve."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host in names:
            return ["127.0.0.1"]
        raise OSError(f"{host} is not a name this test knows")

    return resolve


async def no_resolver(host: str, _port: int) -> list[str]:
    raise OSError(f"{host}: this machine has no DNS (the upstream proxy resolves names)")


@contextlib.asynccontextmanager
async def http_server(
    body: bytes, echo_tunnels: bool = False, after: list[bytes] | None = None
) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A server on 127.0.0.1 recording each request's head and answering `body`; with `echo_tunnels`, a stand-in
    for an upstream proxy: it answers CONNECT with 200 then echoes (407 to CONNECT pypi.org:443). With `after`, it
    records there what else each connection carries after the head (for half a second after answering)."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            heads.append(head)
            if echo_tunnels and head.startswith(b"CONNECT pypi.org:443 "):
                writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
            elif echo_tunnels and head.startswith(b"CONNECT "):
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                while data := await reader.read(4096):
                    writer.write(data)
                    await writer.drain()
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            if after is not None:
                rest = b""
                with contextlib.suppress(TimeoutError):
                    while data := await asyncio.wait_for(reader.read(4096), 0.5):
                        rest += data
                after.append(rest)
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1]), heads
    finally:
        server.close()


@contextlib.asynccontextmanager
async def served(proxy: EgressProxy) -> AsyncIterator[Path]:
    """The proxy on a unix socket, as a sandbox reaches it."""
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"egress-test-{os.getpid()}-{time.monotonic_ns()}.sock"
    server = await asyncio.start_unix_server(proxy.handle, path=str(path))
    try:
        yield path
    finally:
        server.close()
        path.unlink(missing_ok=True)


async def exchange(path: Path, request: bytes, head_only: bool = False) -> bytes:
    """One request through the proxy; everything it answers until it closes (or the head, for a tunnel)."""
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(request)
    try:
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n") if head_only else reader.read(), 5)
    finally:
        writer.close()


def test_registry_hosts_keeps_each_mirrors_port() -> None:
    env = {
        "npm_config_registry": "http://Nexus.corp:8081/repository/npm/",
        "PIP_INDEX_URL": "https://devpi.corp/root/pypi/+simple/",
        "PIP_EXTRA_INDEX_URL": "http://10.1.2.3/simple/ https://bad.port:x/",
    }
    assert registry_hosts(env) == {("nexus.corp", 8081), ("devpi.corp", 443), ("10.1.2.3", 80)}


async def test_a_mirror_on_its_own_port_is_reached_over_plain_http_and_other_names_there_are_not() -> None:
    after: list[bytes] = []
    async with http_server(MIRROR_BODY, after=after) as (port, heads):
        said: list[str] = []
        policy = EgressPolicy(
            hosts=[*DEFAULT_EGRESS_HOSTS, "public.test"],
            resolve=names_to_loopback("mirror.test", "registry.npmjs.org", "public.test"),
            mirrors=registry_hosts({"npm_config_registry": f"http://mirror.test:{port}/"}),
        )
        async with served(EgressProxy(policy, said.append)) as path:
            # As npm sends it for an http:// registry: absolute-form, with the headers meant for its proxy.
            answer = await exchange(
                path,
                f"GET http://mirror.test:{port}/left-pad?write=true HTTP/1.1\r\nHost: elsewhere.test\r\n"
                "Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\nConnection: keep-alive\r\n"
                "Accept: application/json\r\n\r\n".encode(),
            )
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(MIRROR_BODY), answer
            assert len(heads) == 1
            lines = heads[0].decode().split("\r\n")
            assert lines[0] == "GET /left-pad?write=true HTTP/1.1"  # origin-form
            assert f"Host: mirror.test:{port}" in lines  # the allowed target's, not the client's
            assert "Connection: close" in lines and "Accept: application/json" in lines
            assert not any(line.lower().startswith(("proxy-", "connection: keep-alive")) for line in lines), lines

            # The mirror's tunnel too (an https mirror on its own port is reached through CONNECT).
            tunnel = await exchange(path, f"CONNECT mirror.test:{port} HTTP/1.1\r\n\r\n".encode(), head_only=True)
            assert tunnel.startswith(b"HTTP/1.1 200 Connection established")

            # The same address under names that are not the mirror, or the mirror on another port: refused.
            refused = {
                f"GET http://registry.npmjs.org:{port}/ HTTP/1.1": "is not https (443) or http (80)",
                "GET http://public.test/ HTTP/1.1": "127.0.0.1 is this machine",
                "CONNECT public.test:443 HTTP/1.1": "127.0.0.1 is this machine",
                "GET http://mirror.test/ HTTP/1.1": "is not a package registry",
                f"GET http://127.0.0.1:{port}/ HTTP/1.1": "is not a package registry",
            }
            for line, why in refused.items():
                answer = await exchange(path, f"{line}\r\n\r\n".encode())
                assert answer.startswith(b"HTTP/1.1 403") and why.encode() in answer, (line, answer)
            # Requests that are not for a proxy: refused as such.
            for line in ("GET / HTTP/1.1", f"GET https://mirror.test:{port}/ HTTP/1.1"):
                assert (await exchange(path, f"{line}\r\n\r\n".encode())).startswith(b"HTTP/1.1 405"), line
            # A head past the limit is dropped, not forwarded.
            huge = f"GET http://mirror.test:{port}/ HTTP/1.1\r\nX-Pad: {'a' * 9000}\r\n\r\n".encode()
            assert await exchange(path, huge) == b""
            assert len(heads) == 1  # the first GET only (the tunnel carried no request)

            # One request per connection: its body goes on, a request pipelined after it does not (a server
            # ignoring Connection: close would answer it, and it may name another host); a chunked body is refused.
            pipelined = (
                f"POST http://mirror.test:{port}/-/v1/login HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody"
                f"GET http://mirror.test:{port}/second HTTP/1.1\r\nHost: internal.test\r\n\r\n"
            )
            assert (await exchange(path, pipelined.encode())).endswith(MIRROR_BODY)
            assert heads[-1].startswith(b"POST /-/v1/login HTTP/1.1\r\n") and after[-1] == b"body", after
            chunked = f"POST http://mirror.test:{port}/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
            assert await exchange(path, chunked.encode()) == b""
            assert len(heads) == 2
        assert any("public.test" in line for line in said), said


async def test_through_an_upstream_proxy_allowed_names_are_tunneled_by_name_with_its_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with http_server(UPSTREAM_BODY, echo_tunnels=True) as (upstream_port, upstream_heads):
        upstream = UpstreamProxy.from_env({"HTTPS_PROXY": f"http://{PROXY_USERINFO}@127.0.0.1:{upstream_port}"})
        assert upstream is not None and PASSWORD not in repr(upstream)
        said: list[str] = []
        async with served(EgressProxy(EgressPolicy(resolve=no_resolver, upstream=upstream), said.append)) as path:
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(b"CONNECT registry.npmjs.org:443 HTTP/1.1\r\nHost: registry.npmjs.org:443\r\n\r\n")
            assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)).startswith(b"HTTP/1.1 200")
            for message in (b"\x16\x03\x01 a client hello", b"more bytes"):  # through the upstream and back
                writer.write(message)
                assert await asyncio.wait_for(reader.readexactly(len(message)), 5) == message
            writer.close()

            assert len(upstream_heads) == 1
            lines = upstream_heads[0].decode().split("\r\n")
            assert lines[0] == "CONNECT registry.npmjs.org:443 HTTP/1.1"
            assert f"Proxy-Authorization: {BASIC}" in lines

            # Still the allowlist first: an unlisted name never reaches the upstream.
            assert (await exchange(path, b"CONNECT evil.test:443 HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 403")
            # The upstream refusing (407 here) is a 502 for the client, logged without the credentials.
            assert (await exchange(path, b"CONNECT pypi.org:443 HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 502")
            assert len(upstream_heads) == 2
        assert any(f"127.0.0.1:{upstream_port}" in line and "407" in line for line in said), said
    # An unusable upstream URL is ignored with a warning that names its host only.
    assert UpstreamProxy.from_env({"https_proxy": f"socks5://{PROXY_USERINFO}@127.0.0.1:1080"}) is None
    logged = caplog.text + "\n".join(said)
    assert "ignoring the upstream proxy at 127.0.0.1" in caplog.text
    assert f"through the upstream proxy 127.0.0.1:{upstream_port}: it answered 407" in caplog.text
    for secret in (PASSWORD, "s3cret", PROXY_USERINFO, BASIC.split()[1]):
        assert secret not in logged, secret


async def test_no_proxy_targets_bypass_the_upstream_and_plain_http_goes_through_it_in_absolute_form() -> None:
    async with (
        http_server(MIRROR_BODY) as (mirror_port, mirror_heads),
        http_server(UPSTREAM_BODY, echo_tunnels=True) as (upstream_port, upstream_heads),
    ):
        url = f"http://{PROXY_USERINFO}@127.0.0.1:{upstream_port}"
        upstream = UpstreamProxy.from_env({"http_proxy": url, "https_proxy": url, "no_proxy": "localhost,.corp.test"})
        mirrors = registry_hosts(
            {"npm_config_registry": f"http://npm.corp.test:{mirror_port}/", "PIP_INDEX_URL": "http://pip.example.test:8081/"}
        )
        policy = EgressPolicy(resolve=names_to_loopback("npm.corp.test"), mirrors=mirrors, upstream=upstream)
        async with served(EgressProxy(policy, [].append)) as path:
            # In NO_PROXY: straight to the mirror (resolved here), the upstream sees nothing.
            answer = await exchange(path, f"GET http://npm.corp.test:{mirror_port}/react HTTP/1.1\r\n\r\n".encode())
            assert answer.endswith(MIRROR_BODY), answer
            assert mirror_heads[0].startswith(b"GET /react HTTP/1.1\r\n")
            assert upstream_heads == []

            # Not in NO_PROXY: the upstream gets the request in absolute form, with its credentials.
            answer = await exchange(path, b"GET http://pip.example.test:8081/simple/flask/ HTTP/1.1\r\n\r\n")
            assert answer.endswith(UPSTREAM_BODY), answer
            lines = upstream_heads[0].decode().split("\r\n")
            assert lines[0] == "GET http://pip.example.test:8081/simple/flask/ HTTP/1.1"
            assert f"Proxy-Authorization: {BASIC}" in lines and "Connection: close" in lines
            assert len(mirror_heads) == 1


def test_no_proxy_entries() -> None:
    upstream = UpstreamProxy.from_env(
        {"HTTPS_PROXY": "proxy.corp:3128", "NO_PROXY": ".corp, example.test:8443, 10.0.0.0/8, [::1]:443, Registry.Test"}
    )
    assert upstream is not None and upstream.https is not None and str(upstream.https) == "proxy.corp:3128"
    assert upstream.http is None and upstream.server_for("http", "registry.npmjs.org", 80) is None
    for host, port in (("nexus.corp", 8081), ("corp", 443), ("example.test", 8443), ("10.2.3.4", 443),
                       ("::1", 443), ("registry.test.", 443), ("sub.registry.test", 443)):  # fmt: skip
        assert upstream.server_for("https", host, port) is None, host
    for host, port in (("registry.npmjs.org", 443), ("notcorp", 443), ("example.test", 443), ("11.0.0.1", 443),
                       ("::1", 80), ("registry.testing", 443)):  # fmt: skip
        assert upstream.server_for("https", host, port) is upstream.https, host
    everything = UpstreamProxy.from_env({"https_proxy": "http://proxy.corp:3128", "no_proxy": "*"})
    assert everything is not None and everything.server_for("https", "pypi.org", 443) is None


async def test_a_sandboxed_preview_reaches_a_configured_mirror_over_plain_http(tmp_path: Path) -> None:
    _bwrap_or_fail_in_ci()
    async with http_server(MIRROR_BODY) as (port, heads):
        # A mirror named by address (as http://10.1.2.3:8081/ would be): loopback here, refused for any other name.
        runner = LocalRunner(tmp_path / "work", sandbox=True, env={"npm_config_registry": f"http://127.0.0.1:{port}/"})
        try:
            lines, sink = _log()
            # curl through HTTP_PROXY as npm and pip do for an http:// registry (--noproxy '': even for 127.0.0.1).
            dev = f"curl -sS --noproxy '' http://127.0.0.1:{port}/left-pad; echo; python probe.py"
            await runner.start(_spec("mirror1", {"probe.py": PROBE}, dev), sink)  # pyright: ignore[reportArgumentType]
            await _running(runner, "mirror1")
            assert any(MIRROR_BODY.decode() in line for line in lines), lines
            assert len(heads) == 1 and heads[0].startswith(b"GET /left-pad HTTP/1.1\r\n"), heads
        finally:
            await runner.close()


def names_at(addresses: dict[str, str]) -> Resolver:
    """A resolver knowing only these names, each at its (made up) address; nothing is looked up or connected to."""

    async def resolve(host: str, _port: int) -> list[str]:
        if host in addresses:
            return [addresses[host]]
        raise OSError(f"{host} is not a name this test knows")

    return resolve


async def test_a_registry_resolving_to_an_address_that_is_not_public_is_refused_naming_the_setting_that_allows_it() -> None:
    """Split-horizon DNS sends the registries' names to a company's mirror on private addresses: the refusal in the
    preview's log says which name, where it resolved, and the setting that makes it a mirror; with that setting, the
    same names are allowed."""
    private = {"registry.npmjs.org": "10.1.2.3", "pypi.org": "192.168.7.8", "files.pythonhosted.org": "192.168.7.9"}
    said: list[str] = []
    async with served(EgressProxy(EgressPolicy(resolve=names_at(private)), said.append)) as path:
        for host in private:
            answer = await exchange(path, f"CONNECT {host}:443 HTTP/1.1\r\n\r\n".encode())
            assert answer.startswith(b"HTTP/1.1 403") and b"resolves to" in answer, answer
    assert said == [
        "Blocked a connection to registry.npmjs.org (10.1.2.3 is not a public address): previews may reach only the "
        "package registries. registry.npmjs.org resolves to 10.1.2.3 here, which is not a public address. If that is "
        "this network's own mirror of it (a company mirror, split-horizon DNS), set "
        "FORJA_NPM_REGISTRY=https://registry.npmjs.org/ (or your mirror's own address): Forja allows the registry set "
        "there at any address.",
        "Blocked a connection to pypi.org (192.168.7.8 is not a public address): previews may reach only the package "
        "registries. pypi.org resolves to 192.168.7.8 here, which is not a public address. If that is this network's "
        "own mirror of it (a company mirror, split-horizon DNS), set FORJA_PIP_INDEX_URL=https://pypi.org/simple/ (or "
        "your mirror's own address): Forja allows the registry set there at any address.",
        "Blocked a connection to files.pythonhosted.org (192.168.7.9 is not a public address): previews may reach only "
        "the package registries. files.pythonhosted.org resolves to 192.168.7.9 here, which is not a public address. "
        "If that is this network's own mirror of it (a company mirror, split-horizon DNS), set "
        "FORJA_PIP_INDEX_URL=https://pypi.org/simple/ (or your mirror's own address): Forja allows the registry set "
        "there at any address.",
    ]

    # What doctor asks: the same refusals, looked up through the same policy, for every allowed name.
    refused = await registry_refusals(EgressPolicy(resolve=names_at(private)), 5)
    assert set(refused) == set(DEFAULT_EGRESS_HOSTS)
    for host in private:
        assert (refusal := refused[host]) is not None and refusal.advice.startswith(f"{host} resolves to"), refusal
    assert refused["registry.yarnpkg.com"] == Refusal(
        "registry.yarnpkg.com does not resolve (registry.yarnpkg.com is not a name this test knows)"
    )

    # The settings' values named there (as the preview's environment carries them) make the names mirrors: allowed.
    mirrors = registry_hosts({"npm_config_registry": "https://registry.npmjs.org/", "PIP_INDEX_URL": "https://pypi.org/simple/"})
    assert mirrors == {("registry.npmjs.org", 443), ("pypi.org", 443), ("files.pythonhosted.org", 443)}
    allowed = EgressPolicy(resolve=names_at(private), mirrors=mirrors)
    for host, address in private.items():
        assert await allowed.route("https", host, 443) == Route(addresses=(address,))
    assert {host: refusal for host, refusal in (await registry_refusals(allowed, 5)).items() if refusal} == {
        "registry.yarnpkg.com": refused["registry.yarnpkg.com"]
    }


async def test_a_sandboxed_preview_s_log_names_the_setting_when_a_registry_resolves_to_this_machine(tmp_path: Path) -> None:
    """The same through a real sandbox and the system's resolver: `localhost`, allowed as a registry here, stands for a
    registry name that resolves to an address previews may not reach (it resolves on this machine, no query leaves it)."""
    _bwrap_or_fail_in_ci()
    runner = LocalRunner(tmp_path / "work", sandbox=True, egress_hosts=["localhost"])
    try:
        lines, sink = _log()
        dev = "curl -sS --noproxy '' -o /dev/null https://localhost/ ; python probe.py"
        await runner.start(_spec("private1", {"probe.py": PROBE}, dev), sink)  # pyright: ignore[reportArgumentType]
        await _running(runner, "private1")
        blocked = [line for line in lines if line.startswith("Blocked a connection to localhost")]
        assert len(blocked) == 1, lines
        assert " resolves to " in blocked[0] and "which is this machine" in blocked[0], blocked
        assert "set FORJA_NPM_REGISTRY or FORJA_PIP_INDEX_URL to its URL" in blocked[0], blocked
    finally:
        await runner.close()


# -- the registries' traffic read (registry_relay.py): a real npm through the proxy to a registry over TLS ----------------


async def _npm(proxy_port: int, registry: str, home: Path, *args: str) -> tuple[int, str]:
    """A real npm sent through the egress proxy (as a sandbox's environment sends it), trusting Forja's authority."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "npm_config_cache": str(home / "cache"),
        "npm_config_registry": registry,
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}",
        "NODE_EXTRA_CA_CERTS": str(home / "registry-ca.pem"),
    }
    return await _run(["npm", *args], env, home)


async def _pip(proxy_port: int, index: str, home: Path, *args: str) -> tuple[int, str]:
    """A real pip through the egress proxy, trusting Forja's authority as a sandbox's bundle makes it."""
    env = {
        "HOME": str(home),
        "PIP_INDEX_URL": index,
        "PIP_CERT": str(home / "registry-ca.pem"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        "PIP_RETRIES": "0",
        "HTTPS_PROXY": f"http://127.0.0.1:{proxy_port}",
    }
    return await _run([sys.executable, "-m", "pip", *args], env, home)


async def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


@contextlib.asynccontextmanager
async def read_registry(
    tmp_path: Path, name: str = "registry.test"
) -> AsyncIterator[tuple[RegistryServer, RegistryServer, Reading]]:
    """A registry over TLS on loopback (its certificate for `name`, or any name asked for, from an authority only the
    proxy trusts), the same packages on plain HTTP for the install gate itself, and how the proxy reads it, asking that gate:
    left-pad is fine, raect a look-alike someone published, fresh-charts' 2.0.0 a day old, requets PyPI's look-alike, fresh-orm's 1.1.0 hours old."""
    registry = Registry(
        npm={
            "left-pad": {"1.3.0": Version()},
            "raect": {"1.0.0": Version()},
            "fresh-charts": {"1.9.0": Version(), "2.0.0": Version(published=days_ago(1))},
        },
        pypi={"requets": {"2.32.3": Version()}, "fresh-orm": {"1.0.0": Version(), "1.1.0": Version(published=days_ago(0.2))}},
    )
    real = CertificateAuthority.made("The test's public authority")
    served_tls = real.context(name)
    served_tls.sni_callback = lambda sock, asked, _context: setattr(sock, "context", real.context(asked or name))
    over_tls = RegistryServer(registry, tls=served_tls)
    plain = RegistryServer(Registry(npm=registry.npm, pypi=registry.pypi))
    settings = ReviewPackageSettings.model_validate(
        {
            "review_npm_registry": plain.url,
            "review_pypi_url": f"{plain.url}/pypi",
            "review_min_package_age_days": 2,
            "review_allowed_packages": "",
        }
    )
    gate = InstallGate(settings)
    authority = CertificateAuthority.in_folder(tmp_path / "data")
    (tmp_path / "registry-ca.pem").write_bytes(authority.pem())
    try:
        yield over_tls, plain, Reading(gate.verdict, authority, ssl.create_default_context(cadata=real.pem().decode()))
    finally:
        await gate.close()
        over_tls.close()
        plain.close()


async def assert_installs_inside_are_read(
    run: Callable[[str], Awaitable[str]], registry: str, over_tls: RegistryServer, told: Callable[[], list[str]], python: str
) -> None:
    """What a script or the terminal installs in a container (`run` a command there, its output back), its registry
    the test's (read_registry, at `registry`, a name Forja's authority signs for): npm, through the runner's egress
    proxy, is refused raect with the install gate's sentence, said in the preview's log (`told`), and never reaching
    the registry, and gets left-pad; Python's urllib, trusting the proxy through the bundle its SSL_CERT_FILE
    names, is answered 403 for raect. `python`: what sends Python's request through the proxy."""
    npm = "NO_PROXY= no_proxy= npm_config_fetch_retries=0 npm"  # localhost, the test's registry, through the proxy
    viewed = await run(f"{npm} view raect version; {npm} view left-pad version")
    said = f"403 Forbidden - GET {registry}raect - "
    assert f"{said}Forja did not let this package install: " in viewed, viewed
    assert "1.3.0" in viewed.splitlines(), viewed
    sentence = viewed.split(said, 1)[1].splitlines()[0]  # the gate's, whole
    assert sentence in told(), told()
    fetch = f"import urllib.request as u, urllib.error as e\ntry: u.urlopen('{registry}raect')\nexcept e.HTTPError as x: print(x.code)"
    assert await run(f"{python} python -c {shlex.quote(fetch)}") == "403\n"
    assert over_tls.registry.requested == ["GET /left-pad"]


async def test_npm_and_pip_through_the_proxy_are_refused_a_look_alike_with_its_sentence_and_never_offered_a_new_version(
    tmp_path: Path,
) -> None:
    async with read_registry(tmp_path) as (over_tls, plain, reading):
        assert (tmp_path / "data" / "registry-ca.key").stat().st_mode & 0o777 == 0o600  # made there, for Forja's user
        assert CertificateAuthority.in_folder(tmp_path / "data").pem() == reading.authority.pem()  # made once
        await _through_the_proxy(tmp_path, over_tls, reading)
        await _a_plain_http_mirror(plain, reading)
    assert set(over_tls.registry.hosts) == {
        f"registry.test:{over_tls.port}",
        f"pypi.test:{over_tls.port}",
    }  # the fronted one's too
    # Asked for raect's document and requets' page, the registry never saw either: the proxy answered them.
    assert over_tls.registry.requested == [
        "GET /left-pad",
        "GET /fresh-charts",
        "GET /left-pad",
        "GET /fresh-charts",
        "GET /simple/fresh-orm/",
    ]


async def _a_plain_http_mirror(plain: RegistryServer, reading: Reading) -> None:
    """A mirror on plain HTTP is read the same way, one request per connection."""
    mirror = ("plain.test", plain.port)
    reading = dataclasses.replace(reading, registries={mirror: ("npm", "/")})
    policy = EgressPolicy(hosts=(), resolve=names_to_loopback("plain.test"), mirrors=[mirror], reading=reading)
    async with served(EgressProxy(policy, [].append)) as path:
        ask = "GET http://plain.test:{}/{} HTTP/1.1\r\nAccept: application/json\r\nAccept-Encoding: gzip\r\n\r\n"
        answer = await exchange(path, ask.format(plain.port, "raect").encode())
        assert answer.startswith(b"HTTP/1.1 403 Forbidden\r\n"), answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["error"].startswith("Forja did not let this package install: raect")
        head, _, body = (await exchange(path, ask.format(plain.port, "fresh-charts").encode())).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {len(body)}".encode() in head, head
        assert list(json.loads(body)["versions"]) == ["1.9.0"] and json.loads(body)["dist-tags"] == {"latest": "1.9.0"}


async def _through_the_proxy(tmp_path: Path, over_tls: RegistryServer, reading: Reading) -> None:
    npm_at, pypi_at = ("registry.test", over_tls.port), ("pypi.test", over_tls.port)
    reading = dataclasses.replace(reading, registries={npm_at: ("npm", "/"), pypi_at: ("PyPI", "/")})
    policy = EgressPolicy(
        hosts=(), resolve=names_to_loopback("registry.test", "pypi.test"), mirrors=[npm_at, pypi_at], reading=reading
    )
    said: list[str] = []
    server = await asyncio.start_server(EgressProxy(policy, said.append).handle, "127.0.0.1", 0)
    url, port = f"https://registry.test:{over_tls.port}/", int(server.sockets[0].getsockname()[1])
    try:
        # A request naming another site in its Host goes to the registry under the registry's own name.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"CONNECT registry.test:{over_tls.port} HTTP/1.1\r\n\r\n".encode())
        assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 200")
        trusting = ssl.create_default_context(cafile=tmp_path / "registry-ca.pem")
        await writer.start_tls(trusting, server_hostname="registry.test")
        writer.write(b"GET /left-pad HTTP/1.1\r\nHost: elsewhere.test\r\nConnection: close\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 200")
        writer.close()
        # The day-old 2.0.0 is not offered: the install (npm's short documents) takes the newest version old enough...
        (tmp_path / "package.json").write_text("{}")
        status, out = await _npm(port, url, tmp_path, "install", "--dry-run", "fresh-charts", "left-pad")
        assert status == 0 and "add fresh-charts 1.9.0\n" in out and "add left-pad 1.3.0\n" in out, out
        # ... and the whole document (npm view's) does not list it.
        status, out = await _npm(port, url, tmp_path, "view", "fresh-charts", "versions", "--json")
        assert status == 0 and json.loads(out) == ["1.9.0"], out
        status, out = await _npm(port, url, tmp_path, "view", "raect", "version")
        assert status != 0 and "E403" in out, out
        assert (
            "403 Forbidden - GET " in out
            and "/raect - Forja did not let this package install: raect is one or two letters away from the popular package react"
            in out
        )
        status, out = await _npm(port, url, tmp_path, "view", "react-auth-magic-kit", "version")
        assert "Forja did not let this package install: The package react-auth-magic-kit does not exist on npm" in out, out
        assert any(line.startswith("Forja did not let this package install: raect") for line in said), said
        index = f"https://pypi.test:{over_tls.port}/simple/"
        status, out = await _pip(port, index, tmp_path, "download", "-vv", "--no-deps", "-d", str(tmp_path / "got"), "requets")
        # pip says only that no version was found; the sentence is in its verbose output, and the preview's log.
        assert status != 0 and "No matching distribution found for requets" in out, out
        assert "403 Client Error: Forja did not let this package install: requets is one or two letters away" in out, out
        # PyPI's index (its JSON form) comes without the version published hours ago.
        status, out = await _pip(port, index, tmp_path, "index", "versions", "fresh-orm")
        assert status == 0 and "Available versions: 1.0.0\n" in out, out
        assert any(line.startswith("Forja did not let this package install: requets") for line in said), said
    finally:
        server.close()


def test_the_documents_read_and_the_versions_held_back_in_each_shape() -> None:
    assert [asked("npm", "/", "GET", path) for path in ("/left-pad", "/@acme%2fforms", "/@acme/forms?write=true")] == [
        "left-pad",
        "@acme/forms",
        "@acme/forms",
    ]
    for path in ("/left-pad/-/left-pad-1.3.0.tgz", "/-/v1/search?text=x", "/-/npm/v1/security/advisories/bulk"):
        assert asked("npm", "/", "GET", path) is None, path
    assert asked("npm", "/repository/npm/", "GET", "/repository/npm/left-pad") == "left-pad"  # a mirror's own path
    assert asked("npm", "/", "POST", "/left-pad") is None
    pypi = ["/simple/Fresh-ORM/", "/root/pypi/+simple/fresh-orm", "/pypi/fresh-orm/json", "/packages/fresh_orm-0.2.0.tar.gz"]
    assert [asked("PyPI", "/", "GET", path) for path in pypi] == ["Fresh-ORM", "fresh-orm", "fresh-orm", None]  # devpi: +simple

    held = frozenset({"2.0.0"})
    packument = {
        "dist-tags": {"latest": "2.0.0", "next": "2.0.0", "old": "1.2.0"},
        "versions": {"1.2.0": {}, "1.10.0": {}, "2.0.0": {}, "3.0.0-rc.1": {}},
        "time": {"created": "x", "1.2.0": "x", "2.0.0": "y"},
    }
    kept = json.loads(without("npm", json.dumps(packument).encode(), "application/json", held) or b"")
    assert kept["dist-tags"] == {"old": "1.2.0", "latest": "1.10.0"}  # semver's order, not the text's; no pre-release
    assert list(kept["versions"]) == ["1.2.0", "1.10.0", "3.0.0-rc.1"] and "2.0.0" not in kept["time"]

    files = ["fresh_orm-2.0.0-py3-none-any.whl", "fresh_orm-2.0.0.tar.gz", "fresh_orm-1.0.0.tar.gz"]
    page = "".join(f'<a href="https://files.test/{f}#sha256=0">{f}</a><br/>\n' for f in files)
    kept_page = (without("PyPI", f"<html><body>\n{page}</body></html>".encode(), "text/html", held) or b"").decode()
    assert "2.0.0" not in kept_page and ">fresh_orm-1.0.0.tar.gz</a>" in kept_page
    simple = {"files": [{"filename": f} for f in files], "versions": ["1.0.0", "2.0.0"]}
    kept = json.loads(without("PyPI", json.dumps(simple).encode(), "application/vnd.pypi.simple.v1+json", held) or b"")
    assert kept == {"files": [{"filename": "fresh_orm-1.0.0.tar.gz"}], "versions": ["1.0.0"]}
    assert without("npm", b"not json", "application/json", held) is None  # passed on as it came


async def test_a_sandboxed_preview_s_own_npm_trusts_the_proxy_and_is_refused_a_look_alike(tmp_path: Path) -> None:
    """What a person types in the preview's terminal or a script runs: npm inside bubblewrap, trusting the proxy's
    certificates through the variables its network gives it. Its registry is a mirror at localhost (the test's registry
    is on loopback), which npm sends through the proxy too once the sandbox's NO_PROXY, naming it, is emptied."""
    _bwrap_or_fail_in_ci()
    async with read_registry(tmp_path, "localhost") as (over_tls, _, reading):
        registry = f"https://localhost:{over_tls.port}/"
        # An operator's npm cafile (a corporate proxy's authority), which npm trusts instead of Node's: kept, with Forja's.
        corporate = tmp_path / "corporate-ca.pem"
        corporate.write_bytes(CertificateAuthority.made("A corporate proxy's authority").pem())
        env = {
            "npm_config_registry": registry,
            "npm_config_cafile": str(corporate),
            "npm_config_update_notifier": "false",
            "npm_config_fetch_retries": "0",  # a certificate refused fails at once, not after a minute of retries
        }
        runner = LocalRunner(tmp_path / "work", sandbox=True, egress_hosts=(), env=env, reading=reading)
        try:
            lines, sink = _log()
            npm = "NO_PROXY= no_proxy= npm"  # localhost, the test's registry, through the proxy like any registry
            dev = f"{npm} view raect version; {npm} view fresh-charts version; python probe.py"
            await runner.start(_spec("gate1", {"probe.py": PROBE}, dev), sink)  # pyright: ignore[reportArgumentType]
            await _running(runner, "gate1", within=30)
        finally:
            await runner.close()
    text = "\n".join(lines)
    assert f"403 Forbidden - GET {registry}raect - Forja did not let this package install" in text, text
    assert "1.9.0" in lines, text
    assert over_tls.registry.requested == ["GET /fresh-charts"]  # raect's was answered by the proxy
