# shellcheck shell=bash
# Entry script of every preview container, run as `bash -c` under tini (see DESIGN.md).
# Everything specific to one preview (PORT, FORJA_INSTALL, FORJA_DEV, FORJA_DEPS_CACHE) arrives in the
# bootstrap's `env` file, so a container started before anyone asked (the warm pool) serves any preview.
# A parked preview's container runs this again when it wakes: its /app comes back with the bootstrap, and
# FORJA_KEPT says its dependencies came back in it, so nothing is installed.
# Lines starting with "[forja:<nonce>]" are markers for the runner, never shown to the user. stderr goes
# into stdout so markers and output keep their order (Docker logs each stream separately). While waiting
# it polls every 20 ms with `read -t` on a FIFO of its own (no process started per poll), and a container
# that has the dependency cache at /deps copies it into /app meanwhile.
exec 2>&1
M="[forja:$FORJA_NONCE]"
B=/app/.forja-bootstrap
F=/home/preview/.forja
export PATH="/app/.venv/bin:/app/node_modules/.bin:$PATH"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
restore() {
  for d in node_modules .venv; do
    if [ -e "/deps/$d" ]; then cp -a "/deps/$d" /app/ || return 1; fi
  done
  rm -rf /app/node_modules/.vite /app/node_modules/.cache
}
if mkfifo /tmp/.forja-tick 2>/dev/null && exec 9<>/tmp/.forja-tick; then
  tick() { read -r -t 0.02 -u 9 _; }
else
  tick() { sleep 0.05; }
fi
restored=""
if [ -n "$FORJA_DEPS_MOUNTED" ]; then restored=mounted; fi
deadline=$((SECONDS + ${FORJA_WAIT_S:-60}))
# Docker stamps `ready` and then, last of all, the bootstrap folder (layout.py's STAMPS): only then is it safe to
# move the bootstrap out, else Docker fails the upload on a file that is gone.
while [ ! -e "$B/ready" ] || [ ! "$B" -ot "$B/ready" ]; do
  if [ -z "$restored" ] && [ -f /deps/.forja-complete ]; then
    t0=$(now_ms)
    if restore; then restored=$(( $(now_ms) - t0 )); else restored=failed; fi
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then echo "$M no-files"; exit 97; fi
  tick
done
exec 9<&-
rm -f /tmp/.forja-tick
mkdir -p "$F"
cp -a "$B/." "$F/" && rm -rf "$B"
# The app's own variables first (its Environment), so that Forja's settings in env win over them. Both files are
# written for each preview (container.py's env_file), so there is nothing here for ShellCheck to read.
# shellcheck source=/dev/null
if [ -f "$F/app-env" ]; then . "$F/app-env"; fi
# shellcheck source=/dev/null
if [ -f "$F/env" ]; then . "$F/env"; fi
if [ -f "$F/extra-ca.pem" ]; then
  cat /etc/ssl/certs/ca-certificates.crt "$F/extra-ca.pem" > "$F/ca-bundle.pem"
fi
if [ -n "$FORJA_INSTALL" ]; then
  if [ -n "$FORJA_KEPT" ]; then
    echo "$M deps-kept"
  elif [ -n "$FORJA_DEPS_CACHE" ] && [ "$restored" = mounted ]; then
    echo "$M deps-mounted"
  elif [ -n "$FORJA_DEPS_CACHE" ] && [ -n "$restored" ] && [ "$restored" != failed ]; then
    echo "$M deps-restored $restored"
  elif [ -n "$FORJA_DEPS_CACHE" ] && [ -f /deps/.forja-complete ]; then
    echo "$M deps-restoring"
    t0=$(now_ms)
    restore || { echo "$M restore-failed"; exit 98; }
    echo "$M deps-restored $(( $(now_ms) - t0 ))"
  else
    echo "$M installing"
    t0=$(now_ms)
    if [ -d /seed/npm/_cacache ] && [ ! -e "$HOME/.npm" ]; then cp -a /seed/npm "$HOME/.npm"; fi
    case "$FORJA_INSTALL" in
      *pip*) [ -e /app/.venv ] || python -m venv --system-site-packages --without-pip /app/.venv ;;
    esac
    sh -c "$FORJA_INSTALL" || { rc=$?; echo "$M install-failed $rc"; exit $rc; }
    rm -rf "$HOME/.npm"  # the download cache lies on a tmpfs, which counts as the preview's memory
    dirs=""
    for d in node_modules .venv; do [ -e "/app/$d" ] && dirs="$dirs $d"; done
    echo "$M deps-installed $(( $(now_ms) - t0 ))$dirs"
  fi
fi
echo "$M dev"
exec sh -c "$FORJA_DEV"
