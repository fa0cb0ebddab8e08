"""The dev server's echoes of Forja's own doing, kept out of the person's Logs.

A dev server logs what reaches it, whoever sent it. Forja sends a preview things of its own: readiness probes and
the proxy's routing checks, the requests of the browser that verifies a generation, and files pushed only for
itself (Select mode adding and removing source places), which Vite answers with one "hmr update" line per file. The
person did none of it, and their Logs should not fill with it. So:

- Forja's probes carry PROBE in their query string (see probe_url), and an access line naming it is dropped;
- the verifying browser's requests are announced before they are sent (`requested`), and the access line of each is
  dropped once;
- a push is announced with whose it is (`pushed`): the HMR lines of Forja's own pushes are dropped, and a save's
  beyond its first, so one save is one line.

An announcement no line answers (a server that does not log requests) lapses after ECHO_S seconds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PROBE = "forja-probe"
ECHO_S = 30.0

_PROBED = re.compile(rf"[?&]{PROBE}\b")
_METHODS = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)"
# Access lines naming their request: http.server, Flask, Django, uvicorn ('"GET /x HTTP/1.1" 200'), Express's
# morgan ("GET /x 200 3.1 ms") and serve's request line ("HTTP  ...  GET /x"); builder/logview.py reads their status.
_ACCESS = (
    re.compile(rf'"(?P<method>{_METHODS}) (?P<target>\S+) HTTP/[\d.]+"'),
    re.compile(rf"^\s*(?P<method>{_METHODS}) (?P<target>\S+) \d{{3}} [\d.]+ ms"),
    re.compile(rf"^\s*HTTP\s.*\s(?P<method>{_METHODS}) (?P<target>\S+)$"),
)
# Vite's answer to changed files ("[vite] (client) hmr update /src/App.jsx, /src/index.css", "page reload index.html"),
# with its count of repeats ("(x2)") at the end.
_HMR = re.compile(r"\[vite\].*?\b(?:hmr update|hmr invalidate|page reload)\s+(?P<paths>.+?)(?:\s+\(x\d+\))?\s*$")


def probe_url(url: str) -> str:
    """`url` marked as Forja's own probe."""
    return f"{url}{'&' if '?' in url else '?'}{PROBE}"


def request_of(text: str) -> tuple[str, str] | None:
    """The method and target of a web server's access line, or None for another line."""
    for pattern in _ACCESS:
        if match := pattern.search(text):
            return match["method"], match["target"]
    return None


def _hmr_paths(text: str) -> list[str] | None:
    """The files a Vite HMR line names (relative to Vite's root), or None for another line."""
    match = _HMR.search(text)
    return [path.strip().lstrip("/") for path in match["paths"].split(",")] if match else None


@dataclass
class _Push:
    paths: frozenset[str]
    own: bool
    until: float
    echoed: bool = False

    def names(self, path: str) -> bool:
        """Whether a path as Vite names it (from its root, which may be a folder of the project) was pushed."""
        return any(pushed == path or pushed.endswith("/" + path) for pushed in self.paths)


@dataclass
class Echoes:
    """One preview's: what Forja has announced, and which of the dev server's lines echo it."""

    clock: Callable[[], float] = time.monotonic
    _pushes: list[_Push] = field(default_factory=list)
    _requests: list[tuple[str, str, float]] = field(default_factory=list)

    def pushed(self, paths: Iterable[str], *, own: bool) -> None:
        """Files are about to reach the preview: Forja's own (`own`), or a save's."""
        self._pushes.append(_Push(frozenset(paths), own, self.clock() + ECHO_S))

    def requested(self, method: str, target: str) -> None:
        """Forja is about to send this request (method, path and query) to the preview."""
        self._requests.append((method.upper(), target, self.clock() + ECHO_S))

    def keep(self, text: str) -> bool:
        """Whether a line of the dev server's is the person's to read (False: an echo of Forja's own doing)."""
        if _PROBED.search(text):
            return False
        now = self.clock()
        self._pushes = [push for push in self._pushes if push.until > now]
        self._requests = [request for request in self._requests if request[2] > now]
        if (paths := _hmr_paths(text)) is not None:
            return self._keep_hmr(paths)
        if (request := request_of(text)) is not None:
            for index, (method, target, _) in enumerate(self._requests):
                if (method, target) == request:
                    del self._requests[index]
                    return False
        return True

    def _keep_hmr(self, paths: list[str]) -> bool:
        # The newest push first: a save of a file Forja pushed a moment ago for itself is the person's.
        for push in reversed(self._pushes):
            if any(push.names(path) for path in paths):
                if push.own or push.echoed:
                    return False
                push.echoed = True
                return True
        return True
