"""People on a Forja with accounts, for the tests: an account with its API token, and the API as Forja serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

from builder.api import api, guarded
from builder.composition import Services
from builder.services.access import Actor

PASSWORD = "correct horse battery"
# A name Forja answers to (its guards refuse any other Host).
BASE = "http://127.0.0.1:3000"


def client(**headers: str) -> httpx.AsyncClient:
    """The API behind the guards Forja serves it with; it finds the services where get_services() does."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded(api)), base_url=BASE, headers=headers)


@dataclass
class Person:
    actor: Actor
    token: str
    # Sends the person's own API token with every request.
    http: httpx.AsyncClient


@asynccontextmanager
async def someone(services: Services, email: str, name: str, admin: bool = False) -> AsyncIterator[Person]:
    """An account (the first one made is the admin), with an API token its client sends."""
    info = await services.accounts.create_user(email, name, PASSWORD, admin=admin)
    actor = Actor(info.id, info.email, info.name, info.role)
    token = (await services.accounts.create_token(actor, "tests")).token
    async with client(authorization=f"Bearer {token}") as http:
        yield Person(actor, token, http)
