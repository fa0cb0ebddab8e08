"""httpx clients for Forja's own short requests: probes of a dev server, of the proxy, of another worker.

They go straight to their address (loopback, a sandbox's bridge, a worker beside this one), never through a proxy of
the environment (HTTP_PROXY). And they share one TLS context: httpx loads the CA bundle into a new one for each client
it makes, 12-15 ms of CPU on the event loop every time, and Forja makes a client per probe (a preview's start asks
its dev server until it answers, a share page whether its app answers, a publish's build sandbox its dependencies).
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's own default (certificates verified against certifi's bundle), made once."""
    return httpx.create_ssl_context()


def direct_client(timeout: float | httpx.Timeout, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, trust_env=False, verify=tls_context(), transport=transport)
