#!/bin/bash
# A tty session's signals cannot reach a process outside its container,
# whatever the container does with process groups (agent/pty.c,
# docs/SECURITY.md "Entering a container").
#
# The container makes a process group of its own the terminal's
# foreground group and lets it empty (tests/tools/pgrp_tool steal): the
# terminal still names that group, and its number is free. The test gives
# the number to a process of the host's, leading a group of that number
# (pgrp_tool hold, clone3 with set_tid), and sends the session SIGINT (the
# terminal's own signal) and SIGTERM (which goes through the pinned
# leader, or the session's group): the host's process gets neither; the
# session's own group gets the TERM.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

T=$TESTDIR
TOOL=$EXECFS_BUILD_DIR/tests/pgrp_tool
rootfs_build
cp -a "$ROOTFS" "$T/rootfs"
cp "$TOOL" "$T/rootfs/bin/pgrp_tool"
ROOTFS=$T/rootfs container_start sig default sig-1 box
CID=$CONTAINER_ID
INIT=$(container_pid sig)
agent_start

sid=$(new_sid)
exec_json "$T/req" container="\"$CID\"" tty=true argv='["pgrp_tool","steal","/tmp/ctl"]'
h2req --timeout 200 --exec "$T/req" --stdout "$T/out" "$sid" >"$T/rep" &
main=$!
wait_for "grep -q 'zombie [0-9]' '$T/out'" 60 || fail "no stolen foreground: $(cat "$T/out" "$T/rep")"
B=$(sed -n 's/.*request [0-9]*: pid \([0-9]*\) started.*/\1/p' "$T/agent.log" | tail -n 1)
[ -n "$B" ] || fail "no session pid in the log"

# Give the emptied group's number to a process of the host. Someone else
# may take the number first: then the container steals again.
held=
for try in 1 2 3 4 5; do
	# The zombie (not reaped yet) shows its number on the host.
	wait_for "[ -n \"\$(cat /proc/$B/task/$B/children)\" ]" 60 || fail "no zombie child of $B"
	stale=$(tr -d ' ' <"/proc/$B/task/$B/children")
	echo go >"/proc/$INIT/root/tmp/ctl"
	wait_for "[ \$(grep -c reaped '$T/out') -ge $try ]" 60 || fail "the child was not reaped"
	rc=0
	"$TOOL" hold "$stale" >"$T/hold" || rc=$?
	if [ $rc = 0 ]; then
		held=$stale
		cleanup_push "kill -KILL $held 2>/dev/null"
		break
	fi
	[ $rc = 3 ] || fail "pgrp_tool hold $stale: status $rc"
	log "pid $stale was taken by someone else: again"
	echo again >"/proc/$INIT/root/tmp/ctl"
	wait_for "[ \$(grep -c zombie '$T/out') -gt $try ]" 60 || fail "no new zombie"
done
[ -n "$held" ] || fail "could not take an emptied group's number in 5 tries"
assert_eq "held $held" "$(cat "$T/hold")" "the host's process"
assert_eq "$held" "$(ps -o pgid= -p "$held" | tr -d ' ')" "its process group"
log "the terminal's foreground group is empty; its number $held is a host process's group"

# pending PID SIG: the host's process was signalled (pending, or dead).
signalled() {
	local mask
	kill -0 "$1" 2>/dev/null || return 0
	mask=$(sed -n 's/^ShdPnd:[[:space:]]*//p' "/proc/$1/status")
	(((0x$mask >> ($2 - 1)) & 1))
}
h2req --signal INT "$sid" >"$T/sig-int"
grep -qx 'signal 200' "$T/sig-int" || fail "signal INT: $(cat "$T/sig-int")"
if signalled "$held" 2; then fail "SIGINT reached the host's process $held"; fi
kill -0 "$B" || fail "SIGINT reached the session, whose group is not the terminal's"
h2req --signal TERM "$sid" >"$T/sig-term"
grep -qx 'signal 200' "$T/sig-term" || fail "signal TERM: $(cat "$T/sig-term")"
if signalled "$held" 15; then fail "SIGTERM reached the host's process $held"; fi
grep -q "signal TERM sent to process group $B" "$T/agent.log" ||
	fail "TERM did not go to the session's own group"
wait "$main" || fail "h2req failed: $(cat "$T/rep")"
assert_eq '{"state":"killed","signal":15,"signame":"TERM"}' "$(report_body "$T/rep" status)" "the session"
kill -0 "$held" || fail "the host's process $held is gone"
log "INT through the terminal reached nobody; TERM went to the session's own group"
