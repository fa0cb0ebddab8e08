#!/usr/bin/env bash
# Set up (first time) and run every check and test: ruff, then pytest (unit, integration,
# PostgreSQL, and end-to-end in Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ruff check .
ruff format --check .
python -m pytest "$@"
