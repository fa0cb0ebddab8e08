"""What every CLI command is: what it needs to run, and what it does with that.

A command's `needs` opens what it works on for one run, and closes it afterwards:

- `a_backend`: the person's projects, on this machine's database as the person whose API token is given (none is
  needed without accounts), or with --server on a Forja's HTTP API. Either way their role is checked as the API does.
- `local_services`: this machine's own Forja (the operator's commands: accounts, migrate, purge-trash), which needs
  no token and refuses --server.
- or what else a command declares (doctor's report: builder.cli.doctor).

Its `run` gets that and the parsed arguments and answers (JSON value, text): --json prints the value, else the text.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from builder.cli.backend import NO_TOKEN, Backend
from builder.cli.local import LocalBackend
from builder.cli.remote import RemoteBackend, server_url
from builder.errors import InvalidInput, NotSignedIn
from builder.services import Services, get_services

T = TypeVar("T")


@dataclass(frozen=True)
class Invocation:
    """One run of the CLI: the command's name ("files", or "user create" for a command with actions), and where and as
    whom it works (--server and --token, or FORJA_SERVER and FORJA_TOKEN)."""

    name: str
    server: str | None
    token: str | None


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

    async def __call__(self, invocation: Invocation, args: argparse.Namespace) -> tuple[Any, str]:
        async with self.needs(invocation) as needed:
            return await self.run(needed, args)


def on_this_machine(invocation: Invocation) -> None:
    """Refuse --server for a command that works on this machine's own Forja."""
    if invocation.server:
        raise InvalidInput(
            f"'{invocation.name}' works on this machine's own Forja: run it on the server, without --server or FORJA_SERVER."
        )


@asynccontextmanager
async def a_backend(invocation: Invocation) -> AsyncIterator[Backend]:
    if invocation.server:
        remote = RemoteBackend(server_url(invocation.server), invocation.token)
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
