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

# ---- a client that leaves a running session -------------------------------------
sid=$(new_sid)
exec_json "$T/left" container="\"$CID\"" argv='["sleep","990"]'
h2req --timeout 1 --exec "$T/left" "$sid" >"$T/left.rep" || true
grep -qx 'status 200' "$T/left.rep" || fail "the session did not start: $(cat "$T/left.rep")"
[ -n "$(sleeper 990)" ] || fail "sleep 990 is not running after its client left"
wait_for "[ -z \"\$(sleeper 990)\" ]" 10 || fail "sleep 990 outlived the grace period"
grep -q "session $sid: no client for 2 s, killing" "$T/agent.log" ||
	fail "no log line for the grace period of $sid"
log "a session its client left is killed after the grace period"

# ---- a client that leaves while the start is queued -------------------------------
sid=$(new_sid)
exec_json "$T/queued" container="\"$CID\"" argv='["sleep","991"]'
kill -STOP "$AGENT_PID"
h2req --timeout 1 --exec "$T/queued" "$sid" >"$T/queued.rep" || true
sleep 3 # the period runs out with no process yet
kill -CONT "$AGENT_PID"
wait_for "[ -n \"\$(sleeper 991)\" ] || grep -q 'session $sid: no client' '$T/agent.log'" 10 ||
	fail "sleep 991 never started"
wait_for "[ -z \"\$(sleeper 991)\" ]" 10 || fail "sleep 991, whose client left during its start, outlived the grace period"
grep -q "session $sid: no client for 2 s, killing" "$T/agent.log" ||
	fail "no log line for the grace period of $sid"
log "a session whose client left during its start gets its own grace period"
