"""A running server app's doors, probed over HTTP: what anyone without a session can change, CORS, cookies, basic
headers, stack traces and debuggers in error pages, and debug modes the source turns on.

**Never run it against live data**: the review runs it in a scratch sandbox of its own
(builder/services/review_sandbox.py). The probe sends each route that
changes data (read from the source: Express, Flask, FastAPI) with no cookie and no Authorization and an empty JSON
body; an app whose doors are open really does what it is asked: a POST may add an empty row, and a DELETE or PUT to a
route with an id does delete or change the row with the id the probe guessed (its path parameters are filled with
"1"). A DELETE, PUT or PATCH on a route without a parameter (which could mean "all of them") is never sent.

Deterministic and bounded: the same requests in the same order every time, at most MAX_CHANGES changes and
MAX_ERROR_PROBES error probes besides a handful of fixed ones, each with a short timeout, no redirect followed, and
only to `base_url` (a request whose address would leave it is not sent). It reads routes it can see in the source
only, and knows nothing of the app's business rules: a 2xx to a change sent without a session is a finding even where
the app means to be open (a guest book), and a route that refuses everyone, signed in or not, passes.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import httpx

from builder.review.door_pages import (
    EVIL_ORIGIN,
    Answer,
    console_finding,
    cookie_findings,
    cors_finding,
    error_page_finding,
    header_findings,
)
from builder.review.door_routes import CHANGES, WRONG_TYPE, Route, read_routes
from builder.review.door_source import debug_in_source
from builder.review.findings import Finding, Severity, ordered

log = logging.getLogger(__name__)

MAX_CHANGES = 30
MAX_ERROR_PROBES = 6
TIMEOUT_S = 5.0
MAX_BODY = 256 * 1024
# A path no app serves: Django's DEBUG 404 page lists the app's URL patterns there.
MISSING_PAGE = "/forja-review-no-such-page"
# Routes that sign people in, up or out (and Forja's own, which the edge answers) are open by design.
_OPEN_BY_DESIGN = re.compile(r"/(?:log-?in|log-?out|sign-?in|sign-?out|sign-?up|register|auth|sessions?|token)(?=/|$)")
_VERBS = {"POST": "add to", "PUT": "change", "PATCH": "change", "DELETE": "delete"}


async def door_findings(base_url: str, client: httpx.AsyncClient, tree: Mapping[str, bytes]) -> list[Finding]:
    """Every door finding of the app answering at `base_url` whose project files are `tree`, worst first."""
    probe = _Probe(base_url, client)
    routes = read_routes(tree)
    found = [*debug_in_source(tree), *await probe.run(routes)]
    return ordered(found)


def changes_to_send(routes: list[Route]) -> list[Route]:
    """The changes the probe sends: no sign-in door, no DELETE/PUT/PATCH that names no id of the probe's own."""
    chosen = [
        route
        for route in routes
        if route.method in CHANGES
        and (route.method == "POST" or route.has_params)
        and not _OPEN_BY_DESIGN.search(route.path.lower())
        and not route.path.startswith("/_forja/")
    ]
    return chosen[:MAX_CHANGES]


class _Probe:
    def __init__(self, base_url: str, client: httpx.AsyncClient) -> None:
        self.base = httpx.URL(base_url.rstrip("/") + "/")
        self.client = client
        self.answers: list[Answer] = []

    async def run(self, routes: list[Route]) -> list[Finding]:
        home = await self.send("GET", "/")
        if home is None:
            log.warning("the app did not answer the review's first request; its doors were not probed")
            return []
        findings = header_findings(home)
        findings += self.cors(await self.cors_answers(routes))
        findings += [finding for route in changes_to_send(routes) if (finding := await self.change(route))]
        await self.error_probes(routes)
        console = await self.send("GET", "/console")
        findings += self.pages(console_finding(console) if console else None)
        return [*findings, *cookie_findings(self.answers, https=self.base.scheme == "https")]

    async def cors_answers(self, routes: list[Route]) -> list[Answer | None]:
        """`/`, the first GET route without parameters, and a preflight of the first change, each from another site."""
        origin = {"Origin": EVIL_ORIGIN}
        get = next((r for r in routes if r.method == "GET" and not r.has_params and r.path != "/"), None)
        change = next((r for r in changes_to_send(routes)), None)
        answers = [await self.send("GET", "/", headers=origin)]
        if get is not None:
            answers.append(await self.send("GET", get.path, headers=origin, route=get))
        if change is not None:
            preflight = {**origin, "Access-Control-Request-Method": change.method}
            answers.append(await self.send("OPTIONS", change.filled(), headers=preflight, route=change))
        return answers

    @staticmethod
    def cors(answers: list[Answer | None]) -> list[Finding]:
        """The first answer that lets any site in, once: the same setting shows on every path."""
        first = next((finding for answer in answers if answer and (finding := cors_finding(answer))), None)
        return [first] if first else []

    async def change(self, route: Route) -> Finding | None:
        answer = await self.send(route.method, route.filled(), json={}, route=route)
        if answer is None or not 200 <= answer.status < 300:
            return None
        verb = _VERBS[route.method]
        return Finding(
            check="doors",
            kind="change-without-session",
            severity=Severity.high,
            message=f"Anyone can {verb} the app's data here without signing in.",
            file=route.file,
            line=route.line,
            request=answer.request,
            fix=f"Make {route.method} {route.path} ({route.file} line {route.line}) answer 401 unless the request comes "
            f"from a signed-in user allowed to {verb} this data (and 403 for one who is not): check it on the server, "
            "in this route, before anything changes.",
        )

    async def error_probes(self, routes: list[Route]) -> None:
        """Requests that make typical frameworks fail: malformed JSON to POST routes, a parameter of the wrong type to
        GET routes (the app converting it itself), a page that does not exist."""
        posts = [r for r in changes_to_send(routes) if r.method == "POST"][: MAX_ERROR_PROBES // 2]
        gets = [r for r in routes if r.method == "GET" and r.has_params][: MAX_ERROR_PROBES - len(posts)]
        for route in posts:
            malformed = {"Content-Type": "application/json"}
            await self.send("POST", route.filled(), content=b'{"', headers=malformed, route=route, label="malformed JSON")
        for route in gets:
            await self.send("GET", route.filled(WRONG_TYPE), route=route)
        await self.send("GET", MISSING_PAGE)

    def pages(self, console: Finding | None) -> list[Finding]:
        """The console if it answers (then the debugger's pages say nothing more), else the first debugger page or
        stack trace of each kind among every answer."""
        if console is not None:
            return [console]
        found: dict[str, Finding] = {}
        for answer in self.answers:
            finding = error_page_finding(answer)
            if finding is not None and finding.kind not in found:
                found[finding.kind] = finding
        return list(found.values())

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: object = None,
        content: bytes | None = None,
        route: Route | None = None,
        label: str = "",
    ) -> Answer | None:
        """One request with no cookie and no Authorization, to `base_url` only; None when it could not be asked."""
        url = self.base.join(path.lstrip("/")) if path.startswith("/") else None
        if url is None or (url.scheme, url.host, url.port) != (self.base.scheme, self.base.host, self.base.port):
            log.warning("the review did not send %s %s: it would leave the app's address", method, path[:200])
            return None
        request = self.client.build_request(method, url, headers=headers, json=json, content=content, timeout=TIMEOUT_S)
        for name in ("cookie", "authorization"):
            request.headers.pop(name, None)
        described = f"{method} {path} with no session" + (f", {label}" if label else "")
        if headers and "Origin" in headers:
            described += f", from another site ({EVIL_ORIGIN})"
        try:
            response = await self.client.send(request, stream=True, auth=None, follow_redirects=False)
            try:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            log.info("the review's %s got no answer: %s", described, type(exc).__name__)
            return None
        try:
            text = bytes(body[:MAX_BODY]).decode(response.charset_encoding or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            text = bytes(body[:MAX_BODY]).decode("utf-8", "replace")
        file, line = (route.file, route.line) if route else ("", None)
        answer = Answer(described, response.status_code, response.headers, text, file, line)
        self.answers.append(answer)
        return answer
