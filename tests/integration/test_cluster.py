"""Two workers on one real Redis, in one test process: what one does, the other sees.

Each worker is a Cluster of its own (its own connection, name and hubs), as two Forja processes would be. Logs emitted
on one are in the other's history and stream, numbered alike; a generation started on one is followed from the other
from its first event, is running for both, and stops when the other asks; a generation whose worker stopped keeping
its lease ends for its followers with a sentence; one worker at a time leads; a preview is one worker's until that
worker stops keeping it, and that worker does what the others ask of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from redis.asyncio import Redis

from builder.cluster import generations as shared_generations
from builder.cluster.generations import WORKER_GONE, lease_key
from builder.cluster.previews import RemoteRefusal, SharedPreviewRegistry, WorkerGone, calls_channel
from builder.cluster.worker import LEADER_KEY, Cluster
from builder.errors import GenerationBusy, QuotaExceeded
from builder.generation.engine import GenerationEvent
from builder.generation.hub import Publish
from preview_runtime.runner import PreviewInfo, PreviewState
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


async def test_a_generation_whose_worker_died_ends_for_its_followers(workers: tuple[Cluster, Cluster]) -> None:
    first, second = workers
    # A short lease, so the test need not wait 15 s; the dead worker is the one that stops keeping it.
    dying = shared_generations.SharedGenerationHub(first.redis, "dying-worker", lease_s=1.0)
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


def preview(preview_id: str, project_id: str = "p", version: int = 1) -> PreviewInfo:
    return PreviewInfo(
        preview_id=preview_id,
        project_id=project_id,
        version=version,
        runner="local",
        state=PreviewState.running,
        url=f"http://{preview_id}.localhost:1",
    )


async def registries(redis_url: str, lease_s: float) -> tuple[Redis, SharedPreviewRegistry, SharedPreviewRegistry]:
    redis = Redis.from_url(redis_url, decode_responses=True)
    return redis, SharedPreviewRegistry(redis, "first", lease_s), SharedPreviewRegistry(redis, "second", lease_s)


async def test_a_preview_is_one_workers_kept_current_and_passes_on_when_it_dies(redis_url: str) -> None:
    redis, first, second = await registries(redis_url, lease_s=1.5)
    states: dict[str, PreviewInfo | None] = {"p1": preview("p1")}

    async def current(preview_id: str) -> PreviewInfo | None:
        return states[preview_id]

    try:
        first.serve({}, current)
        assert await first.claim("project:p", preview("p1")) is None
        held = await second.claim("project:p", preview("p2"))
        assert held is not None and (held.worker, held.info.preview_id, held.info.url) == ("first", "p1", "http://p1.localhost:1")
        assert await second.lookup("project:p") == held
        assert await first.lookup("project:p") is None  # its own: it asks its own manager
        assert list(await second.elsewhere()) == ["project:p"] and await first.elsewhere() == {}
        await second.release("project:p")  # not the second's to drop
        assert await second.lookup("project:p") == held

        # Kept past its lease while the preview lives, with its state then (a dev server that died shows as failed).
        states["p1"] = preview("p1").model_copy(update={"state": PreviewState.failed, "detail": "exit 1"})
        await asyncio.sleep(first.lease_s * 1.5)
        entry = await second.lookup("project:p")
        assert entry is not None and (entry.info.state, entry.info.detail) == (PreviewState.failed, "exit 1")
        # Dropped once it stopped.
        states["p1"] = None
        await until(lambda: _is_none(second.lookup("project:p")), "the entry's drop", within=first.lease_s * 2)
        assert await second.claim("project:p", preview("p2")) is None

        # Taken back after a restart: the same preview under the worker's new name takes its entry over at once.
        restarted = SharedPreviewRegistry(redis, "first-again", first.lease_s)
        assert await first.claim("project:q", preview("q1", "q")) is None
        assert await restarted.claim("project:q", preview("q1", "q")) is None
        assert (await second.lookup("project:q")).worker == "first-again"  # type: ignore[union-attr]

        # An entry that expired while its worker was too busy to renew it comes back at the worker's next update,
        # unless another worker started a preview of the key meanwhile.
        assert await first.claim("project:s", preview("s1", "s")) is None
        await redis.delete("forja:preview:entry:project:s")
        await first.update("project:s", preview("s1", "s"))
        assert (await second.lookup("project:s")).info.preview_id == "s1"  # type: ignore[union-attr]
        await redis.delete("forja:preview:entry:project:s")
        assert await second.claim("project:s", preview("s2", "s")) is None
        await first.update("project:s", preview("s1", "s"))
        assert await first.lookup("project:s") is not None and "project:s" not in first._held  # pyright: ignore[reportPrivateUsage]

        # A worker that dies stops keeping its entries: they expire and another worker takes the preview.
        assert await first.claim("project:r", preview("r1", "r")) is None
        first._held.clear()  # pyright: ignore[reportPrivateUsage] (as if the process were gone)
        await until(lambda: _is_none(second.claim("project:r", preview("r2", "r"))), "the entry's expiry", within=5)
    finally:
        await first.close()
        await second.close()
        await redis.aclose()


async def test_a_worker_does_what_another_asks_of_its_preview(redis_url: str) -> None:
    redis, first, second = await registries(redis_url, lease_s=15)

    async def stop(arguments: dict[str, Any]) -> dict[str, Any]:
        return {"stopped": arguments["key"], "by": first.worker}

    async def refuse(arguments: dict[str, Any]) -> None:
        raise QuotaExceeded("Too many previews.", "previews", 3, 3)

    async def nothing(preview_id: str) -> PreviewInfo | None:
        return None

    try:
        first.serve({"stop": stop, "start": refuse}, nothing)
        await until(lambda: _subscribed(redis, calls_channel("first")), "the first worker listening", within=5)
        assert await second.call("first", "stop", {"key": "project:p"}, timeout_s=5) == {"stopped": "project:p", "by": "first"}
        # A refusal comes back as what it was: its status and its sentence.
        with pytest.raises(RemoteRefusal) as refused:
            await second.call("first", "start", {}, timeout_s=5)
        assert (refused.value.status, refused.value.message) == (429, "Too many previews.")
        assert refused.value.body() == {"detail": "Too many previews.", "quota": "previews", "used": 3, "limit": 3}
        with pytest.raises(RemoteRefusal, match="does not know the preview operation"):
            await second.call("first", "unknown", {}, timeout_s=5)
        # Nobody listens for a worker that is gone: said at once, not after the timeout.
        with pytest.raises(WorkerGone, match="is gone"):
            await second.call("gone", "stop", {"key": "project:p"}, timeout_s=30)
        # Select mode is one for all the workers.
        await first.set_selecting("p", True)
        assert await second.selecting("p") and not await second.selecting("q")
        await second.set_selecting("p", False)
        assert not await first.selecting("p")
    finally:
        await first.close()
        await second.close()
        await redis.aclose()


async def _subscribed(redis: Redis, channel: str) -> bool:
    counts = await redis.pubsub_numsub(channel)  # pyright: ignore[reportGeneralTypeIssues]
    return bool(counts and counts[0][1])


async def _is_none(call: Awaitable[object]) -> bool:
    return await call is None
