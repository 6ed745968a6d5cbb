#!/bin/bash
# An ended session whose output is still in flight (more than the mount's
# history and window took, nobody reading) and that nobody can reach any
# more (forgotten, no file open) lets its streams go, so the agent forgets
# it. They used to stay for good: the stream's 1 MiB history in the mount,
# a stream of the connection, the session and its buffered output in the
# agent.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

rootfs_build
container_start web-1 default web-1 box
agent_start --debug
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
C=$TESTDIR/mnt/$AGENT_NODE/default/web-1/box
wait_for "[ -d '$C' ]" 60 || fail "no $C"

# 2,000,000 bytes: more than the mount takes unread (1 MiB of history and a
# 256 KiB window), less than the agent's buffer and pipe hold, so head
# ends whatever the pipe's size.
n=$(cat "$C/clone")
echo 'head -c 2000000 /dev/zero' >"$C/$n/ctl"
assert_eq "exited 0" "$(read_file "$C/$n/wait")" "head"
sid=$(grep -o 'session [0-9a-f]*: peer [^ ]*: exec in [^ ]*: head' "$TESTDIR/agent.log" |
	tail -n 1 | awk '{print $2}')
sid=${sid%:}
[ -n "$sid" ] || fail "no session id in the agent's log"
size=$(stat -c %s "$C/$n/stdout")
[ "$size" -lt 2000000 ] || fail "all of stdout arrived unread ($size bytes): nothing in flight"
# Another session's whole life goes through the agent after that end: had
# the end made the agent forget the session, the log would say so by now.
m=$(cat "$C/clone")
echo true >"$C/$m/ctl"
assert_eq "exited 0" "$(read_file "$C/$m/wait")" "a session after head's end"
! grep -q "session $sid: forgotten" "$TESTDIR/agent.log" ||
	fail "the agent forgot a session whose output is still wanted"
echo forget >"$C/$n/ctl"
wait_for "grep -q 'session $sid: forgotten' '$TESTDIR/agent.log'" 60 ||
	fail "a forgotten session with unread output stayed in the agent"
log "forgotten with $size of 2000000 bytes in the mount, unread: the agent let session $sid go"
