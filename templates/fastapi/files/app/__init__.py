"""The app package: a JSON API under /api (main.py), its storage (store.py), and the page in ../static/."""
