#!/bin/bash
# Security through a real mount over mutual TLS: the policy
# decides per session on the container's real metadata (namespace,
# privileged, the disable annotation), SIGHUP reloads it without dropping
# running sessions and a bad file keeps the old one; the audit file gets a
# start and an end line per session with redaction; an exec'd process has
# only fds 0-2, the container's capabilities, no_new_privs, cgroups and
# namespaces.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AGENT_NODE=n1
client_id=spiffe://execfs.test/client
certs_make n1
port=$(free_port)
container_start web default web-1 nginx
container_start api prod api-7 app
CONTAINER_HOST_NET=1 container_start priv default priv-1 box
container_start locked default locked-1 box execfs.io/disable-exec=true
CONTAINER_NEW_NS="cgroup user" container_start userns default userns-1 box

policy=$TESTDIR/policy.json
write_policy() {
	printf '%s\n' "$1" >"$policy.tmp"
	mv "$policy.tmp" "$policy"
}
write_policy '{"exec_enabled": true,
 "rules": [
   {"principals": ["'$client_id'"], "namespaces": ["default"], "pods": ["*"], "actions": ["exec"]},
   {"principals": ["admin*"], "namespaces": ["*"], "pods": ["*"], "actions": ["exec", "exec_privileged", "exec_node"]}
 ]}'
audit=$TESTDIR/audit.jsonl
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$policy" --audit "$audit" --audit-redact '^secret='

tls_config_write "$TESTDIR/execfs.json" "$port"
mnt=$TESTDIR/mnt
mount_start "$mnt" --config "$TESTDIR/execfs.json"
wait_for "[ -d '$mnt/n1/default/locked-1/box' ] &&
	[ -d '$mnt/n1/default/userns-1/box' ]" 60 ||
	fail "containers did not appear"
web=$mnt/n1/default/web-1/nginx
api=$mnt/n1/prod/api-7/app
priv=$mnt/n1/default/priv-1/box
locked=$mnt/n1/default/locked-1/box
userns=$mnt/n1/default/userns-1/box

# expect_denied DIR: a start there fails with EACCES in the writer's shell.
expect_denied() {
	local out
	if out=$(echo true 2>&1 >"$1/ctl"); then
		fail "exec in $1 was allowed"
	fi
	assert_match 'Permission denied' "$out" "error writing $1/ctl"
	assert_match '^failed: ' "$(read_file "$1/status")" "status of $1"
}

# expect_hidden DIR: no rule lets the client exec there, so it is not listed.
expect_hidden() {
	[ -e "$1" ] && fail "$1 is listed, though no rule lets the client exec there"
	return 0
}

echo 'echo allowed' >"$web/ctl"
assert_eq allowed "$(read_file "$web/stdout")" "exec in default"
expect_hidden "$api"
expect_hidden "$mnt/n1/prod"
expect_hidden "$priv"
expect_denied "$locked"
assert_match 'disable-exec' "$(read_file "$locked/status")" "annotation reason"
log "policy: default allowed; prod and privileged not listed; disabled refused"

# A running session survives reloads.
echo 'sleep 1000' >"$web/ctl"
assert_eq running "$(read_file "$web/status")" "long session"
write_policy '{"rules": [{"principals": ["'$client_id'"], "actions": ["exec", "exec_privileged"]}]}'
kill -HUP "$AGENT_PID"
wait_for "grep -q 'policy: $policy' '$TESTDIR/agent.log'" 60 || fail "no reload logged"
wait_for "echo true > '$api/ctl' 2>/dev/null" 60 || fail "reload did not allow prod"
echo 'echo priv-ok' >"$priv/ctl"
assert_eq priv-ok "$(read_file "$priv/stdout")" "privileged after reload"
assert_eq running "$(read_file "$web/status")" "session across reload"

write_policy '{"exec_enabled": false, "rules": [{"principals": ["'$client_id'"], "actions": ["exec", "exec_privileged"]}]}'
kill -HUP "$AGENT_PID"
wait_for "! echo true > '$api/ctl' 2>/dev/null" 60 || fail "switch did not turn exec off"
expect_denied "$api"
assert_match 'disabled on this node' "$(read_file "$api/status")" "switch reason"

echo '{"rules": [ broken' >"$policy"
kill -HUP "$AGENT_PID"
wait_for "grep -q 'keeping the old policy' '$TESTDIR/agent.log'" 60 ||
	fail "a bad policy file was not reported"
expect_denied "$api"
log "policy: reload widens and narrows, keeps sessions, survives a bad file"

write_policy '{"rules": [{"principals": ["'$client_id'"], "actions": ["exec"]}]}'
kill -HUP "$AGENT_PID"
wait_for "echo true > '$web/ctl' 2>/dev/null" 60 || fail "reload did not allow again"

# Clean entry: what the exec'd process sees of itself, in a container
# with runc's default namespaces and in one with its own user and cgroup
# namespaces too (which the agent joins in another order: spawn.c).
run() {
	echo "$1" >"$dir/ctl"
	read_file "$dir/stdout"
	assert_eq 'exited 0' "$(read_file "$dir/wait")" "$1 in $dir"
}
for dir in "$web" "$userns"; do
	fds=$(run 'ls /proc/self/fd' | sort -n | tr '\n' ' ')
	assert_eq '0 1 2 3 ' "$fds" "fds of ls (3 is its own directory)"
	status=$(run 'cat /proc/self/status')
	init=$(run 'cat /proc/1/status')
	for f in CapEff CapBnd CapPrm NoNewPrivs; do
		assert_eq "$(grep "^$f:" <<<"$init")" \
			"$(grep "^$f:" <<<"$status")" "$f in $dir"
	done
	assert_match 'NoNewPrivs:[[:space:]]1' "$status" "no_new_privs"
	assert_eq "$(run 'cat /proc/1/cgroup')" "$(run 'cat /proc/self/cgroup')" \
		"cgroups in $dir"
	for ns in cgroup ipc mnt net pid user uts; do
		assert_eq "$(run "readlink /proc/1/ns/$ns")" \
			"$(run "readlink /proc/self/ns/$ns")" "namespace $ns in $dir"
	done
done
# Seen from the host too: a process started in the user-namespaced
# container is in each of the init's cgroups (its own view above is
# relative to the cgroup namespace's root) and runs as the mapped root.
echo 'sleep 31337' >"$userns/ctl"
pid=$(pgrep -u 100000 -f 'sleep 31337') || fail "no host uid 100000 sleep 31337"
init_pid=$(runc --root "$RUNC_ROOT" state "$(container_id userns)" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])')
assert_eq "$(cat "/proc/$init_pid/cgroup")" "$(cat "/proc/$pid/cgroup")" \
	"host view of the cgroups of $pid"
echo kill >"$userns/ctl"
read_file "$userns/wait" >/dev/null
log "entry: fds, capabilities, no_new_privs, cgroups, namespaces as the init's"

# Audit: redaction, and every started session has exactly one end line.
echo 'echo secret=hunter2 visible' >"$web/ctl"
read_file "$web/wait" >/dev/null
echo kill >"$web/ctl" 2>/dev/null || true
mount_stop "$mnt"
agent_stop
python3 - "$audit" <<'PY' || fail "audit file check failed"
import json, sys
starts, ends, denied = {}, {}, 0
for line in open(sys.argv[1]):
    ev = json.loads(line)
    assert ev["node"] == "n1" and ev["identity"] == "uri:spiffe://execfs.test/client", ev
    if ev["event"] == "start":
        starts[ev["session"]] = ev
    elif ev["event"] == "end":
        assert ev["session"] not in ends, "two end lines for %s" % ev["session"]
        ends[ev["session"]] = ev
    elif ev["event"] == "denied":
        denied += 1
        assert ev["reason"], ev
assert starts and set(starts) == set(ends), (set(starts) ^ set(ends))
assert denied >= 3, denied  # locked, the switch twice
red = [s for s in starts.values() if s["argv"][:1] == ["echo"] and "visible" in s["argv"]]
assert red and red[0]["argv"] == ["echo", "[REDACTED]", "visible"], red
assert any(e["state"] == "exited" and e["code"] == 0 for e in ends.values())
print("audit: %d sessions with start and end, %d denied" % (len(starts), denied))
PY
log "audit: start and end for every session, denied starts, redaction"
