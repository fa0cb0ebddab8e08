"""Co-editing rooms through Forja's real websocket route (uvicorn on loopback, pycrdt clients): random concurrent edits
of three clients converge; people join with their API tokens, viewers follow read-only, other sites and strangers are
refused, the editors' cap holds; Save makes one version naming everyone who typed; a version made elsewhere comes into
the room and unsaved typing is kept as a conflict; a room is the same after its worker's rooms all closed; and typing done
offline comes back with its client."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from pycrdt import Doc, Map, Text

from builder.composition import Services
from builder.models import ProjectRole
from builder.services.access import Actor
from builder.settings import settings
from tests.accounts import PASSWORD, Person
from tests.collab_clients import converged, forja_served, joined, refusal, text_of
from tests.waiting import until

START = "line one\nline two\n"
ALPHABET = "abcxyz \n"


@pytest.fixture
async def forja(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with forja_served(monkeypatch) as base:
        yield base


def random_edit(doc: Doc, rng: random.Random) -> None:
    text = doc.get("content", type=Text)
    length = len(str(text))
    if length and rng.random() < 0.35:
        start = rng.randrange(length)
        del text[start : min(length, start + rng.randint(1, 4))]
    else:
        text.insert(rng.randint(0, length), "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3))))


@pytest.mark.parametrize("seed", [7, 2026])
async def test_random_concurrent_edits_of_three_clients_converge(services: Services, forja: str, seed: int) -> None:
    made = await services.projects.create("Together", {"notes.txt": START}, owner="local")
    rng = random.Random(seed)
    async with (
        joined(forja, made.project_id, "notes.txt") as a,
        joined(forja, made.project_id, "notes.txt") as b,
        joined(forja, made.project_id, "notes.txt") as c,
    ):
        assert text_of(a) == text_of(b) == text_of(c) == START
        for _round in range(12):
            # Each client edits its own copy before hearing of the others' edits of this round.
            for doc in (a, b, c):
                for _ in range(rng.randint(1, 3)):
                    random_edit(doc, rng)
            await asyncio.sleep(0)
        # A marker each typed last must be in the text all three agree on.
        for doc, mark in ((a, "<A>"), (b, "<B>"), (c, "<C>")):
            doc.get("content", type=Text).insert(0, mark)
        final = await converged([a, b, c], lambda t: all(m in t for m in ("<A>", "<B>", "<C>")))
    # The room was kept: joining again later (its worker closed it meanwhile) gives the same text.
    async with joined(forja, made.project_id, "notes.txt") as again:
        assert text_of(again) == final


async def test_typing_done_offline_comes_back_with_its_client_and_loses_nothing(services: Services, forja: str) -> None:
    """A client leaves (offline), types on; meanwhile another types, and every client leaves, so the room closes. The
    first one comes back: both texts are in the room, for it and for anyone who joins later."""
    made = await services.projects.create("Away", {"notes.txt": START}, owner="local")
    away = Doc()
    async with joined(forja, made.project_id, "notes.txt", doc=away):
        assert text_of(away) == START
    away.get("content", type=Text).insert(0, "<typed offline>")
    async with joined(forja, made.project_id, "notes.txt") as stayed, joined(forja, made.project_id, "notes.txt") as seen:
        text = stayed.get("content", type=Text)
        text.insert(len(str(text)), "<typed meanwhile>")
        await converged([stayed, seen], lambda t: "<typed meanwhile>" in t and "<typed offline>" not in t)
    async with joined(forja, made.project_id, "notes.txt", doc=away):
        await converged([away], lambda t: t == "<typed offline>" + START + "<typed meanwhile>")
    async with joined(forja, made.project_id, "notes.txt") as later:
        assert text_of(later) == "<typed offline>" + START + "<typed meanwhile>"


async def test_people_join_with_tokens_viewers_follow_and_save_names_everyone(
    accounts_on: Services, ana: Person, bo: Person, cy: Person, forja: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = await accounts_on.projects.create("Shop", {"app.js": START, "logo.png": b"\x89PNG\0\0"}, owner=ana.actor.user_id)
    project = made.project_id
    await accounts_on.access.add_member(project, bo.actor.email, ProjectRole.editor)
    await accounts_on.access.add_member(project, cy.actor.email, ProjectRole.viewer)

    def as_(person: Person) -> dict[str, str]:
        return {"Authorization": f"Bearer {person.token}"}

    # Nobody without a sign-in, no page of another site, nobody without a role, no bytes file.
    code, reason = await refusal(forja, project, "app.js")
    assert code == 4401 and "Sign in" in reason
    code, reason = await refusal(forja, project, "app.js", {**as_(ana), "Origin": "http://preview.localhost:3000"})
    assert code == 4403 and "other sites" in reason
    code, _ = await refusal(forja, project, "app.js", {"Authorization": f"Bearer {await token_of(accounts_on, 'eve')}"})
    assert code == 4404
    code, reason = await refusal(forja, project, "logo.png", as_(ana))
    assert code == 4422 and "not a text file" in reason

    async with (
        joined(forja, project, "app.js", as_(ana)) as mine,
        joined(forja, project, "app.js", as_(bo)) as theirs,
        joined(forja, project, "app.js", as_(cy)) as watching,
    ):
        # The cap counts people, not viewers: a third editor is one too many at two.
        monkeypatch.setattr(settings, "collab_max_editors", 2)
        dan = await token_of(accounts_on, "dan")
        await accounts_on.access.add_member(project, "dan@example.org", ProjectRole.editor)
        code, reason = await refusal(forja, project, "app.js", {"Authorization": f"Bearer {dan}"})
        assert code == 4429 and "FORJA_COLLAB_MAX_EDITORS" in reason

        mine.get("content", type=Text).insert(0, "// Ana\n")
        theirs.get("content", type=Text).insert(len(START), "// Bo\n")
        # The viewer's typing is dropped by the server: nobody else sees it.
        watching.get("content", type=Text).insert(0, "// Cy\n")
        both = await converged([mine, theirs], lambda t: "// Ana" in t and "// Bo" in t)
        assert "// Cy" not in both
        # The viewer follows (their own dropped typing stays only in their copy, which their page does not allow).
        await converged([watching], lambda t: "// Ana" in t and "// Bo" in t)

        saved = await accounts_on.collab.save(project, bo.actor)
        assert saved.changed == ["app.js"]
        assert (await accounts_on.projects.read_file(project, "app.js")).decode() == both
        version = (await accounts_on.projects.versions(project))[-1]
        assert version.user_id == bo.actor.user_id
        assert version.authors == ["Ana Lima", "Bo Park"]

        # A version made elsewhere (a restore) comes in as an edit; Ana's unsaved typing is kept as a conflict.
        mine.get("content", type=Text).insert(0, "// unsaved\n")
        await converged([mine, theirs], lambda t: "// unsaved" in t)

        async def noted() -> bool:
            return bool(await accounts_on.collab.unsaved(project)) and bool(await accounts_on.collab.authors(project, ["app.js"]))

        await until(noted, "Ana's typing to be kept with her name")
        await accounts_on.history.restore(project, 1, ana.actor.user_id)
        await converged([mine, theirs], lambda t: t == START)
        conflict = mine.get("forja", type=Map)
        assert "// unsaved" in str(conflict.get("conflict"))
        assert conflict.get("conflict_version") == 3


async def token_of(services: Services, name: str) -> str:
    """A new account's API token."""
    info = await services.accounts.create_user(f"{name}@example.org", name.title(), PASSWORD)
    return (await services.accounts.create_token(Actor(info.id, info.email, info.name, info.role), "tests")).token
