"""Where an attached picture lands in a project when the person does not say: the project's picture folder, the
picture's own name made safe, the extension its bytes say."""

from __future__ import annotations

import pytest

from builder.attachments import Picture, picture_path


@pytest.mark.parametrize(
    ("name", "media_type", "paths", "expected"),
    [
        ("Logo Final.PNG", "image/png", ["index.html"], "assets/logo-final.png"),
        ("logo.png", "image/png", ["package.json", "src/App.jsx"], "public/logo.png"),
        ("photo.jpeg", "image/jpeg", ["app.py", "static/style.css", "templates/index.html"], "static/photo.jpg"),
        ("hero.gif", "image/gif", ["package.json", "assets/x.svg", "public/favicon.ico"], "public/hero.gif"),
        ("", "image/webp", ["index.html"], "assets/picture.webp"),
        ("../../étoile?.png", "image/png", [], "assets/etoile.png"),
        ("Screenshot 2026-11-25 at 10.42.png", "image/png", [], "assets/screenshot-2026-11-25-at-10-42.png"),
    ],
)
def test_picture_path(name: str, media_type: str, paths: list[str], expected: str) -> None:
    assert picture_path(Picture(media_type, b"", name), paths) == expected
