"""The review's cross-user replay: what one signed-in person's requests do when another person, or nobody, sends them.

A server app that signs its people in through Forja (the edge's X-Forja-User and X-Forja-User-Token) decides in its
own code whose rows a request may read or change; the rules file does not see that code, and the doors check
(doors.py) sends only what it reads in the source, with no session and guessed ids. Here the app is used in Chromium
as a first person (app_use.py): the rows it adds hold a marker, and each request its page makes is tried again, before
or after the first person's own, as a second person and as nobody:

- a read whose answer to the first person holds the marker, answered with the marker to nobody (high) or to the
  second person (high for one row by its id, medium for a list: a board every member sees is a choice, said so);
- a change or delete of a row by its id (PUT, PATCH, DELETE, or a POST to a path with an id), answered 2xx to nobody
  or to the second person (high). It is tried before the first person's own, so the row is still there.

**Never against live data**: the review runs it in its scratch sandbox (builder/services/review_sandbox.py), whose
FORJA_USER_KEY is the public half of a key made for this review alone (Identities), so its tokens verify nowhere else.
The people are made up; nothing signs up. Bounded: at most MAX_TRIES requests tried, each with a short timeout.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from builder.app_backend import user_token
from builder.review.findings import Finding, Severity, ordered
from preview_runtime.apps_edge import TOKEN_HEADER, USER_HEADER

REVIEW_SCOPE = "review"  # the app claim of its tokens: <project>:review, no published app's nor preview's
MAX_TRIES = 24
MAX_BODY = 256 * 1024
# A path segment that names one row: a number, a uuid, or a longer token with a digit (an ObjectId, a nanoid).
_ROW_ID = re.compile(
    r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(?=[\w-]*\d)[\w-]{8,})$"
)
_CHANGES = {"PUT": "change", "PATCH": "change", "DELETE": "delete", "POST": "change"}
# Headers a try as someone else does not carry over: who is asking, and what the browser holds for the first person.
_PERSONAL = {USER_HEADER.lower(), TOKEN_HEADER.lower(), "cookie", "authorization", "host", "content-length"}


_SOURCE = (".py", ".js", ".mjs", ".cjs", ".ts", ".mts", ".rb", ".php", ".go")
_ASKS = re.compile(rb"x[-_]forja[-_]user|" + user_token.KEY_ENV.encode(), re.IGNORECASE)


def asks_who_is_asking(tree: Mapping[str, bytes]) -> bool:
    """Whether the app's server code reads who is asking from Forja (its header or its key): only such an app has
    people the replay can be; an app with a sign-in of its own is not tried."""
    return any(path.endswith(_SOURCE) and "node_modules/" not in path and _ASKS.search(data) for path, data in tree.items())


@dataclass(frozen=True)
class Person:
    id: str
    email: str


class Identities:
    """Two made-up people of one review and the key that signs their tokens, made for this review alone."""

    def __init__(self, project_id: str) -> None:
        self._key = Ed25519PrivateKey.generate()
        self.app = user_token.app_of(project_id, REVIEW_SCOPE)
        self.public = user_token.public_key(self._key)
        self.first = Person(id=secrets.token_hex(12), email="first.person@review.invalid")
        self.second = Person(id=secrets.token_hex(12), email="second.person@review.invalid")

    def headers(self, person: Person | None) -> dict[str, str]:
        """What the edge would add to a request of `person` (None: nobody, no header)."""
        if person is None:
            return {}
        return {
            USER_HEADER: user_token.user_header(person.id, person.email, "user"),
            TOKEN_HEADER: user_token.make(self._key, self.app, person.id, person.email, "user"),
        }


@dataclass(frozen=True)
class Sent:
    """A request the app's page made, as the first person."""

    method: str
    target: str  # path and query
    headers: dict[str, str]
    body: bytes | None


def route_of(target: str) -> tuple[str, bool]:
    """The request's path with each row id as `:id`, and whether it had one: `/api/notes/3?x=1` -> (`/api/notes/:id`,
    True)."""
    parts = urlsplit(target).path.split("/")
    named = [":id" if _ROW_ID.match(part) else part for part in parts]
    return "/".join(named), named != parts


def is_change(method: str, target: str) -> bool:
    """A change of one row by its id: what another person or nobody must not be able to do to it."""
    return method in ("PUT", "PATCH", "DELETE") or (method == "POST" and route_of(target)[1])


def ok(status: int) -> bool:
    return 200 <= status < 300


@dataclass
class Replay:
    """Tries the first person's requests as others, against `base_url` alone, and keeps what it finds."""

    base_url: str
    client: httpx.AsyncClient
    ids: Identities
    marker: str = field(default_factory=lambda: f"forja-review-{secrets.token_hex(4)}")
    found: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    tries: int = 0

    async def before(self, sent: Sent) -> None:
        """Before the first person's own request: a change of a row is tried as nobody, then as the second person."""
        if not is_change(sent.method, sent.target):
            return
        for person in (None, self.ids.second):
            status, _ = await self._as(person, sent)
            if ok(status):
                self._find(sent, person, change=True)
                return

    async def after(self, sent: Sent, status: int, body: bytes) -> None:
        """After the first person's own read: its answer, if it holds their rows, is asked for as nobody and as the
        second person."""
        if sent.method not in ("GET", "HEAD") or not ok(status) or self.marker.encode() not in body:
            return
        for person in (None, self.ids.second):
            status, answer = await self._as(person, sent)
            if ok(status) and self.marker.encode() in answer:
                self._find(sent, person, change=False)
                return

    def findings(self) -> list[Finding]:
        return ordered(list(self.found.values()))

    async def _as(self, person: Person | None, sent: Sent) -> tuple[int, bytes]:
        if self.tries >= MAX_TRIES:
            return 0, b""
        self.tries += 1
        headers = {name: value for name, value in sent.headers.items() if name.lower() not in _PERSONAL}
        try:
            answer = await self.client.request(
                sent.method,
                self.base_url.rstrip("/") + sent.target,
                headers={**headers, **self.ids.headers(person)},
                content=sent.body,
                follow_redirects=False,
            )
        except httpx.HTTPError:
            return 0, b""
        return answer.status_code, answer.content[:MAX_BODY]

    def _find(self, sent: Sent, person: Person | None, change: bool) -> None:
        route, one_row = route_of(sent.target)
        kind = ("change" if change else "read") + ("-without-session" if person is None else "-by-another")
        key = (kind, sent.method, route)
        if key not in self.found:
            self.found[key] = _finding(kind, sent.method, route, one_row)


# What each kind of finding says: (its sentence, what the model is asked to change), with {verb} and {route} filled in.
_SAID = {
    "change-without-session": (
        "Anyone, without signing in, can {verb} a row a signed-in person saved.",
        "Make {route} answer 401 when the request has no X-Forja-User, and 404 when the row's owner is not the signed-in person.",
    ),
    "change-by-another": (
        "One signed-in person can {verb} another person's rows.",
        "Make {route} check that the row's owner is the signed-in person (X-Forja-User's id) and answer 404 when it is not.",
    ),
    "read-without-session": (
        "Anyone, without signing in, can read what a signed-in person saved.",
        "Make {route} answer 401 when the request has no X-Forja-User, and only with the signed-in person's own rows.",
    ),
    "read-by-another": (
        "One signed-in person can read a row another person saved.",
        "Make {route} answer only with rows whose owner is the signed-in person (X-Forja-User's id), and 404 for "
        "another person's row.",
    ),
    "list-by-another": (
        "Every signed-in person sees the rows other people saved here; if that is not meant, show each their own.",
        "Make {route} answer only with rows whose owner is the signed-in person (X-Forja-User's id).",
    ),
}


def _finding(kind: str, method: str, route: str, one_row: bool) -> Finding:
    """A finding of `kind`; a read of a list (no row id) by another person is medium: a board every member reads may be
    meant."""
    who = "with no session" if kind.endswith("without-session") else "as another signed-in person"
    medium = kind == "read-by-another" and not one_row
    message, fix = _SAID["list-by-another" if medium else kind]
    return Finding(
        check="replay",
        kind=kind,
        severity=Severity.medium if medium else Severity.high,
        message=message.format(verb=_CHANGES.get(method, "change")),
        request=f"{method} {route} {who}",
        fix=fix.format(route=f"{method} {route}"),
    )
