"""Sets its session cookie HttpOnly, and sends nosniff and a Content-Security-Policy."""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()


@app.get("/")
def home() -> HTMLResponse:
    response = HTMLResponse("<h1>Diary</h1>")
    response.set_cookie("session", "guest", samesite="lax", httponly=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response
