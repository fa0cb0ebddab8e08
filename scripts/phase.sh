#!/usr/bin/env bash
# Sourced by scripts/setup.sh. `phase NAME COMMAND...` runs COMMAND with its output appended to $RUN_LOG and prints one
# line: NAME and how long it took (as builder/launch/console.py prints the Python phases). When COMMAND fails, it
# prints the end of that output and where the whole log is, and exits with COMMAND's status.

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
