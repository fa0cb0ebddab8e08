"""Presence: who has a project open, in one process and across two workers on a real Redis.

The same checks run on the in-memory service and on two SharedPresence on one Redis (a page on each worker): a join,
a move and a leave reach a watcher on the other side; a page whose heartbeat stops drops out by TTL, and its watchers
hear it; a move that comes after the page left (or expired) does not bring it back; projects do not see each other's
people.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis

from builder.cluster.presence import PresenceService, SharedPresence, entries_key, expiry_key
from builder.schemas import PresenceInfo, PresenceTab
from builder.services.presence import colour_for, initials_of
from builder.state.presence import shown_file, tab_of

TTL_S = 1.5  # short, so a crashed page drops out within the test


def entry(session: str, name: str, tab: PresenceTab = "code", file: str = "", generating: bool = False) -> PresenceInfo:
    return PresenceInfo(
        session=session,
        user_id=f"u-{name.lower()}",
        name=name,
        initials=initials_of(name),
        colour=colour_for(name),
        tab=tab,
        file=file,
        generating=generating,
        since=datetime.now(UTC),
    )


@pytest.fixture(params=["memory", "redis"])
async def pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[PresenceService, PresenceService]]:
    """Where two pages stand: the same service in one process, or one SharedPresence per worker on one Redis."""
    if request.param == "memory":
        one = PresenceService(ttl_s=TTL_S)
        yield one, one
        return
    url = request.getfixturevalue("redis_url")
    connections = [Redis.from_url(url, decode_responses=True) for _ in range(2)]
    services = [SharedPresence(redis, ttl_s=TTL_S) for redis in connections]
    for service in services:
        await service.start_listening()
    yield services[0], services[1]
    for service, redis in zip(services, connections, strict=True):
        await service.close()
        await redis.aclose()


async def next_list(watch: AsyncIterator[list[PresenceInfo]]) -> list[tuple[str, str, str, bool]]:
    async with asyncio.timeout(10):
        people = await anext(watch)
    return [(p.name, p.tab, p.file, p.generating) for p in people]


async def test_join_move_and_leave_reach_the_other_side(pair: tuple[PresenceService, PresenceService]) -> None:
    here, there = pair
    watch = there.watch("p")
    try:
        assert await next_list(watch) == []
        await here.put("p", entry("s1", "Ada"))
        assert await next_list(watch) == [("Ada", "code", "", False)]
        await here.put("p", entry("s1", "Ada", file="src/App.jsx"))
        assert await next_list(watch) == [("Ada", "code", "src/App.jsx", False)]
        await there.put("p", entry("s2", "Bob", tab="preview", generating=True))
        assert await next_list(watch) == [("Ada", "code", "src/App.jsx", False), ("Bob", "preview", "", True)]
        # Another project's people are not this one's.
        await here.put("q", entry("s3", "Cy"))
        await here.leave("p", "s1")
        assert await next_list(watch) == [("Bob", "preview", "", True)]
        assert [p.name for p in await here.here("q")] == ["Cy"]
        assert [p.name for p in await here.here("p")] == ["Bob"]
    finally:
        await watch.aclose()


async def test_a_heartbeat_that_stops_drops_the_page_by_ttl(pair: tuple[PresenceService, PresenceService]) -> None:
    here, there = pair
    ada = entry("gone", "Ada")
    bob = entry("kept", "Bob")
    await here.put("p", ada)
    await here.put("p", bob)
    watch = there.watch("p")
    try:
        assert [name for name, *_ in await next_list(watch)] == ["Ada", "Bob"]

        async def beat() -> None:
            while True:
                await here.put("p", bob)
                await asyncio.sleep(TTL_S / 4)

        beating = asyncio.create_task(beat())
        try:
            # Nobody says Ada left: her entry expires, and the watcher hears it without anyone asking.
            assert [name for name, *_ in await next_list(watch)] == ["Bob"]
        finally:
            beating.cancel()
    finally:
        await watch.aclose()


async def test_a_heartbeat_with_nothing_new_wakes_nobody(pair: tuple[PresenceService, PresenceService]) -> None:
    here, there = pair
    same = entry("s1", "Ada")
    await here.put("p", same)
    watch = there.watch("p")
    try:
        assert await next_list(watch) == [("Ada", "code", "", False)]
        await here.put("p", same)
        await here.put("p", entry("s1", "Ada", tab="logs"))
        # The heartbeat said nothing new: the next list is the move's.
        assert await next_list(watch) == [("Ada", "logs", "", False)]
    finally:
        await watch.aclose()


async def test_a_move_after_the_leave_does_not_bring_the_page_back(pair: tuple[PresenceService, PresenceService]) -> None:
    """A closed tab's last move (the end of a generation it asked for, in a task of its own) can come after its follower
    left: the tab stays gone instead of showing until its TTL. A page still there moves as before."""
    here, there = pair
    await here.put("p", entry("closed", "Ada"))
    await here.put("p", entry("open", "Bob"))
    watch = there.watch("p")
    try:
        assert [name for name, *_ in await next_list(watch)] == ["Ada", "Bob"]
        await there.leave("p", "closed")
        assert await next_list(watch) == [("Bob", "code", "", False)]
        late = await here.move("p", entry("closed", "Ada", tab="preview"))
        assert await here.move("p", entry("open", "Bob", tab="logs"))
        assert await next_list(watch) == [("Bob", "logs", "", False)]
        assert [p.name for p in await there.here("p")] == ["Bob"]
        assert not late
    finally:
        await watch.aclose()


async def test_a_move_does_not_bring_back_an_expired_page(pair: tuple[PresenceService, PresenceService]) -> None:
    here, there = pair
    await here.put("p", entry("s1", "Ada"))
    await asyncio.sleep(TTL_S + 0.2)
    late = await here.move("p", entry("s1", "Ada", tab="logs"))
    assert await there.here("p") == []
    assert not late


async def test_an_entry_in_redis_that_is_not_forja_reaches_no_page(redis_url: str) -> None:
    """Whatever lands in the presence hash (a worker of another version, anyone with the Redis) is checked as it is read:
    an entry whose colour is CSS, whose name is too long or holds control characters, whose tab is made up or which
    has fields of its own reaches no page; Forja's own entries still do."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        presence = SharedPresence(redis, ttl_s=TTL_S)
        await presence.put("p", entry("s1", "Ada"))
        good = entry("s0", "Bob").model_dump(mode="json")
        forged = [
            {**good, "colour": "red; } body { outline: 7px solid rgb(1,2,3) !important; } .x {"},
            {**good, "colour": "#123456"},  # a colour, but not one of the avatars'
            {**good, "name": "A person " * 200},
            {**good, "name": "Bob\x1b]0;pwned\x07"},
            {**good, "tab": "Deleting your project"},
            {**good, "file": "x" * 5000},
            {**good, "style": "outline: 7px solid"},
            {**good, "session": "s 9 <b>"},
        ]
        for n, data in enumerate(forged):
            session = f"f{n}" if data["session"] == "s0" else data["session"]
            await redis.hset(entries_key("p"), session, json.dumps({**data, "session": session}))  # pyright: ignore[reportGeneralTypeIssues]
            await redis.zadd(expiry_key("p"), {session: time.time() + 60})
        assert [p.name for p in await presence.here("p")] == ["Ada"]
        with pytest.raises(ValidationError):
            PresenceInfo.model_validate({**good, "colour": "red; } body {"})
    finally:
        await redis.aclose()


async def test_redis_keys_expire_when_nobody_beats(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await SharedPresence(redis, ttl_s=TTL_S).put("p", entry("s1", "Ada"))
        ttl_ms = await redis.pttl(entries_key("p"))
        assert 0 < ttl_ms <= TTL_S * 2000
    finally:
        await redis.aclose()


def test_initials_and_colours() -> None:
    assert initials_of("Ada Lovelace") == "AL"
    assert initials_of("bob.smith@example.org") == "BS"
    assert initials_of("Guest") == "G"
    assert initials_of("") == "?"
    assert colour_for("u1") == colour_for("u1")


def test_a_page_tells_the_others_only_a_tab_and_a_file_name_forja_has() -> None:
    """A page's events may name any tab or path: what the others are told is one of the page's tabs and a file name as
    Forja allows them (or nothing), so a made-up value never fails the page's entry."""
    assert tab_of("history") == "history"
    assert tab_of("Deleting your project") == "code"
    assert shown_file("src/App.jsx") == "src/App.jsx"
    assert shown_file("./src//App.jsx") == "src/App.jsx"
    for made_up in ("x" * 600, "a\x1b]0;pwned\x07", "../secrets", "/etc/passwd"):
        assert shown_file(made_up) == ""
    name = "\ufb03 \ufb03"  # two letters that upper-case to three each
    PresenceInfo(**{**entry("s1", "Ada").model_dump(), "name": name, "initials": initials_of(name)})
