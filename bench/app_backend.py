"""A published app's backend benchmark (its people's sign-in and its data API): prints figures, asserts nothing.

One Forja worker (granian serving the guarded API, as Forja serves it, in its own process) on a temporary data folder
(SQLite, or --database-url), one published app whose collection holds --rows rows (each of 20 people made one in 20),
asked over loopback HTTP with the app's Host, one request after another on a kept-alive connection (p50 of --requests each):
  sign-in   POST /_forja/auth/sign-in with the right password;
  list      GET /_forja/data/bookings (50 rows, newest first), and with `mine=1` (the asker's own rows);
  create    POST /_forja/data/bookings (each write adds a line to the change log too).
Against the same queries run on the same database directly (SQLAlchemy, Forja's engine, no HTTP): the session
lookup and the list's SELECT; the account lookup, argon2id's check and the session's INSERT; the session lookup, the
app's row count and the two INSERTs. Then requests per second of the list with --connections clients for --seconds,
against a plain PostgREST-style handler by hand (granian, one worker: the same SELECT answered as JSON, no session,
no rules) on the same rows.

    .venv/bin/python bench/app_backend.py [--rows 10000] [--requests 200] [--connections 8] [--seconds 5]
        [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import httpx
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.publish_edge import free_port, start  # noqa: E402
from builder import db  # noqa: E402
from builder.composition import get_services  # noqa: E402
from builder.models import LOCAL_USER_ID, AppDataRow, utcnow  # noqa: E402
from builder.services.accounts import hash_token  # noqa: E402
from builder.settings import settings  # noqa: E402

RULES = {"collections": {"bookings": {"read": "signed-in", "create": "signed-in", "update": "owner"}}}
PASSWORD = "a long secret"
LIST = (
    "SELECT id, owner, data, created_at, updated_at FROM appdatarow WHERE project_id = :p AND scope = 'live' "
    "AND collection = 'bookings' {mine}ORDER BY created_at DESC, id DESC LIMIT 51"
)
SESSION = (
    "SELECT appuser.id, appuser.role, appsession.expires_at FROM appsession JOIN appuser ON appuser.id = appsession.user_id "
    "WHERE appsession.token_hash = :h AND appsession.project_id = :p AND appsession.scope = 'live'"
)
PLAIN_ENV = "FORJA_BENCH_PLAIN"  # the database URL and project, from this script to the plain handler's process


def plain_app() -> Starlette:
    """Granian's factory: the list's SELECT answered as JSON by hand, as a PostgREST-style server would."""
    url, project = json.loads(os.environ[PLAIN_ENV])
    engine = db.create_engine(url)

    async def rows(request: Request) -> Response:
        async with engine.connect() as connection:
            found = (await connection.execute(text(LIST.format(mine="")), {"p": project})).mappings().all()
        body = [{**row, "created_at": str(row["created_at"]), "updated_at": str(row["updated_at"])} for row in found[:50]]
        return Response(json.dumps({"rows": body}, default=str), media_type="application/json")

    return Starlette(routes=[Route("/rows", rows)])


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} ms"


async def timed(count: int, once: Callable[[], Awaitable[object]]) -> list[float]:
    await once()  # the first of each kind warms caches and connections: not counted
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await once()
        times.append(time.perf_counter() - started)
    return times


async def per_second(url: str, headers: dict[str, str], connections: int, seconds: float) -> float:
    done = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        async with httpx.AsyncClient(trust_env=False, timeout=30) as http:
            while time.monotonic() < deadline:
                answer = await http.get(url, headers=headers)
                assert answer.status_code == 200, answer.text
                done += 1

    await asyncio.gather(*(client() for _ in range(connections)))
    return done / seconds


async def seed(engine: AsyncEngine, project: str, owners: list[str], count: int) -> None:
    """`count` rows, a few seconds apart, each made by one of `owners` in turn (one INSERT of them all)."""
    start_at = utcnow() - timedelta(days=1)
    rows = [
        AppDataRow(
            project_id=project, scope="live", collection="bookings", owner=owners[n % len(owners)],
            data={"slot": f"slot {n}", "who": f"customer {n % 97}"}, created_at=start_at + timedelta(seconds=n),
        )
        for n in range(count)
    ]  # fmt: skip
    async with engine.begin() as connection:
        await connection.execute(AppDataRow.__table__.insert(), [row.model_dump() for row in rows])  # pyright: ignore[reportAttributeAccessIssue]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--database-url", default="", help="PostgreSQL (empty: SQLite in the temporary data folder)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="forja-bench-app-backend-"))
    settings.data_dir, settings.port, settings.database_url = work / "data", free_port(), args.database_url
    env = {**os.environ, "FORJA_DATA_DIR": str(settings.data_dir), "FORJA_PORT": str(settings.port)}
    if args.database_url:
        env["FORJA_DATABASE_URL"] = args.database_url
    services = await get_services()
    files = {"index.html": b"<h1>Bookings</h1>", ".forja/data.json": json.dumps(RULES).encode()}
    project = (await services.projects.create("Bench bookings", files, owner=LOCAL_USER_ID)).project_id
    app = (await services.publishing.publish(project, name=f"bench{secrets.token_hex(3)}", user_id=LOCAL_USER_ID)).app
    host = app.url.split("://", 1)[1]
    granian = [str(Path(sys.executable).with_name("granian")), "--interface", "asgi", "--host", "127.0.0.1", "--no-ws"]
    (work / "served").mkdir()
    (work / "served" / "forja_served.py").write_text("from builder.api import api, guarded\n\napp = guarded(api)\n")
    served = [*granian, "--port", str(settings.port), "--workers", "1", "--working-dir", str(work / "served"), "forja_served:app"]
    worker = start(served, settings.port, work / "worker.log", {**env, "PYTHONPATH": str(REPO)})
    plain_port = free_port()
    plain_env = {**env, "PYTHONPATH": str(REPO), PLAIN_ENV: json.dumps([settings.async_database_url, project])}
    plain = start(
        [*granian, "--port", str(plain_port), "--factory", "bench.app_backend:plain_app"],
        plain_port,
        work / "plain.log",
        plain_env,
    )
    engine = db.create_engine(settings.async_database_url)  # Forja's engine (its one-trip SQLite adapter)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.port}", trust_env=False, timeout=30) as http:
            origin = {"Host": host, "Origin": app.url}
            form = {"email": "ana@example.org", "password": PASSWORD}
            made = await http.post("/_forja/auth/sign-up", headers=origin, data=form)
            assert made.status_code == 303, made.text
            token = made.cookies["forja_app_session"]
            http.cookies.clear()
            user = (await http.get("/_forja/auth/me", headers={**origin, "Cookie": f"forja_app_session={token}"})).json()
            await seed(engine, project, [user["user"]["id"], *(f"customer{n}" for n in range(19))], args.rows)
            signed = {**origin, "Cookie": f"forja_app_session={token}"}

            async def sign_in() -> None:
                answer = await http.post("/_forja/auth/sign-in", headers=origin, data=form)
                assert answer.status_code == 303, answer.text
                http.cookies.clear()

            async def listed(query: str = "") -> None:
                answer = await http.get(f"/_forja/data/bookings{query}", headers=signed)
                assert answer.status_code == 200 and len(answer.json()["rows"]) == 50, answer.text

            async def create() -> None:
                answer = await http.post("/_forja/data/bookings", headers=signed, json={"slot": "late", "who": "bench"})
                assert answer.status_code == 201, answer.text

            http_sign_in = await timed(args.requests // 4, sign_in)
            http_list = await timed(args.requests, listed)
            http_mine = await timed(args.requests, lambda: listed("?mine=1"))
            http_create = await timed(args.requests, create)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{plain_port}", trust_env=False, timeout=30) as bare:

            async def plain_list() -> None:
                assert (await bare.get("/rows")).status_code == 200

            http_plain = await timed(args.requests, plain_list)
        direct = await direct_figures(engine, project, token, user["user"]["id"], args.requests)
        print(
            f"app backend, {args.rows:,} rows in the collection, {settings.sync_database_url.split(':')[0]}, p50 over loopback:"
        )
        for name, through, by_hand in [
            ("sign-in", http_sign_in, direct["sign-in"]),
            ("list (50 of all)", http_list, direct["list"]),
            ("list mine=1", http_mine, direct["mine"]),
            ("create", http_create, direct["create"]),
        ]:
            ratio = statistics.median(through) / statistics.median(by_hand)
            print(
                f"  {name:18} through the app's address {ms(through):>10}, the same queries directly {ms(by_hand):>10}, {ratio:.1f}x"
            )
        print(f"  (argon2id's check alone: {ms(direct['argon2'])}, in both sign-in figures)")
        print(f"  the plain handler's list over HTTP (no session, no rules): {ms(http_plain)}")
        url = f"http://127.0.0.1:{settings.port}/_forja/data/bookings"
        forja_rps = await per_second(url, signed, args.connections, args.seconds)
        plain_rps = await per_second(f"http://127.0.0.1:{plain_port}/rows", {}, args.connections, args.seconds)
        print(
            f"  list, {args.connections} clients for {args.seconds:.0f} s: /_forja/data {forja_rps:.0f} requests/s, the "
            f"plain handler by hand {plain_rps:.0f} requests/s ({forja_rps / plain_rps:.2f} of it)"
        )
    finally:
        await engine.dispose()
        for process in (worker, plain):
            process.terminate()
            process.wait(timeout=30)
        await services.close()


async def direct_figures(engine: AsyncEngine, project: str, token: str, user_id: str, count: int) -> dict[str, list[float]]:
    """The queries each request runs, on the same database through SQLAlchemy, one connection from the pool each."""
    token_hash, hasher = hash_token(token), PasswordHasher()
    stored = hasher.hash(PASSWORD)

    async def viewer() -> None:
        async with engine.connect() as connection:
            assert (await connection.execute(text(SESSION), {"h": token_hash, "p": project})).first() is not None

    async def listed(mine: str = "") -> None:
        await viewer()
        async with engine.connect() as connection:
            found = (await connection.execute(text(LIST.format(mine=mine)), {"p": project, "o": user_id})).all()
            assert len(found) == 51

    async def sign_in() -> None:
        async with engine.connect() as connection:
            query = "SELECT id, password_hash FROM appuser WHERE project_id = :p AND scope = 'live' AND email = :e"
            assert (await connection.execute(text(query), {"p": project, "e": "ana@example.org"})).first() is not None
        await asyncio.to_thread(hasher.verify, stored, PASSWORD)
        async with engine.begin() as connection:
            insert = (
                "INSERT INTO appsession (token_hash, user_id, project_id, scope, created_at, expires_at) "
                "VALUES (:h, :u, :p, 'live', :now, :until)"
            )
            now = utcnow()
            values = {"h": secrets.token_hex(32), "u": user_id, "p": project, "now": now, "until": now + timedelta(days=30)}
            await connection.execute(text(insert), values)

    async def create() -> None:
        await viewer()
        async with engine.connect() as connection:
            query = "SELECT count(*) FROM appdatarow WHERE project_id = :p AND scope = 'live'"
            (await connection.execute(text(query), {"p": project})).one()
        async with engine.begin() as connection:
            row = AppDataRow(project_id=project, scope="live", collection="bookings", owner=user_id, data={"slot": "late"})
            await connection.execute(AppDataRow.__table__.insert(), [row.model_dump()])  # pyright: ignore[reportAttributeAccessIssue]
            change = "INSERT INTO appdatachange (project_id, scope, collection, row_id, owner, kind, at) VALUES (:p, 'live', 'bookings', :r, :o, 'create', :at)"
            await connection.execute(text(change), {"p": project, "r": row.id, "o": user_id, "at": utcnow()})

    return {
        "sign-in": await timed(count // 4, sign_in),
        "list": await timed(count, listed),
        "mine": await timed(count, lambda: listed("AND owner = :o ")),
        "create": await timed(count, create),
        "argon2": await timed(count // 4, lambda: asyncio.to_thread(hasher.verify, stored, PASSWORD)),
    }


if __name__ == "__main__":
    asyncio.run(main())
