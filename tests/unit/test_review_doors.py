"""The review's doors, the parts that need no server: routes read from Express, Flask and FastAPI source, which changes
the probe sends, debug modes in the source, and what an answer's headers and page show
(tests/integration/test_review_doors.py probes real servers)."""

from __future__ import annotations

import httpx
import pytest

from builder.review.door_pages import (
    EVIL_ORIGIN,
    Answer,
    console_finding,
    cookie_findings,
    cors_finding,
    error_page_finding,
    header_findings,
)
from builder.review.door_routes import GUESSED_UUID, WRONG_TYPE, Route, read_routes
from builder.review.door_source import debug_in_source
from builder.review.doors import MAX_CHANGES, changes_to_send


def routes_of(tree: dict[str, str]) -> set[tuple[str, str, str, int]]:
    return {(r.method, r.path, r.file, r.line) for r in read_routes({p: t.encode() for p, t in tree.items()})}


def test_express_routes_get_the_prefix_their_router_is_mounted_at() -> None:
    server = (
        "import express from 'express'\n"
        "import items from './routes/items.js'\n"
        "const app = express()\n"
        "const admin = express.Router()\n"
        "const notes = require('./routes/notes')\n"
        "admin.delete('/users/:id(\\\\d+)', drop)\n"
        "app.use('/api/items', items)\n"
        "app.use('/api/notes', notes)\n"
        "app.use('/admin', admin)\n"
        "app.post(`/api/contact`, send)\n"
        "axios.post('/api/elsewhere')\n"
    )
    items = "import { Router } from 'express'\nconst router = Router()\nrouter.post('/', add)\nrouter.patch('/:id', edit)\nexport default router\n"
    notes = "const r = require('express').Router()\nconst router = require('express').Router()\n"
    notes += "router.put('/:noteId', put)\nmodule.exports = router\n"
    found = routes_of(
        {"server.js": server, "routes/items.js": items, "routes/notes.js": notes, "node_modules/x/index.js": server}
    )
    assert found == {
        ("DELETE", "/admin/users/{id:int}", "server.js", 6),
        ("POST", "/api/contact", "server.js", 10),
        ("POST", "/api/items", "routes/items.js", 3),
        ("PATCH", "/api/items/{id}", "routes/items.js", 4),
        ("PUT", "/api/notes/{noteId}", "routes/notes.js", 3),
    }


def test_flask_routes_with_their_methods_and_blueprints_prefixes() -> None:
    app = (
        "from flask import Flask\nfrom .api import api\nfrom .admin import admin\napp = Flask(__name__)\n"
        "app.register_blueprint(api)\napp.register_blueprint(admin, url_prefix='/staff')\n"
        "@app.route('/items/<int:item_id>', methods=['GET', 'POST', 'DELETE'])\ndef item(item_id): ...\n"
        "@app.route('/about')\ndef about(): ...\n"
    )
    api = "api = Blueprint('api', __name__, url_prefix='/api')\n\n@api.patch('/notes/<uuid:note_id>')\ndef note(): ...\n"
    admin = "admin = Blueprint('admin', __name__, url_prefix='/admin')\n@admin.post('/wipe')\ndef wipe(): ...\n"
    assert routes_of({"app.py": app, "api.py": api, "admin.py": admin}) == {
        ("GET", "/items/{item_id:int}", "app.py", 7),
        ("POST", "/items/{item_id:int}", "app.py", 7),
        ("DELETE", "/items/{item_id:int}", "app.py", 7),
        ("GET", "/about", "app.py", 9),
        ("PATCH", "/api/notes/{note_id:uuid}", "api.py", 3),
        # Flask's url_prefix at registration replaces the blueprint's own.
        ("POST", "/staff/wipe", "admin.py", 2),
    }


def test_fastapi_routes_join_the_routers_prefix_to_the_one_it_is_included_with() -> None:
    main = (
        "from fastapi import FastAPI\napp = FastAPI()\napp.include_router(orders.router, prefix='/api')\n"
        '@app.delete("/sessions/{sid}")\ndef sign_out(): ...\n'
    )
    orders = 'router = APIRouter(prefix="/orders", tags=["orders"])\n@router.post("")\ndef add(): ...\n'
    orders += '@router.put("/{order_id}/lines/{line:path}")\ndef put(): ...\n'
    assert routes_of({"main.py": main, "orders.py": orders}) == {
        ("DELETE", "/sessions/{sid}", "main.py", 4),
        ("POST", "/api/orders", "orders.py", 2),
        ("PUT", "/api/orders/{order_id}/lines/{line:path}", "orders.py", 4),
    }


def test_path_parameters_get_the_probes_own_guess_or_a_wrong_type() -> None:
    route = Route("DELETE", "/api/{kind}/{note_id:uuid}/{n:int}", "app.py", 1)
    assert route.filled() == f"/api/1/{GUESSED_UUID}/1"
    assert route.filled(WRONG_TYPE) == "/api/not-a-number/not-a-number/not-a-number"
    assert not Route("POST", "/api/items", "app.py", 1).has_params


def test_the_probe_sends_no_change_to_all_rows_nor_to_a_sign_in_door() -> None:
    routes = [
        Route("DELETE", "/api/items", "a.py", 1),
        Route("PUT", "/api/settings", "a.py", 2),
        Route("DELETE", "/api/items/{id}", "a.py", 3),
        Route("POST", "/api/login", "a.py", 4),
        Route("POST", "/auth/register", "a.py", 5),
        Route("DELETE", "/api/sessions/{id}", "a.py", 6),
        Route("POST", "/api/authors", "a.py", 7),
        Route("GET", "/api/items/{id}", "a.py", 8),
    ]
    assert [(r.method, r.path) for r in changes_to_send(routes)] == [("DELETE", "/api/items/{id}"), ("POST", "/api/authors")]
    many = [Route("POST", f"/api/things{n}", "a.py", n) for n in range(MAX_CHANGES + 5)]
    assert len(changes_to_send(many)) == MAX_CHANGES


def test_debug_modes_in_the_source_are_found_with_their_line() -> None:
    tree = {
        "app.py": 'import os\n# app.run(debug=True)\nif __name__ == "__main__":\n'
        '    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", 5000)),\n            debug=True)\n',
        "api/main.py": "api = FastAPI(\n    title='x',\n    debug=True,\n)\n",
        "mysite/settings.py": "ALLOWED_HOSTS = []\nDEBUG = True\n",
        ".flaskenv": "FLASK_APP=app\nFLASK_DEBUG=1\n",
        "Dockerfile": "FROM python\nCMD flask --app app run --debug --host 0.0.0.0\n",
        "node_modules/x/settings.py": "DEBUG = True\n",
    }
    found = {(f.kind, f.file, f.line, f.severity.value) for f in debug_in_source({p: t.encode() for p, t in tree.items()})}
    assert found == {
        ("debug-mode", "app.py", 4, "high"),
        ("debug-mode", "api/main.py", 1, "high"),
        ("django-debug", "mysite/settings.py", 2, "high"),
        ("debug-mode", ".flaskenv", 2, "high"),
        ("debug-mode", "Dockerfile", 2, "high"),
    }


def test_debug_left_to_the_environment_or_off_is_no_finding() -> None:
    tree = {
        "app.py": "app.run(debug=os.environ.get('FLASK_DEBUG') == '1')\napp.debug = False\n# app.debug = True\n",
        "main.py": "api = FastAPI(debug=False)\n",
        "mysite/settings.py": "DEBUG = os.environ.get('DEBUG') == 'true'\n",
        ".env": "FLASK_DEBUG=0\n",
    }
    assert debug_in_source({p: t.encode() for p, t in tree.items()}) == []


def answer(headers: list[tuple[str, str]], text: str = "", status: int = 200) -> Answer:
    return Answer("GET / with no session", status, httpx.Headers(headers), text)


@pytest.mark.parametrize(
    ("origin", "credentials", "found"),
    [(EVIL_ORIGIN, "true", True), ("*", "true", True), ("https://shop.example", "true", False), (EVIL_ORIGIN, "", False)],
)
def test_cors_is_a_finding_only_for_any_origin_with_credentials(origin: str, credentials: str, found: bool) -> None:
    headers = [("Access-Control-Allow-Origin", origin)]
    if credentials:
        headers.append(("Access-Control-Allow-Credentials", credentials))
    finding = cors_finding(answer(headers))
    assert (finding is not None) == found
    assert finding is None or (finding.kind, finding.severity.value) == ("cors-any-origin", "high")


def test_cookies_session_like_without_httponly_and_any_without_secure_on_https() -> None:
    sent = answer(
        [
            ("Set-Cookie", "sid=abc; Path=/; SameSite=Lax"),
            ("Set-Cookie", "csrftoken=xyz; Path=/"),
            ("Set-Cookie", "theme=dark; Path=/"),
            ("Set-Cookie", "auth_token=q; HttpOnly; Secure; Path=/"),
        ]
    )
    plain = {(f.kind, f.request) for f in cookie_findings([sent, sent], https=False)}
    assert plain == {("cookie-not-httponly", "GET / with no session (sets cookie sid)")}
    secure = {(f.kind, f.request.rsplit(" ", 1)[1]) for f in cookie_findings([sent], https=True)}
    assert secure == {
        ("cookie-not-httponly", "sid)"),
        ("cookie-not-secure", "sid)"),
        ("cookie-not-secure", "csrftoken)"),
        ("cookie-not-secure", "theme)"),
    }
    assert all("abc" not in f.message + f.fix + f.request for f in cookie_findings([sent], https=True))


def test_basic_headers_nosniff_and_a_csp_on_an_html_page() -> None:
    html = ("Content-Type", "text/html; charset=utf-8")
    assert {f.kind for f in header_findings(answer([html]))} == {"no-nosniff", "no-csp"}
    assert header_findings(answer([html, ("X-Content-Type-Options", "nosniff"), ("Content-Security-Policy", "x")])) == []
    meta = '<head><meta http-equiv="Content-Security-Policy" content="default-src \'self\'"></head>'
    assert header_findings(answer([html, ("X-Content-Type-Options", "nosniff")], meta)) == []
    # A JSON answer or a 404 page is not the app's page: only nosniff counts there.
    assert {f.kind for f in header_findings(answer([("Content-Type", "application/json")]))} == {"no-nosniff"}
    assert {f.kind for f in header_findings(answer([html], status=404))} == {"no-nosniff"}


# Django's DEBUG pages: its 404 lists the URL patterns, its 500 ends with the setting's name.
DJANGO_404 = "<p>Using the URLconf defined in <code>mysite.urls</code>, Django tried these URL patterns</p>"
DJANGO_500 = "<p>You\u2019re seeing this error because you have <code>DEBUG = True</code> in your Django settings file.</p>"
PYTHON_TRACE = "Traceback (most recent call last):\n  File \"/app/main.py\", line 9, in add\nKeyError: 'title'\n"
NODE_TRACE = "<pre>TypeError: Cannot read properties of undefined<br> &nbsp; &nbsp;at /app/server.js:15:40<br></pre>"
EXPRESS_TRACE = "Error: boom\n    at Layer.handleRequest (/app/node_modules/router/lib/layer.js:152:17)"


@pytest.mark.parametrize(
    ("page", "kind"),
    [
        (DJANGO_404, "debug-page"),
        (DJANGO_500, "debug-page"),
        ('<title>KeyError // Werkzeug Debugger</title><script src="?__debugger__=yes&cmd=resource">', "debug-page"),
        (PYTHON_TRACE, "stack-trace"),
        (NODE_TRACE, "stack-trace"),
        (EXPRESS_TRACE, "stack-trace"),
        ("Something went wrong on the server.", None),
        ("<h1>Internal Server Error</h1><p>The server encountered an internal error.</p>", None),
        ('{"detail": "Not Found"}', None),
    ],
)
def test_error_pages_with_a_debugger_or_a_stack_trace(page: str, kind: str | None) -> None:
    finding = error_page_finding(answer([], page, 500))
    assert (finding.kind if finding else None) == kind


def test_werkzeugs_console_is_critical_only_when_it_answers() -> None:
    console = "<title>Console // Werkzeug Debugger</title><script>var CONSOLE_MODE = true, EVALEX = true,"
    found = console_finding(answer([], console))
    assert found is not None and (found.kind, found.severity.value) == ("debug-console", "critical")
    assert console_finding(answer([], console, 400)) is None
    assert console_finding(answer([], "<h1>Game console</h1>")) is None
