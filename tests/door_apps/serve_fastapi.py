"""Serves planted FastAPI apps from one process, each on its own port with its own uvicorn server, so FastAPI is
imported once for all of them: `python serve_fastapi.py cors_open=PORT cookies_twin=PORT ...`."""

import asyncio
import importlib
import sys

import uvicorn


async def serve(pairs: list[tuple[str, int]]) -> None:
    configs = [uvicorn.Config(importlib.import_module(name).app, host="127.0.0.1", port=port) for name, port in pairs]
    await asyncio.gather(*(uvicorn.Server(config).serve() for config in configs))


if __name__ == "__main__":
    asyncio.run(serve([(name, int(port)) for name, port in (arg.split("=") for arg in sys.argv[1:])]))
