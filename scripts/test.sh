#!/usr/bin/env bash
# Set up (first time) and run every check and test: ruff, basedpyright (types), the docs' build, then pytest
# (tests/unit, tests/integration with PostgreSQL and Docker, tests/e2e in Chromium). Extra arguments go to pytest: a
# tier's folder (`tests/unit` runs in seconds) or a marker selection (`-m "not docker"`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh
ruff check .
ruff format --check .
basedpyright --project .
# The docs in docs/, built only to check them: a broken link or anchor, or a page missing from the nav, fails (strict).
# NO_MKDOCS_2_WARNING: Material's banner about MkDocs 2 and its own end of life (May 2027), printed on every build.
docs_site=$(mktemp -d)
trap 'rm -rf "$docs_site"' EXIT
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$docs_site"
python -m pytest "$@"
