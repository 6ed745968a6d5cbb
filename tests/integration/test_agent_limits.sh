#!/bin/bash
# Sessions per identity: with --max-sessions 2, a third running
# session of the same peer is refused with EAGAIN and a readable reason,
# and a slot frees when a session ends.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

container_start web default web-1 nginx
agent_start --max-sessions 2
mnt=$TESTDIR/mnt
mount_start "$mnt" --agent "unix:$AGENT_SOCK"
web=$mnt/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$web' ]" 60 || fail "container did not appear"

# Two sessions that run until the test ends them.
echo 'sleep 1000' >"$web/ctl"
echo 'sleep 1001' >"$web/ctl"
second=$(read_file "$web/ctl" | awk 'NR == 1 {print $1}')
if out=$(echo true 2>&1 >"$web/ctl"); then
	fail "a third running session was allowed"
fi
assert_match 'Resource temporarily unavailable' "$out" "error of the third start"
assert_match "has 2 sessions, the agent's limit" "$(read_file "$web/status")" \
	"status of the refused start"
echo kill >"$web/$second/ctl"
assert_eq "killed SIGKILL" "$(read_file "$web/$second/wait")" "the second session's end"
echo 'echo again' >"$web/ctl" || fail "no slot after a session ended"
assert_eq again "$(read_file "$web/stdout")" "session after the limit"
