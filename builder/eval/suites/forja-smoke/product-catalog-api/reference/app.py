"""A shop catalogue: products with prices on a page and as JSON at /api/products. Standard library only."""

import html
import json
import os
import sqlite3
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


def database_path() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
    else:
        path = os.path.join(os.environ.get("DATA_DIR", "."), "catalogue.sqlite3")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    return path


DB = database_path()
SAMPLES = [("Beeswax Candle", 1200), ("Hand-thrown Mug", 2800), ("Wool Throw Blanket", 8900)]


def connect() -> sqlite3.Connection:
    connection = sqlite3.connect(DB)
    connection.row_factory = sqlite3.Row
    return connection


with connect() as db:
    db.execute(
        "CREATE TABLE IF NOT EXISTS products ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, price_cents INTEGER NOT NULL)"
    )
    if db.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
        db.executemany("INSERT INTO products (name, price_cents) VALUES (?, ?)", SAMPLES)


def products() -> list[dict]:
    with connect() as db:
        rows = db.execute("SELECT id, name, price_cents FROM products ORDER BY id").fetchall()
    return [{"id": r["id"], "name": r["name"], "price": r["price_cents"] / 100} for r in rows]


def money(price: float) -> str:
    return f"${price:,.2f}"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Catalogue | Hearth &amp; Home</title>
<style>
  body {{ font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #263238; }}
  table {{ width: 100%; border-collapse: collapse; }}
  th, td {{ text-align: left; padding: .5rem; border-bottom: 1px solid #eceff1; }}
  td.price, th.price {{ text-align: right; font-variant-numeric: tabular-nums; }}
  form {{ display: grid; grid-template-columns: 2fr 1fr auto; gap: .5rem; align-items: end; margin-top: 1.5rem;
         padding: 1rem; background: #f5f7f8; border-radius: .5rem; }}
  label {{ display: grid; gap: .25rem; font-weight: 600; font-size: .9rem; }}
  input {{ padding: .5rem; font: inherit; }}
  button {{ padding: .55rem 1.2rem; font: inherit; font-weight: 600; background: #00796b; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }}
  .error {{ color: #b71c1c; }}
  code {{ background: #eceff1; padding: 0 .25rem; }}
</style>
</head>
<body>
<h1>Hearth &amp; Home: catalogue</h1>
<p>The same list as JSON: <a href="/api/products"><code>/api/products</code></a></p>
<table>
<thead><tr><th>Product</th><th class="price">Price</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<h2>Add a product</h2>
{error}
<form method="post" action="/products">
  <label>Name <input name="name" required maxlength="120"></label>
  <label>Price ($) <input name="price" type="number" min="0" step="0.01" required></label>
  <button type="submit">Add product</button>
</form>
</body>
</html>
"""


def render(error: str = "") -> bytes:
    rows = (
        "\n".join(f'<tr><td>{html.escape(p["name"])}</td><td class="price">{money(p["price"])}</td></tr>' for p in products())
        or '<tr><td colspan="2">No products yet.</td></tr>'
    )
    notice = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return PAGE.format(rows=rows, error=notice).encode()


def parse_price(text: str) -> int | None:
    try:
        value = Decimal(text.strip().lstrip("$").replace(",", "."))
    except InvalidOperation:
        return None
    return int(value * 100) if value >= 0 else None


class Handler(BaseHTTPRequestHandler):
    def reply(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlparse(self.path).path
        if path == "/":
            self.reply(200, render())
        elif path in ("/api/products", "/api/products/"):
            self.reply(200, json.dumps(products(), indent=2).encode(), "application/json")
        elif path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
        else:
            self.reply(404, b'<!doctype html><title>Not found</title><p>Not found. <a href="/">Catalogue</a></p>')

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        length = min(int(self.headers.get("Content-Length") or 0), 20_000)
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if path == "/products":
            form = {key: values[0] for key, values in parse_qs(raw).items()}
        elif path == "/api/products":
            try:
                form = json.loads(raw)
            except ValueError:
                form = {}
            form = {key: str(value) for key, value in form.items()} if isinstance(form, dict) else {}
        else:
            self.reply(404, b"Not found")
            return
        name = form.get("name", "").strip()
        price = parse_price(form.get("price", ""))
        if not name or price is None:
            if path == "/api/products":
                self.reply(400, b'{"error": "name and a price of 0 or more are needed"}', "application/json")
            else:
                self.reply(400, render("Please give a name and a price of 0 or more."))
            return
        with connect() as db:
            new_id = db.execute("INSERT INTO products (name, price_cents) VALUES (?, ?)", (name, price)).lastrowid
        if path == "/api/products":
            body = json.dumps({"id": new_id, "name": name, "price": price / 100}).encode()
            self.reply(201, body, "application/json")
        else:
            self.send_response(303)
            self.send_header("Location", "/")
            self.end_headers()


if __name__ == "__main__":
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    print(f"Catalogue on http://{host}:{port}", flush=True)
    ThreadingHTTPServer((host, port), Handler).serve_forever()
