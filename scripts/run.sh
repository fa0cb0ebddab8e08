#!/usr/bin/env bash
# Set up what running needs (first time) and start Forja: the page, the HTTP API and the websocket on one port.
# One line per phase on the console; the tools' output goes to the run log (data/logs/run.log), shown when one fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN_LOG=${FORJA_DATA_DIR:-data}/logs/run.log
source scripts/setup.sh requirements.txt
exec python -m builder.launch --log "$RUN_LOG"
