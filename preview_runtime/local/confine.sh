# shellcheck shell=dash
# (/bin/sh runs it: dash on Debian and Ubuntu, whose ulimit has -c and -n, as bash's has; POSIX leaves them out.)
# Runs a command inside a local preview's confinement (limits.py, Confinement.argv): this shell enters the cgroups and
# sets the rlimits itself, then becomes the command, so nothing of the command ever runs outside them. Forja spawns
# through it rather than with a preexec function, which makes Python fork all of Forja's memory (8-20 ms a spawn);
# this is a vfork and one small exec.
#   sh confine.sh FILE_SIZE_BLOCKS OPEN_FILES [CGROUP_PROCS_FILE...] -- COMMAND [ARGUMENT...]
set -u
blocks=$1 files=$2
shift 2
while [ "$1" != "--" ]; do
    # "0": the writing process, this shell.
    echo 0 >"$1" || { echo "Forja could not put the process into its cgroup ($1)." >&2; exit 126; }
    shift
done
shift
# Without -H or -S, both the soft and the hard limit: the command cannot raise them again.
if ! { ulimit -c 0 && ulimit -f "$blocks" && ulimit -n "$files"; }; then
    echo "Forja could not set the process's limits." >&2
    exit 126
fi
exec "$@"
