"""What a phone downloads to open Forja's page, on the page's real build (the session's Forja): the build's hashed files
are cached for a year, so a second visit asks for none of them again; no page imports lucide's map of every icon."""

from __future__ import annotations

import re

import httpx

ASSET = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


def test_the_page_builds_files_are_cached_for_a_year_and_sent_compressed(forja: str) -> None:
    with httpx.Client(base_url=forja, timeout=30, trust_env=False) as client:
        home = client.get("/")
        assets = sorted(set(ASSET.findall(home.text)))
        assert len(assets) > 10, home.text[:500]
        for path in assets:
            answer = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert answer.status_code == 200, path
            assert answer.headers["cache-control"] == "public, max-age=31536000, immutable", path
            if path.endswith((".js", ".css")) and int(answer.headers["content-length"]) > 1024:
                assert answer.headers.get("content-encoding") == "gzip", path
        # Files whose name is not a digest of their content, and answers that are not the file, are asked about again.
        for path in ("/", "/forja.css", "/assets/nothing-ABCDEFGH.js"):
            assert "immutable" not in client.get(path).headers.get("cache-control", ""), path
        # The routes' imports (React Router's manifest): no page waits for the map of every icon (54 KB gzipped).
        manifest = next(path for path in assets if path.startswith("/assets/manifest-"))
        assert "DynamicIcon" not in client.get(manifest).text
