"""A front end's release build: the project's build command run in a sandbox of the version, its output taken out.

The sandbox is a preview's (the runner's limits), started with a stand-in server in place of the dev server: the build
runs as a command in it once the dependencies are installed (PreviewHub.wait_installed), with only the variables the
framework marks public, and its output folder is collected and written as the release (publish/release_files.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import posixpath
from importlib import resources
from pathlib import Path

from builder.app_secrets import runner_env
from builder.errors import PreviewError, PublishFailed
from builder.models import Release
from builder.publish.release_files import ReleaseManifest, write_release
from builder.services.preview_hub import PreviewHub, new_preview_id
from builder.services.previews import plan_of
from builder.settings import settings
from builder.store import ProjectStore
from preview_runtime.lockfile_mirror import as_saved
from preview_runtime.logs import LogHub, LogLevel
from preview_runtime.plan import npm_script_line
from preview_runtime.production import ProductionPlan

log = logging.getLogger(__name__)

BUILD_KEY = "build:"
# What the build sandbox runs in place of the dev server (every static build is a Node project's).
BUILD_SERVER = resources.files("preview_runtime").joinpath("build_server.cjs").read_bytes()
BUILD_SERVER_PATH = ".forja-build-server.cjs"
# The stand-in starts this long after the install: a build done by then (most are) never shares the CPUs with its
# start and the proxy's route to it. Within the time a preview may listen nowhere (FORJA_PREVIEW_SILENT_S).
STAND_IN_AFTER_S = 5
# Node's compile cache off in the build sandbox. Each process writes what it compiled as it exits: the build's tools
# (Vite turns the cache on itself) from a folder that is new each publish and removed after it, so never read again,
# 0.1-0.5 s of each build (the Svelte compiler's most); npm itself 0.4 s in a first install (the project's cache still
# empty). Installs and builds measured as fast with the cache off as with npm's compiled code already in it.
BUILD_ENV = {"NODE_DISABLE_COMPILE_CACHE": "1"}


def as_released(collected: dict[str, bytes], output: str, tree: dict[str, bytes]) -> dict[str, bytes]:
    """The output folder's files as the release keeps them: a yarn.lock in it (a project whose output is its own
    folder) as the project saved it, not as its sandbox got it, rewritten for a registry mirror (lockfile_mirror.py)."""
    folder = posixpath.normpath(output.strip("/") or ".")
    prefix = "" if folder == "." else f"{folder}/"
    mirror = settings.npm_registry or None
    return {name: as_saved(prefix + name, data, tree.get(prefix + name), mirror) for name, data in collected.items()}


def build_cpus() -> float:
    """The CPU limit of a publish's build sandbox: FORJA_PUBLISH_BUILD_CPUS, at most this machine's CPUs (Docker refuses
    a limit above the host's)."""
    return min(settings.publish_build_cpus, float(os.cpu_count() or 1))


class ReleaseBuilds:
    def __init__(self, store: ProjectStore, hub: PreviewHub, logs: LogHub) -> None:
        self._store = store
        self._hub = hub
        self._logs = logs
        self._stopping: set[asyncio.Task[None]] = set()  # build sandboxes stopping behind their publish

    async def settled(self) -> None:
        """Until the build sandboxes stopping behind their publishes have stopped."""
        if self._stopping:
            await asyncio.wait(self._stopping)

    def _stop_later(self, key: str) -> None:
        async def stop() -> None:
            try:
                await self._hub.stop(key)
            except Exception:  # nobody awaits this: the log says it
                log.exception("stopping the build sandbox %s failed", key)

        self._stopping.add(task := asyncio.create_task(stop()))
        task.add_done_callback(self._stopping.discard)

    async def build(
        self, release: Release, version: int, tree: dict[str, bytes], plan: ProductionPlan, override, folder: Path
    ) -> ReleaseManifest:
        """Build in a sandbox and write what it made as the release in `folder`."""
        key = f"{BUILD_KEY}{release.project_id}@{release.number}"
        stopping = False
        try:
            async with asyncio.timeout(settings.publish_build_timeout_s):
                async with self._hub.lock(key):
                    # A front-end build puts what it gets into the page: only the variables its framework marks public.
                    public = await runner_env(self._store, self._logs, release.project_id, plan.public_env_prefixes)
                    run = plan_of(tree, override).model_copy(
                        update={
                            "env": {**public, **BUILD_ENV},
                            "dev": f"sleep {min(STAND_IN_AFTER_S, settings.preview_silent_s // 2)} && exec node {BUILD_SERVER_PATH}",
                            "side_ports": [],
                            "hot_reload": False,
                            "home_page": False,  # the stand-in server's
                            "cpus": build_cpus(),
                        }
                    )
                    files = {**tree, BUILD_SERVER_PATH: BUILD_SERVER}
                    await self._hub.launch(key, new_preview_id("b"), release.project_id, version, files, run, "auto")
                # The build needs the dependencies only: it starts once they are installed, while the stand-in
                # server is still starting (waiting for it to answer through the proxy cost 0.1-0.5 s each publish).
                info = await self._hub.wait_installed(key)
                if not info.installed:
                    raise PublishFailed(f"The project did not start for its build: {info.detail or info.state.value}.")
                self._logs.emit(release.project_id, f"Building: `{plan.build}`.", LogLevel.info, "publish")
                build = npm_script_line(plan.build, tree)  # `npm run build` without npm's own start
                outcome = await self._hub.run_command(key, build, settings.publish_build_timeout_s)
                release.log = self._logs.redacted(release.project_id, outcome.output)
                if outcome.timed_out or outcome.exit_code != 0:
                    ended = "ran out of time" if outcome.timed_out else f"failed (exit code {outcome.exit_code})"
                    last = next((line.strip() for line in reversed(release.log.splitlines()) if line.strip()), "")
                    raise PublishFailed(f"`{plan.build}` {ended}" + (f": {last[:300]}" if last else "."))
                collected = await self._hub.collect(key, plan.output, settings.publish_max_mb * 1024 * 1024)
                files = as_released(collected, plan.output, tree)
            # The release is live once written: the sandbox's end (its processes, then its folder and node_modules
            # once their copy into the dependency cache is whole) is no part of the publish, and runs behind it.
            stopping = True
            self._stop_later(key)
            return await asyncio.to_thread(write_release, folder, files)
        except TimeoutError:
            raise PublishFailed(f"The build took longer than {settings.publish_build_timeout_s} s and was stopped.") from None
        except PreviewError as exc:
            raise PublishFailed(exc.message) from None
        finally:
            if not stopping:
                await self._hub.stop(key)
