# shellcheck shell=sh
# Ends a terminal's shell as a terminal that goes away would, with what it left running in the background (an
# interactive shell puts each job in a process group of its own, so the shell's group alone would miss them):
# SIGHUP to every process of the shell's session, then, after a grace period, SIGKILL to whatever is left.
# $1: the shell's pid, which is its session's id (docker exec makes each exec a session leader); $2: the grace in s.
shell=$1
grace=$2

session() {
    for stat in /proc/[0-9]*/stat; do
        # After the command's name (which may hold spaces and ends with ")"): state, ppid, process group, session.
        fields=$(sed 's/.*) //' "$stat" 2>/dev/null) || continue
        # shellcheck disable=SC2086 # split on purpose: one field per word, all of them numbers or a state letter
        set -- $fields
        if [ "$4" = "$shell" ]; then
            pid=${stat#/proc/}
            echo "${pid%/stat}"
        fi
    done
}

# shellcheck disable=SC2046 # one pid per word: split on purpose
kill -HUP $(session) 2>/dev/null
sleep "$grace"
# shellcheck disable=SC2046 # as above
kill -KILL $(session) 2>/dev/null
true
