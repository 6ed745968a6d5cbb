#!/bin/bash
# Running short of file descriptors (every session holds a few in the
# agent). The agent raises its soft limit to the hard one; the processes
# it starts get the container's limit (its init's), as far as the agent's
# hard limit allows without CAP_SYS_RESOURCE. A start that finds no fd slot
# fails with a readable reason while the agent and every running session
# go on; connections beyond the limit pause accepting (instead of a busy
# loop of failing accepts) and are taken once fds are free again.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

command -v prlimit >/dev/null || skip "no prlimit"
container_start web default web-1 nginx
CID=$CONTAINER_ID
# shellcheck disable=SC2034 # read by agent_start
AGENT_PREFIX=(prlimit --nofile=64:160)
agent_start
worker=$(agent_worker_pid)
mnt=$TESTDIR/mnt
mount_start "$mnt" --agent "unix:$AGENT_SOCK"
web=$mnt/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$web' ]" 60 || fail "container did not appear"
alive() {
	kill -0 "$AGENT_PID" 2>/dev/null && kill -0 "$worker" 2>/dev/null ||
		fail "the agent stopped ($1): $(tail -3 "$TESTDIR/agent.log")"
}

# ---- the limits ---------------------------------------------------------------
limits() { awk '$1 == "Max" && $2 == "open" {print $4, $5}' "/proc/$1/limits"; }
assert_eq "160 160" "$(limits "$AGENT_PID")" "the monitor's open-file limit (soft, hard)"
assert_eq "160 160" "$(limits "$worker")" "the worker's open-file limit"
echo "sh -c 'ulimit -Sn; ulimit -Hn'" >"$web/ctl"
# The container's init has runc spec's 1024:1024; an agent without
# CAP_SYS_RESOURCE cannot raise its hard limit of 160, so it keeps as
# much of the init's as it may.
init_nofile=$(limits "$(container_pid web)")
read -r soft hard <<<"$init_nofile"
if ! capsh --has-p=cap_sys_resource 2>/dev/null && [ "$hard" -gt 160 ]; then
	hard=160
	[ "$soft" -le 160 ] || soft=160
fi
want="$soft $hard"
assert_eq "$want" "$(read_file "$web/stdout" | tr '\n' ' ' | sed 's/ $//')" \
	"a session's open-file limit (soft, hard; the init's: $init_nofile)"
log "limits: the agent's raised to 160, a session's the init's ($init_nofile) within it"

# ---- starts until no fd is left -------------------------------------------------
started=0
out=
for ((i = 0; i < 100; i++)); do
	if ! out=$(echo 'sleep 1000' 2>&1 >"$web/ctl"); then
		break
	fi
	started=$((started + 1))
done
[ "$i" -lt 100 ] || fail "100 sessions of 4 fds each started under a limit of 160"
[ "$started" -ge 5 ] || fail "only $started sessions started before the limit"
assert_match 'Too many open files' "$out" "the refused start's error"
alive "after the refused start"
assert_eq "$started" "$(pgrep -P "$AGENT_PID" -x sleep | wc -l)" \
	"sessions still running after the refused start"
log "$started sessions, then: $out ($(grep -c 'out of file descriptors' "$TESTDIR/agent.log" || true) lost starts in the log)"

# ---- connections with no fd to take them ----------------------------------------
# The crowd holds its connections until the test closes its stdin.
mkfifo "$TESTDIR/crowd.in"
python3 - "$AGENT_SOCK" 150 <"$TESTDIR/crowd.in" <<'PY' &
import socket, sys
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
sys.stdin.read()
PY
crowd=$!
exec 5>"$TESTDIR/crowd.in"
cleanup_push "exec 5>&-"
# Paused accepts are logged with their time: a few of them show the rate,
# whatever the machine's speed (a pause is 250 ms; a busy loop of failing
# accepts would log thousands a second).
wait_for "[ \$(grep -c 'not accepting for' '$TESTDIR/agent.log') -ge 4 ]" 60 ||
	fail "no pause of accepting while out of fds"
alive "while connections wait"
read -r pauses span < <(grep 'not accepting for' "$TESTDIR/agent.log" | python3 -c '
import sys, datetime
ts = [datetime.datetime.strptime(l.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ") for l in sys.stdin]
print(len(ts), (ts[-1] - ts[0]).total_seconds())')
log "$pauses paused accepts in $span s"
python3 -c 'import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); sys.exit(n > 2 + 2 * s / 0.25)' "$pauses" "$span" ||
	fail "$pauses accept failures logged in $span s: a busy loop"

# Sessions end, fds come back: the waiting connections are taken, and new
# ones work.
pkill -KILL -P "$AGENT_PID" -x sleep
wait_for "[ -z \"\$(pgrep -P $AGENT_PID -x sleep)\" ]" 60 || fail "sleeps survived SIGKILL"
exec 5>&-
wait "$crowd"
alive "after the crowd left"
sid=$(new_sid)
exec_json "$TESTDIR/fine" container="\"$CID\"" argv='["echo","fine"]'
h2req --exec "$TESTDIR/fine" --stdout "$TESTDIR/fine.out" "$sid" >"$TESTDIR/fine.rep"
grep -qx 'status 200' "$TESTDIR/fine.rep" || fail "a new connection: $(cat "$TESTDIR/fine.rep")"
assert_eq fine "$(cat "$TESTDIR/fine.out")" "output over a new connection"
echo 'echo again' >"$web/ctl" || fail "no session through the mount after the crowd"
assert_eq again "$(read_file "$web/stdout")" "a session through the mount"
log "accepting paused $pauses times; connections and sessions work again"
