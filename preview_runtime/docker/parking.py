"""What a parked Docker preview keeps on Forja's disk: its /app, which lives on a tmpfs that goes with the container's
stop (see DESIGN.md, "Parking").

At park, one tar per preview (`park_dir/<network>/<preview>.tar`) is written from the running container: /app as tar
sees it from inside (without node_modules and .venv when the dependency cache holds them: they come back mounted or
restored from it), then the bootstrap of a wake (the container's own `env` file, the extra CA). A wake starts the
container, uploads it whole, then a second small archive with `ready` (entry.sh waits for it, then goes on as after a
first upload).

The app's own variables (its Environment, secrets among them) never reach Forja's disk: save_app hands them back to
be held in memory, and the wake's second archive carries them. A marker file beside the tar says the preview had
some, so a Forja that restarted (and no longer holds them) removes such a preview instead of waking it without them,
as the local runner does.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import time
from pathlib import Path
from typing import IO

from aiodocker.exceptions import DockerError

from preview_runtime.common import human_size
from preview_runtime.docker.engine import Engine
from preview_runtime.docker.layout import APP_DIR, APP_ENV, BOOTSTRAP, KEPT_ENV, PREVIEW_UID, STAMPS, safe_name
from preview_runtime.runner import RunnerError

BOOTSTRAP_HOME = "/home/preview/.forja"  # where entry.sh moved the bootstrap to
KEPT = b"export FORJA_KEPT=1\n"  # the dependencies are in the kept /app: entry.sh skips the install
_TAR_CHANGED = 1  # GNU tar: a file changed while it was read (a dev server writing); the archive is still whole


def park_file(park_dir: Path, network: str, preview_id: str) -> Path:
    return park_dir / safe_name(network) / f"{safe_name(preview_id)}.tar"


async def _exec(engine: Engine, container_id: str, argv: list[str], into: IO[bytes] | None, limit: int) -> tuple[int, bytes]:
    """Run argv in the container as the preview's user; its stdout goes `into` (or is returned), past `limit` bytes a
    RunnerError. Returns the exit code and stdout when not written elsewhere."""
    docker = await engine.client()
    run = await docker.containers.container(container_id).exec(argv, user=f"{PREVIEW_UID}:{PREVIEW_UID}", workdir=APP_DIR)
    kept = bytearray()
    size = 0
    async with run.start(detach=False) as stream:
        while (message := await stream.read_out()) is not None:
            if message.stream != 1:
                continue
            size += len(message.data)
            if size > limit:
                raise RunnerError(f"its files are larger than {human_size(limit, iec=True)}")
            if into is None:
                kept += message.data
            else:
                into.write(message.data)
    return int((await run.inspect()).get("ExitCode") or 0), bytes(kept)


def _info(name: str, size: int = 0, folder: bool = False) -> tarfile.TarInfo:
    """Owned by the preview's user, as the rest of /app: entry.sh removes the bootstrap folder once read."""
    info = tarfile.TarInfo(name)
    info.size, info.uid, info.gid, info.mtime = size, PREVIEW_UID, PREVIEW_UID, STAMPS.get(name, time.time())
    info.type, info.mode = (tarfile.DIRTYPE, 0o755) if folder else (tarfile.REGTYPE, 0o644)
    return info


def app_env_marker(target: Path) -> Path:
    """Beside a park file: present when the parked preview had variables of its own, which only memory holds."""
    return target.with_name(f"{target.name}.app-env")


def _add(tar: tarfile.TarFile, files: dict[str, bytes]) -> None:
    tar.addfile(_info(BOOTSTRAP, folder=True))
    for name, data in files.items():
        tar.addfile(_info(f"{BOOTSTRAP}/{name}", len(data)), io.BytesIO(data))


def _finish(path: Path, bootstrap: dict[str, bytes]) -> None:
    with tarfile.open(path, "a") as tar:
        _add(tar, bootstrap)


def ready_archive(app_env: bytes) -> bytes:
    """What a wake uploads after the park file: the app's variables, if any, and `ready` last (entry.sh waits for it,
    so the rest is in place by then)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        _add(tar, {APP_ENV: app_env, "ready": b""} if app_env else {"ready": b""})
    return buffer.getvalue()


async def save_app(
    engine: Engine, container_id: str, target: Path, keep_dependencies: bool, limit: int, extra_ca: bytes | None
) -> bytes:
    """Write the running container's /app and the bootstrap of its wake to `target` (replaced whole); returns the app's
    own variables (b"" when it has none), which stay out of the file."""
    excluded = [] if keep_dependencies else ["--exclude=./node_modules", "--exclude=./.venv"]
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    try:
        out = await asyncio.to_thread(open, partial, "wb")
        with out:
            code, _ = await _exec(engine, container_id, ["tar", "-cf", "-", *excluded, "."], out, limit)
        if code not in (0, _TAR_CHANGED):
            raise RunnerError(f"tar could not read its files (exit code {code})")
        code, env = await _exec(engine, container_id, ["cat", f"{BOOTSTRAP_HOME}/env"], None, 1 << 20)
        if code != 0:
            raise RunnerError("its settings are missing from the container")
        bootstrap = {"env": env + (KEPT if keep_dependencies else b"")}
        code, kept_env = await _exec(engine, container_id, ["cat", f"{BOOTSTRAP_HOME}/{KEPT_ENV}"], None, 1 << 20)
        if code == 0 and kept_env:  # no secret (RunPlan.kept_env): kept with the files, for commands after a restart
            bootstrap[KEPT_ENV] = kept_env
        # The app's own variables for the commands run beside it (command.py), when it has any.
        code, app_env = await _exec(engine, container_id, ["cat", f"{BOOTSTRAP_HOME}/{APP_ENV}"], None, 1 << 20)
        if extra_ca is not None:
            bootstrap["extra-ca.pem"] = extra_ca
        await asyncio.to_thread(_finish, partial, bootstrap)
        partial.replace(target)
        marker = app_env_marker(target)
        if code == 0 and app_env:
            marker.touch()
        else:
            marker.unlink(missing_ok=True)
        return app_env if code == 0 else b""
    except DockerError as exc:
        raise RunnerError(f"Docker could not read its files: {exc.message}") from exc
    finally:
        partial.unlink(missing_ok=True)
