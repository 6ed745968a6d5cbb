#!/bin/bash
# A take-over (a DaemonSet's rolling update): a second agent process,
# started with --take-over on the first one's --handover-socket, takes
# every session over mutual TLS with a real container and a real mount;
# the first one's monitor stays as the relay of its processes.
#   - a local user that is not root reaches the socket (its mode opened
#     for the test): refused, logged; the agent serves on;
#   - during sessions, the second agent takes over:
#       A  output written before and after (the generator waits on a FIFO
#          until the take-over is done): every line once, in order;
#       C  stdin written before and after: md5sum sees exactly the bytes;
#       D  released after the take-over: it ends while the relay holds
#          it; its status (7) reaches the session through the relay;
#       S  a signal (TERM) written on the mount after the take-over
#          reaches the process through the relay (its trap exits 3);
#     the old worker is gone, the listening socket is served by the new
#     agent, a new session is the new agent's (its monitor's child);
#   - the relay ignores SIGTERM (its pod ending) and exits once its last
#     process ended;
#   - a relay killed (SIGKILL) while it holds a process: the agent that
#     took over kills that process and ends its session (255), logged;
#   - the agent that took over killed while the relay holds a process:
#     the relay kills it and exits;
#   - --take-over with nobody listening: a fresh start.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/tlsnode.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tlsnode.sh"
# shellcheck source=lib/handover.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/handover.sh"

hs=$TESTDIR/run/handover.sock
tls_node_start --handover-socket "$hs" # sets agent_args, web
alog=$TESTDIR/agent.log
blog=$TESTDIR/agent2.log
mlog=$TESTDIR/execfs-mnt.log
out=$TESTDIR/out
mkdir -p "$out"
old=$AGENT_PID
worker=$(agent_worker_pid)
wait_for "[ -S '$hs' ]" 60 || fail "no handover socket at $hs"
assert_eq 700 "$(stat -c %a "$TESTDIR/run")" "the handover socket's directory mode"

# A local user that is not root, let through the file modes: refused by
# its credentials.
tmode=$(stat -c %a "$TESTDIR")
chmod 711 "$TESTDIR" "$TESTDIR/run"
chmod 666 "$hs"
setpriv --reuid nobody --regid nogroup --clear-groups /usr/bin/python3 - "$hs" \
	>"$out/nobody.out" 2>&1 <<'PY' || true
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.settimeout(60)
print("closed" if s.recv(100) == b"" else "data")
PY
assert_eq closed "$(cat "$out/nobody.out")" "a non-root peer's connection"
grep -q 'take-over refused: pid [0-9]* runs as uid [0-9]*, not root' "$alog" ||
	fail "no log line for the non-root peer"
chmod 700 "$TESTDIR/run"
chmod "$tmode" "$TESTDIR"
chmod 600 "$hs"
assert_eq "$worker" "$(agent_worker_pid)" "the worker after the refusal"
log "a non-root peer is refused and logged"

# A and C (lib/handover.sh); C's second half is written once $out/taken
# exists.
handover_streams taken
D=$(new_session "sh -c 'read g </tmp/go-D; echo D-end; exit 7'")
S=$(new_session "sh -c 'trap \"echo S-term; exit 3\" TERM; echo S-ready; while :; do sleep 1; done'")
wait_for "grep -q S-ready '$S/stdout'" 60 || fail "S did not start: $(cat "$S/status")"
wait_for "[ \$(wc -l <'$out/A.got') -ge 30000 ]" 60 || fail "A: the first half did not arrive"
wait_for "[ -e '$out/C.half' ]" 60 || fail "C: the first half was not written"

# The take-over: a second agent, the same arguments.
log "agent 2: --take-over $hs"
"$EXECFS_BUILD_DIR/execfs-agent" --runc-root "$RUNC_ROOT" --node n1 \
	--listen "unix:$AGENT_SOCK" "${agent_args[@]}" --handover-socket "$hs" \
	--take-over "$hs" </dev/null >>"$blog" 2>&1 &
new=$!
log_register agent2 "$blog"
cleanup_push "stop_pid $new agent2"
wait_for "grep -q 'took over: ' '$blog'" 60 || fail "the new agent did not take over: $(tail -5 "$blog")"
grep -q 'take-over: pid [0-9]* (root) connected' "$alog" || fail "no log line for the peer"
wait_for "grep -q 'relaying' '$alog'" 60 || fail "the old monitor does not relay"
wait_for "! kill -0 $worker" 60 || fail "the old worker (pid $worker) is still there"
kill -0 "$old" || fail "the relay (pid $old) is gone"
wait_for "[ -n \"\$(agent_worker_pid)\" ]" 60 || fail "no new worker listens"
new_worker=$(agent_worker_pid)
pgrep -P "$new" -x execfs-agent | grep -qx "$new_worker" ||
	fail "the listening socket is not the new agent's worker's"
: >"$out/taken"
log "taken over: relay $old, agent $new (worker $new_worker)"

handover_streams_check "the take-over"
go go-D
assert_eq 'exited 7' "$(read_file "$D/wait")" "D: a status the relay reaped"
assert_eq 'D-end' "$(cat "$D/stdout")" "D's output"
log "D: ended while the relay held it, its status forwarded"
kill -0 "$old" || fail "the relay ended before its last process"
# The old pod's SIGTERM in a rolling update: the relay stays.
kill -TERM "$old"
wait_for "grep -q 'relaying [0-9]* process(es) still' '$alog'" 60 ||
	fail "no log line for the relay's SIGTERM"
kill -0 "$old" || fail "the relay ended on SIGTERM while it held a process"
(printf "signal TERM" >"$S/ctl") || fail "signal TERM refused"
assert_eq 'exited 3' "$(read_file "$S/wait")" "S: a signal through the relay"
grep -q S-term "$S/stdout" || fail "S: the trap did not run: $(cat "$S/stdout")"
log "S: a signal reached a relayed process"

wait_for "! kill -0 $old" 60 || fail "the relay (pid $old) did not exit after its last process"
grep -q 'relay: the last process was reaped' "$alog" || fail "no log line for the relay's end"
log "the relay exited after its last process"

# New sessions are the new agent's.
n=$(new_session "sh -c 'echo fresh; cat /proc/self/stat >/dev/null'")
assert_eq 'exited 0' "$(read_file "$n/wait")" "a new session's end"
assert_eq fresh "$(cat "$n/stdout")" "a new session's output"
sid=$(basename "$n")
grep -q 'request [0-9]*: pid [0-9]* started' "$blog" ||
	fail "the new session was not started by the new agent's monitor"
[ -S "$AGENT_SOCK" ] || fail "the relay removed the new agent's socket"
wait_for "[ -S '$hs' ]" 60 || fail "the new agent does not listen on $hs"
log "new sessions on the new agent (session $sid)"

# A relay that dies (its pod killed before its last session ended): the
# agent that took over kills what the relay held, through the pidfds it
# was sent, and ends those sessions with a log line; it serves on.
K=$(new_session "sh -c 'echo K-ready; while :; do sleep 1; done'")
wait_for "grep -q K-ready '$K/stdout'" 60 || fail "K did not start: $(cat "$K/status")"
init=$(runc --root "$RUNC_ROOT" state "$CONTAINER_ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
kpid=$(pgrep --ns "$init" --nslist pid -f 'echo K-ready') || fail "K's process not found"
[ "$(printf '%s\n' "$kpid" | wc -l)" = 1 ] || fail "more than one K: $kpid"
clog=$TESTDIR/agent3.log
"$EXECFS_BUILD_DIR/execfs-agent" --runc-root "$RUNC_ROOT" --node n1 \
	--listen "unix:$AGENT_SOCK" "${agent_args[@]}" --handover-socket "$hs" \
	--take-over "$hs" </dev/null >>"$clog" 2>&1 &
third=$!
log_register agent3 "$clog"
cleanup_push "stop_pid $third agent3"
wait_for "grep -q 'took over: ' '$clog'" 60 || fail "the third agent did not take over: $(tail -5 "$clog")"
wait_for "grep -q 'relaying' '$blog'" 60 || fail "the second agent does not relay"
kill -KILL "$new"
wait_for "grep -q 'relayed pid $kpid (token [0-9]*) lost: killed' '$clog'" 60 ||
	fail "the relay's death was not seen: $(tail -5 "$clog")"
wait_for "! kill -0 $kpid" 60 || fail "K's process (pid $kpid) outlived its lost relay"
assert_eq 'exited 255' "$(read_file "$K/wait")" "K: a session its relay lost"
n=$(new_session "echo after-relay")
assert_eq after-relay "$(read_file "$n/stdout")" "a session after the relay died"
grep -q 'request [0-9]*: pid [0-9]* started' "$clog" ||
	fail "the session was not started by the third agent's monitor"
log "a relay killed: its process killed, its session ended 255, the agent serves on"

# The agent that took over dies while the relay holds a process: the
# relay fails closed (kills what it holds) and exits, never leaving a
# process nobody can reach.
L=$(new_session "sh -c 'echo L-ready; while :; do sleep 1; done'")
wait_for "grep -q L-ready '$L/stdout'" 60 || fail "L did not start: $(cat "$L/status")"
lpid=$(pgrep --ns "$init" --nslist pid -f 'echo L-ready') || fail "L's process not found"
[ "$(printf '%s\n' "$lpid" | wc -l)" = 1 ] || fail "more than one L: $lpid"
dlog=$TESTDIR/agent4.log
"$EXECFS_BUILD_DIR/execfs-agent" --runc-root "$RUNC_ROOT" --node n1 \
	--listen "unix:$AGENT_SOCK" "${agent_args[@]}" --handover-socket "$hs" \
	--take-over "$hs" </dev/null >>"$dlog" 2>&1 &
fourth=$!
log_register agent4 "$dlog"
cleanup_push "stop_pid $fourth agent4"
wait_for "grep -q 'took over: ' '$dlog'" 60 || fail "the fourth agent did not take over: $(tail -5 "$dlog")"
wait_for "grep -q 'relaying' '$clog'" 60 || fail "the third agent does not relay"
kill -KILL "$fourth"
wait_for "grep -q 'relay: the agent that took over is gone' '$clog'" 60 ||
	fail "the relay did not see the new agent go: $(tail -5 "$clog")"
wait_for "! kill -0 $lpid" 60 || fail "L's process (pid $lpid) outlived both agents"
wait_for "! kill -0 $third" 60 || fail "the relay (pid $third) did not exit"
log "the new agent killed: the relay killed what it held and exited"

# The first agent on a node: nothing to take over, a fresh start.
flog=$TESTDIR/agent5.log
"$EXECFS_BUILD_DIR/execfs-agent" --runc-root "$RUNC_ROOT" --node n1 \
	--listen "unix:$TESTDIR/fresh.sock" --take-over "$TESTDIR/none.sock" \
	</dev/null >>"$flog" 2>&1 &
fresh=$!
cleanup_push "stop_pid $fresh agent5"
wait_for "! kill -0 $fresh || unix_socket_open '$TESTDIR/fresh.sock'" 60 ||
	fail "a --take-over with nobody to take over does not start: $(tail -3 "$flog")"
kill -0 "$fresh" || fail "a --take-over with nobody to take over exited: $(tail -3 "$flog")"
grep -q 'no agent to take over; starting afresh' "$flog" || fail "no log line for the fresh start"
stop_pid "$fresh" agent5
log "nobody to take over: a fresh start"
