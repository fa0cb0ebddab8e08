"""The Preview tab follows its preview's reports while the page is there, and lets go of them cleanly when it goes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

from builder.state.preview import while_connected
from preview_runtime.runner import PreviewInfo, PreviewState


def report(state: PreviewState) -> PreviewInfo:
    return PreviewInfo(preview_id="p1", project_id="abc", version=1, runner="local", state=state)


async def reports(stop: asyncio.Event, closed: list[str]) -> AsyncGenerator[PreviewInfo, None]:
    """A preview that starts, then says nothing more until `stop`, as one that runs does."""
    try:
        yield report(PreviewState.starting)
        await stop.wait()
        yield report(PreviewState.running)
    finally:
        closed.append("closed")


def test_a_page_that_goes_while_its_preview_says_nothing_lets_go_of_the_reports_without_an_error() -> None:
    async def follow() -> tuple[list[PreviewState], list[str]]:
        seen: list[PreviewState] = []
        closed: list[str] = []
        page = {"connected": True}

        async def connected() -> bool:
            return page["connected"]

        async with contextlib.aclosing(reports(asyncio.Event(), closed)) as followed:
            async for info in while_connected(followed, connected, check_s=0.01):
                seen.append(info.state)
                page["connected"] = False  # the tab closes while the preview runs and says nothing new
        return seen, closed

    # Before, closing the reports raised "aclose(): asynchronous generator is already running".
    seen, closed = asyncio.run(follow())
    assert seen == [PreviewState.starting]
    assert closed == ["closed"]


def test_reports_are_followed_to_their_end_while_the_page_is_there() -> None:
    async def follow() -> list[PreviewState]:
        stop, closed = asyncio.Event(), []
        asked = 0

        async def connected() -> bool:
            nonlocal asked
            asked += 1
            stop.set()  # the preview moves on once the page was asked about
            return True

        async with contextlib.aclosing(reports(stop, closed)) as followed:
            states = [info.state async for info in while_connected(followed, connected, check_s=0.01)]
        assert asked >= 1 and closed == ["closed"]
        return states

    assert asyncio.run(follow()) == [PreviewState.starting, PreviewState.running]
