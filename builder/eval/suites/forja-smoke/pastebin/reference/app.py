"""A pastebin: each paste is kept and gets a page of its own at /p/<id>. Standard library only."""

import html
import os
import secrets
import sqlite3
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_CHARS = 100_000


def database_path() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    else:
        path = os.path.join(os.environ.get("DATA_DIR", "."), "pastes.sqlite3")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return path


DB = database_path()


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB)
    connection.row_factory = sqlite3.Row
    return connection


with connect() as db:
    db.execute("CREATE TABLE IF NOT EXISTS pastes (id TEXT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)")

STYLE = """
  body { font-family: system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1e1e1e; }
  header a { color: inherit; text-decoration: none; }
  textarea { width: 100%; min-height: 18rem; padding: .75rem; font: .95rem/1.4 ui-monospace, monospace; box-sizing: border-box; }
  button { margin-top: .5rem; padding: .6rem 1.6rem; font: inherit; font-weight: 600; background: #5e35b1; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }
  pre { background: #f6f8fa; border: 1px solid #e1e4e8; border-radius: .5rem; padding: 1rem; white-space: pre-wrap; word-break: break-word; font: .95rem/1.4 ui-monospace, monospace; }
  .link { background: #ede7f6; padding: .5rem .75rem; border-radius: .4rem; word-break: break-all; }
  .meta { color: #757575; font-size: .9rem; }
  .error { color: #b71c1c; }
"""


def layout(title: str, body: str) -> bytes:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1><a href="/">Pastebin</a></h1></header>
{body}
</body>
</html>
""".encode()


def home(error: str = "") -> bytes:
    notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return layout(
        "New paste",
        f"""{notice}
<form method="post" action="/pastes">
  <label for="body">Paste your text</label>
  <textarea id="body" name="body" required maxlength="{MAX_CHARS}" placeholder="Paste or type text here"></textarea>
  <button type="submit">Save</button>
</form>""",
    )


def paste_page(row: sqlite3.Row, link: str) -> bytes:
    return layout(
        "Paste " + row["id"],
        f"""<p class="link">Link to this paste: <a href="/p/{row["id"]}">{html.escape(link)}</a></p>
<p class="meta">Saved {html.escape(row["created_at"][:16].replace("T", " "))} UTC · <a href="/">New paste</a></p>
<pre>{html.escape(row["body"])}</pre>""",
    )


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        if path == "/":
            self.reply(200, home())
            return
        if path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        if path.startswith("/p/"):
            with connect() as db:
                row = db.execute("SELECT id, body, created_at FROM pastes WHERE id = ?", (path[3:],)).fetchone()
            if row:
                link = f"http://{self.headers.get('Host', 'localhost')}/p/{row['id']}"
                self.reply(200, paste_page(row, link))
                return
        self.reply(404, layout("Not found", '<p>There is no paste at this link. <a href="/">New paste</a></p>'))

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/pastes":
            self.reply(404, b"Not found")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 4 * MAX_CHARS)
        body = parse_qs(self.rfile.read(length).decode("utf-8", "replace")).get("body", [""])[0]
        body = body.replace("\r\n", "\n")
        if not body.strip():
            self.reply(400, home("Paste some text first."))
            return
        paste_id = secrets.token_urlsafe(6)
        with connect() as db:
            db.execute(
                "INSERT INTO pastes (id, body, created_at) VALUES (?, ?, ?)",
                (paste_id, body[:MAX_CHARS], datetime.now(UTC).isoformat(timespec="seconds")),
            )
        self.send_response(303)
        self.send_header("Location", f"/p/{paste_id}")
        self.end_headers()


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"Pastebin on http://{host}:{port}", flush=True)
    ThreadingHTTPServer((host, port), Handler).serve_forever()
