"""A Flask app: server-rendered pages (templates/) over a small SQLite database.

The site's name, words and settings are in site.json and reach every template as `site`.
Pages are plain HTML forms that post and redirect, so the app works without JavaScript;
/api/items gives the same data as JSON.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from datetime import datetime
from pathlib import Path

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, url_for

BASE_DIR = Path(__file__).resolve().parent
SITE = json.loads((BASE_DIR / "site.json").read_text(encoding="utf-8"))
MAX_TITLE, MAX_BODY = 200, 5000

app = Flask(__name__, instance_path=str(BASE_DIR / "instance"))


def database_path() -> str:
    """The SQLite file: the one Forja gives the app (DATABASE_URL, in its /data folder, which outlives every new
    version), else one in DATA_DIR, else instance/ beside the app when it runs on its own."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if os.environ.get("DATABASE_PATH"):
        return os.environ["DATABASE_PATH"]
    folder = os.environ.get("DATA_DIR") or app.instance_path
    return str(Path(folder) / "app.sqlite3")


app.config["DATABASE"] = database_path()
# Edited templates show up on the next request, without debug mode.
app.config["TEMPLATES_AUTO_RELOAD"] = True


# -- Database: one connection per request, closed when the request ends. --------------------


def get_db() -> sqlite3.Connection:
    if "db" not in g:
        Path(app.config["DATABASE"]).parent.mkdir(parents=True, exist_ok=True)
        g.db = sqlite3.connect(app.config["DATABASE"])
        g.db.row_factory = sqlite3.Row
        g.db.execute(
            "CREATE TABLE IF NOT EXISTS items ("
            " id TEXT PRIMARY KEY, title TEXT NOT NULL, body TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL)"
        )
    return g.db


@app.teardown_appcontext
def close_db(exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def all_items() -> list[sqlite3.Row]:
    return get_db().execute("SELECT * FROM items ORDER BY created_at DESC").fetchall()


# -- Headers on every answer ------------------------------------------------------------------


@app.after_request
def basic_headers(response: Response) -> Response:
    """Browsers take each answer as the type it says it is, never guessing another from its bytes."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


# -- Template helpers -------------------------------------------------------------------------


@app.context_processor
def inject_site() -> dict[str, object]:
    return {"site": SITE, "now_year": datetime.now().year}


@app.template_filter("date")
def format_date(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%d %b %Y, %H:%M")


# -- Pages --------------------------------------------------------------------------------------


@app.get("/")
def index() -> str:
    return render_template("index.html", items=all_items(), form={}, error=None)


@app.post("/items")
def create_item():
    title = request.form.get("title", "").strip()[:MAX_TITLE]
    body = request.form.get("body", "").strip()[:MAX_BODY]
    if not title:
        error = f"Give your {SITE['item_noun']} a title."
        return render_template("index.html", items=all_items(), form=request.form, error=error), 400
    db = get_db()
    db.execute("INSERT INTO items VALUES (?, ?, ?, ?)", (uuid.uuid4().hex, title, body, time.time()))
    db.commit()
    return redirect(url_for("index"))


@app.get("/items/<item_id>")
def show_item(item_id: str) -> str:
    item = get_db().execute("SELECT * FROM items WHERE id = ?", (item_id,)).fetchone()
    if item is None:
        abort(404)
    return render_template("item.html", item=item)


@app.post("/items/<item_id>/delete")
def delete_item(item_id: str):
    db = get_db()
    db.execute("DELETE FROM items WHERE id = ?", (item_id,))
    db.commit()
    return redirect(url_for("index"))


# -- JSON API -----------------------------------------------------------------------------------


@app.get("/api/items")
def api_items():
    return jsonify([dict(row) for row in all_items()])


@app.errorhandler(404)
def not_found(error):
    if request.path.startswith("/api/"):
        return jsonify(error="Not found."), 404
    return render_template("404.html"), 404
