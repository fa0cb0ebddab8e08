"""Forja's own probes go straight to their address, and still verify certificates where they speak TLS."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from preview_runtime.direct_http import direct_client, tls_context


async def test_a_probe_ignores_the_environments_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndirect")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # Nothing listens on port 9 (discard): a client that took this proxy would fail to connect.
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with server, direct_client(5) as client:
        response = await client.get(f"http://127.0.0.1:{port}/")
    assert response.text == "direct"


def test_the_shared_tls_context_verifies_certificates_and_names() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0  # a CA bundle is loaded: a public site's certificate verifies
