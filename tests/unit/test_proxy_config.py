"""The preview proxy's names, addresses and Traefik configuration, without starting Traefik."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview_runtime.proxy import PreviewProxy


def test_names_and_urls(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090)
    assert proxy.host_for("Abc-1") == "abc-1.localhost"
    assert proxy.url_for("abc-1") == "http://abc-1.localhost:8090"
    assert PreviewProxy(tmp_path, 80, domain="preview.example.org").url_for("x") == "http://x.preview.example.org"
    assert proxy.internal_url() == "http://127.0.0.1:8090/"
    for bad in ("", "a.b", "a_b", "-a", "a" * 64, "a/b"):
        with pytest.raises(ValueError):
            proxy.host_for(bad)


def test_static_config_has_one_loopback_entrypoint_and_nothing_else(tmp_path: Path) -> None:
    config = PreviewProxy(tmp_path, 8090)._static_config()
    assert set(config["entryPoints"]) == {"web"}
    assert config["entryPoints"]["web"]["address"] == "127.0.0.1:8090"
    assert config["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}
    for absent in ("api", "ping", "accessLog", "metrics", "tracing"):
        assert absent not in config
    assert set(config["providers"]) == {"providersThrottleDuration", "file"}
    assert config["providers"]["file"] == {"directory": str(tmp_path / "dynamic"), "watch": True}


async def test_route_rejects_odd_upstreams(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090)
    for bad in ("127.0.0.1:3000", "ftp://127.0.0.1:21", "http://127.0.0.1", "http://127.0.0.1:3000/sub"):
        with pytest.raises(ValueError):
            await proxy.route("a", bad)
