"""Two workers on one real Redis, in one test process: what one does, the other sees.

Each worker is a Cluster of its own (its own connection, name and hubs), as two Forja processes would be. Logs emitted
on one are in the other's history and stream, numbered alike; a generation started on one is followed from the other
from its first event, is running for both, and stops when the other asks; a generation whose worker stopped keeping
its lease ends for its followers with a sentence; one worker at a time leads; a share link's preview is one worker's
until that worker stops keeping it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

import pytest

from builder.cluster import generations as shared_generations
from builder.cluster import previews as shared_previews
from builder.cluster.generations import WORKER_GONE, lease_key
from builder.cluster.worker import LEADER_KEY, Cluster
from builder.errors import GenerationBusy
from builder.generation.engine import GenerationEvent
from builder.generation.hub import Publish
from tests.waiting import until


@pytest.fixture
async def workers(redis_url: str) -> AsyncIterator[tuple[Cluster, Cluster]]:
    first, second = await Cluster.join(redis_url), await Cluster.join(redis_url)
    yield first, second
    await first.leave()
    await second.leave()


async def lines_of(cluster: Cluster, project_id: str, count: int) -> list[str]:
    """The project's first `count` lines, once the worker has them all."""
    stream = cluster.logs.follow(project_id)
    try:
        async with asyncio.timeout(10):
            return [(await anext(stream)).text for _ in range(count)]
    finally:
        await stream.aclose()


async def test_log_lines_of_one_worker_reach_the_other_in_order(workers: tuple[Cluster, Cluster], redis_url: str) -> None:
    first, second = workers
    stream = second.logs.follow("p")
    try:
        for n in range(20):
            (first if n % 2 else second).logs.emit("p", f"line {n}")
        first.logs.emit("other", "not p's")
        # One order on every worker: each worker's own lines in the order it wrote them, the two interleaved as
        # they reached Redis (lines written at the same moment by two workers have no order of their own).
        seen = await lines_of(second, "p", 20)
        assert seen == await lines_of(first, "p", 20)
        assert sorted(seen) == sorted(f"line {n}" for n in range(20))
        for parity in (0, 1):
            assert [line for line in seen if int(line.split()[1]) % 2 == parity] == [f"line {n}" for n in range(parity, 20, 2)]
        assert [line.seq for line in first.logs.history("p")] == [line.seq for line in second.logs.history("p")]
        async with asyncio.timeout(10):
            followed = [(await anext(stream)).text for _ in range(20)]
        assert followed == seen
    finally:
        await stream.aclose()
    # A worker that starts later reads what the stream holds.
    late = await Cluster.join(redis_url)
    try:
        assert [(line.seq, line.text) for line in late.logs.history("p")] == [
            (line.seq, line.text) for line in first.logs.history("p")
        ]
    finally:
        await late.leave()


async def test_a_generation_on_one_worker_is_followed_stopped_and_guarded_from_the_other(
    workers: tuple[Cluster, Cluster],
) -> None:
    first, second = workers
    go = asyncio.Event()

    async def run(publish: Publish) -> GenerationEvent:
        publish(GenerationEvent(type="status", project_id="p", message="writing"))
        try:
            await go.wait()
        except asyncio.CancelledError:
            stopped = GenerationEvent(type="error", project_id="p", message="Stopped by you; nothing was saved.")
            publish(stopped)
            return stopped
        done = GenerationEvent(type="done", project_id="p", version=1)
        publish(done)
        return done

    await first.generations.start("p", run)
    assert await second.generations.running("p")
    with pytest.raises(GenerationBusy):
        await second.generations.start("p", run)
    follower = asyncio.create_task(collect(second, "p"))
    await asyncio.sleep(0.3)
    go.set()
    assert await follower == [("status", "writing"), ("done", "")]
    # The lease goes once the last event is written: after that, another start would be allowed.
    await first.generations.wait("p")
    assert not await second.generations.running("p")
    assert await collect(second, "p") == [("status", "writing"), ("done", "")]  # replayed after the end

    # Stop, asked on the worker that does not run it.
    go.clear()
    await first.generations.start("p", run)
    follower = asyncio.create_task(collect(second, "p"))
    await asyncio.sleep(0.3)
    assert await second.generations.cancel("p")
    assert await follower == [("status", "writing"), ("error", "Stopped by you; nothing was saved.")]


async def test_a_generation_whose_worker_died_ends_for_its_followers(
    workers: tuple[Cluster, Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = workers
    # A short lease, so the test need not wait 15 s; the dead worker is the one that stops keeping it.
    monkeypatch.setattr(shared_generations, "LEASE_S", 1.0)
    dying = shared_generations.SharedGenerationHub(first.redis, "dying-worker")
    hang = asyncio.Event()  # never set: the generation hangs, as in a worker that froze

    async def run(publish: Publish) -> GenerationEvent:
        publish(GenerationEvent(type="status", project_id="q", message="writing"))
        await hang.wait()
        raise AssertionError("never reached")

    await dying.start("q", run)
    follower = asyncio.create_task(collect(second, "q"))
    await asyncio.sleep(0.3)
    # The worker freezes or dies: nothing keeps its lease alive any more, and its generation never ends.
    keeper = next(task for task in asyncio.all_tasks() if task.get_name() == f"lease-{lease_key('q')}")
    keeper.cancel()
    try:
        async with asyncio.timeout(15):
            events = await follower
        assert events == [("status", "writing"), ("error", WORKER_GONE)]
        assert not await second.generations.running("q")
    finally:
        await dying.cancel("q")


async def test_one_worker_leads_at_a_time(workers: tuple[Cluster, Cluster]) -> None:
    first, second = workers
    ran: list[str] = []

    def work_of(cluster: Cluster):
        async def work() -> None:
            ran.append(cluster.name)

        return work

    leaders = [asyncio.create_task(cluster.lead(work_of(cluster), every_s=0.1)) for cluster in workers]
    await asyncio.sleep(1)
    for task in leaders:
        task.cancel()
    holder = await first.redis.get(LEADER_KEY)
    assert ran and set(ran) == {holder}, ran
    del second


async def collect(cluster: Cluster, project_id: str) -> list[tuple[str, str]]:
    async with asyncio.timeout(20):
        return [(event.type, event.message) async for event in cluster.generations.follow(project_id)]


async def test_a_share_links_preview_is_one_workers_and_passes_on_when_it_dies(workers: tuple[Cluster, Cluster]) -> None:
    first, second = workers
    alive = {"v-1": True}

    async def runs(preview_id: str) -> bool:
        return alive[preview_id]

    first.previews.keep(runs)
    assert await first.previews.claim("p@1", "v-1", "http://v-1.localhost:1") is None
    held = await second.previews.claim("p@1", "v-2", "http://v-2.localhost:1")
    assert held is not None and (held.worker, held.preview_id, held.url) == (first.name, "v-1", "http://v-1.localhost:1")
    assert await second.previews.lookup("p@1") == held
    assert await first.previews.lookup("p@1") is None  # its own: it asks its own manager
    await second.previews.release("p@1")  # not the second's to drop
    assert await second.previews.lookup("p@1") == held

    # Kept past its lease while the preview lives, dropped once it stopped.
    await asyncio.sleep(shared_previews.LEASE_S * 1.2)
    assert await second.previews.lookup("p@1") == held
    alive["v-1"] = False
    await until(lambda: _is_none(second.previews.lookup("p@1")), "the entry's drop", within=shared_previews.LEASE_S)
    assert await second.previews.claim("p@1", "v-2", "http://v-2.localhost:1") is None

    # A worker that dies stops keeping its entries: they expire and another worker takes the link's preview.
    first.previews.ttl_ms = 300
    assert await first.previews.claim("p@2", "v-3", "http://v-3.localhost:1") is None
    first.previews._held.clear()  # pyright: ignore[reportPrivateUsage] (as if the process were gone)
    await until(lambda: _is_none(second.previews.claim("p@2", "v-4", "http://v-4.localhost:1")), "the entry's expiry", within=5)


async def _is_none(call: Awaitable[object]) -> bool:
    return await call is None
