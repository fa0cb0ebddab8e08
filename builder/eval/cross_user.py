"""The cross-user probes of an app that keeps rows through the data API, against its running preview's own backend.

Two users sign up through the app's own sign-in door (`/_forja/auth/sign-up`); user A adds a row through the data API
(`/_forja/data/<collection>`), then someone not signed in, and then user B, try to read it (by its id and in the
list), change it and delete it. Each try is a probe: it passes when the app refuses it, or when it succeeds and the
task's own words let anyone do that to another's row (`EvalTask.shared`). A fresh row of A's is made for each of the
two, so a delete by the first does not make the second's tries pass for want of a row.

The requests go to Forja's own handler of a preview's `/_forja/` paths (builder/api/preview_backend.py), in this
process, with the preview's host and the gate's cookie Forja's own probes hold, as Traefik hands them over: the eval
command runs no HTTP server of its own for Traefik to reach.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Literal

import httpx
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from builder.api.app_auth import COOKIE
from builder.api.app_rows import PREFIX as DATA
from builder.api.preview_backend import preview_backend
from builder.app_backend.rules import Action, DataRules
from builder.eval.results import Probe

Who = Literal["someone not signed in", "another user"]
WHO: tuple[Who, ...] = ("someone not signed in", "another user")
TIMEOUT_S = 10.0
_DOES: dict[Action, tuple[str, str]] = {  # action -> (the probe's verb, what a success did)
    "read": ("reads", "read"),
    "update": ("changes", "changed"),
    "delete": ("deletes", "deleted"),
}


async def _backend(scope: Scope, receive: Receive, send: Send) -> None:
    header = dict(scope.get("headers", [])).get(b"host", b"")
    if not await preview_backend(header, scope, receive, send):
        await PlainTextResponse("That is not a preview's backend.", status_code=404)(scope, receive, send)


def collections_to_probe(rules: DataRules) -> list[str]:
    """The collections a signed-in user may add rows to: only there can A's row be made for others to reach."""
    return sorted(name for name, rule in rules.collections.items() if rule.get("create") in ("signed-in", "public"))


def verdict(who: Who, action: Action, collection: str, status: int, shared: Sequence[Action]) -> Probe:
    """The probe of `who` trying `action` on A's row of `collection`, which the backend answered with `status`."""
    verb, done = _DOES[action]
    name = f"{who} {verb} a user's row of {collection!r}"
    if status >= 300:
        return Probe(name=name, passed=True, reason=f"Refused ({status}).")
    if action in shared:
        return Probe(name=name, passed=True, reason=f"It {done} it ({status}), as the task lets anyone do.")
    return Probe(name=name, passed=False, reason=f"It {done} another user's row ({status}); the task does not allow that.")


class PreviewBackend:
    """A running preview's sign-in and data API, asked as its own pages ask them (their origin, the gate's cookie)."""

    def __init__(self, url: str, gate_cookie: str) -> None:
        origin = str(httpx.URL(url).copy_with(path="/", query=None, fragment=None)).rstrip("/")
        self._gate = gate_cookie
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_backend), base_url=origin, headers={"origin": origin}, timeout=TIMEOUT_S
        )

    async def __aenter__(self) -> PreviewBackend:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def send(
        self, method: str, path: str, session: str = "", form: dict[str, str] | None = None, body: object = None
    ) -> httpx.Response:
        cookie = "; ".join(part for part in (self._gate, f"{COOKIE}={session}" if session else "") if part)
        try:
            return await self._client.request(method, path, headers={"cookie": cookie}, data=form, json=body)
        finally:
            self._client.cookies.clear()  # each request says who it is by its own Cookie header alone

    async def sign_up(self, name: str) -> str:
        """A new user's session, made on the app's sign-up page; ProbeError when the app gave none."""
        email = f"forja-probe-{name}-{secrets.token_hex(4)}@example.org"
        form = {"email": email, "password": secrets.token_urlsafe(18), "next": "/"}
        answer = await self.send("POST", "/_forja/auth/sign-up", form=form)
        session = answer.cookies.get(COOKIE)
        if answer.status_code != 303 or not session:
            raise ProbeError(f"user {name} could not sign up through the app's sign-in door ({answer.status_code})")
        return session

    async def add_row(self, collection: str, session: str) -> str:
        answer = await self.send("POST", f"{DATA}{collection}", session, body={"forja_probe": "user A's row"})
        if answer.status_code != 201:
            raise ProbeError(f"user A could not add a row to {collection!r} ({answer.status_code}): {answer.text[:200]}")
        return str(answer.json()["id"])

    async def tries(self, collection: str, row: str, session: str) -> dict[Action, int]:
        """What the backend answered to each try on A's `row`, as `session` ("" for no one): a listing that holds
        the row counts as a read."""
        at = f"{DATA}{collection}/{row}"
        read = (await self.send("GET", at, session)).status_code
        if read >= 300:
            listed = await self.send("GET", f"{DATA}{collection}", session)
            if listed.status_code < 300 and any(r.get("id") == row for r in listed.json().get("rows", [])):
                read = listed.status_code
        change = (await self.send("PATCH", at, session, body={"forja_probe": "changed by someone else"})).status_code
        delete = (await self.send("DELETE", at, session)).status_code
        return {"read": read, "update": change, "delete": delete}


class ProbeError(Exception):
    """A probe could not be set up (a sign-up or A's own row refused): said as the failed probe's reason."""


async def cross_user_probes(url: str, gate_cookie: str, rules: DataRules, shared: Sequence[Action]) -> list[Probe]:
    """The probes of each collection a user may add to, for the preview at `url`."""
    probes: list[Probe] = []
    collections = collections_to_probe(rules)
    if not collections:
        return probes
    async with PreviewBackend(url, gate_cookie) as backend:
        try:
            a, b = await backend.sign_up("a"), await backend.sign_up("b")
        except ProbeError as exc:
            return [Probe(name="two users sign up", passed=False, reason=f"The probes could not run: {exc}.")]
        for collection in collections:
            for who, session in zip(WHO, ("", b), strict=True):
                try:
                    row = await backend.add_row(collection, a)
                except ProbeError as exc:
                    probes.append(Probe(name=f"user A adds a row to {collection!r}", passed=False, reason=f"{exc}."))
                    break
                answers = await backend.tries(collection, row, session)
                probes += [verdict(who, action, collection, status, shared) for action, status in answers.items()]
    return probes
