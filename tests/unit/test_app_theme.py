"""An app's sign-in pages' theme (.forja/app.json, builder/app_backend/theme.py): each part checked apart and dropped
quietly when wrong, and the page's policy allows exactly the stylesheet and logo it holds."""

from __future__ import annotations

import base64
import hashlib
import re

from builder.app_backend.pages import render
from builder.app_backend.theme import MAX_LOGO, Theme, ink_on, logo_url, parse_theme


def test_a_theme_file_gives_its_name_colour_and_logo_path() -> None:
    theme, logo = parse_theme(b'{"name": "  Cuts \\n by Rui ", "color": "#0F766E", "logo": "./public/logo.svg"}')
    assert theme == Theme(name="Cuts by Rui", color="#0F766E", ink="#ffffff")
    assert logo == "public/logo.svg"


def test_what_cannot_be_used_falls_back_quietly() -> None:
    assert parse_theme(b"not json") == (Theme(), "")
    assert parse_theme(b'["a list"]') == (Theme(), "")
    theme, logo = parse_theme(b'{"name": 7, "color": "red; } body { display: none", "logo": "../../etc/passwd"}')
    assert (theme, logo) == (Theme(), "")
    assert parse_theme(b'{"color": "#12345"}')[0].color == ""
    assert len(parse_theme(('{"name": "' + "x" * 500 + '"}').encode())[0].name) == 60


def test_the_logo_is_a_small_image_of_the_release_or_nothing() -> None:
    assert logo_url("img/logo.png", b"\x89PNG") == "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()
    assert logo_url("img/logo.png", None) == ""  # the release has no such file
    assert logo_url("img/logo.png", b"x" * (MAX_LOGO + 1)) == ""
    assert logo_url("script.js", b"alert(1)") == ""


def test_button_ink_reads_on_the_colour() -> None:
    assert ink_on("#ffffff") == "#10131a" and ink_on("#fde047") == "#10131a"
    assert ink_on("#000") == "#ffffff" and ink_on("#0f766e") == "#ffffff"


def _hashes(policy: str) -> set[str]:
    return set(re.findall(r"'sha256-([^']+)'", policy))


def _digest(css: str) -> str:
    return base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()


def test_the_page_policy_allows_the_styles_it_holds_and_images_only_with_a_logo() -> None:
    html, headers = render("notice.html", Theme(name="Cuts", color="#0f766e", ink="#ffffff"), title="Hi", text="t", link="/")
    policy = dict(headers)[b"content-security-policy"].decode()
    styles = re.findall(r"<style>(.*?)</style>", html.decode(), re.S)
    assert len(styles) == 2 and "--accent: #0f766e" in styles[1]
    assert _hashes(policy) == {_digest(css) for css in styles}
    assert "img-src" not in policy

    html, headers = render("notice.html", Theme(name="Cuts", logo="data:image/png;base64,AA=="), title="Hi", text="t", link="/")
    policy = dict(headers)[b"content-security-policy"].decode()
    assert "img-src data:" in policy and len(_hashes(policy)) == 1
    assert b'<img class="logo" src="data:image/png;base64,AA==" alt="">' in html
