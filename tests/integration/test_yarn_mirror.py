"""A Yarn 1 project installs from a registry mirror in the local runner's sandbox when only that mirror is reachable,
as on a company network; without the lockfile's rewrite (preview_runtime/lockfile_mirror.py) the same install fails.

The corpus' express-generator-yarn project (scripts/corpus.py) is started by a PreviewManager with the local runner in
bubblewrap, its egress allowing the mirror alone (no public registry name), and no seed of yarn's cache: every
package must come from the mirror, which this test serves on a loopback address from the tarballs of the corpus' own yarn cache
(each found by the path of the URL yarn's cache recorded for it) and which records each request. yarn itself comes from
the corpus' corepack cache, read-only, as test_corpus.py gives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from preview_runtime.corepack import registry_url
from preview_runtime.local import LocalRunner
from preview_runtime.logs import LogHub
from preview_runtime.manager import PreviewManager
from preview_runtime.plan import plan_for
from preview_runtime.proxy import PreviewProxy
from preview_runtime.runner import PreviewInfo, PreviewState
from scripts.corpus import COREPACK_DIR, ENTRIES, app_files
from tests.conftest import corpus_app, free_port
from tests.integration.test_local_isolation import _bwrap_or_fail_in_ci, _log, _running, _spec

NAME = "express-generator-yarn"
RUNNING_WITHIN_S = 60
# Loopback, but not the 127.0.0.1 of the sandbox's NO_PROXY: yarn goes through the egress proxy to it, as to a company
# mirror at an address of its network.
MIRROR_HOST = "127.0.0.2"


def tarballs(cache: Path) -> dict[str, Path]:
    """Each package of a yarn cache by the path of the URL it was fetched from (`/accepts/-/accepts-1.3.8.tgz`)."""
    found: dict[str, Path] = {}
    for metadata in cache.glob("*/node_modules/**/.yarn-metadata.json"):
        reference = json.loads(metadata.read_bytes())["remote"]["reference"]
        found[urlsplit(reference).path] = metadata.with_name(".yarn-tarball.tgz")
    return found


@contextlib.asynccontextmanager
async def mirror(packages: dict[str, Path]) -> AsyncIterator[tuple[str, list[str]]]:
    """An npm registry mirror on MIRROR_HOST serving `packages` by path (404 for anything else): its URL and the path of
    each request it got."""
    asked: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One request a connection: the egress proxy forwards each with `Connection: close`.
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode().split("?", 1)[0]  # origin-form, as the egress proxy forwards it
            asked.append(path)
            found = packages.get(path)
            body = found.read_bytes() if found else b"not here\n"
            status = b"200 OK" if found else b"404 Not Found"
            head = b"HTTP/1.1 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(body))
            writer.write(head + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, MIRROR_HOST, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{MIRROR_HOST}:{port}/", asked
    finally:
        server.close()
        await server.wait_closed()


async def settled(runner: LocalRunner, logs: LogHub, preview_id: str, project_id: str) -> PreviewInfo:
    """The preview once running (its app answers) or failed, as its runner says (no Traefik here: the manager would
    call a running preview reconnecting)."""
    deadline = time.monotonic() + RUNNING_WITHIN_S
    while (info := await runner.status(preview_id)).state not in (PreviewState.running, PreviewState.failed):
        said = "\n".join(line.text for line in logs.history(project_id)[-30:])
        assert time.monotonic() < deadline, f"{preview_id} is {info.state.value} after {RUNNING_WITHIN_S} s:\n{said}"
        await asyncio.sleep(0.2)
    return info


async def test_a_yarn_1_project_installs_from_the_only_reachable_mirror_and_not_without_the_lockfile_rewrite(
    tmp_path: Path,
) -> None:
    _bwrap_or_fail_in_ci()
    folder = corpus_app(NAME)
    packages = tarballs(folder / "npm" / "yarn" / "v6")
    files = app_files(next(entry for entry in ENTRIES if entry.name == NAME))
    plan = plan_for(files)
    assert plan.install.startswith("corepack yarn@1.22.22 install"), plan.install
    wanted = {urlsplit(line.split('"')[1]).path for line in files["yarn.lock"].decode().splitlines() if "  resolved " in line}
    assert len(wanted) == 135 and wanted <= set(packages)
    async with mirror(packages) as (url, asked):
        # No public registry is allowed (egress_hosts): the mirror, named by npm_config_registry, is the only way out.
        env = {"npm_config_registry": url, "COREPACK_NPM_REGISTRY": registry_url(url), "COREPACK_HOME": str(COREPACK_DIR)}
        runner = LocalRunner(tmp_path / "work", sandbox=True, env=env, egress_hosts=[])
        logs = LogHub()
        try:
            # The control, side by side (it mostly waits on yarn's retries): the lockfile as written sends yarn to
            # registry.yarnpkg.com, which the egress proxy refuses.
            plain = PreviewManager({"local": runner}, PreviewProxy(tmp_path / "plain", free_port()), logs)
            manager = PreviewManager({"local": runner}, PreviewProxy(tmp_path / "proxy", free_port()), logs, npm_registry=url)
            await plain.start("plain1", "plain", 1, files, plan)
            await manager.start("mirror1", "mirror", 1, files, plan)
            failed, info = await asyncio.gather(
                settled(runner, logs, "plain1", "plain"), settled(runner, logs, "mirror1", "mirror")
            )
            said = "\n".join(line.text for line in logs.history("plain"))
            assert failed.state == PreviewState.failed, said
            assert "Blocked a connection to registry.yarnpkg.com" in said, said
            said = "\n".join(line.text for line in logs.history("mirror"))
            assert info.state == PreviewState.running, said
            assert "Blocked a connection" not in said, said
            # Every package of the lockfile was asked of the mirror (the control asked it nothing), once.
            assert sorted(asked) == sorted(wanted), sorted(set(asked) ^ wanted)
            async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
                page = await client.get(info.upstream + "/")
            assert page.status_code == 200 and "Welcome to Express" in page.text, page.text[:500]
            await plain.stop("plain1")
            await manager.stop("mirror1")
        finally:
            await runner.close()


async def test_corepack_in_the_sandbox_asks_the_mirror_through_the_egress_proxy_for_a_manager_not_in_its_cache(
    tmp_path: Path,
) -> None:
    """Node's fetch, which corepack downloads with, goes through the egress proxy only with NODE_USE_ENV_PROXY (set by
    local/network.py): without it, it connects straight from the sandbox's own network, where nothing answers."""
    _bwrap_or_fail_in_ci()
    async with mirror({}) as (url, asked):
        env = {"npm_config_registry": url, "COREPACK_NPM_REGISTRY": registry_url(url)}
        runner = LocalRunner(tmp_path / "work", sandbox=True, env=env, egress_hosts=[])
        try:
            lines, sink = _log()
            # An empty cache of its own: corepack must fetch yarn; the mirror has nothing, so its answer is 404.
            fetch = "COREPACK_HOME=$HOME/corepack corepack yarn@1.22.21 --version 2>&1 | grep -E '^Error'"
            server = "require('http').createServer((_, r) => r.end('ok')).listen(process.env.PORT, process.env.HOST)"
            await runner.start(_spec("corepack1", {"package.json": b"{}"}, f'{fetch}; node -e "{server}"'), sink)  # pyright: ignore[reportArgumentType]
            await _running(runner, "corepack1", within=60)
            assert "/yarn/1.22.21" in asked, (asked, lines)
            assert any("Server answered with HTTP 404" in line for line in lines), lines
        finally:
            await runner.close()
