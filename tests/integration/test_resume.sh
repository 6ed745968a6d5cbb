#!/bin/bash
# Sessions outlive a lost connection (docs/PROTOCOL.md, resuming), over
# mutual TLS with a real container; agent and mount run with 1 s
# heartbeats. The
# agent is frozen (SIGSTOP: its sockets stay open, nothing answers) in the
# middle of four sessions, long enough for the mount to give the
# connection up, then thawed:
#   A  output keeps coming while the connection is gone; its reader, blocked
#      across the loss, gets every line once and in order;
#   B  an interactive loop on stdin: a line written before, one written
#      during the loss (the write waits) and one after all arrive, once;
#   C  20 MB written into stdin while the connection goes: md5sum inside
#      the container sees exactly the bytes written;
#   D  `cat wait` blocked across the loss ends with the exit status;
#   E  `execfs exec -i ... cat`, given a line before, one during (its write
#      to stdin waits, polling) and one after the loss, prints all three;
#   S  `signal TERM` written to ctl during the loss is taken at once and
#      reaches the process once the session is back;
#   T  `execfs exec -t` (under tmux) closed with `~.` during the loss
#      leaves at once; its session gets the SIGHUP once it is back.
# The container's processes and the test's writers wait for the test at
# the points that must fall into the loss (no guess of how long the setup
# takes). While the connection is gone, status says "running
# (reconnecting)". Over
# the Unix socket (where a reconnect to a frozen agent succeeds, and is lost
# again), a session survives a freeze of several heartbeats. Then:
# with -o resume=2, a session whose node stays away turns `lost` after two
# seconds; an agent restarted in between does not know the session (it
# turns `lost` on the resume, its readers get EIO).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/tlsnode.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/tlsnode.sh"

tls_node_start
client_pid=$MOUNT_PID
mlog=$TESTDIR/execfs-mnt.log
out=$TESTDIR/out
mkdir -p "$out"

# new_session CMDLINE: a clone session running CMDLINE; prints its dir.
new_session() {
	local n
	n=$(cat "$web/clone")
	echo "$1" >"$web/$n/ctl"
	echo "$web/$n"
}

freeze_agent() {
	mapfile -t frozen < <(echo "$AGENT_PID"; agent_worker_pid)
	kill -STOP "${frozen[@]}"
	cleanup_push "kill -CONT ${frozen[*]} 2>/dev/null"
}

thaw_agent() {
	kill -CONT "${frozen[@]}"
}

# The container's processes wait for the test at chosen points: each opens
# a FIFO in the container's /tmp, which the test writes with `go NAME` (by
# runc exec, which needs no agent: it works while the agent is frozen).
CID=$CONTAINER_ID
go() {
	runc --root "$RUNC_ROOT" exec "$CID" sh -c "echo go >/tmp/$1" ||
		fail "cannot release $1 in the container"
}
runc --root "$RUNC_ROOT" exec "$CID" sh -c \
	'for f in go-A go-G go-H; do rm -f /tmp/$f; mkfifo /tmp/$f; done' ||
	fail "cannot make the FIFOs in the container"

# Expected data, made on this side.
seq 0 59999 >"$out/A.expected"
for i in $(seq 0 39); do seq $((i * 50000)) $((i * 50000 + 49999)); done >"$out/C.input"
md5=$(md5sum <"$out/C.input" | cut -d' ' -f1)

# A: 60 batches of 1000 lines, one every 0.1 s; after the 30th it waits
# until the test says go (once the agent is frozen), so the second half is
# written while the connection is gone.
A=$(new_session "sh -c 'i=0; while [ \$i -lt 60 ]; do seq \$((i*1000)) \$((i*1000+999)); i=\$((i+1)); [ \$i = 30 ] && read g </tmp/go-A; sleep 0.1; done'")
cat "$A/stdout" >"$out/A.got" 2>"$out/A.err" &
a_reader=$!
# B: echo what comes in.
B=$(new_session "sh -c 'while read l; do echo \"got \$l\"; done; echo bye'")
exec 3>"$B/stdin"
cleanup_push "exec 3>&-"
echo a >&3
wait_for "grep -q 'got a' '$B/stdout'" 60 || fail "B: no echo before the loss"
# C: md5sum of stdin, fed in 40 pieces; the second 20 once the agent is
# frozen (the writer waits for the file the test makes then).
C=$(new_session "md5sum")
(
	for i in $(seq 0 39); do
		seq $((i * 50000)) $((i * 50000 + 49999))
		if [ "$i" = 19 ]; then
			: >"$out/C.half"
			while [ ! -e "$out/frozen" ]; do sleep 0.05; done
		fi
		sleep 0.1
	done >"$C/stdin"
	echo finished >"$out/C.writer"
) 2>"$out/C.writer.err" &
# D: wait for A.
cat "$A/wait" >"$out/D.got" 2>&1 &
d_reader=$!
# E: execfs exec, its stdin a FIFO the test writes at chosen moments.
mkfifo "$out/E.in"
(
	exec 3>&- # B's stdin stays with the test alone
	rc=0
	timeout -k 2 300 "$EXECFS_BUILD_DIR/execfs" exec -i "$web" -- cat \
		<"$out/E.in" >"$out/E.got" 2>"$out/E.err" || rc=$?
	echo "$rc" >"$out/E.rc"
) &
exec 4>"$out/E.in"
cleanup_push "exec 4>&-"
echo a >&4
wait_for "grep -q a '$out/E.got'" 60 || fail "E: no echo before the loss"

# S: a process that says which signal came.
S=$(new_session "sh -c 'trap \"echo got TERM; exit 3\" TERM; echo ready; while :; do sleep 0.1; done'")
wait_for "grep -q ready '$S/stdout'" 60 || fail "S did not start"

# T: execfs exec -t in a tmux pane; the pane's shell records its status.
sock=$TESTDIR/tmux.sock
cleanup_push "tmux -S '$sock' kill-server 2>/dev/null"
tmux -S "$sock" new-session -d -s t -x 80 -y 24 \
	"$EXECFS_BUILD_DIR/execfs exec -t $web -- sh -c 'echo T-started; exec sleep 1000'; echo \$? >$out/T.rc; sleep 1000" 3>&- 4>&- # B's stdin and E's FIFO stay here
wait_for "tmux -S '$sock' capture-pane -p -t t | grep -q T-started" 60 ||
	fail "T: execfs exec -t did not start: $(tmux -S "$sock" capture-pane -p -t t)"
T=$web/$(find "$web" -mindepth 1 -maxdepth 1 -name '[0-9]*' -printf '%f\n' | sort -n | tail -1)
assert_eq 'running' "$(cat "$T/status")" "T: the session of execfs exec"

# Before the loss: A's first half has been read, C's first half written.
wait_for "[ \$(wc -l <'$out/A.got') -ge 30000 ]" 60 || fail "A: the first half did not arrive"
wait_for "[ -e '$out/C.half' ]" 60 || fail "C: the first half was not written"
freeze_agent
go go-A
: >"$out/frozen"
t0=$(date +%s)
wait_for "grep -q 'silent for' '$mlog'" 60 ||
	fail "the mount did not notice a frozen agent in 60 s"
log "frozen agent noticed after $(($(date +%s) - t0)) s"
wait_for "[ \"\$(cat '$A/status')\" = 'running (reconnecting)' ]" 60 ||
	fail "A's status during the loss: $(cat "$A/status")"
# A signal during the loss is taken at once (sent once the session is back).
(
	exec 3>&- 4>&-
	rc=0
	printf 'signal TERM\n' >"$S/ctl" || rc=1
	echo "$rc" >"$out/S.rc"
) 2>"$out/S.err" &
# A write during the loss waits for the session to be back.
(
	exec 4>&- # E's FIFO stays with the test alone
	echo b >&3
	echo ok >"$out/B.write"
) &
echo b >&4
tmux -S "$sock" send-keys -t t Enter '~.'
wait_for "[ -s '$out/T.rc' ]" 60 || fail "T: execfs exec -t did not leave on ~. during the loss"
assert_eq 255 "$(cat "$out/T.rc")" "T: status after ~."
kill -0 "$a_reader" || fail "A's reader ended during the loss: $(cat "$out/A.err")"
kill -0 "$d_reader" || fail "D's wait ended during the loss: $(cat "$out/D.got")"
wait_for "[ -s '$out/S.rc' ]" 60 || fail "S: the signal written during the loss waits"
assert_eq 0 "$(cat "$out/S.rc")" "S: signal TERM during the loss ($(cat "$out/S.err"))"
assert_match '^running' "$(cat "$S/status")" "S: still running during the loss"
thaw_agent
log "agent thawed"

wait_for "grep -q 'resumed' '$mlog'" 60 || fail "the mount did not resume"
wait_for "! kill -0 $a_reader" 60 || fail "A's reader still running"
wait "$a_reader" || fail "A's reader failed: $(cat "$out/A.err")"
cmp "$out/A.expected" "$out/A.got" ||
	fail "A: output differs after the resume ($(wc -l <"$out/A.got") lines)"
log "A: 60000 lines, once each, in order"
wait "$d_reader" || true
assert_eq 'exited 0' "$(cat "$out/D.got")" "D: wait across the loss"

wait_for "[ -s '$out/B.write' ]" 60 || fail "B: the write made during the loss never returned"
echo c >&3
exec 3>&-
wait_for "[ \"\$(cat '$B/status')\" = 'exited 0' ]" 60 || fail "B did not end: $(cat "$B/status")"
assert_eq "$(printf 'got a\ngot b\ngot c\nbye')" "$(cat "$B/stdout")" "B: stdin across the loss"

wait_for "[ -s '$out/C.writer' ]" 60 || fail "C: the writer did not finish: $(cat "$out/C.writer.err")"
wait_for "[ \"\$(cat '$C/status')\" = 'exited 0' ]" 60 || fail "C did not end: $(cat "$C/status")"
assert_eq "$md5  -" "$(cat "$C/stdout")" "C: md5 of the stdin written across the loss"
log "B and C: stdin across the loss, nothing lost, nothing twice"
echo c >&4
exec 4>&-
wait_for "[ -s '$out/E.rc' ]" 60 || fail "E: execfs exec still running: $(cat "$out/E.got")"
assert_eq 0 "$(cat "$out/E.rc")" "E: execfs exec status ($(cat "$out/E.err"))"
assert_eq "$(printf 'a\nb\nc')" "$(cat "$out/E.got")" "E: execfs exec across the loss"
log "E: execfs exec across the loss"
assert_eq 'exited 3' "$(read_file "$S/wait" 60)" "S: the process got the signal"
assert_eq "$(printf 'ready\ngot TERM')" "$(cat "$S/stdout")" "S: output"
log "S: a signal written during the loss reached the process after it"
assert_eq 'killed SIGHUP' "$(read_file "$T/wait" 60)" "T: the session after ~. during the loss"
log "T: ~. during the loss left at once; the session got SIGHUP after it"

# The mount freezes while two sessions end: the agent sends their last
# output and status, then drops the silent connection. What was still on
# its way must come again on the resume: all of it, and the status.
G=$(new_session "sh -c 'read g </tmp/go-G; seq 1 40000'")
H=$(new_session "sh -c 'read g </tmp/go-H; seq 1 1000'")
kill -STOP "$client_pid"
cleanup_push "kill -CONT $client_pid 2>/dev/null"
go go-G
go go-H
wait_for "grep -q 'nothing received for' '$TESTDIR/agent.log'" 60 ||
	fail "the agent did not drop the frozen mount"
kill -CONT "$client_pid"
assert_eq "$(seq 1 40000 | md5sum)" "$(timeout 300 cat "$G/stdout" | md5sum)" \
	"G: output that ended while the mount was frozen"
assert_eq "$(seq 1 1000 | md5sum)" "$(timeout 300 cat "$H/stdout" | md5sum)" \
	"H: output that ended while the mount was frozen"
assert_eq 'exited 0' "$(read_file "$G/wait" 60)" "G: status"
assert_eq 'exited 0' "$(read_file "$H/wait" 60)" "H: status"
log "G and H: the ends in flight when the agent dropped a frozen mount came again"

# Over the Unix socket a reconnect to the frozen agent connects (and is
# lost again three heartbeats later): the session waits through it.
mount_start "$TESTDIR/local" --agent "unix:$AGENT_SOCK" -o heartbeat=1
lweb=$TESTDIR/local/n1/default/web-1/nginx
wait_for "[ -d '$lweb' ]" 60 || fail "the container did not appear (Unix socket mount)"
echo "sh -c 'trap \"echo got TERM; exit 3\" TERM; echo ready; while :; do sleep 0.1; done'" >"$lweb/ctl"
wait_for "grep -q ready '$lweb/stdout'" 60 || fail "Unix socket mount: the session did not start"
given_up=$(grep -c 'nothing received for' "$TESTDIR/execfs-local.log" || true)
freeze_agent
wait_for "[ \"\$(cat '$lweb/status')\" = 'running (reconnecting)' ]" 60 ||
	fail "Unix socket mount: status during the loss: $(cat "$lweb/status")"
# Taken now; sent only once the agent answers: the reconnects to the
# frozen agent connect, and are lost again, and must not take it along.
printf 'signal TERM\n' >"$lweb/ctl" || fail "Unix socket mount: signal during the loss"
# Three connections given up (the first and two reconnects to the frozen
# agent): the session must live through all of them.
wait_for "[ \$(grep -c 'nothing received for' '$TESTDIR/execfs-local.log') -ge $((given_up + 3)) ]" 120 ||
	fail "Unix socket mount: no reconnects to the frozen agent"
assert_match '^running' "$(cat "$lweb/status")" "after three lost connections"
thaw_agent
assert_eq 'exited 3' "$(read_file "$lweb/wait" 60)" "Unix socket mount: the signal after the resume"
assert_eq "$(printf 'ready\ngot TERM')" "$(cat "$lweb/stdout")" "Unix socket mount: output"
mount_stop "$TESTDIR/local"
log "Unix socket: resumed after a freeze of several heartbeats"
grep -q 'resumed at offset' "$TESTDIR/agent.log" || fail "the agent logged no resume at an offset"

# 2. The node stays away longer than -o resume: the session turns lost.
mount_start "$TESTDIR/short" --config "$TESTDIR/execfs.json" -o heartbeat=1,resume=2
sweb=$TESTDIR/short/n1/default/web-1/nginx
wait_for "[ -d '$sweb' ]" 60 || fail "the container did not appear (short mount)"
echo 'sleep 1000' >"$sweb/ctl"
(cat "$sweb/wait" >"$out/E.got" 2>&1 || true) &
freeze_agent
wait_for "[ \"\$(cat '$sweb/status')\" = 'running (reconnecting)' ]" 60 ||
	fail "short mount: status during the loss: $(cat "$sweb/status")"
printf 'signal TERM\n' >"$sweb/ctl" || fail "short mount: signal during the loss"
wait_for "[ \"\$(cat '$sweb/status')\" = lost ]" 60 ||
	fail "a session whose node stayed away is not lost: $(cat "$sweb/status")"
wait_for "[ -s '$out/E.got' ]" 60 || fail "wait still blocked after the loss"
assert_match 'Input/output error' "$(cat "$out/E.got")" "E: wait of a lost session"
grep -q 'asked for while reconnecting was not sent' "$TESTDIR/execfs-short.log" ||
	fail "the signal of a session that turned lost was not reported as not sent"
thaw_agent
log "resume time over: lost, readers released"

# 3. The agent restarts: it has never heard of the session. (The first
# mount lost its connection to the frozen agent too: let it reconnect.)
wait_for "grep -q '^connected' '$mnt/n1/.status'" 60 ||
	fail "the mount did not reconnect: $(cat "$mnt/n1/.status")"
echo 'sh -c "echo before; exec sleep 1000"' >"$web/ctl"
wait_for "[ -s '$web/stdout' ]" 60 || fail "no output before the restart"
(
	rc=0
	cat "$web/stdout" >"$out/F.got" 2>"$out/F.err" || rc=$?
	echo "$rc" >"$out/F.rc"
) &
agent_stop
agent_start "${agent_args[@]}"
wait_for "[ \"\$(cat '$web/status')\" = lost ]" 60 ||
	fail "a session the new agent does not know is not lost: $(cat "$web/status")"
wait_for "[ -s '$out/F.rc' ]" 60 || fail "stdout reader still blocked"
assert_eq before "$(cat "$out/F.got")" "F: bytes before the restart"
assert_match 'Input/output error' "$(cat "$out/F.err")" "F: after them"
echo 'echo again' >"$web/ctl"
assert_eq again "$(read_file "$web/stdout")" "a new session after the restart"
log "agent restarted: the old session is lost, new ones work"
