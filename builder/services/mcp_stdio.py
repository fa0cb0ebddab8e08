"""A team's MCP server started by its command line (`npx -y @scope/server`, `uvx some-server`), spoken to over its
stdin and stdout, never on Forja's own machine as Forja's user: each session starts it in a sandbox of its own
(preview_runtime/local/program.py: bubblewrap, an empty scratch folder, the package registries only, a preview's
limits), and it is killed at the session's end (an agent run's, or a listing's). Where bubblewrap cannot make that
sandbox, adding or using such a server is refused with the doctor's words.

The SDK's own stdio launcher cannot be used: it starts the command itself, with no way to pass bubblewrap the
descriptors it reads the sandbox's filter and environment from, nor to put it in its cgroup first. So the process is
spawned as previews' are, and the few lines here carry the SDK's messages over its pipes, one JSON line each.

Its environment values (an API key for the service it wraps) are stored encrypted as a token is, and given to it only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from builder.app_secrets import decrypt, encrypt
from builder.errors import InvalidInput, McpServerUnreachable
from builder.generation.guard import REDACTED, redact
from builder.services.install_gate import InstallGate
from builder.services.preview_runners import egress_hosts, install_env, install_reading, local_limits
from builder.settings import settings
from preview_runtime.local.program import sandboxed_program
from preview_runtime.local.registry_relay import Reading
from preview_runtime.local.sandbox import NO_SANDBOX
from preview_runtime.local.spawn import Spawner
from preview_runtime.local.upstream import UpstreamProxy
from preview_runtime.runner import MachineRefused

if TYPE_CHECKING:
    from mcp import Client
    from mcp.client._transport import TransportStreams

log = logging.getLogger(__name__)

MAX_COMMAND = 2000
MAX_ENV = 30
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_STDERR_LINE = 500  # characters of each line it writes on stderr that Forja's log keeps
_SHORTEST_HIDDEN = 4  # an environment value shorter than this (a region, a flag) is not hidden in its stderr lines


def check_command(command: str) -> str:
    """The command line, checked for its form; InvalidInput saying what is wrong."""
    command = command.strip()
    if any(c in command for c in "\n\r\0"):
        raise InvalidInput("The command must fit on one line.")
    return command


def check_env(env: dict[str, str]) -> dict[str, str]:
    """The environment values, their names checked (a shell must be able to export them: sandbox.environment_script)."""
    if len(env) > MAX_ENV:
        raise InvalidInput(f"A server can be given at most {MAX_ENV} environment values.")
    for name, value in env.items():
        if not ENV_NAME.fullmatch(name):
            raise InvalidInput(f"{name[:64]!r} cannot name an environment value: use letters, digits and _ only.")
        if "\0" in value:
            raise InvalidInput(f"The value of {name} holds a character it cannot hold: paste it again.")
    return env


def env_from_lines(text: str) -> dict[str, str]:
    """Environment values typed one `NAME=value` a line (the admin page's box, the CLI's stdin); blank lines skipped."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, equals, value = line.partition("=")
        if not equals:
            raise InvalidInput("Write each environment value on a line of its own, as NAME=value.")
        env[name.strip()] = value.strip()
    return env


def sealed_env(env: dict[str, str]) -> str:
    """The values as stored: encrypted, or "" for none."""
    return encrypt(json.dumps(env)) if env else ""


def env_names(sealed: str) -> list[str]:
    """The names of a server's environment values (what the admin sees again; the values never)."""
    return sorted(_opened(sealed))


def _opened(sealed: str) -> dict[str, str]:
    return json.loads(decrypt(sealed)) if sealed else {}


def _spawner(reading: Reading | None = None) -> Spawner:
    """Sandboxes made as the local runner's, in a folder of Forja's data that no sandbox sees but its own scratch;
    with `reading`, what `npx -y` or `uvx` installs is asked of the install gate as a preview's installs are."""
    return Spawner(
        settings.data_dir / "mcp-sandboxes",
        sandbox=True,
        allow_unsandboxed=False,
        limits=local_limits(),
        egress_hosts=egress_hosts(),
        upstream_proxy=UpstreamProxy.from_env(os.environ),
        reading=reading,
    )


def _refusal(why: str) -> str:
    """Why a command cannot run here (the doctor's words, spawn.Spawner.no_sandbox) and what to do."""
    fix = "Install bubblewrap (sudo apt-get install bubblewrap), or" if why == NO_SANDBOX else "Until it can,"
    return (
        f"{why[:1].upper()}{why[1:]}: Forja runs a server's command only inside a sandbox of its own. {fix} add the "
        "server by its address instead."
    )


async def sandbox_refusal() -> str | None:
    """Why a server's command cannot run here, in words; None where bubblewrap makes its sandbox."""
    spawner = _spawner()
    await asyncio.to_thread(spawner.work_dir.mkdir, parents=True, exist_ok=True)
    if await spawner.bubblewrap() is None:
        return _refusal(spawner.no_sandbox)
    return None


def kept_folder(server_id: int) -> Path:
    """What a server's sessions keep between them (the packages `npx -y` or `uvx` fetched): its own, never another's."""
    return settings.data_dir / "mcp-sandboxes" / "kept" / str(server_id)


def forget(server_id: int) -> None:
    """A removed server's kept packages go with it (a later server may get its number)."""
    shutil.rmtree(kept_folder(server_id), ignore_errors=True)


@asynccontextmanager
async def stdio_connected(name: str, command: str, sealed: str, kept: Path | None = None) -> AsyncIterator[Client]:
    """A session with the server `command` starts, in its sandbox, initialized; McpServerUnreachable saying why not.
    `kept`: its folder kept between sessions (kept_folder)."""
    from mcp import Client  # with the SDK, when a server is used (builder/services/mcp_client.py)

    timeout = settings.mcp_start_timeout_s
    env = _opened(sealed)

    def said(text: str) -> None:
        log.warning("MCP server %s's sandbox: %s", name, redact(text))

    async with AsyncExitStack() as stack:
        gate = InstallGate()  # its own client, in this session's event loop; its answers are kept for every session
        stack.push_async_callback(gate.close)
        spawner = _spawner(await asyncio.to_thread(install_reading, gate.verdict))
        await asyncio.to_thread(spawner.work_dir.mkdir, parents=True, exist_ok=True)
        try:
            program = sandboxed_program(spawner, command, {**install_env(), **env}, said, settings.preview_ttl_s, kept)
            process = await stack.enter_async_context(program)
        except MachineRefused as exc:
            raise McpServerUnreachable(_refusal(str(exc))) from None
        except OSError as exc:
            raise McpServerUnreachable(f"The {name} server's sandbox could not be made: {exc.strerror}.") from None
        try:
            async with asyncio.timeout(timeout):
                client = await stack.enter_async_context(Client(_pipes(process, name, env.values())))
        except TimeoutError:
            raise McpServerUnreachable(
                f"The {name} server's command did not answer within {timeout:.0f} s of starting."
            ) from None
        except Exception:
            log.info("MCP server %s did not start", name, exc_info=True)
            raise McpServerUnreachable(
                f"The {name} server's command ended or did not answer as an MCP server does (Forja's log has what it wrote)."
            ) from None
        yield client


@asynccontextmanager
async def _pipes(process: asyncio.subprocess.Process, name: str, secrets: Iterable[str]) -> AsyncIterator[TransportStreams]:
    """The SDK's two streams over the process's stdin and stdout (one JSON-RPC message a line); its stderr goes to
    Forja's log, redacted, its own environment values (`secrets`) too. When its stdout ends (it exited, or was killed),
    the session sees the connection close."""
    import anyio
    import mcp_types
    from mcp.shared.message import SessionMessage

    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    stdin, stdout, stderr = process.stdin, process.stdout, process.stderr
    got, read = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write, to_send = anyio.create_memory_object_stream[SessionMessage](0)

    async def reading() -> None:
        async with got:
            # A line longer than the reader's limit (spawn.py's 1 MiB) ends the session as an exit would.
            with contextlib.suppress(ValueError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                while line := await stdout.readline():
                    try:
                        message = mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
                    except ValueError as exc:
                        await got.send(exc)
                    else:
                        await got.send(SessionMessage(message))

    async def writing() -> None:
        async with to_send:
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                async for sent in to_send:
                    stdin.write(sent.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
                    await stdin.drain()
        stdin.close()

    hidden = sorted({value for value in secrets if len(value) >= _SHORTEST_HIDDEN}, key=len, reverse=True)

    async def logging_stderr() -> None:
        with contextlib.suppress(ValueError, OSError):
            while line := await stderr.readline():
                text = redact(line.decode(errors="replace").rstrip())
                for value in hidden:
                    text = text.replace(value, REDACTED)
                log.info("MCP server %s: %s", name, text[:_STDERR_LINE])

    async with anyio.create_task_group() as group:
        group.start_soon(reading)
        group.start_soon(writing)
        group.start_soon(logging_stderr)
        try:
            yield read, write
        finally:
            group.cancel_scope.cancel()
