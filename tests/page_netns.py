"""Run inside a network namespace of its own (`unshare -rn python -m tests.page_netns`) by
tests/integration/test_page_fetch_public.py: there a public address, PUBLIC, is this namespace's own loopback, so the
agent's page fetch can be tried with no allowlist, as for the open web, without a packet leaving the namespace. Prints
what each address gave, as JSON: {"name": ["read" | "refused", text], ..., "inside": [paths the private server saw]}.
"""

from __future__ import annotations

import asyncio
import json
import subprocess

from builder.errors import PageNotRead
from builder.services.page_fetch import FetchRules, fetch_page
from tests.page_server import Answer, page_server

PUBLIC = "93.184.216.34"


async def _main() -> dict[str, list[str]]:
    async with page_server({"/admin": Answer(b"the private service", "text/plain")}) as inside:
        pages = {
            "/guide": Answer(b"<h1>Guide</h1><p>Public words.</p>"),
            "/to-loopback": Answer(status=302, headers=(("Location", inside.url("/admin")),)),
            "/to-name": Answer(status=302, headers=(("Location", f"http://intranet.example:{inside.port}/admin"),)),
            "/to-metadata": Answer(status=301, headers=(("Location", "http://169.254.169.254/latest/meta-data/"),)),
            "/to-mapped": Answer(status=307, headers=(("Location", f"http://[::ffff:127.0.0.1]:{inside.port}/admin"),)),
        }
        async with page_server(pages, PUBLIC) as site:
            table = {"docs.example": [PUBLIC], "intranet.example": ["127.0.0.1"]}

            async def resolve(host: str, _port: int) -> list[str]:
                return table.get(host) or [host]  # an address as such is its own

            found: dict[str, list[str]] = {}
            for path in pages:
                try:
                    page = await fetch_page(f"http://docs.example:{site.port}{path}", FetchRules(resolve=resolve))
                    found[path] = ["read", page.text]
                except PageNotRead as exc:
                    found[path] = ["refused", exc.message]
            found["inside"] = inside.paths
            return found


if __name__ == "__main__":
    for command in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{PUBLIC}/32", "dev", "lo"]):
        subprocess.run(command, check=True)
    print(json.dumps(asyncio.run(_main())))
