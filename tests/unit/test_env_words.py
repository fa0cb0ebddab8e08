"""The Environment dialog's words fit the app: a build's public names only for the build that has them (VITE_ for
Vite, NEXT_PUBLIC_ for Next.js), the server and its database only for an app with a server, and a page with no server
told that what it uses is in the page (builder/services/env_words.py)."""

from __future__ import annotations

import json

import pytest

from builder.generation.starters import StarterVariables, get_starter, render_starter
from builder.services.env_words import env_words

PREFIXES = ("VITE_", "NEXT_PUBLIC_", "REACT_APP_", "PUBLIC_", "DATABASE_URL")


def _starter(name: str) -> dict[str, bytes]:
    return {path: text.encode() for path, text in render_starter(get_starter(name), StarterVariables()).items()}


def _package(dependencies: dict[str, str], scripts: dict[str, str]) -> bytes:
    return json.dumps({"name": "app", "scripts": scripts, "dependencies": dependencies}).encode()


NEXT = {"package.json": _package({"next": "14.2.0", "react": "18.3.1"}, {"dev": "next dev"}), "pages/index.js": b"x"}
NODE_SERVER = {
    "package.json": _package({}, {"start": "node server.js"}),
    "server.js": b'require("node:http").createServer((q, s) => s.end("hi")).listen(process.env.PORT)',
}


@pytest.mark.parametrize(
    ("tree", "server", "says", "names"),
    [
        (_starter("react-vite-tailwind"), False, "runs in the visitor's browser, with no server of its own", ("VITE_",)),
        (_starter("vue-vite"), False, "anyone who opens the app can read them", ("VITE_",)),
        (_starter("html"), False, "pages only, with no server of its own", ()),
        ({"index.html": b"<!doctype html><h1>Shop</h1>"}, False, "everything they use is written in them", ()),
        (NEXT, True, "the others stay on the server", ("NEXT_PUBLIC_",)),
        (_starter("flask"), True, "They stay on the server", ()),
        (_starter("express-api"), True, "They stay on the server", ()),
        (NODE_SERVER, True, "They stay on the server", ()),
        (_starter("fullstack-react-fastapi"), True, "the others stay on the server", ("VITE_",)),
    ],
    ids=["vite-react", "vite-vue", "html-starter", "plain-page", "next", "flask", "express", "node-http", "fullstack"],
)
def test_the_dialog_names_only_what_the_app_is_made_of(
    tree: dict[str, bytes], server: bool, says: str, names: tuple[str, ...]
) -> None:
    words = env_words(tree)
    assert words.server is server
    assert says in words.public
    for prefix in PREFIXES:
        # "PUBLIC_" is inside "NEXT_PUBLIC_": only a name of its own counts.
        named = any(part.startswith(prefix) for part in words.public.replace(",", " ").split())
        assert named is (prefix in names), (prefix, words.public)
    assert words.prefixes == tuple(name for name in names if name != "DATABASE_URL")  # what the rows' badge reads
    assert ("Its server gets them" in words.intro) is server
    if not server:
        assert "Never put a password or a secret key here." in words.public


def test_an_app_nothing_runs_yet_is_told_no_kind() -> None:
    words = env_words({})
    assert words.server and "VITE_" not in words.public and "keep keys out of the page" in words.public
