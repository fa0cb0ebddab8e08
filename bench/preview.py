"""Preview benchmark: prints figures, asserts nothing.

For the React + Vite starter, through the real proxy (Traefik) and the chosen runner:
  cold   files ready -> the URL answers 200 with the app's HTML, with empty caches (a project id of
         its own per run, so no dependency cache from an earlier run applies);
  warm   the same project started again (dependency caches filled; with Docker, the warm pool as
         FORJA_PREVIEW_WARM_POOL sets it, default 1);
  edit   a saved file pushed into the running preview -> the dev server serves the new content;
then idle memory per preview and how many idle previews run at once (up to --max).
With --runner docker, cold is also compared with a plain `docker run` of `npm install && npm run dev`
in the same image.

    .venv/bin/python bench/preview.py [--runner local|docker] [--max 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
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

from builder.generation.starters import StarterVariables, get_starter, render_starter  # noqa: E402
from preview_runtime.logs import LogHub  # noqa: E402
from preview_runtime.manager import PreviewManager  # noqa: E402
from preview_runtime.plan import plan_for  # noqa: E402
from preview_runtime.proxy import PreviewProxy  # noqa: E402
from preview_runtime.runner import PreviewSpec, PreviewState  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def project(title: str) -> dict[str, bytes]:
    files = render_starter(get_starter("react-vite-tailwind"), StarterVariables(title=title))
    return {path: text.encode() for path, text in files.items()}


async def until_served(manager: PreviewManager, preview_id: str, path: str, needle: str) -> None:
    proxy = manager.proxy
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            info = await manager.status(preview_id)
            if info.state == PreviewState.failed:
                raise RuntimeError(f"preview failed: {info.detail}")
            try:
                response = await client.get(proxy.internal_url() + path, headers={"Host": proxy.host_for(preview_id)})
                if response.status_code == 200 and needle in response.text:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)


PROJECT = f"bench-{time.time_ns()}"


async def timed_start(manager: PreviewManager, preview_id: str, files: dict[str, bytes], runner: str) -> float:
    started = time.perf_counter()
    await manager.start(preview_id, PROJECT, 1, files, plan_for(files), runner)
    await until_served(manager, preview_id, "/", '<div id="root">')
    return time.perf_counter() - started


def tree_pss(pid: int) -> int:
    """Proportional memory (PSS) of `pid` and all its descendants (bubblewrap starts a new session, so not by group).

    PSS, not RSS: pages shared by every preview (node's and Python's code) count once across them,
    which is what each additional preview really costs.
    """
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(proc.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


async def memory_of(manager: PreviewManager, preview_id: str, runner: str) -> int:
    backend = manager.runners[runner]
    if runner == "docker":
        return (await backend.stats(preview_id))["memory_bytes"]  # type: ignore[attr-defined]
    info = await manager.status(preview_id)
    return tree_pss(int(info.handle))


def plain_docker_cold(image: str, files: dict[str, bytes]) -> float:
    """The floor for cold: `docker run` of install + dev in the same image, until the port answers."""
    folder = Path(tempfile.mkdtemp(prefix="forja-bench-plain-"))
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    os.chmod(folder, 0o777)
    port = free_port()
    started = time.perf_counter()
    container = subprocess.check_output(
        ["docker", "run", "-d", "--rm", "-p", f"127.0.0.1:{port}:5173", "-v", f"{folder}:/app", "-w", "/app", "-e", "PORT=5173",
         "-e", "NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt", "-v", "/etc/ssl/certs:/etc/ssl/certs:ro",
         image, "sh", "-c", "npm install --no-audit --no-fund && npm run dev"],
        text=True,
    ).strip()  # fmt: skip
    try:
        while True:
            try:
                if '<div id="root">' in httpx.get(f"http://127.0.0.1:{port}/", timeout=2).text:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runner", choices=["local", "docker"], default="local")
    parser.add_argument("--max", type=int, default=20, help="most idle previews to start at once")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forja-bench-preview-"))
    if args.runner == "docker":
        from builder.settings import settings
        from preview_runtime.docker.config import DockerConfig
        from preview_runtime.docker.runner import DockerRunner

        runner = DockerRunner(DockerConfig(extra_ca_path=settings.preview_extra_ca or None, warm_pool=settings.preview_warm_pool))
    else:
        from preview_runtime.local import LocalRunner

        runner = LocalRunner(work / "previews")
    manager = PreviewManager({args.runner: runner}, PreviewProxy(work / "proxy", free_port()), LogHub())
    await manager.start_background()
    cache_volume = ""
    try:
        files = project("Bench App")
        cold = await timed_start(manager, "cold", files, args.runner)
        if args.runner == "docker":
            spec = PreviewSpec(preview_id="cold", project_id=PROJECT, version=1, files=files, plan=plan_for(files))
            cache_volume = f"forja-deps-{runner.deps_key(spec)}"  # type: ignore[attr-defined]
        await manager.stop("cold")
        warm = await timed_start(manager, "warm", files, args.runner)
        pooled = any("from the warm pool" in line.text for line in manager.logs.history(PROJECT)[-50:])
        edits = []
        for n in range(5):
            marker = f"Edited title {n}"
            site = files["src/site.js"].decode().replace("Bench App", marker).encode()
            # File watchers fold changes to one file that come within ~50 ms; people save slower than that.
            await asyncio.sleep(0.3)
            started = time.perf_counter()
            await manager.push_files("warm", {"src/site.js": site}, [])
            await asyncio.wait_for(until_served(manager, "warm", "/src/site.js", marker), timeout=20)
            edits.append(time.perf_counter() - started)
        pool = ""
        if args.runner == "docker":
            how = "claimed a pool container" if pooled else "made its container"
            pool = f" (warm pool {runner.config.warm_pool}, warm start {how})"  # type: ignore[attr-defined]
        print(f"runner {args.runner}{pool}: cold {cold:.2f} s, warm {warm:.2f} s, edit p50 {statistics.median(edits) * 1000:.0f} ms "
              f"(max {max(edits) * 1000:.0f} ms)", flush=True)  # fmt: skip
        if args.runner == "docker":
            plain = plain_docker_cold(runner.config.image, files)  # type: ignore[attr-defined]
            print(f"plain docker run cold {plain:.2f} s; Forja cold / plain = {cold / plain:.2f}", flush=True)
        running = ["warm"]
        await asyncio.sleep(5)
        memories = [await memory_of(manager, "warm", args.runner)]
        for n in range(1, args.max):
            preview_id = f"idle{n}"
            try:
                await asyncio.wait_for(timed_start(manager, preview_id, files, args.runner), timeout=180)
            except (TimeoutError, RuntimeError) as exc:
                print(f"preview {n + 1} did not start: {exc}", flush=True)
                break
            running.append(preview_id)
        await asyncio.sleep(5)
        memories = [await memory_of(manager, p, args.runner) for p in running]
        print(
            f"{len(running)} idle previews running at once; idle memory per preview: median {statistics.median(memories) / 2**20:.0f} MB, "
            f"max {max(memories) / 2**20:.0f} MB",
            flush=True,
        )
    finally:
        for preview in manager.running():
            await manager.stop(preview.preview_id)
        await manager.close()
        if cache_volume:  # this run's own dependency cache
            await asyncio.to_thread(
                subprocess.run, ["docker", "volume", "rm", "-f", cache_volume], capture_output=True, timeout=20
            )
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
