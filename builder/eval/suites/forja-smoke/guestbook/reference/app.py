"""A guestbook: visitors sign with their name and a message, shown newest first. Standard library only."""

import html
import os
import sqlite3
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def database_path() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    else:
        path = os.path.join(os.environ.get("DATA_DIR", "."), "guestbook.sqlite3")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return path


DB = database_path()


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB)
    connection.row_factory = sqlite3.Row
    return connection


with connect() as db:
    db.execute(
        "CREATE TABLE IF NOT EXISTS entries ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, message TEXT NOT NULL, created_at TEXT NOT NULL)"
    )

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guestbook</title>
<style>
  body {{ font-family: Georgia, serif; max-width: 38rem; margin: 2rem auto; padding: 0 1rem; color: #2b2b2b; background: #fdfaf3; }}
  form {{ display: grid; gap: .75rem; padding: 1rem; border: 1px solid #e0d6c2; border-radius: .5rem; background: #fff; }}
  label {{ display: grid; gap: .25rem; font-weight: bold; }}
  input, textarea {{ padding: .5rem; font: inherit; }}
  textarea {{ min-height: 5rem; }}
  button {{ justify-self: start; padding: .5rem 1.5rem; font: inherit; background: #6d4c41; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }}
  .error {{ color: #b71c1c; }}
  ol {{ list-style: none; padding: 0; }}
  li {{ background: #fff; border: 1px solid #eee; border-radius: .5rem; padding: .75rem 1rem; margin: .75rem 0; }}
  li p {{ margin: .25rem 0 0; white-space: pre-wrap; }}
  .who {{ font-weight: bold; }}
  time {{ color: #888; font-size: .85rem; margin-left: .5rem; }}
</style>
</head>
<body>
<h1>Guestbook</h1>
<p>Leave a few words for us and for the visitors after you.</p>
{error}
<form method="post" action="/sign">
  <label>Your name <input name="name" required maxlength="80"></label>
  <label>Message <textarea name="message" required maxlength="2000"></textarea></label>
  <button type="submit">Sign</button>
</form>
<h2>Messages</h2>
<ol>
{entries}
</ol>
</body>
</html>
"""


def render(error: str = "") -> bytes:
    with connect() as db:
        rows = db.execute("SELECT name, message, created_at FROM entries ORDER BY id DESC").fetchall()
    entries = (
        "\n".join(
            f'<li><span class="who">{html.escape(row["name"])}</span><time datetime="{row["created_at"]}">'
            f"{html.escape(row['created_at'][:16].replace('T', ' '))}</time><p>{html.escape(row['message'])}</p></li>"
            for row in rows
        )
        or "<li>No messages yet: be the first to sign.</li>"
    )
    notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return PAGE.format(error=notice, entries=entries).encode()


class Handler(BaseHTTPRequestHandler):
    def send_page(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        if path == "/":
            self.send_page(200, render())
        elif path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.send_page(404, b'<!doctype html><title>Not found</title><p>Not found. <a href="/">Back</a></p>')

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/sign":
            self.send_page(404, b"Not found")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 20_000)
        form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        name = form.get("name", [""])[0].strip()
        message = form.get("message", [""])[0].strip()
        if not name or not message:
            self.send_page(400, render("Please write your name and a message."))
            return
        with connect() as db:
            db.execute(
                "INSERT INTO entries (name, message, created_at) VALUES (?, ?, ?)",
                (name, message, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        self.send_response(303)
        self.send_header("Location", "/")
        self.end_headers()


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"Guestbook on http://{host}:{port}", flush=True)
    ThreadingHTTPServer((host, port), Handler).serve_forever()
