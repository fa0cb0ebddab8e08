#!/usr/bin/env bash
# Sourced by scripts/setup.sh (and so by run.sh and test.sh). `phase NAME COMMAND...` runs COMMAND with its output
# appended to $RUN_LOG and prints one line: NAME and how long it took (as builder/launch/console.py prints the Python
# phases). When COMMAND fails, it prints the end of that output and where the whole log is, and exits with COMMAND's
# status. `fetched` reports a fetch that ran in the background.

seconds_since() {
  awk -v began="$1" -v now="$(date +%s.%N)" 'BEGIN { d = now - began; printf (d < 10 ? "%.1f s" : "%.0f s"), d }'
}

phase_line() {  # NAME BEGAN [NOTE]
  local dots
  dots=$(printf '%*s' $((24 - ${#1} > 2 ? 24 - ${#1} : 2)) '' | tr ' ' .)
  echo "$1 $dots ${3:+$3, }$(seconds_since "$2")"
}

phase() {
  local name=$1 began status=0
  shift
  began=$(date +%s.%N)
  "$@" >>"$RUN_LOG" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    {
      echo "$name failed after $(seconds_since "$began"). The end of its output:"
      tail -n 25 "$RUN_LOG" | sed 's/^/  /'
      echo "The whole log: $RUN_LOG"
    } >&2
    exit "$status"
  fi
  phase_line "$name" "$began"
}

# `fetched PID LOG WHAT CONSEQUENCE`: once the fetch running as PID (its output in LOG) has ended, its last line; when it
# failed, that WHAT could not be fetched and CONSEQUENCE, then its lines naming what failed, or the end of LOG when it
# ended before it named any. Not fatal: the run goes on.
fetched() {
  if wait "$1"; then
    tail -n 1 "$2"
  else
    {
      echo "Could not fetch $3 (offline?): $4. From $2:"
      grep -E "failed|error" "$2" | tail -n 20 || tail -n 20 "$2"
    } >&2
  fi
}
