"""The preview proxy's names, addresses and Traefik configuration, without starting Traefik."""

from __future__ import annotations

from pathlib import Path

import pytest

from preview_runtime.access import COOKIE, AccessKeys
from preview_runtime.apps_edge import AppsEdge, aliased_preview
from preview_runtime.gate import AccessGate
from preview_runtime.preview_headers import PREVIEW_RESPONSE_HEADERS
from preview_runtime.proxy import PreviewProxy
from preview_runtime.visits import VisitCounter, counted_requests


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
    for absent in ("api", "ping", "accessLog", "tracing"):
        assert absent not in config
    # Metrics only for the routers that opt in (published apps' addresses), served by no entrypoint of their own.
    assert config["metrics"]["prometheus"]["manualRouting"] is True
    assert config["entryPoints"]["web"]["observability"] == {"metrics": False}
    assert set(config["providers"]) == {"providersThrottleDuration", "file"}
    assert config["providers"]["file"] == {"directory": str(tmp_path / "dynamic"), "watch": True}


async def test_route_rejects_odd_upstreams(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090)
    for bad in ("127.0.0.1:3000", "ftp://127.0.0.1:21", "http://127.0.0.1", "http://127.0.0.1:3000/sub"):
        with pytest.raises(ValueError):
            await proxy.route("a", bad)


async def test_a_private_previews_host_asks_the_gate_first_and_a_share_links_does_not(tmp_path: Path) -> None:
    gate = AccessGate(AccessKeys(bytes(32)), "http://127.0.0.1:3000", "v-")
    proxy = PreviewProxy(tmp_path, 8090, gate=gate)
    proxy.dynamic_dir.mkdir()  # each change is written there, for a Traefik this test does not start
    pages = [proxy._not_found, proxy._waking]  # pyright: ignore[reportPrivateUsage] (the config names their addresses)
    for page in [*pages, gate]:
        page.start()
    try:
        for preview_id in ("abc", "v-abc"):
            await proxy.route(preview_id, "http://127.0.0.1:4000")
            await proxy.park(f"{preview_id}1")
        config = proxy._dynamic_config()["http"]
        routers = config["routers"]
        # Then a visitor's X-Forja-User headers removed, Forja's apps' server or not (the gate decides first).
        assert routers["preview-abc"]["middlewares"] == ["forja-preview-headers", "forja-preview-access", "forja-apps-anonymous"]
        assert routers["preview-v-abc"]["middlewares"] == ["forja-preview-headers", "forja-apps-anonymous"]
        assert "preview-abc-signed" not in routers  # no apps' server to ask who is asking
        assert routers["parked-abc1"]["middlewares"] == ["forja-preview-access"]  # nobody else wakes it
        assert "middlewares" not in routers["parked-v-abc1"]
        assert config["middlewares"]["forja-preview-access"] == {
            "forwardAuth": {
                "address": gate.url,
                "authRequestHeaders": ["Cookie", "Accept", "Sec-Fetch-Mode"],
                "addAuthCookiesToResponse": [COOKIE],
                "preserveLocationHeader": True,
            }
        }
        assert PREVIEW_RESPONSE_HEADERS["Referrer-Policy"] == "same-origin"
        # Forja's own probes carry the gate's cookie to a private preview only.
        assert proxy.own_headers("abc")["Cookie"].startswith(f"{COOKIE}=c.")
        assert proxy.own_headers("v-abc") == {"Host": "v-abc.localhost"}
    finally:
        for page in [*pages, gate]:
            page.stop()


async def test_a_published_server_apps_hosts_follow_its_sandbox_with_no_gate_and_no_preview_headers(tmp_path: Path) -> None:
    gate = AccessGate(AccessKeys(bytes(32)), "http://127.0.0.1:3000", "v-")
    proxy = PreviewProxy(tmp_path, 8090, gate=gate)

    def alias_routers() -> dict[str, dict]:
        routers = proxy._dynamic_config()["http"]["routers"]  # pyright: ignore[reportPrivateUsage]
        return {r["rule"]: r for name, r in routers.items() if name.startswith("forja-apps-alias-")}

    proxy.dynamic_dir.mkdir()  # each change is written there, for a Traefik this test does not start
    pages = [proxy._not_found, proxy._waking]  # pyright: ignore[reportPrivateUsage] (the config names their addresses)
    for page in pages:
        page.start()
    try:
        await check_aliases(proxy, alias_routers)
    finally:
        for page in pages:
            page.stop()


async def check_aliases(proxy: PreviewProxy, alias_routers) -> None:
    await proxy.route("app-2-abc", "http://127.0.0.1:4000")
    await proxy.alias("app-2-abc", ["shop.apps.localhost", "Shop.Example.test."])
    routers = alias_routers()
    assert set(routers) == {"Host(`shop.apps.localhost`)", "Host(`shop.example.test`)"}
    for router in routers.values():
        # Above the apps' server (50/60), below previews' own hosts; the sandbox's service; no gate, no headers.
        assert (router["priority"], router["service"], "middlewares" in router) == (70, "preview-app-2-abc", False)
    await proxy.park("app-2-abc")
    assert {r["service"] for r in alias_routers().values()} == {"forja-waking"}
    proxy._wake_request("shop.apps.localhost:8090")  # pyright: ignore[reportPrivateUsage] (no loop: a no-op, no error)
    # Another release takes the hosts; one with no sandbox routed sends none (they fall to Forja's edge).
    await proxy.alias("app-3-def", ["shop.apps.localhost"])
    assert proxy.aliases() == {"shop.apps.localhost": "app-3-def", "shop.example.test": "app-2-abc"}
    assert set(alias_routers()) == {"Host(`shop.example.test`)"}
    await proxy.alias("app-2-abc", [])
    assert alias_routers() == {} and proxy.aliases() == {"shop.apps.localhost": "app-3-def"}
    await proxy.route("app-3-def", "http://127.0.0.1:4001")
    await proxy.unroute("app-3-def")  # a stopped sandbox answers at none of its hosts, and is forgotten
    assert proxy.aliases() == {}


async def test_another_workers_sandbox_gets_its_hosts_forwarded_once(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090)

    def forwarded() -> tuple[dict[str, dict], dict[str, dict]]:
        config = proxy._dynamic_config()["http"]  # pyright: ignore[reportPrivateUsage]
        routers = {r["rule"]: r for name, r in config["routers"].items() if name.startswith("forja-apps-forward-")}
        return routers, {r["rule"]: config["services"][r["service"]] for r in routers.values()}

    proxy.dynamic_dir.mkdir()  # each change is written there, for a Traefik this test does not start
    pages = [proxy._not_found, proxy._waking]  # pyright: ignore[reportPrivateUsage] (the config names their addresses)
    for page in pages:
        page.start()
    try:
        await proxy.forward("p1", ["Shop.apps.localhost", "shop.example.test."], "http://127.0.0.1:8801")
        routers, services = forwarded()
        rule = "Host(`shop.apps.localhost`) && !Header(`X-Forja-Forwarded`, `1`)"  # never forwarded twice
        assert set(routers) == {rule, "Host(`shop.example.test`) && !Header(`X-Forja-Forwarded`, `1`)"}
        # Below a sandbox's own alias on this worker (70), above the apps' server; marked; Host kept.
        assert (routers[rule]["priority"], routers[rule]["middlewares"]) == (65, ["forja-apps-forwarded"])
        assert services[rule] == {"loadBalancer": {"servers": [{"url": "http://127.0.0.1:8801"}], "passHostHeader": True}}
        middleware = proxy._dynamic_config()["http"]["middlewares"]["forja-apps-forwarded"]  # pyright: ignore[reportPrivateUsage]
        assert middleware == {"headers": {"customRequestHeaders": {"X-Forja-Forwarded": "1"}}}
        # The owner's hosts are replaced whole (a rename), then dropped.
        await proxy.forward("p1", ["mall.apps.localhost"], "http://127.0.0.1:8802")
        assert proxy.forwards() == {"mall.apps.localhost": "http://127.0.0.1:8802"} and proxy.forward_owners() == ["p1"]
        await proxy.forward("p1", [])
        assert forwarded() == ({}, {}) and proxy.forward_owners() == []
    finally:
        for page in pages:
            page.stop()


METRICS = """# HELP traefik_router_requests_total How many HTTP requests are processed on a router.
traefik_router_requests_total{code="200",method="GET",protocol="http",router="forja-apps-alias-app-2-abc-0@file",service="preview-app-2-abc@file"} 3
traefik_router_requests_total{code="404",method="GET",protocol="http",router="forja-apps-alias-app-2-abc-1@file",service="preview-app-2-abc@file"} 1
traefik_router_requests_total{code="200",method="GET",protocol="http",router="forja-apps-alias-app-3-def-2@file",service="forja-waking@file"} 1
traefik_router_requests_bytes_total{code="200",method="GET",protocol="http",router="forja-apps-alias-app-4-x-3@file",service="s@file"} 9
traefik_router_requests_total{code="200",method="GET",protocol="http",router="preview-abc@file",service="preview-abc@file"} 7
"""


async def test_visits_are_read_from_traefiks_counts_of_the_alias_routers_only(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090)
    await proxy.route("app-2-abc", "http://127.0.0.1:4000")
    await proxy.alias("app-2-abc", ["shop.apps.localhost"])
    pages = [proxy._not_found, proxy._waking]  # pyright: ignore[reportPrivateUsage] (the config names their addresses)
    for page in pages:
        page.start()
    try:
        routers = proxy._dynamic_config()["http"]["routers"]  # pyright: ignore[reportPrivateUsage]
    finally:
        for page in pages:
            page.stop()
    assert routers["forja-apps-alias-app-2-abc-0"]["observability"] == {"metrics": True}
    visits = routers["forja-visits"]
    assert visits["service"] == "prometheus@internal" and "X-Forja-Visits" in visits["rule"]  # with the proxy's token
    assert counted_requests(METRICS) == {"app-2-abc": 4.0, "app-3-def": 1.0}

    counter = VisitCounter()
    assert counter.read(METRICS, 10.0) == {"app-2-abc": 10.0, "app-3-def": 10.0}
    assert counter.read(METRICS, 20.0) == {"app-2-abc": 10.0, "app-3-def": 10.0}  # no new request: no visit
    more = METRICS.replace("} 3\n", "} 5\n", 1)
    assert counter.read(more, 30.0) == {"app-2-abc": 30.0, "app-3-def": 10.0}
    assert counter.read("", 40.0) == {}  # gone from Traefik's counts (its routers removed): forgotten


async def test_an_app_backend_path_of_a_server_apps_hosts_goes_to_forja_not_its_sandbox(tmp_path: Path) -> None:
    proxy = PreviewProxy(tmp_path, 8090, apps=AppsEdge("apps.localhost", "http://127.0.0.1:3000"))
    proxy.dynamic_dir.mkdir()
    pages = [proxy._not_found]  # pyright: ignore[reportPrivateUsage] (the config names its address)
    for page in pages:
        page.start()
    try:
        await proxy.route("app-2-abc", "http://127.0.0.1:4000")
        await proxy.alias("app-2-abc", ["shop.apps.localhost"])
        await proxy.forward("p1", ["cuts.apps.localhost"], "http://127.0.0.1:8801")
        routers = proxy._dynamic_config()["http"]["routers"]  # pyright: ignore[reportPrivateUsage]
        backend = {r["rule"]: r for name, r in routers.items() if name.startswith("forja-apps-backend-")}
        assert set(backend) == {
            "Host(`cuts.apps.localhost`) && PathPrefix(`/_forja/`)",
            "Host(`shop.apps.localhost`) && PathPrefix(`/_forja/`)",
        }
        alias = next(r for name, r in routers.items() if name.startswith("forja-apps-alias-"))
        forward = next(r for name, r in routers.items() if name.startswith("forja-apps-forward-"))
        for router in backend.values():
            # Above the sandbox and the forward to another worker, to the apps' server (Forja's own).
            assert router["priority"] > max(alias["priority"], forward["priority"]) and router["service"] == "forja-apps"
        assert all(aliased_preview(name) is None for name in routers if name.startswith("forja-apps-backend-"))
    finally:
        for page in pages:
            page.stop()


async def test_a_previews_backend_path_goes_to_forja_through_the_previews_gate(tmp_path: Path) -> None:
    gate = AccessGate(AccessKeys(bytes(32)), "http://127.0.0.1:3000", "v-")
    proxy = PreviewProxy(tmp_path, 8090, gate=gate, apps=AppsEdge("apps.localhost", "http://127.0.0.1:3000"))
    proxy.dynamic_dir.mkdir()
    pages = [proxy._not_found, proxy._waking]  # pyright: ignore[reportPrivateUsage] (the config names their addresses)
    for page in [*pages, gate]:
        page.start()
    try:
        for preview_id in ("abc", "v-abc"):
            await proxy.route(preview_id, "http://127.0.0.1:4000")
        await proxy.park("abc1")
        routers = proxy._dynamic_config()["http"]["routers"]  # pyright: ignore[reportPrivateUsage]
        backend = {r["rule"]: r for name, r in routers.items() if name.startswith("forja-apps-preview-backend-")}
        rule = "Host(`{}.localhost`) && PathPrefix(`/_forja/`)"
        assert set(backend) == {rule.format("abc"), rule.format("v-abc"), rule.format("abc1")}
        # A private preview's (running or parked) asks the gate as the rest of its host does; a share link's does not.
        assert backend[rule.format("abc")]["middlewares"] == ["forja-preview-headers", "forja-preview-access"]
        assert backend[rule.format("abc1")]["middlewares"] == ["forja-preview-headers", "forja-preview-access"]
        assert backend[rule.format("v-abc")]["middlewares"] == ["forja-preview-headers"]
        for router in backend.values():  # above the preview's own host, to Forja's server
            assert router["priority"] > routers["preview-abc-signed"]["priority"] and router["service"] == "forja-apps"
        # Who is asking a preview's app: the visitor's headers removed after the gate; with an app session cookie,
        # Forja's answer in their place (after the gate too), at the preview's own host, to the preview's own server.
        gated, open_ = ["forja-preview-headers", "forja-preview-access"], ["forja-preview-headers"]
        assert routers["preview-abc"]["middlewares"] == [*gated, "forja-apps-anonymous"]
        assert routers["preview-v-abc"]["middlewares"] == [*open_, "forja-apps-anonymous"]
        signed = routers["preview-abc-signed"]
        assert signed["middlewares"] == [*gated, "forja-apps-identity-preview-abc"]
        assert (signed["priority"], signed["service"]) == (101, "preview-abc")
        assert signed["rule"].startswith("Host(`abc.localhost`) && HeaderRegexp(`Cookie`")
        assert routers["preview-v-abc-signed"]["middlewares"] == [*open_, "forja-apps-identity-preview-v-abc"]
        declared = proxy._dynamic_config()["http"]["middlewares"]  # pyright: ignore[reportPrivateUsage]
        asks = declared["forja-apps-identity-preview-abc"]["forwardAuth"]
        assert asks["address"] == "http://127.0.0.1:3000/_forja/identity/abc.localhost"
        assert asks["authResponseHeaders"] == ["X-Forja-User", "X-Forja-User-Token"]
        assert declared["forja-apps-anonymous"]["headers"]["customRequestHeaders"] == {
            "X-Forja-User": "",
            "X-Forja-User-Token": "",
        }
        assert "parked-abc1-signed" not in routers and "forja-apps-anonymous" not in routers["parked-abc1"].get("middlewares", [])
        await proxy.unroute("abc")
        routers = proxy._dynamic_config()["http"]["routers"]  # pyright: ignore[reportPrivateUsage]
        assert rule.format("abc") not in {r["rule"] for r in routers.values()}
    finally:
        for page in [*pages, gate]:
            page.stop()
