"""The previews' overlay networks: one per preview, internal (no way out of it), attachable (the edge joins it)."""

from __future__ import annotations

import asyncio

from aiodocker.exceptions import DockerError

from preview_runtime.docker.engine import Engine
from preview_runtime.runner import RunnerError

REMOVE_WAIT_S = 15  # a network stays "in use" until the swarm has released its last task's address


async def create_network(engine: Engine, name: str, labels: dict[str, str]) -> str:
    """An internal, attachable overlay network (found when it exists already); its id."""
    docker = await engine.client()
    try:
        return (await docker._query_json(f"networks/{name}"))["Id"]
    except DockerError as exc:
        if exc.status != 404:
            raise RunnerError(f"Docker cannot be reached: {exc.message}") from exc
    spec = {
        "Name": name,
        "Driver": "overlay",
        "Internal": True,
        "Attachable": True,
        "CheckDuplicate": True,
        "EnableIPv6": False,
        "Labels": labels,
    }
    try:
        return (await docker._query_json("networks/create", method="POST", data=spec))["Id"]
    except DockerError as exc:
        if exc.status == 409:  # made meanwhile
            return (await docker._query_json(f"networks/{name}"))["Id"]
        raise RunnerError(f"Docker could not make the preview's network: {exc.message}") from exc


async def remove_network(engine: Engine, network: str) -> None:
    """Remove a network and wait until it is gone from this node too: the swarm holds it while a task that is going
    away still has an address on it, and the node's own copy goes a moment after the swarm's."""
    if not network:
        return
    docker = await engine.client()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REMOVE_WAIT_S
    while loop.time() < deadline:
        try:
            await docker._query_json(f"networks/{network}", method="DELETE")
        except DockerError as exc:
            if exc.status == 404:
                return
        await asyncio.sleep(0.1)
