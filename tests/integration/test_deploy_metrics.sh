#!/bin/bash
# The agent's --metrics endpoint and the mount's .metrics, for real:
#   - /healthz and /readyz answer 200, /metrics is what `promtool check
#     metrics` accepts, and its figures follow what happened: a session
#     that ran over TLS, one the policy denied (root over the Unix socket),
#     one whose program does not exist, a policy reload, the handshakes;
#   - the mount's .metrics says the same from its side (promtool too), and
#     its gauges move: a running session makes sessions_running 1 and its
#     end 0; the node counts as connected, and as unreachable once its
#     agent is gone (its last listing's containers still counted);
#   - a client that connects and says nothing does not stop others; bad
#     requests get 400 and 405, unknown paths 404; a non-loopback address
#     is refused at start;
#   - the worker stopped (SIGSTOP): /healthz does not answer (a probe's
#     timeout is its failure); the monitor stopped: /healthz says 503 within
#     seconds; both come back when continued.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

command -v promtool >/dev/null || skip "no promtool (Debian: prometheus)"
export AGENT_NODE=n1
certs_make n1
port=$(free_port)
mport=$(free_port)
container_start web default web-1 nginx
# Root over the Unix socket sees the containers (a rule names it) but may
# only run as nobody: its start as the default user is denied.
printf '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}, {"principals": ["uid:0"], "actions": ["exec"], "run_as": ["nobody"]}]}\n' \
	>"$TESTDIR/policy.json"

if timeout 60 "$EXECFS_BUILD_DIR/execfs-agent" --runc-root "$RUNC_ROOT" \
	--listen "unix:$TESTDIR/other.sock" --metrics "0.0.0.0:$mport" \
	>"$TESTDIR/refused.log" 2>&1; then
	fail "the agent served metrics on 0.0.0.0"
fi
grep -q 'not a loopback address' "$TESTDIR/refused.log" || fail "no reason for the refusal: $(cat "$TESTDIR/refused.log")"

agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" --metrics "127.0.0.1:$mport"
url=http://127.0.0.1:$mport
# code PATH: the HTTP status, or 000 when nothing answered in 3 s
# code PATH [SECS]: the status of GET PATH; 000 if no answer within SECS
# (default 60: only a stopped worker, below, is meant to run into it).
code() { curl -s -o /dev/null --max-time "${2:-60}" -w '%{http_code}' "$url$1" || true; }
# metric NAME_AND_LABELS [URL]: its value in /metrics
metric() {
	curl -sf --max-time 60 "$url/metrics" | awk -v k="$1" '$1 == k {print $2}'
}
assert_eq 200 "$(code /healthz)" "/healthz"
assert_eq 200 "$(code /readyz)" "/readyz"
assert_eq 404 "$(code /nope)" "an unknown path"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" "POST"
assert_eq 400 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 60 \
	--request-target 'x y' "$url/" || true)" "a malformed request line"
# A client that says nothing holds one slot, not the endpoint.
exec 7<>"/dev/tcp/127.0.0.1/$mport"
assert_eq 200 "$(code /healthz)" "/healthz next to a silent client"
exec 7>&-
# More silent clients than it serves at once (16): the oldest make room,
# so anyone on the node holding connections cannot fail the probes.
silent=()
for _ in $(seq 20); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$mport"
	silent+=("$fd")
done
wait_for "grep -q 'the oldest idle one closed' '$TESTDIR/agent.log'" 60 ||
	fail "no log line for a silent client closed to make room"
assert_eq 200 "$(code /healthz)" "/healthz next to 20 silent clients"
for fd in "${silent[@]}"; do exec {fd}>&-; done

# What happens, counted: over TLS, one that runs and one that cannot exec.
tls_config_write "$TESTDIR/execfs.json" "$port"
mnt=$TESTDIR/mnt
mount_start "$mnt" --config "$TESTDIR/execfs.json"
c=$mnt/n1/default/web-1/nginx
wait_for "[ -d '$c' ]" 60 || fail "the container did not appear"
n=$(read_file "$c/clone")
echo "sh -c 'head -c 100000 /dev/zero'" >"$c/$n/ctl"
assert_eq "exited 0" "$(read_file "$c/$n/wait")" "the session"
assert_eq 100000 "$(wc -c <"$c/$n/stdout")" "its output"
n=$(read_file "$c/clone")
rc=0
echo "/no/such/program" 2>/dev/null >"$c/$n/ctl" || rc=$?
[ "$rc" != 0 ] || fail "a missing program started"
# Root over the Unix socket: its rule allows only user nobody.
MOUNT_NODE=n1 mount_start "$TESTDIR/local" --agent "unix:$AGENT_SOCK"
lc=$TESTDIR/local/n1/default/web-1/nginx
wait_for "[ -d '$lc' ]" 60 || fail "the local mount lists nothing"
n=$(read_file "$lc/clone")
echo true 2>/dev/null >"$lc/$n/ctl" && fail "the policy let uid:0 exec"
kill -HUP "$AGENT_PID"
wait_for "[ \"\$(metric 'execfs_agent_policy_reloads_total{result=\"ok\"}')\" = 1 ]" 60 ||
	fail "the policy reload was not counted"

curl -sf "$url/metrics" >"$TESTDIR/agent.metrics" || fail "GET /metrics"
promtool check metrics <"$TESTDIR/agent.metrics" || fail "promtool refuses /metrics"
assert_eq 1 "$(metric execfs_agent_sessions_started_total)" "sessions started"
assert_eq 1 "$(metric 'execfs_agent_sessions_failed_total{errno="ENOENT"}')" "failed, ENOENT"
assert_eq 1 "$(metric 'execfs_agent_sessions_denied_total{reason="policy"}')" "denied by the policy"
assert_eq 0 "$(metric execfs_agent_sessions_running)" "running"
assert_eq 1 "$(metric execfs_agent_session_start_seconds_count)" "the start latency's count"
[ "$(metric 'execfs_agent_session_bytes_total{direction="out"}')" -ge 100000 ] || fail "bytes out"
[ "$(metric 'execfs_agent_tls_handshakes_total{result="ok"}')" -ge 1 ] || fail "handshakes"
[ "$(metric execfs_agent_connections_open)" -ge 2 ] || fail "open connections"
[ "$(metric execfs_agent_cert_expiry_timestamp_seconds)" -gt "$(date +%s)" ] || fail "the certificate's expiry"
log "/metrics: promtool accepts it; started, failed, denied, bytes and reloads counted"

read_file "$mnt/.metrics" >"$TESTDIR/mount.metrics"
promtool check metrics <"$TESTDIR/mount.metrics" || fail "promtool refuses .metrics"
mm() { awk -v k="$1" '$1 == k {print $2}' "$TESTDIR/mount.metrics"; }
assert_eq 1 "$(mm execfs_mount_sessions_started_total)" "the mount's started"
assert_eq 1 "$(mm execfs_mount_sessions_failed_total)" "the mount's failed"
assert_eq 1 "$(mm execfs_mount_sessions_ended_total)" "the mount's ended"
assert_eq 100000 "$(mm 'execfs_mount_session_bytes_total{direction="out"}')" "the mount's bytes out"
assert_eq 1 "$(mm 'execfs_mount_connections_total{result="ok"}')" "the mount's connections"
assert_eq 0 "$(mm execfs_mount_sessions_running)" "the mount's running sessions"
assert_eq 1 "$(mm 'execfs_mount_nodes{state="connected"}')" "connected nodes"
assert_eq 0 "$(mm 'execfs_mount_nodes{state="connecting"}')" "connecting nodes"
assert_eq 0 "$(mm 'execfs_mount_nodes{state="unreachable"}')" "unreachable nodes"
assert_eq 1 "$(mm execfs_mount_containers)" "the mount's containers"
log ".metrics: promtool accepts it; the mount counts its side"

# mm_now NAME_AND_LABELS: its value in .metrics read now.
mm_now() { read_file "$mnt/.metrics" | awk -v k="$1" '$1 == k {print $2}'; }
n=$(read_file "$c/clone")
echo "sleep 1000" >"$c/$n/ctl"
assert_eq 1 "$(mm_now execfs_mount_sessions_running)" "the mount's running sessions, one running"
assert_eq 1 "$(metric execfs_agent_sessions_running)" "the agent's running sessions, one running"
read_file "$mnt/.metrics" >"$TESTDIR/mount-running.metrics"
promtool check metrics <"$TESTDIR/mount-running.metrics" || fail "promtool refuses .metrics with a session running"
echo kill >"$c/$n/ctl"
assert_eq "killed SIGKILL" "$(read_file "$c/$n/wait")" "the running session's end"
assert_eq 0 "$(mm_now execfs_mount_sessions_running)" "the mount's running sessions, after its end"
log ".metrics: sessions_running was 1 while a session ran, 0 after its end"

# Health follows the processes.
worker=$(agent_worker_pid)
kill -STOP "$worker"
cleanup_push "kill -CONT $worker 2>/dev/null"
assert_eq 000 "$(code /healthz 3)" "/healthz of a stopped worker (a probe's 3 s timeout)"
kill -CONT "$worker"
assert_eq 200 "$(code /healthz)" "/healthz of the worker continued"
kill -STOP "$AGENT_PID"
cleanup_push "kill -CONT $AGENT_PID 2>/dev/null"
wait_for "[ \"\$(code /healthz)\" = 503 ]" 60 || fail "/healthz still says $(code /healthz) with the monitor stopped"
assert_eq 503 "$(code /readyz)" "/readyz with the monitor stopped"
kill -CONT "$AGENT_PID"
wait_for "[ \"\$(code /healthz)\" = 200 ]" 60 || fail "/healthz did not come back"
log "/healthz: no answer from a stopped worker, 503 from a worker whose monitor stopped"

# The node goes away: the mount's node gauges follow, its last listing stays.
agent_stop
wait_for "[ \"\$(mm_now 'execfs_mount_nodes{state=\"unreachable\"}')\" = 1 ]" 60 ||
	fail "the stopped agent's node is not counted unreachable: $(read_file "$mnt/.metrics" | grep nodes)"
assert_eq 0 "$(mm_now 'execfs_mount_nodes{state="connected"}')" "connected nodes, the agent stopped"
assert_eq 1 "$(mm_now execfs_mount_containers)" "the last listing's containers, the agent stopped"
log ".metrics: the node of a stopped agent counts as unreachable"
