"""Deletes any item by its id for anyone: no session asked."""

import os

from flask import Flask, Response, jsonify

app = Flask(__name__)
ITEMS = {1: "Bread", 2: "Milk"}


@app.after_request
def basic_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


@app.get("/")
def home() -> str:
    return "<h1>Shopping list</h1>"


@app.delete("/api/items/<int:item_id>")
def delete_item(item_id: int):
    if ITEMS.pop(item_id, None) is None:
        return jsonify(error="Not found."), 404
    return "", 204


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ["PORT"]))
