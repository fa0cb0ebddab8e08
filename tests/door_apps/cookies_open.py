"""Sets its session cookie where scripts can read it, and sends neither nosniff nor a Content-Security-Policy."""

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

app = FastAPI()


@app.get("/")
def home() -> HTMLResponse:
    response = HTMLResponse("<h1>Diary</h1>")
    response.set_cookie("session", "guest", samesite="lax")
    return response
