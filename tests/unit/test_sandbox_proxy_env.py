"""The proxy variables a local preview's processes get (preview_runtime/local/network.py proxy_env), as Node reads them:
its fetch sends the rest of the world to the egress proxy, and the preview's own addresses straight to themselves."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from preview_runtime.local.network import proxy_env

PROBE = Path(__file__).resolve().parents[1] / "node_fetch_probe.mjs"


def test_node_fetches_its_own_addresses_directly_and_the_rest_through_the_proxy() -> None:
    node = shutil.which("node", path=str(Path(sys.executable).parent)) or "node"
    dead_proxy = "http://127.0.0.1:1"  # nothing listens: a request sent to the proxy is refused at once
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")} | proxy_env(dead_proxy)
    addresses = ["http://0.0.0.0:PORT/", "http://127.0.0.1:PORT/", "http://localhost:PORT/", "http://registry.example.invalid/"]
    out = subprocess.run([node, str(PROBE), *addresses], env=env, capture_output=True, text=True, timeout=30, check=True)
    said = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert said == {
        "http://0.0.0.0:PORT/": "ok",
        "http://127.0.0.1:PORT/": "ok",
        "http://localhost:PORT/": "ok",
        # To the proxy, not looked up: without NODE_USE_ENV_PROXY Node would say ENOTFOUND.
        "http://registry.example.invalid/": "ECONNREFUSED",
    }, out.stdout
