"""Cursors in a co-edited file, checked at the server (builder/services/cursors.py), through Forja's real websocket route
(uvicorn on loopback) with clients that write their awareness messages byte by byte: a viewer's forged colour (the
security review's CSS), unknown fields, oversized or broken messages and messages that speak for another person's client
reach nobody; the name and colour others see are the person's own, whatever the client said; a client that goes without
a word is removed from the others' pages at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from builder.composition import Services
from builder.models import ProjectRole
from builder.services.presence import CURSOR_HEX, colour_for
from tests.accounts import Person
from tests.collab_clients import SELECTION, Heard, awareness, forja_served, listen, socket
from tests.waiting import until

ANA, CY = 1001, 2002  # the Yjs client ids of Ana's page and of Cy's
CSS = "red; } body { outline: 7px solid rgb(1,2,3) !important; } .x {"


@pytest.fixture
async def forja(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with forja_served(monkeypatch) as base:
        yield base


def as_(person: Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


def forgeries() -> list[tuple[str, bytes]]:
    """What a hostile viewer sends, each with why it must not reach anyone."""
    honest_user = {"name": "Cy", "colour": "#123456"}
    return [
        # First: Cy's client claims Ana's client id (to move or rename Ana's cursor on everyone's page).
        ("Ana's client id", awareness((ANA, 40, {"selection": SELECTION, "user": honest_user}))),
        ("CSS as a colour", awareness((CY, 1, {"selection": SELECTION, "user": {"name": "A person", "colour": CSS}}))),
        ("a colour name", awareness((CY, 2, {"user": {"name": "Cy", "colour": "red"}}))),
        ("an unknown field", awareness((CY, 3, {"selection": SELECTION, "style": "body { outline: 7px solid }"}))),
        ("an unknown user field", awareness((CY, 4, {"user": {**honest_user, "css": "x"}}))),
        ("a long name", awareness((CY, 5, {"user": {"name": "x" * 3000, "colour": "#123"}}))),
        ("another text", awareness((CY, 6, {"selection": {"anchor": SELECTION["anchor"], "head": {"tname": "evil"}}}))),
        ("a number as text", awareness((CY, 7, {"selection": {"anchor": {"assoc": "0"}, "head": {}}}))),
        ("a list as its state", awareness((CY, 8, "[1, 2]"))),
        ("broken JSON", awareness((CY, 9, '{"user": '))),
        ("bytes after its end", awareness((CY, 10, {})) + b"\x00"),
        ("a length past its end", b"\x01\x40\x01"),
        ("a number past 2^53", b"\x01\x0b\x01" + b"\xff" * 9 + b"\x01"),
        ("text that is not UTF-8", b"\x01\x06\x01\x01\x0b\x02\xff\xfe"),
        ("Ana's id alone", awareness((ANA, 41, {"user": honest_user}))),
        ("Ana's cursor removed", awareness((ANA, 42, None))),
        # Its own entry goes on (as the server says it); Ana's beside it does not.
        ("Ana's id beside its own", awareness((CY, 12, {}), (ANA, 43, {"user": honest_user}))),
    ]


async def test_forged_cursors_reach_nobody_and_names_are_the_people_own(
    accounts_on: Services, ana: Person, cy: Person, forja: str, caplog: pytest.LogCaptureFixture
) -> None:
    made = await accounts_on.projects.create("Shop", {"app.js": "let a = 1;\n"}, owner=ana.actor.user_id)
    project = made.project_id
    await accounts_on.access.add_member(project, cy.actor.email, ProjectRole.viewer)
    ana_heard: list[Heard] = []
    async with socket(forja, project, "app.js", as_(ana)) as ana_ws, socket(forja, project, "app.js", as_(cy)) as cy_ws:
        listening = asyncio.create_task(listen(ana_ws, ana_heard))
        await ana_ws.send_bytes(awareness((ANA, 1, {"selection": SELECTION})))
        await until(_heard(ana_heard, ANA, 1), "Ana's page to hear its own cursor back")
        with caplog.at_level(logging.WARNING, logger="builder.services.collab"):
            for _why, forged in forgeries():
                await cy_ws.send_bytes(forged)
            # Last, a message a page may send: a state in bounds, with a name that is not Cy's.
            await cy_ws.send_bytes(awareness((CY, 20, {"selection": SELECTION, "user": {"name": "A person", "colour": "#000"}})))
            await until(_heard(ana_heard, CY, 20), "Ana's page to hear Cy's cursor")
        # Messages of one socket are handled in order: everything before Cy's last one was heard, or dropped, by now.
        ana_user = {"name": "Ana Lima", "colour": CURSOR_HEX[colour_for(ana.actor.user_id)]}
        cy_user = {"name": "Cy Diaz", "colour": CURSOR_HEX[colour_for(cy.actor.user_id)]}
        assert ana_heard == [
            Heard(ANA, 1, {"selection": SELECTION, "user": ana_user}),
            Heard(CY, 12, {"selection": None, "user": cy_user}),
            Heard(CY, 20, {"selection": SELECTION, "user": cy_user}),
        ]
        dropped = [r.getMessage() for r in caplog.records if "dropped a cursor message" in r.getMessage()]
        assert len(dropped) == 1 and cy.actor.user_id in dropped[0] and "another person's client" in dropped[0], dropped
        # Cy's client goes without a word (a closed tab): Ana's page drops the cursor at once, not 30 s later.
        await cy_ws.close()
        await until(_heard(ana_heard, CY, 21), "Ana's page to hear that Cy's cursor went")
        assert ana_heard[-1] == Heard(CY, 21, None)
        listening.cancel()


async def test_a_guest_cursor_keeps_a_colour_of_its_own_and_says_guest(services: Services, forja: str) -> None:
    """Without accounts every cursor is a "Guest", each connection in a colour of its own from Forja's palette."""
    made = await services.projects.create("Alone", {"notes.txt": "hi\n"}, owner="local")
    heard: list[Heard] = []
    async with socket(forja, made.project_id, "notes.txt") as mine, socket(forja, made.project_id, "notes.txt") as theirs:
        await mine.receive_bytes()  # the room's first message: this socket is in the room
        listening = asyncio.create_task(listen(mine, heard))
        await theirs.send_bytes(awareness((7, 3, {"user": {"name": "Admin", "colour": "#fff"}})))
        await until(_heard(heard, 7, 3), "the other guest's cursor")
        listening.cancel()
    user = heard[-1].state and heard[-1].state["user"]
    assert isinstance(user, dict) and user["name"] == "Guest" and user["colour"] in CURSOR_HEX.values()


def _heard(heard: list[Heard], client: int, clock: int):
    async def check() -> bool:
        return any(h.client == client and h.clock == clock for h in heard)

    return check
