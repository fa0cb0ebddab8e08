"""What names a preview's backend: the preview id a host names, the backend paths, and the session cookie and page
headers a preview's backend answers with (builder/api/preview_backend.py, app_auth.py, app_backend/pages.py)."""

from __future__ import annotations

from starlette.types import Message, Scope

from builder.api.app_auth import AppRequest, AppSite
from builder.api.preview_backend import backend_path, preview_of
from builder.app_backend.pages import render
from builder.app_backend.theme import Theme
from builder.services.app_data import Scope as AppScope


def test_the_preview_a_host_names() -> None:
    assert preview_of(b"abc123.localhost:8001", "localhost") == "abc123"
    assert preview_of(b"V-Abc.Preview.Example.org", "preview.example.org.") == "v-abc"
    for other in (b"localhost:8001", b"a.b.localhost", b"abc.localhost.evil.org", b"-a.localhost", b"a:b:c", b"", b"x.lan"):
        assert preview_of(other, "localhost") is None, other


def test_the_backends_paths() -> None:
    def asked(path: str, kind: str = "http") -> str | None:
        return backend_path({"type": kind, "path": path})

    assert (asked("/_forja/auth/sign-in"), asked("/_forja/data/notes/1"), asked("/_forja/client.js")) == ("auth", "data", "data")
    assert asked("/_forja/auth/me", "websocket") is None
    for other in ("/", "/_forja", "/_forja/clientjs", "/__forja/access", "/api/projects"):
        assert asked(other) is None, other


def request(host: str, site: AppSite, scheme: str = "http") -> AppRequest:
    scope: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "scheme": scheme,
        "query_string": b"",
        "headers": [(b"host", host.encode())],
    }

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    return AppRequest(scope, receive, site)


def test_a_previews_session_cookie_is_its_hosts_and_kept_in_the_preview_tabs_frame() -> None:
    preview = AppSite("p1", AppScope.preview)
    cookie = request("abc.localhost:8001", preview).going("/", "tok", 60).headers["set-cookie"]
    # Never __Host- (a preview is plain HTTP), no Domain; Partitioned, so Forja's page can frame it and keep it.
    assert cookie == "forja_app_session=tok; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=None; Partitioned"
    # A preview off loopback over plain HTTP cannot be Secure, hence not Partitioned: Lax.
    lan = request("abc.preview.lan:8001", preview).going("/").headers["set-cookie"]
    assert lan == "forja_app_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
    # A published app's is as before: Lax, and __Host- and Secure on HTTPS.
    live = AppSite("p1", AppScope.live, release=1)
    assert request("shop.apps.localhost", live).going("/", "tok", 60).headers["set-cookie"].endswith("; HttpOnly; SameSite=Lax")
    secure = request("shop.example.org", live, "https").going("/", "tok", 60).headers["set-cookie"]
    assert secure == "__Host-forja_app_session=tok; Max-Age=60; Path=/; HttpOnly; Secure; SameSite=Lax"


def test_a_previews_pages_may_be_framed_and_a_published_apps_may_not() -> None:
    def policy(framed: bool) -> str:
        _, headers = render("notice.html", Theme(name="Shop"), framed=framed, title="Hi", text="t", link="/")
        return dict(headers)[b"content-security-policy"].decode()

    assert "frame-ancestors 'none'" in policy(False)
    assert "frame-ancestors" not in policy(True) and "form-action 'self'" in policy(True)
