"""Lets any site in with credentials: CORS for "*" with allow_credentials."""

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse

app = FastAPI()
app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True, allow_methods=["*"])


@app.middleware("http")
async def basic_headers(request: Request, call_next) -> Response:
    response = await call_next(request)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'self'"
    return response


@app.get("/", response_class=HTMLResponse)
def home() -> str:
    return "<h1>Orders</h1>"


@app.get("/api/orders")
def orders() -> list[dict[str, str]]:
    return [{"id": "1", "item": "Bread"}]
