"""An event page: guests RSVP with their name; the count and the list of who is coming. Standard library only."""

import html
import os
import sqlite3
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse


def database_path() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    else:
        path = os.path.join(os.environ.get("DATA_DIR", "."), "rsvp.sqlite3")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return path


DB = database_path()


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB)
    connection.row_factory = sqlite3.Row
    return connection


with connect() as db:
    db.execute(
        "CREATE TABLE IF NOT EXISTS guests ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE COLLATE NOCASE, answered_at TEXT NOT NULL)"
    )

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Summer picnic in Riverside Park</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 36rem; margin: 0 auto; padding: 0 1rem 2rem; color: #1b3a2b; }}
  header {{ background: linear-gradient(160deg, #fff59d, #aed581); padding: 1.5rem; border-radius: 0 0 1rem 1rem; }}
  .sun {{ float: right; width: 3rem; height: 3rem; border-radius: 50%; background: radial-gradient(#ffeb3b, #ffa000); box-shadow: 0 0 1rem #ffca28; }}
  h1 {{ margin: 0 0 .5rem; }}
  form {{ display: flex; gap: .5rem; align-items: center; margin: 1.5rem 0 .5rem; }}
  label {{ font-weight: 600; }}
  input {{ flex: 1; padding: .6rem; font: inherit; }}
  button {{ padding: .6rem 1.4rem; font: inherit; font-weight: 700; background: #2e7d32; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }}
  .count {{ font-size: 1.3rem; }}
  .notice {{ color: #2e7d32; }}
  .error {{ color: #b71c1c; }}
  ul {{ padding-left: 1.2rem; }}
</style>
</head>
<body>
<header>
  <div class="sun" aria-hidden="true"></div>
  <h1>Neighbourhood summer picnic</h1>
  <p>Saturday afternoon in Riverside Park, by the big oak. Bring a blanket and something to share.</p>
</header>
<form method="post" action="/rsvp">
  <label for="name">Your name</label>
  <input id="name" name="name" placeholder="Your name" required maxlength="80" autocomplete="name">
  <button type="submit">I'm coming</button>
</form>
{message}
<h2>Who is coming</h2>
<p class="count" role="status">{count}</p>
<ul>
{guests}
</ul>
</body>
</html>
"""


def render(message: str = "", error: bool = False) -> bytes:
    with connect() as db:
        names = [row["name"] for row in db.execute("SELECT name FROM guests ORDER BY id")]
    count = {0: "Nobody is coming yet: be the first!", 1: "1 person is coming"}.get(len(names), f"{len(names)} people are coming")
    guests = "\n".join(f"<li>{html.escape(name)}</li>" for name in names)
    notice = f'<p class="{"error" if error else "notice"}">{html.escape(message)}</p>' if message else ""
    return PAGE.format(message=notice, count=count, guests=guests).encode()


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/":
            thanks = parse_qs(url.query).get("thanks", [""])[0]
            self.reply(200, render(f"Thanks, {thanks}! See you at the picnic." if thanks else ""))
        elif url.path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.reply(404, b'<!doctype html><title>Not found</title><p>Not found. <a href="/">The picnic</a></p>')

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/rsvp":
            self.reply(404, b"Not found")
            return
        length = min(int(self.headers.get("Content-Length") or 0), 10_000)
        name = " ".join(parse_qs(self.rfile.read(length).decode("utf-8", "replace")).get("name", [""])[0].split())
        if not name:
            self.reply(400, render("Please type your name.", error=True))
            return
        try:
            with connect() as db:
                db.execute(
                    "INSERT INTO guests (name, answered_at) VALUES (?, ?)",
                    (name, datetime.now(UTC).isoformat(timespec="seconds")),
                )
        except sqlite3.IntegrityError:
            self.reply(200, render(f"{name} is already on the list."))
            return
        self.send_response(303)
        self.send_header("Location", "/?" + urlencode({"thanks": name}))
        self.end_headers()


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"Picnic RSVP on http://{host}:{port}", flush=True)
    ThreadingHTTPServer((host, port), Handler).serve_forever()
