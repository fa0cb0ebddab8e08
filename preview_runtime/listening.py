"""Where a preview's dev server really listens: the listening sockets of its own processes, from /proc.

A project that ignores $PORT (plain `vite` on 5173, a server with a fixed port) still previews: the runners
read the listening TCP sockets of the preview's processes (the local runner) or of its container's network
namespace (Docker) and route to the one that answers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import httpx

from preview_runtime.echoes import probe_url
from preview_runtime.logs import LogLevel

_LISTEN = "0A"  # TCP state in /proc/net/tcp
ANY_ANSWER_AFTER_S = 5.0  # a listener that answers without a page is taken after this long in the dev phase...
# ...unless the project is a front end, whose dev server serves a page: an API beside it (a full-stack project's, often
# on the front end's port + 1) may start well before it on a busy machine, and answering it would be the wrong app.
PAGE_AWAITED_S = 60.0
ELSEWHERE_AFTER_S = 5.0  # a dev server listening elsewhere than $PORT this long into its start is named (once)


def answer_wait(page_expected: bool) -> float:
    """How long into the dev phase a listener that answers without a page is taken as the app."""
    return PAGE_AWAITED_S if page_expected else ANY_ANSWER_AFTER_S


_ANY = ("0.0.0.0", "::")


@dataclass(frozen=True)
class Listener:
    host: str  # as bound: "0.0.0.0", "::", "127.0.0.1", "::1", or an interface's address
    port: int
    inode: int = 0

    @property
    def loopback_only(self) -> bool:
        return self.host == "::1" or self.host.startswith("127.")

    def address(self, reach: str) -> str:
        """host:port to connect to; `reach` is the machine's address for sockets bound to every interface."""
        host = reach if self.host in _ANY else self.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"


def _ipv4(hex_address: str) -> str:
    return ".".join(str(b) for b in reversed(bytes.fromhex(hex_address)))


def _ipv6(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc prints the address as four 32-bit words, each in the host's (little-endian) byte order.
    ordered = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    if ordered[:12] == b"\0" * 10 + b"\xff\xff":
        return ".".join(str(b) for b in ordered[12:])
    groups = [f"{int.from_bytes(ordered[i : i + 2], 'big'):x}" for i in range(0, 16, 2)]
    text = ":".join(groups)
    if text == "0:0:0:0:0:0:0:0":
        return "::"
    if text == "0:0:0:0:0:0:0:1":
        return "::1"
    return text


def parse_table(text: str) -> list[Listener]:
    """The listening sockets in the text of /proc/net/tcp or /proc/net/tcp6 (or both, one after the other)."""
    found: list[Listener] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 10 or fields[3] != _LISTEN or ":" not in fields[1]:
            continue
        address, port = fields[1].rsplit(":", 1)
        try:
            host = _ipv4(address) if len(address) == 8 else _ipv6(address)
            found.append(Listener(host, int(port, 16), int(fields[9])))
        except ValueError:
            continue
    return found


def _children(pid: int, proc: Path) -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields after the last ")" are fixed.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """`pid` and every process below it."""
    children = _children(pid, proc)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def listeners_of(pid: int, proc: Path = Path("/proc")) -> list[Listener]:
    """The listening TCP sockets held by `pid` and its descendants (read from their own network namespace)."""
    inodes: set[int] = set()
    tables: dict[int, list[Listener]] = {}
    for member in process_tree(pid, proc):
        mine = _socket_inodes(proc / str(member))
        if not mine:
            continue
        inodes |= mine
        try:
            namespace = os.stat(proc / str(member) / "ns" / "net").st_ino
        except OSError:
            namespace = -member
        if namespace not in tables:
            text = ""
            for table in ("tcp", "tcp6"):
                try:
                    text += (proc / str(member) / "net" / table).read_text()
                except OSError:
                    continue
            tables[namespace] = parse_table(text)
    seen: dict[int, Listener] = {}
    for table in tables.values():
        for listener in table:
            if listener.inode in inodes:
                seen.setdefault(listener.port, listener)
    return sorted(seen.values(), key=lambda item: item.port)


def listening_on(port: int, proc: Path = Path("/proc")) -> dict[int, Listener]:
    """The processes listening on `port` in this network namespace, by pid; empty when none can be seen (a process of
    another user, or none at all)."""
    text = ""
    for table in ("tcp", "tcp6"):
        try:
            text += (proc / "net" / table).read_text()
        except OSError:
            continue
    sockets = {listener.inode: listener for listener in parse_table(text) if listener.port == port}
    found: dict[int, Listener] = {}
    if not sockets:
        return found
    for entry in proc.iterdir():
        if entry.name.isdigit() and (held := _socket_inodes(entry) & sockets.keys()):
            found[int(entry.name)] = sockets[min(held)]
    return found


def _socket_inodes(process: Path) -> set[int]:
    found: set[int] = set()
    try:
        fds = os.listdir(process / "fd")
    except OSError:
        return found
    for fd in fds:
        try:
            target = os.readlink(process / "fd" / fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add(int(target[8:-1]))
    return found


async def answer_status(client: httpx.AsyncClient, url: str) -> int | None:
    """The status an HTTP server answers `url` with, None when nothing answers; asked as Forja's probe (see echoes.py).

    Any status means the app runs: a Flask app whose / fails until its database is made answers 500, and the preview
    shows that error page rather than waiting for a 200 that will not come.
    """
    try:
        return (await client.get(probe_url(url))).status_code
    except (httpx.HTTPError, OSError):
        return None


# A front end's dev server whose home page answers 404 this long is taken at its word (some answer 404 for a moment
# while their first build finishes): not running, but failed.
NOT_FOUND_FOR_S = 3.0
HOME_NOT_FOUND = (
    "The app started but its home page answers 404 (not found): its dev server has no page to show there. Check that "
    "the project has a home page and that the script that starts it runs the dev server (not one that serves a build "
    "not made yet), then start the preview again."
)


@dataclass
class HomePage:
    """Waits on the home page of a dev server that must serve one (RunPlan.home_page): any answer ends the wait but a
    404, which does only once it has lasted NOT_FOUND_FOR_S; `missing` then tells the preview failed."""

    expected: bool
    not_found_since: float | None = None

    def answered(self, status: int | None, now: float) -> bool:
        """Whether `status` (None: no answer) ends the wait for the dev server."""
        if status is None:
            return False
        if not self.missing(status):
            return True
        self.not_found_since = now if self.not_found_since is None else self.not_found_since
        return now - self.not_found_since >= NOT_FOUND_FOR_S

    def missing(self, status: int | None) -> bool:
        return self.expected and status == HTTPStatus.NOT_FOUND


def error_answer(status: int, port: int) -> tuple[str, LogLevel] | None:
    """The one log line for an app whose first page answers an error status (5xx an error, so "Fix this" is offered),
    None for a success or a redirect."""
    if status < 400:
        return None
    text = f"The app runs on port {port}, but its first page answers {status} {_reason(status)}: the preview shows it as it is"
    if status >= 500:
        return f"{text}; its own lines above say what failed.", LogLevel.error
    return f"{text}.", LogLevel.warning


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "(an error)"


def elsewhere_message(port: int, listening: Sequence[Listener]) -> str:
    """Said ELSEWHERE_AFTER_S into the dev phase when something listens, but not on the port the dev server was given
    (a front end's API may start before it: this names both ways)."""
    ports = ", ".join(str(item.port) for item in listening)
    return (
        f"Port {ports} is listening but $PORT ({port}) is not yet: if that is the app, the preview goes there once it "
        "answers; if not, the dev server should listen on $PORT."
    )


async def answering(
    client: httpx.AsyncClient,
    listening: Sequence[Listener],
    reach: str,
    asked: int,
    *,
    any_answer: bool,
    side_ports: Sequence[int] = (),
) -> Listener | None:
    """The listener that serves the app instead of the `asked` port, or None to keep waiting.

    None while something listens on the asked port (it is still starting). Else the first listener to answer
    with a page (HTML); with `any_answer`, after a while, the first to answer at all (an API on a port of its
    own), since early on a side server (an API beside the front end) may answer before the page does.
    `side_ports` are the plan's own side servers: never the answer.
    Loopback-only sockets count only when `reach` is loopback (the runner's own machine).
    """
    if any(listener.port == asked for listener in listening):
        return None
    first: Listener | None = None
    for listener in listening:
        if listener.port in side_ports or (listener.loopback_only and not reach.startswith("127.")):
            continue
        try:
            response = await client.get(probe_url(f"http://{listener.address(reach)}/"))
        except (httpx.HTTPError, OSError):
            continue
        if "html" in response.headers.get("content-type", ""):
            return listener
        first = first or listener
    return first if any_answer else None


@dataclass(frozen=True)
class Deadlines:
    """How long each step of a start may take before the preview is ended and says why (the dev server's silence has
    its own, `silent_s`): the install, and from the dev server's start until something answers HTTP."""

    install_s: float = 900
    answer_s: float = 240


def _last(tail: Sequence[str]) -> str:
    lines = [line.strip() for line in tail if line.strip()]
    return f'its last line was "{lines[-1][:300]}"' if lines else "it printed nothing"


def install_overdue(command: str, waited_s: float, tail: Sequence[str]) -> str:
    """Why an install was ended at its deadline, in one sentence naming the setting to raise."""
    return (
        f"The install (`{command or 'the install command'}`) was still running after {waited_s:.0f} s and was stopped "
        f"({_last(tail)}): raise FORJA_PREVIEW_INSTALL_TIMEOUT_S if it needs longer."
    )


def answer_overdue(command: str, waited_s: float, port: int, listening: Sequence[Listener], tail: Sequence[str]) -> str:
    """Why a dev server was ended when nothing answered HTTP by its deadline, in one sentence naming the setting."""
    if not listening:
        where = "it listens on no port"
    else:
        where = f"it listens on port {', '.join(str(item.port) for item in listening)} but answers no HTTP request there"
    return (
        f"`{command or 'The dev server'}` ran for {waited_s:.0f} s and nothing answered HTTP on $PORT ({port}): {where}, "
        f"{_last(tail)}; it was stopped: raise FORJA_PREVIEW_ANSWER_TIMEOUT_S if it needs longer."
    )


def stuck_message(silent_s: float) -> str:
    return (
        f"The dev server has printed nothing for {silent_s:.0f} s and listens on no port: it is stuck or waiting for input. "
        'Check the "dev" script in the Code tab (it must start a server, not run once and wait).'
    )


def not_answering_hint(port: int, listening: Sequence[Listener]) -> str:
    if listening:
        ports = ", ".join(str(item.port) for item in listening)
        return f"Nothing answers HTTP yet; the dev server listens on port {ports} (asked for $PORT, {port})."
    return f"Nothing listens yet: the dev server should listen on $PORT ({port}), or on any port Forja can find."
