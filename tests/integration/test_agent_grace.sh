#!/bin/bash
# The grace period (execfs-agent --grace, here 2 s): a running session
# whose client went away is killed once it ran out, including a session
# whose client left while its start was still queued at the monitor (the
# period ran out before there was a process to kill: the process gets a
# period of its own once it runs, instead of living for good).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

container_start web default web-1 nginx
CID=$CONTAINER_ID
agent_start --grace 2
T=$TESTDIR

# sleeper SECS: the pid of the container's `sleep SECS`, if any.
sleeper() { pgrep -P "$AGENT_PID" -x -f "sleep $1" || true; }

# h2req_leave SID FILE REPORT: run h2req --exec FILE in the background
# (REPORT gets its events); H2REQ_PID is its pid. Killing it is the client
# leaving: its connection closes.
h2req_leave() {
	(exec "$H2REQ" --exec "$2" "unix:$AGENT_SOCK" "$1" >"$3" 2>&1) &
	H2REQ_PID=$!
	cleanup_push "kill $H2REQ_PID 2>/dev/null"
}

# ---- a client that leaves a running session -------------------------------------
sid=$(new_sid)
exec_json "$T/left" container="\"$CID\"" argv='["sleep","990"]'
h2req_leave "$sid" "$T/left" "$T/left.rep"
wait_for "grep -qx 'status 200' '$T/left.rep'" 60 || fail "the session did not start: $(cat "$T/left.rep")"
kill "$H2REQ_PID"
wait "$H2REQ_PID" 2>/dev/null || true
[ -n "$(sleeper 990)" ] || fail "sleep 990 is not running after its client left"
wait_for "[ -z \"\$(sleeper 990)\" ]" 60 || fail "sleep 990 outlived the grace period"
grep -q "session $sid: no client for 2 s, killing" "$T/agent.log" ||
	fail "no log line for the grace period of $sid"
log "a session its client left is killed after the grace period"

# ---- a client that leaves while the start is queued -------------------------------
# The monitor is stopped, so the start waits; the client leaves once the
# worker has its request, and the monitor goes on once the worker says the
# grace period ran out (with no process yet to kill).
sid=$(new_sid)
exec_json "$T/queued" container="\"$CID\"" argv='["sleep","991"]'
kill -STOP "$AGENT_PID"
cleanup_push "kill -CONT $AGENT_PID 2>/dev/null"
h2req_leave "$sid" "$T/queued" "$T/queued.rep"
wait_for "grep -q 'session $sid: peer .*: exec in' '$T/agent.log'" 60 ||
	fail "the worker never got the request: $(cat "$T/queued.rep")"
kill "$H2REQ_PID"
wait "$H2REQ_PID" 2>/dev/null || true
wait_for "grep -q 'session $sid: no client for 2 s while its start is under way' '$T/agent.log'" 60 ||
	fail "the grace period of a queued start did not run out"
[ -z "$(sleeper 991)" ] || fail "sleep 991 started while the monitor was stopped"
kill -CONT "$AGENT_PID"
wait_for "[ -n \"\$(sleeper 991)\" ] || grep -q 'session $sid: no client for 2 s, killing' '$T/agent.log'" 60 ||
	fail "sleep 991 never started"
wait_for "[ -z \"\$(sleeper 991)\" ]" 60 || fail "sleep 991, whose client left during its start, outlived the grace period"
grep -q "session $sid: no client for 2 s, killing" "$T/agent.log" ||
	fail "no log line for the grace period of $sid"
log "a session whose client left during its start gets its own grace period"
