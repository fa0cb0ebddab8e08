"""flask_notes_open.py with its doors by id shut: a note is read and deleted by its owner alone."""

import json
import os
from pathlib import Path

from flask import Flask, Response, jsonify, request, send_file

app = Flask(__name__)
HERE = Path(__file__).resolve().parent
NOTES: dict[int, dict] = {}


def person() -> str | None:
    """Who is asking, as Forja's edge says (the edge removes a visitor's own header of this name)."""
    said = request.headers.get("X-Forja-User")
    return json.loads(said)["id"] if said else None


@app.after_request
def basic_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


@app.get("/")
def home():
    return send_file(HERE / "notes_page.html")


@app.get("/notes.js")
def script():
    return send_file(HERE / "notes_page.js")


@app.get("/api/notes")
def my_notes():
    me = person()
    if me is None:
        return jsonify(error="Sign in first."), 401
    return jsonify([note for note in NOTES.values() if note["owner"] == me])


@app.post("/api/notes")
def add_note():
    me = person()
    if me is None:
        return jsonify(error="Sign in first."), 401
    note = {"id": len(NOTES) + 1, "owner": me, "text": str((request.get_json(silent=True) or {}).get("text", ""))}
    NOTES[note["id"]] = note
    return jsonify(note), 201


def own(note_id: int) -> dict | None:
    note = NOTES.get(note_id)
    return note if note is not None and note["owner"] == person() else None


@app.get("/api/notes/<int:note_id>")
def one_note(note_id: int):
    if person() is None:
        return jsonify(error="Sign in first."), 401
    note = own(note_id)
    return (jsonify(note), 200) if note else (jsonify(error="Not found."), 404)


@app.delete("/api/notes/<int:note_id>")
def delete_note(note_id: int):
    if person() is None:
        return jsonify(error="Sign in first."), 401
    if own(note_id) is None:
        return jsonify(error="Not found."), 404
    del NOTES[note_id]
    return "", 204


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
