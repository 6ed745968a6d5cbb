#!/bin/bash
# Privilege separation: the process that holds the
# listening sockets (TLS and Unix) and parses network input runs as an
# unprivileged user with no capabilities and no_new_privs; the root monitor
# holds no listening socket. Sessions still work end to end through a
# mount (output, stdin, exit codes) and over a tty; signals reach only the
# session's own processes; killing the worker makes the monitor kill every
# session and exit non-zero.
# The commands run in the container are in single quotes on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

id nobody >/dev/null 2>&1 || skip "no user nobody"
certs_make "$AGENT_NODE"
port=$(free_port)
container_start box default box-1 box
CID=$CONTAINER_ID
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem"
T=$TESTDIR

status_field() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
# worker_stream_queue: the bytes waiting in the worker's stream sockets
# (its connections), if any.
worker_stream_queue() {
	ss -xHp 2>/dev/null | awk -v w="pid=$worker," '$1 == "u_str" && $3 > 0 && index($0, w) {print $3}'
}

# ---- who holds what --------------------------------------------------------
worker=$(agent_worker_pid)
[ -n "$worker" ] || fail "nobody holds the agent's socket"
assert_eq 1 "$(echo "$worker" | wc -l)" "processes holding the listening socket"
[ "$worker" != "$AGENT_PID" ] || fail "the monitor (pid $AGENT_PID) holds the listening socket"
assert_eq "$AGENT_PID" "$(status_field "$worker" PPid)" "the worker's parent"
# Without --user: the dedicated user when the host has it, else nobody
# with a warning.
if id execfs >/dev/null 2>&1; then
	worker_uid=$(id -u execfs)
else
	worker_uid=$(id -u nobody)
	grep -q 'warn: .*no user execfs: the worker runs as nobody' "$T/agent.log" ||
		fail "no warning about falling back to nobody"
fi
assert_eq "$worker_uid $worker_uid $worker_uid $worker_uid" \
	"$(awk '$1 == "Uid:" {print $2, $3, $4, $5}' "/proc/$worker/status")" "worker uids"
for f in CapEff CapPrm CapInh CapAmb; do
	assert_eq 0000000000000000 "$(status_field "$worker" "$f")" "worker $f"
done
assert_eq 1 "$(status_field "$worker" NoNewPrivs)" "worker NoNewPrivs"
assert_eq "" "$(awk '$1 == "Groups:" {print $2}' "/proc/$worker/status")" "worker groups"
assert_eq 0 "$(status_field "$AGENT_PID" Uid)" "monitor uid"
log "worker $worker: uid $worker_uid, no capabilities, no_new_privs; monitor $AGENT_PID: root"

# The TCP listener is the worker's too.
hexport=$(printf '%04X' "$port")
tcp_inode=$(awk -v p=":$hexport" '$4 == "0A" && substr($2, length($2) - 4) == p {print $10}' /proc/net/tcp | head -1)
[ -n "$tcp_inode" ] || fail "no TCP listener on port $port"
assert_eq "$worker" "$(socket_holders "$tcp_inode")" "holder of the TCP listener"

# The monitor holds no listening socket of any kind.
listening=$({
	awk '$6 == "01" {print $7}' /proc/net/unix
	awk '$4 == "0A" {print $10}' /proc/net/tcp /proc/net/tcp6 2>/dev/null
} | sort -u)
for fd in /proc/"$AGENT_PID"/fd/*; do
	link=$(readlink "$fd" 2>/dev/null) || continue
	[[ $link == socket:* ]] || continue
	inode=${link#socket:[}
	inode=${inode%]}
	if grep -qx "$inode" <<<"$listening"; then
		fail "the monitor holds listening socket $link (fd ${fd##*/})"
	fi
done
grep -q 'execfs-agent\[monitor\]' "$T/agent.log" || fail "no monitor lines in the log"
grep -q 'execfs-agent\[worker\]' "$T/agent.log" || fail "no worker lines in the log"
log "listeners: the worker's only"

# ---- sessions through a mount ----------------------------------------------
mnt=$T/mnt
mount_start "$mnt" --agent "unix:$AGENT_SOCK"
c=$mnt/$AGENT_NODE/default/box-1/box
wait_for "[ -d '$c' ]" 60 || fail "container did not appear"
echo date >"$c/ctl" || fail "echo date > ctl failed"
assert_match '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$(read_file "$c/stdout")" "date output"
assert_eq "exited 0" "$(read_file "$c/wait")" "wait after date"
echo "sh -c 'echo oops >&2; exit 7'" >"$c/ctl"
assert_eq "exited 7" "$(read_file "$c/wait")" "exit code"
assert_eq "oops" "$(read_file "$c/stderr")" "stderr"
echo cat >"$c/ctl"
exec 3>"$c/stdin"
echo "through the worker" >&3
exec 3>&-
assert_eq "exited 0" "$(read_file "$c/wait")" "cat after stdin closed"
assert_eq "through the worker" "$(read_file "$c/stdout")" "cat echoes stdin"
# The container's processes are the monitor's children, not the worker's.
echo 'sleep 1000' >"$c/ctl"
wait_for "pgrep -P $AGENT_PID -x sleep >/dev/null" 60 || fail "sleep is not the monitor's child"
[ -z "$(pgrep -P "$worker" || true)" ] || fail "the worker has children: $(pgrep -P "$worker")"
echo kill >"$c/ctl"
assert_match "^killed (SIG)?KILL$" "$(read_file "$c/wait")" "kill verb"
log "mount sessions ok"

# ---- a terminal ---------------------------------------------------------------
sid=$(new_sid)
exec_json "$T/tty" container="\"$CID\"" argv='["stty","size"]' tty=true cols=100 rows=30
h2req --exec "$T/tty" --stdout "$T/tty.out" "$sid" >"$T/tty.rep"
assert_eq "30 100" "$(tr -d '\r\n' <"$T/tty.out")" "stty size on the tty"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/tty.rep" status)" "tty status"
log "tty ok"

# ---- signals reach only the session's processes -----------------------------
# A process of the container that no session started must survive a
# session's signal; the session's own group gets it.
# Looked for in this container's pid namespace only: other containers of
# the machine may run the same commands.
box_init=$(runc --root "$RUNC_ROOT" state "$CID" | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
in_box() { pgrep --ns "$box_init" --nslist pid -x -f "$1"; }
runc --root "$RUNC_ROOT" exec -d "$CID" sleep 1000
wait_for "in_box 'sleep 1000' >/dev/null" 60 || fail "bystander did not start"
bystander=$(in_box 'sleep 1000')
sid=$(new_sid)
exec_json "$T/sig" container="\"$CID\"" argv='["sh","-c","sleep 999 & wait"]'
h2req --exec "$T/sig" --stdout "$T/sig.out" "$sid" >"$T/sig.rep" &
main=$!
wait_for "grep -qx 'status 200' '$T/sig.rep'" 60 || fail "session did not start: $(cat "$T/sig.rep")"
wait_for "in_box 'sleep 999' >/dev/null" 60 || fail "session child did not start"
h2req --signal TERM "$sid" >"$T/sig.term"
grep -qx 'signal 200' "$T/sig.term" || fail "signal TERM: $(cat "$T/sig.term")"
wait $main
assert_eq '{"state":"killed","signal":15,"signame":"TERM"}' "$(report_body "$T/sig.rep" status)" "killed by TERM"
wait_for "! in_box 'sleep 999' >/dev/null" 60 || fail "the session's group survived TERM"
kill -0 "$bystander" 2>/dev/null || fail "a process outside the session was signalled"
# After the end (the session is forgotten once its streams closed) and for
# a session that never existed, nothing is signalled.
h2req --signal KILL "$sid" >"$T/sig.after"
grep -Eqx 'signal (404|409)' "$T/sig.after" || fail "signal after the end: $(cat "$T/sig.after")"
h2req --signal KILL "$(new_sid)" >"$T/sig.none"
grep -qx 'signal 404' "$T/sig.none" || fail "signal to no session: $(cat "$T/sig.none")"
kill -0 "$bystander" 2>/dev/null || fail "a process outside the session was signalled"
kill "$bystander"
log "signals ok"

# ---- a signal that crosses the process's end ----------------------------------
# The worker asks for a signal the moment the monitor has reaped the
# process (its EXITED still on the way): the monitor refuses, and both go
# on. The refusal used to go out as an empty datagram, which the worker
# reads as the monitor's close: `execfs exec` sending SIGPIPE as its
# command ended stopped the agent and every session of the node.
echo 'sleep 995' >"$c/ctl"
wait_for "pgrep -P $AGENT_PID -x sleep >/dev/null" 60 || fail "sleep 995 did not start"
victim=$(pgrep -P "$AGENT_PID" -x sleep)
kill -STOP "$worker"
# Queued in the worker's socket before the monitor's news of the end.
{
	rc=0
	printf 'signal TERM\n' 2>"$T/crossed.err" >"$c/ctl" || rc=$?
	echo "$rc" >"$T/crossed.rc"
} &
signaller=$!
# The write waits in the mount for the agent's answer, and its request is
# in the stopped worker's socket, ahead of the monitor's news of the end.
wait_for "fuse_blocked $signaller" 60 || fail "the signal write did not reach the mount"
wait_for "[ -n \"\$(worker_stream_queue)\" ]" 60 || fail "the signal request never reached the worker's socket"
kill -KILL "$victim"
reaped=1
wait_for "[ ! -e /proc/$victim ]" 60 || reaped=0
kill -CONT "$worker"
[ "$reaped" = 1 ] || fail "the monitor did not reap $victim"
wait "$signaller"
rc=$(cat "$T/crossed.rc")
wait_for "grep -q 'refused: no such process' '$T/agent.log'" 60 ||
	fail "the monitor was never asked to signal the reaped process"
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent stopped: $(tail -3 "$T/agent.log")"
kill -0 "$worker" 2>/dev/null || fail "the worker stopped: $(tail -3 "$T/agent.log")"
if [ "$rc" -eq 0 ] || ! grep -q 'No such process' "$T/crossed.err"; then
	fail "signal to an ended process: status $rc, $(cat "$T/crossed.err")"
fi
echo 'echo still here' >"$c/ctl" || fail "no session after the refused signal"
assert_eq "still here" "$(read_file "$c/stdout")" "a session after the refused signal"
log "a signal crossing the end is refused (ESRCH); the agent goes on"

# ---- a start that fails after its client left -------------------------------------
# The client sends an exec and goes away while the monitor is busy; then
# the start fails (no such user in the container). Nothing may be left of
# the session: it used to stay for good, uncounted, one per such request.
sid=$(new_sid)
exec_json "$T/gone" container="\"$CID\"" argv='["true"]' user='"nosuchuser"'
kill -STOP "$AGENT_PID"
(exec "$H2REQ" --exec "$T/gone" "unix:$AGENT_SOCK" "$sid" >"$T/gone.rep" 2>&1) &
gone=$!
wait_for "grep -q 'session $sid: peer .*: exec in' '$T/agent.log'" 60 ||
	fail "the worker never got the request: $(cat "$T/gone.rep")"
kill "$gone"
wait "$gone" 2>/dev/null || true
kill -CONT "$AGENT_PID"
wait_for "grep -q 'session $sid: start failed' '$T/agent.log'" 60 ||
	fail "the start did not fail: $(cat "$T/gone.rep")"
h2req --stdout "$T/gone.out" "$sid" >"$T/gone.rep2" || true
grep -q 'no such session' "$T/gone.out" ||
	fail "the failed session was kept: $(cat "$T/gone.out" "$T/gone.rep2")"
log "a start that fails after its client left leaves nothing behind"

# ---- a SIGHUP reaches the worker through the monitor ----------------------------
kill -HUP "$AGENT_PID"
wait_for "grep -q 'no --policy file' '$T/agent.log'" 60 || fail "SIGHUP not handled by the monitor"
kill -0 "$worker" || fail "the worker died of SIGHUP"

# ---- the worker's end is the sessions' end --------------------------------------
sid=$(new_sid)
exec_json "$T/long" container="\"$CID\"" argv='["sleep","997"]'
h2req --exec "$T/long" --stdout "$T/long.out" "$sid" >"$T/long.rep" &
long=$!
wait_for "grep -qx 'status 200' '$T/long.rep'" 60 || fail "long session did not start"
session_pid=$(pgrep -P "$AGENT_PID" -x sleep)
[ -n "$session_pid" ] || fail "no session process under the monitor"
kill -KILL "$worker"
wait_for "! kill -0 $AGENT_PID 2>/dev/null" 60 || fail "the monitor outlived its worker"
rc=0
wait "$AGENT_PID" || rc=$?
[ "$rc" -ne 0 ] || fail "the monitor exited 0 after losing its worker"
wait_for "! kill -0 $session_pid 2>/dev/null" 60 || fail "session $session_pid outlived the worker"
grep -q 'killing the worker and every session' "$T/agent.log" ||
	fail "the monitor did not say why it stopped"
wait "$long" 2>/dev/null || true
log "the monitor stopped (status $rc) and took session $session_pid with it"
