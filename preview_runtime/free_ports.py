"""Free loopback ports for the servers Forja starts, chosen outside the kernel's range for outgoing connections.

A port the kernel hands out for `bind(0)` comes from the same range as the source ports of outgoing connections, so
under load a connection may take it between the choice and the server's own bind (seen in CI: Traefik could not
listen on the port it had been given). A port below that range is only ever taken by a listener, which the check here
sees.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Collection
from pathlib import Path

EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Ports below this are often well-known services' (and need care when listed in firewalls): not chosen.
LOWEST = 10_000
TRIES = 200


def _listen_range() -> range:
    try:
        ephemeral_low = int(EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32_768  # Linux's default
    return range(LOWEST, ephemeral_low)


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port(taken: Collection[int] = ()) -> int:
    """A port nothing listens on at 127.0.0.1 and not in `taken`; the kernel's choice when the range is crowded."""
    ports = _listen_range()
    if ports:
        for _ in range(TRIES):
            port = random.choice(ports)
            if port not in taken and _bindable(port):
                return port
    for _ in range(TRIES):
        port = _kernel_port()
        if port not in taken:
            return port
    raise OSError("No free port on 127.0.0.1.")
