"""The backend: a JSON API under /api for the React app in web/.

Run from the project root with `uvicorn api.main:app --reload` (`npm run dev` starts it together
with the front end). The browser reaches it through the Vite dev server's /api proxy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response, status
from starlette.middleware.base import RequestResponseEndpoint

from . import store
from .store import Item, ItemCreate, ItemUpdate


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    store.init_db()
    yield


app = FastAPI(title="Items API", lifespan=lifespan)


@app.middleware("http")
async def basic_headers(request: Request, call_next: RequestResponseEndpoint) -> Response:
    """Browsers take each answer as the type it says it is, never guessing another from its bytes."""
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


@app.get("/api/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/api/items")
def list_items() -> list[Item]:
    return store.list_items()


@app.post("/api/items", status_code=status.HTTP_201_CREATED)
def create_item(data: ItemCreate) -> Item:
    return store.create_item(data)


@app.patch("/api/items/{item_id}")
def update_item(item_id: str, data: ItemUpdate) -> Item:
    item = store.update_item(item_id, data)
    if item is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    return item


@app.delete("/api/items/{item_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_item(item_id: str) -> Response:
    if not store.delete_item(item_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Not found.")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
