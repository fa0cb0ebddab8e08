"""Saved edits into a running preview container: changed files by one upload, deleted ones by `rm` as the preview user."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aiodocker.exceptions import DockerError

from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import APP_DIR, PREVIEW_UID, clean_relpath, tar_files
from preview_runtime.runner import RunnerError


async def write_files(
    engine: Engine, container_id: str, changed: Mapping[str, bytes], deleted: list[str], wrap: Sequence[str] = ()
) -> None:
    """`wrap`: a command prefix for what runs in the container (the swarm runner's no-new-privileges)."""
    docker = await engine.client()
    container = docker.containers.container(container_id)
    try:
        if changed:
            await container.put_archive(APP_DIR, tar_files({clean_relpath(k): v for k, v in changed.items()}))
        if deleted:
            paths = [clean_relpath(d) for d in deleted]
            run = await container.exec([*wrap, "rm", "-f", "--", *paths], user=f"{PREVIEW_UID}:{PREVIEW_UID}", workdir=APP_DIR)
            output = b""
            async with run.start(detach=False) as stream:  # wait until rm is done
                while (message := await stream.read_out()) is not None:
                    output += message.data
            if (await run.inspect()).get("ExitCode"):
                raise RunnerError(f"Forja could not delete files in the preview: {output.decode(errors='replace').strip()}")
    except DockerError as exc:
        raise RunnerError(f"Forja could not write the files into the preview: {exc.message}") from exc
