"""Runs with Flask's debugger on: a note without a title fails into the debugger's page, and its console answers."""

import os

from flask import Flask, Response, request

app = Flask(__name__)


@app.after_request
def basic_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


@app.get("/")
def home() -> str:
    return "<h1>Notes</h1>"


@app.post("/api/notes")
def add_note():
    return {"title": request.get_json()["title"]}, 201


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]), debug=True, use_reloader=False)
