#!/bin/bash
# A node connection that goes away, over mutual TLS with a
# real container, the agent and the mount both run with 1 s heartbeats:
#   - agent frozen (SIGSTOP: the socket stays open, nothing answers): the
#     mount finds it by its PINGs within seconds; the running session says
#     `running (reconnecting)`, its blocked readers and `execfs exec` keep
#     waiting; thawed, the mount reconnects, the session resumes (its
#     readers and `execfs exec` get its end) and new sessions work
#     (test_resume checks what crosses the loss);
#   - mount frozen: the agent finds it silent and drops the connection; the
#     thawed mount reconnects;
#   - agent killed and restarted on the same port: the mount reconnects
#     (with backoff) to the new agent, which does not know the running
#     session: it turns `lost`, a blocked `cat wait` gets EIO, a blocked
#     `cat stdout` gets EIO after the bytes that came;
#   - a port that accepts connections and never speaks TLS: the node's
#     .status reports it after the heartbeat, and the mount keeps retrying;
#   - a client that connects to the agent and never speaks: dropped too.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/tlsnode.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tlsnode.sh"

tls_node_start
client_pid=$MOUNT_PID
mlog=$TESTDIR/execfs-mnt.log

# agent_pids: the monitor and its worker.
agent_pids() {
	echo "$AGENT_PID"
	agent_worker_pid
}

# start_sleeper: a running session with some output, a blocked reader of
# its stdout and of its wait (both waiting in the mount when it returns:
# READER_PID and WAITER_PID are their cats); their results land in
# $TESTDIR/out.*.
start_sleeper() {
	local reader
	echo "sh -c 'echo before; exec sleep 1000'" >"$web/ctl"
	assert_eq running "$(read_file "$web/status")" "session running"
	wait_for "[ -s '$web/stdout' ]" 60 || fail "no output before the loss"
	(
		rc=0
		cat "$web/stdout" >"$TESTDIR/out.stdout" 2>"$TESTDIR/out.stdout.err" || rc=$?
		echo "$rc" >"$TESTDIR/out.stdout.rc"
	) &
	reader=$!
	cat "$web/wait" >"$TESTDIR/out.wait" 2>&1 &
	WAITER_PID=$!
	wait_for "[ -s '$TESTDIR/out.stdout' ] && fuse_blocked \$(pgrep -P $reader -x cat)" 60 ||
		fail "the stdout reader did not block at the tail"
	READER_PID=$(pgrep -P "$reader" -x cat)
	wait_for "fuse_blocked $WAITER_PID" 60 || fail "cat wait did not block"
}

# check_lost WHY: the session and its blocked readers ended as `lost`.
check_lost() {
	wait_for "[ -s '$TESTDIR/out.stdout.rc' ] && [ -s '$TESTDIR/out.wait' ]" 60 ||
		fail "$1: blocked readers still waiting"
	assert_eq lost "$(read_file "$web/status")" "$1: status"
	assert_match 'Input/output error' "$(cat "$TESTDIR/out.wait")" \
		"$1: what the blocked cat wait got"
	assert_eq before "$(cat "$TESTDIR/out.stdout")" "$1: bytes read before the loss"
	assert_eq 1 "$(cat "$TESTDIR/out.stdout.rc")" "$1: cat stdout status"
	assert_match 'Input/output error' "$(cat "$TESTDIR/out.stdout.err")" \
		"$1: cat stdout error"
	rm -f "$TESTDIR"/out.*
}

# works_again WHY: a new session runs once the mount has reconnected.
works_again() {
	wait_for "echo 'echo again' > '$web/ctl' 2>/dev/null" 60 ||
		fail "$1: no new session within 60 s"
	assert_eq again "$(read_file "$web/stdout")" "$1: new session's output"
	assert_eq 'exited 0' "$(read_file "$web/wait")" "$1: new session's end"
}

# ended_by_kill WHY: after `kill`, the blocked readers got the session's
# end: all its output, then EOF; `wait` the status.
ended_by_kill() {
	wait_for "[ -s '$TESTDIR/out.stdout.rc' ] && [ -s '$TESTDIR/out.wait' ]" 60 ||
		fail "$1: blocked readers still waiting"
	assert_eq 'killed SIGKILL' "$(cat "$TESTDIR/out.wait")" "$1: wait"
	assert_eq before "$(cat "$TESTDIR/out.stdout")" "$1: stdout"
	assert_eq 0 "$(cat "$TESTDIR/out.stdout.rc")" "$1: cat stdout status"
	rm -f "$TESTDIR"/out.*
}

# 1. The agent freezes: only the heartbeat can tell. `execfs exec` is
# running a session too: it waits for the session to come back.
start_sleeper
(
	rc=0
	timeout -k 2 300 "$EXECFS_BUILD_DIR/execfs" exec -i=false "$web" -- \
		sh -c 'echo started; exec sleep 1000' >"$TESTDIR/exec.out" \
		2>"$TESTDIR/exec.err" || rc=$?
	echo "$rc" >"$TESTDIR/exec.rc"
) &
wait_for "grep -q started '$TESTDIR/exec.out'" 60 || fail "execfs exec did not start"
mapfile -t frozen < <(agent_pids)
kill -STOP "${frozen[@]}"
cleanup_push "kill -CONT ${frozen[*]} 2>/dev/null"
t0=$(date +%s)
wait_for "grep -q 'silent for' '$mlog'" 60 ||
	fail "the mount did not notice a frozen agent in 60 s"
log "frozen agent noticed after $(($(date +%s) - t0)) s"
wait_for "[ \"\$(cat '$web/status')\" = 'running (reconnecting)' ]" 60 ||
	fail "status during the loss: $(cat "$web/status")"
# The status was answered after whatever the loss made the mount do: a
# reader it had let go would no longer wait in the mount.
fuse_blocked "$WAITER_PID" || fail "wait ended during the loss: $(cat "$TESTDIR/out.wait")"
fuse_blocked "$READER_PID" || fail "the stdout reader ended during the loss"
[ ! -s "$TESTDIR/exec.rc" ] || fail "execfs exec ended during the loss: $(cat "$TESTDIR/exec.err")"
kill -CONT "${frozen[@]}"
wait_for "[ \"\$(cat '$web/status')\" = running ]" 60 ||
	fail "the session did not resume: $(cat "$web/status")"
# Each write in a subshell of its own: the kill ends `execfs exec`, whose
# subshell's end (SIGCHLD) would interrupt a write this shell still waits
# in (a parked ctl write answers EINTR when interrupted).
for d in "$web"/[0-9]*; do
	[ "$(cat "$d/status")" != running ] || (echo kill >"$d/ctl")
done
ended_by_kill "resumed after the agent thawed"
wait_for "[ -s '$TESTDIR/exec.rc' ]" 60 || fail "execfs exec still running"
assert_eq 137 "$(cat "$TESTDIR/exec.rc")" "execfs exec status after the resume"
works_again "after the agent thawed"
log "frozen agent: sessions resumed, readers got their end, new sessions work"

# 2. The mount freezes: the agent drops it. Nothing touches the mount
# while its process is stopped.
before=$(grep -c 'nothing received for' "$TESTDIR/agent.log" || true)
kill -STOP "$client_pid"
cleanup_push "kill -CONT $client_pid 2>/dev/null"
wait_for "[ \$(grep -c 'nothing received for' '$TESTDIR/agent.log') -gt $before ]" 60 ||
	fail "the agent did not notice a frozen mount in 60 s"
kill -CONT "$client_pid"
works_again "after the mount thawed"
log "frozen mount: dropped by the agent, reconnected"

# 3. The agent dies and comes back on the same port.
start_sleeper
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null || true
wait_for "! port_open 127.0.0.1 $port" 60 || fail "the old agent's port stays open"
agent_start "${agent_args[@]}"
check_lost "killed agent"
works_again "after an agent restart"
log "killed agent: reconnected to the new agent, which lost the session"

# 4. A listener that accepts and then says nothing: the TLS handshake gets
# no answer; the attempt is given up, reported, and retried.
mute_port=$(free_port)
python3 - "$mute_port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)  # never read, never answered, never closed
PY
mute_pid=$!
cleanup_push "kill $mute_pid 2>/dev/null"
wait_for "port_open 127.0.0.1 $mute_port" 60 || fail "mute listener not up"
tls_config_write "$TESTDIR/mute.json" "$mute_port"
MOUNT_NODE='' mount_start "$TESTDIR/mute" --config "$TESTDIR/mute.json" -o heartbeat=1
wait_for "grep -q 'no answer in 3 s' '$TESTDIR/mute/n1/.status'" 60 ||
	fail "a mute node was not reported (.status: $(cat "$TESTDIR/mute/n1/.status"))"
mount_stop "$TESTDIR/mute"
log "mute listener: the handshake was given up and reported"

# 5. The other way round: a TCP client of the agent that never starts its
# TLS handshake is dropped after the agent's heartbeat (1 s here).
python3 - "$port" <<'PY' || fail "the agent kept a mute client's connection"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(60)
t0 = time.time()
try:
    data = s.recv(1)
except ConnectionResetError:
    data = b""
except socket.timeout:
    sys.exit("still open after 60 s")
print("mute client dropped after %.1f s" % (time.time() - t0))
sys.exit(0 if data == b"" else "the agent sent %r" % data)
PY
log "mute client: dropped by the agent"
