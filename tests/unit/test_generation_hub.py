"""The generation hub's followers: they get every event from the start and never wait on a generation that is over."""

from __future__ import annotations

import asyncio

import pytest

from builder.generation.engine import GenerationEvent
from builder.generation.hub import GenerationHub, Publish


async def _collect(hub: GenerationHub, project_id: str) -> list[str]:
    async with asyncio.timeout(2):
        return [event.type async for event in hub.follow(project_id)]


async def test_a_follower_ends_with_the_done_event() -> None:
    hub = GenerationHub()
    go = asyncio.Event()

    async def run(publish: Publish) -> GenerationEvent:
        publish(GenerationEvent(type="status", project_id="p", message="working"))
        await go.wait()
        done = GenerationEvent(type="done", project_id="p")
        publish(done)
        return done

    await hub.start("p", run)
    follower = asyncio.create_task(_collect(hub, "p"))
    await asyncio.sleep(0.01)
    go.set()
    assert await follower == ["status", "done"]
    assert await _collect(hub, "p") == ["status", "done"]  # a later follower gets the same, replayed


@pytest.mark.parametrize("late", [False, True], ids=["following", "after-the-end"])
async def test_a_generation_that_ends_without_saying_so_ends_its_followers(late: bool) -> None:
    hub = GenerationHub()
    go = asyncio.Event()

    async def run(publish: Publish) -> GenerationEvent:
        publish(GenerationEvent(type="saved", project_id="p", version=1))
        await go.wait()
        raise RuntimeError("the check crashed before its done event")

    await hub.start("p", run)
    follower = None if late else asyncio.create_task(_collect(hub, "p"))
    await asyncio.sleep(0.01)
    go.set()
    with pytest.raises(RuntimeError):
        await hub.wait("p")
    assert await (follower if follower is not None else _collect(hub, "p")) == ["saved"]
