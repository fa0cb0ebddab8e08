"""The backend package: a FastAPI JSON API (main.py) over SQLite (store.py), used by the React app in ../web."""
