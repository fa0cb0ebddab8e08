"""What the browser side of previews relies on, without a server: the console bridge and the WebContainer plan."""

from __future__ import annotations

from preview_runtime import console_bridge
from preview_runtime.page_scripts import add_to_pages
from preview_runtime.plan import browser_plan_for

ORIGINS = ["http://127.0.0.1:3000"]


def test_bridge_goes_first_in_the_head_of_every_page() -> None:
    files = {
        "index.html": b"<!doctype html><html><head><title>x</title></head><body><script src=app.js></script></body></html>",
        "about.htm": b"<HTML><HEAD lang=en></HEAD></HTML>",
        "app.js": b"console.log('<head>')",
    }
    out = add_to_pages(files, [console_bridge.script(ORIGINS)])
    assert out["app.js"] == files["app.js"]
    for path in ("index.html", "about.htm"):
        head_end = out[path].lower().index(b"<head") + out[path][out[path].lower().index(b"<head") :].index(b">") + 1
        assert out[path][head_end:].startswith(b"<script data-forja-console>"), out[path]
        assert b'["http://127.0.0.1:3000"]' in out[path]
    assert files["index.html"].count(b"<script") == 1  # the stored project is not touched


def test_bridge_keeps_the_doctype_first_and_is_added_once() -> None:
    page = b"<!DOCTYPE html>\n<h1>No head</h1>"
    bridge = [console_bridge.script(ORIGINS)]
    once = add_to_pages({"index.html": page}, bridge)
    assert once["index.html"].startswith(b"<!DOCTYPE html><script data-forja-console>")
    assert add_to_pages(once, bridge) == once
    assert add_to_pages({"index.html": page}, []) == {"index.html": page}


def test_browser_plan_only_for_front_end_projects() -> None:
    vite = {"package.json": b'{"scripts": {"dev": "vite"}, "devDependencies": {"vite": "7"}}', "index.html": b"<div id=root>"}
    plan = browser_plan_for(vite)
    assert (
        plan is not None
        and plan.install[:2] == ["npm", "install"]
        and plan.dev == ["npm", "run", "dev", "--", "--port", "5173", "--host", "0.0.0.0"]
        and plan.port == 5173
    )
    static = browser_plan_for({"index.html": b"<h1>hi</h1>"})
    assert static is not None and static.install == [] and static.dev == []
    express = {"package.json": b'{"scripts": {"start": "node server.js"}, "dependencies": {"express": "5"}}', "server.js": b""}
    assert browser_plan_for(express) is None
    assert browser_plan_for({"requirements.txt": b"flask\n", "app.py": b"from flask import Flask"}) is None
    assert browser_plan_for({"README.md": b"nothing to run"}) is None
