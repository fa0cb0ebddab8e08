"""The cross-user probes of an app that keeps rows through the data API, on its preview's own people and rows.

Two users sign up through the app's own sign-in (its preview's accounts); user A adds a row to a collection, then
someone not signed in, and then user B, try to read it (by its id, and in the list), change it and delete it, under
the rules of the version the preview runs. Each try is a probe: it passes when the app refuses it, or when it succeeds
and the task's own words let anyone do that to another's row (`EvalTask.shared`). A fresh row of A's is made for each
of the two, so a delete by the first does not make the second's tries pass for want of a row.

The tries go through the service layer that the preview's `/_forja/auth/` and `/_forja/data/` answer with
(builder/api/app_auth.py and app_rows.py call the same methods, after their own checks of the request's origin and the
preview's gate, which their own tests prove): the eval command serves no HTTP of its own for them to reach.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from builder.app_backend.identity import AppViewer
from builder.app_backend.rules import Action, DataRules
from builder.errors import ForjaError
from builder.eval.results import Probe
from builder.services.app_data import Scope
from builder.services.app_rows import ListQuery
from builder.services.throttle import Attempt

if TYPE_CHECKING:
    from builder.composition import Services

Who = Literal["someone not signed in", "another user"]
WHO: tuple[Who, ...] = ("someone not signed in", "another user")
PREVIEW = Scope.preview
# Where the probes' sign-ups count, as a visitor's address would (each app's sign-ups are counted apart).
PROBE_ADDRESS = "127.0.0.1"
_DOES: dict[Action, tuple[str, str]] = {  # action -> (the probe's verb, what a success did)
    "read": ("reads", "read"),
    "update": ("changes", "changed"),
    "delete": ("deletes", "deleted"),
}


def collections_to_probe(rules: DataRules) -> list[str]:
    """The collections a signed-in user may add rows to: only there can A's row be made for others to reach."""
    return sorted(name for name, rule in rules.collections.items() if rule.get("create") in ("signed-in", "public"))


def verdict(who: Who, action: Action, collection: str, refused: str, shared: Sequence[Action]) -> Probe:
    """The probe of `who` trying `action` on A's row of `collection`: `refused` is the app's sentence ("" when done)."""
    verb, done = _DOES[action]
    name = f"{who} {verb} a user's row of {collection!r}"
    if refused:
        return Probe(name=name, passed=True, reason=f"Refused: {refused}")
    if action in shared:
        return Probe(name=name, passed=True, reason=f"It {done} it, as the task lets anyone do.")
    return Probe(name=name, passed=False, reason=f"It {done} another user's row; the task does not allow that.")


class ProbeError(Exception):
    """A probe could not be set up (a sign-up or A's own row refused): said as the failed probe's reason."""


class PreviewData:
    """A project's preview people and rows, under the rules of the version its preview runs."""

    def __init__(self, services: Services, project_id: str, rules: DataRules) -> None:
        self._services = services
        self._project = project_id
        self._rules = rules

    async def sign_up(self, name: str) -> str:
        """A new user's session token; ProbeError when the app's sign-up refused it."""
        email = f"forja-probe-{name}-{secrets.token_hex(4)}@example.org"
        try:
            attempt = Attempt(PROBE_ADDRESS)
            return await self._services.app_users.sign_up(self._project, PREVIEW, email, secrets.token_urlsafe(18), attempt)
        except ForjaError as exc:
            raise ProbeError(f"user {name} could not sign up: {exc.message}") from None

    async def add_row(self, collection: str, session: str) -> str:
        viewer = await self._services.app_users.viewer_of(self._project, PREVIEW, session)
        try:
            row = await self._services.app_rows.create(
                self._project, PREVIEW, self._rules, collection, viewer, {"forja_probe": "user A's row"}
            )
        except ForjaError as exc:
            raise ProbeError(f"user A could not add a row to {collection!r}: {exc.message}") from None
        return row.id

    async def _listed(self, where: tuple[str, Scope, DataRules, str, AppViewer], row_id: str) -> bool:
        try:
            listed = await self._services.app_rows.list(*where, ListQuery())
        except ForjaError:
            return False
        return any(row.id == row_id for row in listed.rows)

    async def tries(self, collection: str, row_id: str, session: str | None) -> dict[Action, str]:
        """The app's refusal of each try on A's row as `session` (None: no one), "" for each it did: a list that
        holds the row counts as a read."""
        rows, viewer = self._services.app_rows, await self._services.app_users.viewer_of(self._project, PREVIEW, session)
        where = (self._project, PREVIEW, self._rules, collection, viewer)
        refusals: dict[Action, str] = {}
        try:
            await rows.get(*where, row_id)
            refusals["read"] = ""
        except ForjaError as exc:
            refusals["read"] = "" if await self._listed(where, row_id) else exc.message
        try:
            await rows.update(*where, row_id, {"forja_probe": "changed by someone else"}, merge=True)
            refusals["update"] = ""
        except ForjaError as exc:
            refusals["update"] = exc.message
        try:
            await rows.delete(*where, row_id)
            refusals["delete"] = ""
        except ForjaError as exc:
            refusals["delete"] = exc.message
        return refusals


async def cross_user_probes(services: Services, project_id: str, rules: DataRules, shared: Sequence[Action]) -> list[Probe]:
    """The probes of each collection a user may add to, on the project's preview data."""
    collections = collections_to_probe(rules)
    if not collections:
        return []
    data = PreviewData(services, project_id, rules)
    try:
        a, b = await data.sign_up("a"), await data.sign_up("b")
    except ProbeError as exc:
        return [Probe(name="two users sign up", passed=False, reason=f"The probes could not run: {exc}.")]
    probes: list[Probe] = []
    for collection in collections:
        for who, session in zip(WHO, (None, b), strict=True):
            try:
                row_id = await data.add_row(collection, a)
            except ProbeError as exc:
                probes.append(Probe(name=f"user A adds a row to {collection!r}", passed=False, reason=f"{exc}."))
                break
            refusals = await data.tries(collection, row_id, session)
            probes += [verdict(who, action, collection, refused, shared) for action, refused in refusals.items()]
    return probes
