"""Whether Forja's two ports can be listened on, checked before it starts; if not, why, in words.

A taken port used to surface as a Rust backtrace from the web server minutes into the start. This says which port,
which process holds it (from /proc, when this user may see it) and the setting that moves Forja elsewhere.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from builder.settings import settings
from preview_runtime.listening import listening_on
from preview_runtime.proxy import PreviewProxy

RUN_COMMAND = "bash scripts/run.sh"


@dataclass(frozen=True)
class Port:
    setting: str  # the variable that moves it, e.g. FORJA_PORT
    purpose: str
    host: str
    port: int
    everywhere: bool = False  # Reflex refuses a port bound on any address, not only on `host`


def forja_ports() -> list[Port]:
    return [
        Port("FORJA_PORT", "Forja's page and API", settings.host, settings.port, everywhere=True),
        Port("FORJA_PREVIEW_PORT", "the preview proxy", settings.preview_host, settings.preview_port),
    ]


def _bind_error(host: str, port: int) -> OSError | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As the servers themselves do: a connection that just closed (TIME_WAIT) does not keep them from listening.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as error:
            return error
    return None


def _hosts(port: Port) -> list[str]:
    if not port.everywhere:
        return [port.host]
    hosts = [port.host, "0.0.0.0"]
    if socket.has_ipv6 and _bind_error("::", 0) is None:
        hosts.append("::")
    return hosts


def describe_process(pid: int, proc: Path = Path("/proc")) -> str:
    """`pid 123 (its command line)`, shortened; just the pid when the process is gone."""
    try:
        command = (proc / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        command = ""
    if len(command) > 100:
        command = command[:97] + "..."
    return f"pid {pid} ({command})" if command else f"pid {pid}"


def _leftover_proxy() -> int | None:
    """A Traefik left running by a Forja that died: Forja stops it itself as it starts, so it may hold the port."""
    return PreviewProxy(settings.data_dir / "proxy", settings.preview_port, host=settings.preview_host).leftover_pid()


def _next_free(port: Port, taken: set[int]) -> int:
    for candidate in range(port.port + 1, min(port.port + 200, 65536)):
        if candidate not in taken and all(_bind_error(host, candidate) is None for host in _hosts(port)):
            return candidate
    return port.port + 1


def ports_beside() -> dict[str, int]:
    """A free port for each of Forja's (the next ones up from this one's), by setting: for a Forja beside this one."""
    ports = forja_ports()
    taken = {port.port for port in ports}
    moved: dict[str, int] = {}
    for port in ports:
        moved[port.setting] = _next_free(port, taken)
        taken.add(moved[port.setting])
    return moved


def port_problem(port: Port, taken: Iterable[int] = ()) -> str:
    """Why Forja cannot listen on `port`, naming the holder and the setting to change; "" when it can."""
    error = next((found for host in _hosts(port) if (found := _bind_error(host, port.port)) is not None), None)
    if error is None:
        return ""
    holders = listening_on(port.port)
    if port.setting == "FORJA_PREVIEW_PORT" and holders and set(holders) == {_leftover_proxy()}:
        return ""
    where = f"port {port.port} on {port.host} ({port.setting}, {port.purpose})"
    move = f"{port.setting}={_next_free(port, {port.port, *taken})} {RUN_COMMAND}"
    if error.errno != errno.EADDRINUSE:
        return (
            f"Forja cannot listen on {where}: {error.strerror or error}. Set {port.setting} to a port this user may open, "
            f"or FORJA_HOST to an address of this machine, for example: {move}"
        )
    if holders:
        who = "taken by " + ", ".join(describe_process(pid) for pid in sorted(holders))
    else:
        who = "taken by a process this user cannot see (another user's, or one that is just closing)"
    return f"Forja cannot start: {where} is {who}. Stop that process, or start Forja on another port: {move}"


def ports_problems() -> list[str]:
    """Why Forja cannot start on its ports, one message per port; empty when both are free."""
    ports = forja_ports()
    used = {port.port for port in ports}
    return [message for port in ports if (message := port_problem(port, used))]
