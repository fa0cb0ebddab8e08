#!/usr/bin/env bash
# Set up (first time) and run every check and test: ruff, basedpyright (types), then pytest (tests/unit, tests/integration
# with PostgreSQL and Docker, tests/e2e in Chromium). Extra arguments go to pytest: a tier's folder
# (`tests/unit` runs in seconds) or a marker selection (`-m "not docker"`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
# axe-core for the e2e tier's accessibility checks, pinned in tests/e2e/axe/package-lock.json, from the npm registry.
npm ci --prefix tests/e2e/axe --no-audit --no-fund --loglevel=error
ruff check .
ruff format --check .
basedpyright --project .
python -m pytest "$@"
