#!/usr/bin/env bash
# Set up (first time) and start Forja: the page, the HTTP API and the websocket on one port.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
python -m builder migrate
port=$(python -c 'from builder.settings import settings; print(settings.port)')
url=$(python -c 'from builder.settings import settings; print(settings.public_url or f"http://localhost:{settings.port}")')
echo "Building the page (about half a minute on first start)..."
python - <<PY &
import time, urllib.request
for _ in range(600):
    try:
        urllib.request.urlopen("http://127.0.0.1:${port}/health", timeout=1)
        print("\n  Forja is running. Open ${url} in your browser.\n", flush=True)
        break
    except Exception:
        time.sleep(1)
PY
exec reflex run --env prod --single-port --loglevel warning
