"""What every CLI command is: what it needs to run, and what it does with that.

A command's `needs` opens what it works on for one run, and closes it afterwards:

- `a_backend`: the person's projects, on this machine's database as the person whose API token is given (none is
  needed without accounts), or with --server on a Forja's HTTP API. Either way their role is checked as the API does.
  When a Forja server holds this machine's data folder (builder.data_folder), the command goes through that server's
  API, at the address the folder's lock names, and says so on stderr: only the server runs previews there.
- `local_services`: this machine's own Forja (the operator's commands: accounts, migrate, purge-trash), which needs
  no token and refuses --server; they only touch the database, so they work beside a running server.
- or what else a command declares (doctor's report: builder.cli.doctor).

A command that runs previews of its own in this process (eval, but for --compare) says so with `runs_previews`: it
holds the data folder for its run, and moves to a data folder, preview port and network of its own while another process
holds it.

Its `run` gets that and the parsed arguments and answers (JSON value, text): --json prints the value, else the text.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from builder.client.backend import NO_TOKEN, Backend
from builder.client.local import LocalBackend
from builder.client.remote import RemoteBackend, server_url
from builder.composition import Services, get_services
from builder.data_folder import both_held, command_lock, move_beside, other_owner
from builder.errors import InvalidInput, NotSignedIn, PreviewError
from preview_runtime.folder_lock import FolderHeld

T = TypeVar("T")


@dataclass(frozen=True)
class Invocation:
    """One run of the CLI: the command's name ("files", or "user create" for a command with actions), and where and as
    whom it works (--server and --token, or FORJA_SERVER and FORJA_TOKEN)."""

    name: str
    server: str | None
    token: str | None
    # As typed (its --token left out): what a refusal tells to run again, changed.
    command_line: str = ""


def _succeeded(_value: object) -> int:
    return 0


@dataclass(frozen=True)
class Command(Generic[T]):
    needs: Callable[[Invocation], AbstractAsyncContextManager[T]]
    run: Callable[[T, argparse.Namespace], Awaitable[tuple[Any, str]]]
    # The exit status a run's value means: 0, except for doctor's report of a runner that cannot run previews.
    exit_status: Callable[[Any], int] = _succeeded
    # False for a command whose stdout is a protocol (the MCP server's): nothing is printed after it.
    prints: bool = True
    # Whether a run with these arguments runs previews in this process (see holding_folder).
    runs_previews: Callable[[argparse.Namespace], bool] | None = None

    async def __call__(self, invocation: Invocation, args: argparse.Namespace) -> tuple[Any, str]:
        previews = self.runs_previews is not None and self.runs_previews(args)
        with holding_folder(invocation) if previews else nullcontext():
            async with self.needs(invocation) as needed:
                return await self.run(needed, args)


def on_this_machine(invocation: Invocation) -> None:
    """Refuse --server for a command that works on this machine's own Forja."""
    if invocation.server:
        raise InvalidInput(
            f"'{invocation.name}' works on this machine's own Forja: run it on the server, without --server or FORJA_SERVER."
        )


def _through_server(invocation: Invocation) -> str | None:
    """The address to work through: --server, or the server that holds this machine's data folder (said on stderr)."""
    if invocation.server:
        return server_url(invocation.server)
    holder = other_owner()
    if holder is None or holder.role != "server" or not holder.address:
        return None
    print(f"Working through the Forja server that holds this data folder: {holder.words()}.", file=sys.stderr)
    return holder.address


@asynccontextmanager
async def a_backend(invocation: Invocation) -> AsyncIterator[Backend]:
    if (server := _through_server(invocation)) is not None:
        remote = RemoteBackend(server, invocation.token)
        try:
            yield remote
        finally:
            await remote.close()
        return
    services = await get_services()
    try:
        if services.accounts.enabled and not invocation.token:
            raise NotSignedIn(NO_TOKEN)
        local = LocalBackend(services, await services.accounts.actor(api_token=invocation.token), invocation.token)
        try:
            yield local
        finally:
            await local.close()
    finally:
        await services.close()


@asynccontextmanager
async def local_services(invocation: Invocation) -> AsyncIterator[Services]:
    on_this_machine(invocation)
    services = await get_services()
    try:
        yield services
    finally:
        await services.close()


@contextmanager
def holding_folder(invocation: Invocation) -> Iterator[None]:
    """The data folder held by this command for its run; while another process holds it, one of its own beside it
    (said on stderr), or PreviewError in words when that one is held too."""
    folder = command_lock(invocation.command_line)
    try:
        folder.take()
    except FolderHeld as held:
        try:
            folder, moved = move_beside(held.holder, invocation.command_line)
        except FolderHeld as exc:
            raise PreviewError(both_held(exc.holder)) from None
        print(moved, file=sys.stderr)
    try:
        yield
    finally:
        folder.release()
