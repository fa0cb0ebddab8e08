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
        set -- $fields
        if [ "$4" = "$shell" ]; then
            pid=${stat#/proc/}
            echo "${pid%/stat}"
        fi
    done
}

# One pid per word.
kill -HUP $(session) 2>/dev/null
sleep "$grace"
kill -KILL $(session) 2>/dev/null
true
