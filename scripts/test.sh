#!/usr/bin/env bash
# Set up (first time) and run every check and test: ruff, the docs' build, then pytest with basedpyright (types) beside it
# (tests/unit, tests/integration with PostgreSQL and Docker, tests/e2e in Chromium). Extra arguments go to pytest: a
# tier's folder (`tests/unit` runs in seconds) or a marker selection (`-m "not docker"`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN_LOG=${FORJA_DATA_DIR:-data}/logs/test-setup.log
source scripts/setup.sh requirements-dev.txt
# Forja's modules and the tests' compiled once, here: the environment may say not to write bytecode
# (PYTHONDONTWRITEBYTECODE), and then each of the run's Python processes compiled every module it imports again, 0.6 s
# of CPU for a Forja's start. Python reads these files whatever that says, and compiles again a module edited since.
# Not tests/door_apps: the review tests copy those apps' folders into projects.
python -m compileall -q -j 0 -x 'tests/door_apps' builder preview_runtime tests rxconfig.py >/dev/null
# The starters' npm packages, fetched once into .cache/starters-npm: the starter tests and the end-to-end previews
# install from them offline (tests send traffic only to this machine).
python scripts/prefetch_starters.py || echo "Could not fetch the starters' npm packages (offline?): their tests fail in CI." >&2
# The corpus (scripts/corpus.py): projects nobody at Forja wrote, made by upstream scaffolders or taken from the
# registries, with their packages fetched into .cache/corpus so tests/integration/test_corpus.py previews them offline.
# Fetched beside the checks and the first tests (minutes, mostly waiting on the registries); the corpus tests run last
# and wait for it (its lock).
corpus_log=${FORJA_DATA_DIR:-data}/logs/corpus-fetch.log
python scripts/fetch_corpus.py >"$corpus_log" 2>&1 &
corpus_fetch=$!
# The Docker tests' engine and preview image (debootstrap: minutes on two cores), made beside the checks; the first
# Docker test waits for the build (its lock). Only for a whole run: a chosen tier or selection may need no Docker.
# The page's packages and build for the end-to-end tests' Forjas, likewise (tests/e2e/seed_page.py).
seed_page=
if [ $# -eq 0 ]; then
  python -m tests.docker_fixtures >"${FORJA_DATA_DIR:-data}/logs/preview-image.log" 2>&1 &
  python -m tests.e2e.seed_page >"${FORJA_DATA_DIR:-data}/logs/seed-page.log" 2>&1 &
  seed_page=$!
fi
# axe-core for the e2e tier's accessibility checks, pinned in tests/e2e/axe/package-lock.json, from the npm registry.
npm ci --prefix tests/e2e/axe --no-audit --no-fund --loglevel=error
ruff check .
ruff format --check .
# The type check (about a minute of one core) runs beside the tests, whose first minutes wait on the page's and the
# preview image's builds more than on the processors; it fails the run as a failed test does, its output at the end.
types_log=${FORJA_DATA_DIR:-data}/logs/types.log
basedpyright --project . >"$types_log" 2>&1 &
types=$!
# The docs in docs/, built only to check them: a broken link or anchor, or a page missing from the nav, fails (strict).
# NO_MKDOCS_2_WARNING: Material's banner about MkDocs 2 and its own end of life (May 2027), printed on every build.
docs_site=$(mktemp -d)
trap 'rm -rf "$docs_site"' EXIT
NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --site-dir "$docs_site"
# Two processes (xdist); tests/conftest.py groups the tests that must share one. `-n 0` runs them in this one.
tests=0
# -rfER: the summary names failures, errors and the end-to-end tests that passed only when run again.
# --durations: the slowest tests and fixtures, to keep the whole run inside CI's time (docs/contributing.md); every
# test's time is in the JUnit file beside the logs, to sum by module, and when it ran on which worker in timeline.tsv.
timeline=$(realpath -m "${FORJA_DATA_DIR:-data}/logs/timeline.tsv")
rm -f "$timeline"
TEST_TIMELINE=$timeline python -m pytest -n 2 --no-loadscope-reorder -rfER --durations=40 --junitxml="${FORJA_DATA_DIR:-data}/logs/junit.xml" "$@" || tests=$?
if wait "$types"; then
  tail -n 1 "$types_log"
else
  cat "$types_log" >&2
  tests=1
fi
# Not needed to pass: without it the first end-to-end Forja builds the page itself.
[ -z "$seed_page" ] || wait "$seed_page" || echo "The page's build beside the checks failed (${FORJA_DATA_DIR:-data}/logs/seed-page.log)." >&2
fetched "$corpus_fetch" "$corpus_log" "every corpus project" "the corpus tests of those skip, and fail in CI"
exit "$tests"
