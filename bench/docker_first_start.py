"""Docker previews with no extra step, timed: prints figures, asserts nothing.

  first   a Forja start on a machine with Docker and no preview image -> its first preview that
          runs in Docker answers (the image built in the background, as `scripts/run.sh` does);
          with --cold the offline build keeps no download cache, as on a fresh machine;
  check   what a later start adds: finding the already built image (engine + image inspect,
          and the inputs hash that names it), median of --repeat runs.

The image goes to a repository of its own (removed at the end), so Forja's own image is untouched.

    .venv/bin/python bench/docker_first_start.py [--cold] [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from builder import db  # noqa: E402
from builder.composition import Services  # noqa: E402
from builder.models import LOCAL_USER_ID  # noqa: E402
from builder.settings import settings  # noqa: E402
from builder.store import ProjectStore  # noqa: E402
from preview_runtime.docker.image import PreviewImage, inputs_tag  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from preview_runtime.runner import PreviewState  # noqa: E402

PAGE = b"<!doctype html><title>Bench</title><h1>Docker first start</h1>"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def first_docker_preview(repository: str) -> tuple[float, float]:
    """Seconds from the start to the image being ready, and to the first Docker preview answering."""
    with tempfile.TemporaryDirectory() as data:
        settings.data_dir = Path(data)
        settings.preview_image = repository
        settings.preview_port = free_port()
        settings.preview_warm_pool = 0
        url = f"sqlite:///{data}/bench.db"
        db.migrate(url)
        services = Services(store=ProjectStore(db.create_engine(url.replace("sqlite://", "sqlite+aiosqlite://"))), logs=LogHub())
        started = time.monotonic()
        try:
            await services.preview_hub.manager()
            preparation = services.preview_hub.docker_preparation
            if preparation is None:
                raise SystemExit(f"nothing to build: {services.preview_hub.image.status.describe()}")
            status = await preparation
            built = time.monotonic() - started
            if status.state.value != "ready":
                raise SystemExit(f"the build failed: {status.describe()}")
            created = await services.projects.create("Bench", {"index.html": PAGE}, owner=LOCAL_USER_ID)
            info = await services.previews.start(created.project_id)
            assert info.runner == "docker", info.runner_reason
            async with asyncio.timeout(120):
                info = await services.previews.wait_ready(created.project_id)
            assert info.state == PreviewState.running, info.detail
            proxy = (await services.preview_hub.manager()).proxy
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.get(proxy.internal_url(), headers={"Host": proxy.host_for(info.preview_id)})
            assert b"Docker first start" in answer.content
            return built, time.monotonic() - started
        finally:
            await services.close()


async def later_start_check(repository: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        status = await PreviewImage(repository).check()
        times.append(time.monotonic() - started)
        assert status.state.value == "ready", status.describe()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", action="store_true", help="no download cache for the offline build (a fresh machine)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if args.cold:
        os.environ["FORJA_BUILD_CACHE"] = "none"
    repository = f"forja-preview-bench-{os.getpid()}"
    try:
        built, first = asyncio.run(first_docker_preview(repository))
        checks = asyncio.run(later_start_check(repository, args.repeat))
    finally:
        images = subprocess.run(["docker", "images", repository, "-q"], capture_output=True, text=True).stdout.split()
        for image in set(images):
            subprocess.run(["docker", "rmi", "--force", image], capture_output=True)
    tag_started = time.monotonic()
    inputs_tag()
    tag_s = time.monotonic() - tag_started
    print(f"first start -> image built:               {built:6.1f} s{' (cold: no download cache)' if args.cold else ''}")
    print(f"first start -> first Docker preview answers: {first:6.1f} s")
    print(
        f"later start, image check (median of {args.repeat}): {statistics.median(checks) * 1000:6.1f} ms (max {max(checks) * 1000:.1f} ms)"
    )
    print(f"  of which the inputs hash:                {tag_s * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
