#!/bin/bash
# An upgrade in place (SIGUSR2) keeps every session, over mutual TLS with a
# real container, a real mount and 1 s heartbeats. The agent runs from its
# own copy of the binary ($TESTDIR/bin/execfs-agent), as from
# /usr/sbin/execfs-agent.
#   - refused upgrades first: the path replaced by a world-writable file, by
#     a file that is not executable, and by a root-owned script that does
#     not answer --handover-check: each is refused with a log line, the same
#     worker goes on serving;
#   - during sessions, a root-owned script that answers --handover-check
#     but cannot be executed from a descriptor: the handover runs, the exec
#     fails, the running image executes itself again and keeps them all;
#   - then, during the same sessions, the path replaced by a fresh copy of the build
#     output (another file) and SIGUSR2:
#       A  output written before and after (the generator waits on a FIFO
#          in the container until the new image runs): its reader, blocked
#          across the upgrade, gets every line once, in order;
#       C  stdin written before and during the upgrade: md5sum inside the
#          container sees exactly the bytes written;
#       D  a process released once the monitor asked the (stopped) worker
#          for its sessions: it ends and is reaped while the handover runs;
#          its exit status is kept for the next worker;
#       T  a tty session: a line typed after the upgrade reaches it;
#     the monitor keeps its pid, the old worker is gone, the new image says
#     so in the log, a TLS connection made while the handover runs (the
#     old worker held by SIGSTOP) is served by the new worker (the
#     listening socket is handed over, never closed), a second mount
#     connects, a new session starts;
#   - another identity (root over the Unix socket) cannot signal a session
#     handed over: its owner is carried with it.
# The container's processes and the writers wait for the test at the points
# that must fall into the upgrade (no guess of how long anything takes).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/tlsnode.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tlsnode.sh"
# shellcheck source=lib/handover.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/handover.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

bin=$TESTDIR/bin/execfs-agent
mkdir -p "$TESTDIR/bin"
install -m 755 "$EXECFS_BUILD_DIR/execfs-agent" "$bin"
# shellcheck disable=SC2034 # read by agent_start
AGENT_BIN=$bin
tls_node_start
alog=$TESTDIR/agent.log
mlog=$TESTDIR/execfs-mnt.log
out=$TESTDIR/out
mkdir -p "$out"
monitor=$AGENT_PID # set by agent_start
worker=$(agent_worker_pid)

# starts: a new session runs to its end on the mount.
starts() {
	local s
	s=$(new_session "echo fresh")
	[ "$(read_file "$s/wait")" = "exited 0" ] && [ "$(cat "$s/stdout")" = fresh ]
}

# refused HOW: SIGUSR2 with the path replaced as HOW says; refused with a
# log line matching $2, the same worker serving.
refusals=0
refused() {
	refusals=$((refusals + 1))
	kill -USR2 "$monitor"
	wait_for "[ \$(grep -c 'upgrade refused' '$alog') -ge $refusals ]" 60 ||
		fail "$1: no refusal logged"
	assert_match "$2" "$(grep 'upgrade refused' "$alog" | tail -1)" "the refusal of $1"
	assert_eq "$worker" "$(agent_worker_pid)" "the worker after $1"
	starts || fail "$1: no session starts after the refusal"
	log "$1: refused, the agent serves on"
}
install -m 777 "$EXECFS_BUILD_DIR/execfs-agent" "$bin.new"
mv -f "$bin.new" "$bin"
refused "a world-writable binary" 'writable by group or others'
install -m 644 "$EXECFS_BUILD_DIR/execfs-agent" "$bin.new"
mv -f "$bin.new" "$bin"
refused "a binary that is not executable" 'not executable'
printf '#!/bin/sh\nexit 0\n' >"$bin.new"
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"
refused "a script that does not answer --handover-check" 'does not know --handover-check'
printf '#!/bin/sh\necho execfs-agent handover 999\n' >"$bin.new"
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"
refused "a binary of another handover version" 'not this agent.s handover version'

# A and C (lib/handover.sh); C's second half is written once $out/signalled
# exists.
handover_streams signalled
CID=$CONTAINER_ID
# D: ends when released, as the upgrade runs.
D=$(new_session "sh -c 'read g </tmp/go-D; echo D-end; exit 7'")
# T: a terminal; a line typed after the upgrade.
T=$(new_session "tty 80 24" "exec sh -c 'stty -echo; echo T-ready; read l; echo \"T-got \$l\"'")
wait_for "grep -q T-ready '$T/stdout'" 60 || fail "T did not start: $(cat "$T/status")"
sidT=$(grep -o 'session [0-9a-f]*: pid [0-9]* running' "$alog" | tail -1 | cut -d' ' -f2 | tr -d :)
[ -n "$sidT" ] || fail "no session id for T in the log"

wait_for "[ \$(wc -l <'$out/A.got') -ge 30000 ]" 60 || fail "A: the first half did not arrive"
wait_for "[ -e '$out/C.half' ]" 60 || fail "C: the first half was not written"

# A file that passes the checks but cannot be executed from its descriptor
# (a script, whose interpreter cannot open it there): the handover runs,
# the exec fails, and the running image executes itself again with the
# sessions. The sessions cross this handover and the next.
printf '#!/bin/sh\necho execfs-agent handover 2\n' >"$bin.new"
chmod 755 "$bin.new"
mv -f "$bin.new" "$bin"
kill -USR2 "$monitor"
wait_for "grep -q 'upgraded in place' '$alog'" 60 || fail "the running image did not take its sessions back"
grep -q 'cannot execute the new binary' "$alog" || fail "no log line for the failed exec"
wait_for "! kill -0 $worker" 60 || fail "the first worker (pid $worker) is still there"
wait_for "[ -n \"\$(agent_worker_pid)\" ]" 60 || fail "no worker listens after the failed exec"
worker=$(agent_worker_pid)
log "a binary that cannot be executed: the running image kept the sessions (worker $worker)"

# The upgrade: another file at the path, then SIGUSR2.
install -m 755 "$EXECFS_BUILD_DIR/execfs-agent" "$bin.new"
mv -f "$bin.new" "$bin"
ino=$(stat -c %i "$bin")
# The old worker is held (SIGSTOP) until the monitor asked it for its
# sessions: meanwhile D ends (the monitor reaps it and keeps its status for
# the next worker) and a TLS client connects (it waits in the listening
# socket's backlog; the new worker must accept it).
# (Looked for in this container's pid namespace only: another test's
# container may run the same command.)
init=$(runc --root "$RUNC_ROOT" state "$CID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
dpid=$(pgrep --ns "$init" --nslist pid -f 'read g </tmp/go-D') || fail "D's process not found"
[ "$(printf '%s\n' "$dpid" | wc -l)" = 1 ] || fail "more than one D: $dpid"
kill -STOP "$worker"
cleanup_push "kill -CONT $worker 2>/dev/null"
kill -USR2 "$monitor"
: >"$out/signalled"
wait_for "[ \$(grep -c 'asking the worker for its sessions' '$alog') -ge 2 ]" 60 ||
	fail "the monitor did not ask the worker for its sessions"
go go-D
wait_for "! kill -0 $dpid" 60 || fail "D's process was not reaped during the handover"
python3 - "$port" "$CERT_DIR" "$out/queued" >"$out/queued.out" 2>&1 <<'PY' &
import socket, ssl, sys
port, certs, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=120)
open(marker, "w").close()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(certs + "/ca.pem")
ctx.load_cert_chain(certs + "/client.pem", certs + "/client.key")
ctx.set_alpn_protocols(["h2"])
t = ctx.wrap_socket(s, server_hostname="localhost")
print("handshake", t.selected_alpn_protocol())
PY
queued=$!
wait_for "[ -e '$out/queued' ]" 60 || fail "a connect during the upgrade was not accepted: $(cat "$out/queued.out")"
kill -CONT "$worker"
wait_for "[ \$(grep -c 'upgraded in place' '$alog') -ge 2 ]" 60 || fail "the new image did not start"
kill -0 "$monitor" || fail "the monitor is gone"
assert_match "^/memfd:$bin" "$(readlink "/proc/$monitor/exe")" "the monitor's image"
wait_for "! kill -0 $worker" 60 || fail "the old worker (pid $worker) is still there"
wait_for "[ -n \"\$(agent_worker_pid)\" ]" 60 || fail "no new worker listens"
new_worker=$(agent_worker_pid)
[ "$new_worker" != "$worker" ] || fail "the worker was not replaced"
pgrep -P "$monitor" -x execfs-agent | grep -qx "$new_worker" ||
	fail "the new worker is not the monitor's child"
log "upgraded: monitor $monitor kept, worker $worker -> $new_worker, binary inode $ino"

# The new worker read the old one's sessions only as --user in its
# sandbox: nothing handed over is logged before its "running as uid".
wait_for "grep -q 'session(s) taken over' '$alog'" 60 || fail "no session taken over logged"
order=$(awk '/upgraded in place/ { u++ }
	u >= 2 && !ran && /handed over \(|taken over/ { print "before the drop: " $0 }
	u >= 2 && /running as uid/ { ran = 1 }
	u >= 2 && ran && /session\(s\) taken over/ { print "after" }' "$alog")
assert_eq "after" "$order" "the new worker's import after its privilege drop"
# SIGTERM, SIGINT, SIGHUP, SIGUSR1 and SIGUSR2 were blocked across the
# exec (a stop or a log rotation then waits, never lost nor fatal); the
# new image's loop and its worker take them again.
for p in "$monitor" "$new_worker"; do
	blk=$(awk '/^SigBlk:/ { print $2 }' "/proc/$p/status")
	assert_eq 0 "$(( 0x$blk & 0x4a03 ))" "signals blocked in pid $p after the upgrade (SigBlk $blk)"
done

# Every stream resumes on the new image.
handover_streams_check "the upgrade"
assert_eq 'exited 7' "$(read_file "$D/wait")" "D: the status of a session that ended during the upgrade"
assert_eq 'D-end' "$(cat "$D/stdout")" "D's output"
log "D: ended during the upgrade, its status kept"

# Another identity cannot reach a session handed over.
h2req --timeout 60 --signal KILL "$sidT" >"$out/x.rep" 2>"$out/x.err" || true
grep -qx 'signal 403' "$out/x.rep" ||
	fail "root's signal to the client's session: $(cat "$out/x.rep" "$out/x.err")"
grep -q "session $sidT: signal stream from uid:0 .* refused" "$alog" ||
	fail "no log line for the cross-identity signal"
echo hello >"$T/stdin"
wait_for "grep -q 'T-got hello' '$T/stdout'" 60 || fail "T: the typed line did not arrive: $(cat "$T/stdout")"
assert_eq 'exited 0' "$(read_file "$T/wait")" "T's end"
log "T: a tty session across the upgrade, its owner kept"

# The connection made during the upgrade was served by the new worker.
wait "$queued" || fail "the connection made during the upgrade: $(cat "$out/queued.out")"
assert_eq "handshake h2" "$(cat "$out/queued.out")" "the connection made during the upgrade"
log "a connection made during the upgrade was served by the new image"

# New connections and new sessions.
starts || fail "no session starts after the upgrade"
MOUNT_NODE=n1 mount_start "$TESTDIR/mnt2" --config "$TESTDIR/execfs.json"
wait_for "[ -d '$TESTDIR/mnt2/n1/default/web-1/nginx' ]" 60 || fail "a new mount does not list the container"
mount_stop "$TESTDIR/mnt2"
grep -q 'the socket handed over is kept' "$alog" || fail "the listening socket was bound again"
log "new connections and sessions on the upgraded agent"
