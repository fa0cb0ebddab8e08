"""The rest of issue 14's probes against the sandboxed local runner, as in test_docker_probes.py: Forja's key through
/proc, its database and `.env` by path, and the cloud metadata address, each tried by a preview's own server code.

Network rule (shared/environment.md): 169.254.169.254 is made local (added to `lo`) before anything probes it; if
that is impossible the test fails instead of probing the real one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from preview_runtime.local import LocalRunner
from tests.integration.test_containment import METADATA_IP, http_listener, metadata_made_local
from tests.integration.test_docker_probes import FAKE_KEY, LOOK_FOR_SECRETS
from tests.integration.test_local_isolation import _bwrap_or_fail_in_ci, _log, _running, _spec

SERVE = b"\nimport http.server, os\nhttp.server.ThreadingHTTPServer(('127.0.0.1', int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()\n"


@pytest.fixture
async def runner(tmp_path: Path) -> AsyncIterator[LocalRunner]:
    _bwrap_or_fail_in_ci()
    instance = LocalRunner(tmp_path / "work", sandbox=True)
    yield instance
    await instance.close()


async def test_forjas_key_database_and_env_are_out_of_reach(
    runner: LocalRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This process stands in for Forja: it holds a key, and its database and .env lie beside the work folder.
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    database, env_file = tmp_path / "forja.db", tmp_path / ".env"
    database.write_bytes(b"SQLite format 3\0")
    env_file.write_text(f"ANTHROPIC_API_KEY={FAKE_KEY}\n")
    look = LOOK_FOR_SECRETS.format(key=FAKE_KEY, paths=[str(database), str(env_file)]).encode()
    # Positive control: run on the host, the same program finds all three.
    (tmp_path / "look.py").write_bytes(look)
    direct = await asyncio.to_thread(subprocess.run, [sys.executable, str(tmp_path / "look.py")], capture_output=True, text=True)
    seen = json.loads(direct.stdout.removeprefix("secrets:"))
    assert seen["key_seen"] >= 1 and len(seen["forja_files"]) == 2, seen

    lines, sink = _log()
    await runner.start(_spec("secrets1", {"look.py": look + SERVE}, "python look.py"), sink)  # pyright: ignore[reportArgumentType]
    await _running(runner, "secrets1")
    line = next(line for line in lines if line.startswith("secrets:"))
    assert json.loads(line.removeprefix("secrets:")) == {"names": [], "key_seen": 0, "forja_files": []}, lines


async def test_the_metadata_address_is_unreachable(runner: LocalRunner, tmp_path: Path) -> None:
    fetch = (
        "import urllib.request\n"
        # Straight there, not through the preview's HTTP_PROXY (the egress proxy would refuse it too).
        "opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
        "try:\n"
        f"    print('metadata:', opener.open('http://{METADATA_IP}/latest/meta-data/', timeout=3).read().decode(), flush=True)\n"
        "except Exception as exc:\n"
        "    print('metadata: blocked', exc, flush=True)\n"
    ).encode()
    async with metadata_made_local():
        with http_listener(METADATA_IP, 80, b"ami-id: fake") as (_, peers):
            (tmp_path / "fetch.py").write_bytes(fetch)
            direct = await asyncio.to_thread(
                subprocess.run, [sys.executable, str(tmp_path / "fetch.py")], capture_output=True, text=True, env={}
            )
            assert "metadata: ami-id: fake" in direct.stdout  # reachable from the host
            peers.clear()

            lines, sink = _log()
            await runner.start(_spec("meta1", {"fetch.py": fetch + SERVE}, "python fetch.py"), sink)  # pyright: ignore[reportArgumentType]
            await _running(runner, "meta1")
            line = next(line for line in lines if line.startswith("metadata:"))
            assert line.startswith("metadata: blocked"), lines
            assert peers == []
