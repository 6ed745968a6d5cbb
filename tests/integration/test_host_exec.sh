#!/bin/bash
# The node itself, <node>/.host, through a real mount over mutual TLS:
# not offered without `execfs-agent --host-exec`; with it, listed only to
# an identity the policy grants exec_node, and a start by any other is
# refused with its reason and audited; a granted session runs in the
# namespaces of the host's pid 1 (also when the agent runs as in a pod: its
# own mount, cgroup and UTS namespaces), as root or a named host user,
# unconfined, and is audited as the node. And `info` of a privileged
# container says why it is privileged.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

export AGENT_NODE=n1
client_id=spiffe://execfs.test/client
certs_make n1
port=$(free_port)
container_start web default web-1 nginx
CONTAINER_HOST_NET=1 container_start priv default priv-1 box

policy=$TESTDIR/policy.json
write_policy() {
	printf '%s\n' "$1" >"$policy.tmp"
	mv "$policy.tmp" "$policy"
}
# The client may exec in containers, uid:0 (h2req on the Unix socket) too,
# and nobody may use the node yet.
write_policy '{"rules": [
   {"principals": ["'$client_id'", "uid:0"], "actions": ["exec", "exec_privileged"]}
 ]}'
audit=$TESTDIR/audit.jsonl
tls_args=(--listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem"
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem"
	--policy "$policy" --audit "$audit")

# ---- without --host-exec: no .host, whatever the policy ----------------------
write_policy '{"rules": [
   {"principals": ["'$client_id'", "uid:0"], "actions": ["exec", "exec_privileged", "exec_node"]}
 ]}'
agent_start "${tls_args[@]}"
tls_config_write "$TESTDIR/execfs.json" "$port"
mnt=$TESTDIR/mnt
mount_start "$mnt" --config "$TESTDIR/execfs.json"
node=$mnt/n1
wait_for "[ -d '$node/default/priv-1/box' ]" 60 || fail "containers did not appear"
[ -e "$node/.host" ] && fail "$node/.host exists without --host-exec"
listing=$(ls -a "$node")
grep -qx .host <<<"$listing" && fail "ls -a lists .host without --host-exec"
if out=$(printf 'hostname\n' 2>&1 >"$node/.host/ctl"); then
	fail "a write to .host/ctl succeeded without --host-exec"
fi
assert_match 'No such file or directory' "$out" "ctl of .host without --host-exec"
sid=$(new_sid)
exec_json "$TESTDIR/n0.req" container='".host"' argv='["true"]'
h2req --timeout 60 --exec "$TESTDIR/n0.req" "$sid" >"$TESTDIR/n0.rep" || true
grep -q 'no container .host on this node' "$TESTDIR/n0.rep" ||
	fail "start in .host without --host-exec: $(cat "$TESTDIR/n0.rep")"
# info of a privileged container says why.
info=$(cat "$node/default/priv-1/box/info")
assert_match '"privileged": true' "$info" "privileged in info"
assert_match '"privileged_reason": "[^"]*network' "$info" "privileged_reason in info"
grep -q privileged_reason "$node/default/web-1/nginx/info" &&
	fail "an unprivileged container shows a privileged_reason"
agent_stop
log "without --host-exec: .host not listed, its start refused; privileged_reason in info"

# ---- a node of our own -------------------------------------------------------------
# The agent follows pid 1 as it sees it (the host's, with hostPID). This
# machine's own pid 1 holds capabilities root here lacks, so /proc/1/ns is
# closed to us: the node is a pid, mount and UTS namespace of the test's,
# whose pid 1 is ours, with its own hostname and a tmpfs only its mount
# namespace has.
nodename=execfs-node-$$
mark=$TESTDIR/mark
mkdir -p "$mark"
# shellcheck disable=SC2016 # expanded by the node's shell
unshare --pid --fork --kill-child --mount-proc --mount --uts --propagation private -- bash -c '
	hostname "$1" && mount -t tmpfs tmpfs "$2" && echo node >"$2/who" &&
	touch "$3" && exec sleep infinity' _ "$nodename" "$mark" "$TESTDIR/node.ready" &
holder=$!
# (unshare --fork ignores SIGTERM; --kill-child takes its child along.)
cleanup_push "kill -KILL $holder 2>/dev/null; wait $holder 2>/dev/null"
wait_for "[ -e '$TESTDIR/node.ready' ]" 60 || fail "the node's namespaces are not up"
init=$(pgrep -P "$holder") || fail "no pid 1 of the node"
[ "$(readlink "/proc/$init/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] ||
	fail "the node has no mount namespace of its own"

# node_agent_start [POD] ARGS...: the agent on the node (in its pid, mount
# and UTS namespaces), with POD as in a pod of its own: its own mount,
# cgroup and UTS namespaces, where the node's tmpfs is not mounted.
# NODE_AGENT: the agent's pid (nsenter, its parent, is AGENT_PID).
node_agent_start() {
	AGENT_PREFIX=(nsenter -t "$init" --pid --mount --uts --)
	if [ "$1" = pod ]; then
		shift
		# shellcheck disable=SC2016 # expanded by the pod's shell
		AGENT_PREFIX+=(unshare --mount --cgroup --uts --propagation private --
			sh -c 'hostname execfs-pod && umount "$0" && exec "$@"' "$mark")
	fi
	agent_start "$@"
	unset AGENT_PREFIX
	NODE_AGENT=$(pgrep -P "$AGENT_PID") || fail "no agent under nsenter $AGENT_PID"
	# nsenter does not pass SIGTERM on: the agent is stopped first.
	cleanup_push "stop_pid $NODE_AGENT node-agent"
}

# ---- --host-exec, the agent as in a pod ----------------------------------------
write_policy '{"rules": [
   {"principals": ["'$client_id'", "uid:0"], "actions": ["exec", "exec_privileged"]}
 ]}'
node_agent_start pod --host-exec "${tls_args[@]}"
[ "$(readlink "/proc/$NODE_AGENT/ns/mnt")" != "$(readlink "/proc/$init/ns/mnt")" ] ||
	fail "the agent is in the node's mount namespace"
[ "$(readlink "/proc/$NODE_AGENT/ns/pid")" = "$(readlink "/proc/$init/ns/pid")" ] ||
	fail "the agent is not in the node's pid namespace"
wait_for "grep -q '^connected' '$node/.status'" 60 || fail "the mount did not reconnect"
[ -e "$node/.host" ] && fail ".host listed to an identity without exec_node"

# A start there anyway (uid:0 on the Unix socket): refused with a reason,
# audited as a refusal.
sid=$(new_sid)
exec_json "$TESTDIR/n1.req" container='".host"' argv='["true"]'
h2req --timeout 60 --exec "$TESTDIR/n1.req" "$sid" >"$TESTDIR/n1.rep" || true
grep -q 'uid:0 may not exec_node in .host/.host/.host' "$TESTDIR/n1.rep" ||
	fail "start in .host without exec_node: $(cat "$TESTDIR/n1.rep")"
grep -q 'denied: uid:0 may not exec_node' "$TESTDIR/agent.log" ||
	fail "the agent log does not say why .host was refused"
log "--host-exec without exec_node: not listed, a start refused with its reason"

# Granted to the client: listed (on the reload), and a session is the node's.
write_policy '{"rules": [
   {"principals": ["'$client_id'"], "actions": ["exec", "exec_privileged", "exec_node"]},
   {"principals": ["uid:0"], "actions": ["exec", "exec_privileged"]}
 ]}'
kill -HUP "$NODE_AGENT"
wait_for "[ -d '$node/.host' ]" 60 || fail ".host not listed after exec_node was granted"
host=$node/.host
for f in ctl stdin stdout stderr status wait clone info; do
	[ -e "$host/$f" ] || fail "no $host/$f"
done
assert_match '"host": true' "$(cat "$host/info")" "info of .host"
assert_match '"naming": "node"' "$(cat "$host/info")" "naming of .host"
listing=$(ls "$node")
grep -qx .host <<<"$listing" && fail "ls without -a shows .host"
listing=$(ls -a "$node")
grep -qx .host <<<"$listing" || fail "ls -a does not show .host"

run() {
	printf '%s\n' "$@" >"$host/ctl"
	read_file "$host/stdout"
	assert_eq 'exited 0' "$(read_file "$host/wait")" "$* in .host"
}
# node_checks WHERE: a session in .host is the node's.
node_checks() {
	local ns status
	assert_eq "$nodename" "$(run hostname)" "hostname in .host ($1)"
	assert_eq node "$(run "cat $mark/who")" "the node's tmpfs in .host ($1)"
	# shellcheck disable=SC2012 # the same command on both sides
	assert_eq "$(ls "/proc/$init/root" | tr '\n' ' ')" \
		"$(run 'ls /proc/1/root' | tr '\n' ' ')" "/proc/1/root in .host ($1)"
	assert_eq 0 "$(run 'id -u')" "uid in .host ($1)"
	for ns in cgroup ipc mnt net pid uts user; do
		assert_eq "$(readlink "/proc/$init/ns/$ns")" \
			"$(run "readlink /proc/self/ns/$ns")" "namespace $ns in .host ($1)"
	done
	assert_eq "$(cat "/proc/$init/cgroup")" "$(run 'cat /proc/self/cgroup')" \
		"cgroups in .host ($1)"
	status=$(run 'cat /proc/self/status')
	assert_match 'NoNewPrivs:[[:space:]]0' "$status" "no_new_privs in .host ($1)"
	assert_match 'Seccomp:[[:space:]]0' "$status" "seccomp in .host ($1)"
	assert_eq "$(grep '^CapEff:' "/proc/$NODE_AGENT/status")" \
		"$(grep '^CapEff:' <<<"$status")" "capabilities in .host ($1)"
}
node_checks pod
# A named host user, from the node's /etc/passwd.
daemon_uid=$(getent passwd daemon | cut -d: -f3)
[ -n "$daemon_uid" ] || fail "no user daemon on this host"
# shellcheck disable=SC2016 # expanded in the node
assert_eq "$daemon_uid daemon" \
	"$(run 'user daemon' 'exec sh -c "echo $(id -u) $(id -un)"')" "user daemon in .host"
log "agent in a pod, --host-exec, exec_node: hostname, mounts, namespaces, cgroups, root, user daemon"

# uid:0 is still refused after the reload.
sid=$(new_sid)
h2req --timeout 60 --exec "$TESTDIR/n1.req" "$sid" >"$TESTDIR/n2.rep" || true
grep -q 'may not exec_node' "$TESTDIR/n2.rep" ||
	fail "uid:0 in .host after the reload: $(cat "$TESTDIR/n2.rep")"
stop_pid "$NODE_AGENT" node-agent
agent_stop

python3 - "$audit" "$client_id" <<'PY' || fail "audit file check failed"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
def node(l):
    c = l.get("container")
    return c == ".host" or (isinstance(c, dict) and c.get("id") == ".host")
starts = [l for l in lines if node(l) and l.get("event") == "start"]
denied = [l for l in lines if node(l) and l.get("event") == "denied"]
assert starts, "no start line for .host"
for l in starts:
    assert l["identity"] == "uri:" + sys.argv[2], l
    assert l["container"]["namespace"] == ".host", l
assert any(l["identity"] == "uid:0" and "exec_node" in l.get("reason", "")
           for l in denied), denied
print("audit: %d starts and %d refusals in .host" % (len(starts), len(denied)))
PY
log "audit: the node's sessions and refusals"

# ---- --host-exec, the agent on the node itself ---------------------------------
node_agent_start --host-exec "${tls_args[@]}"
wait_for "grep -q '^connected' '$node/.status'" 60 || fail "the mount did not reconnect"
wait_for "[ -d '$node/.host' ]" 60 || fail ".host not listed (agent on the node)"
node_checks node
# execfs exec takes the same path.
out=$("$EXECFS_BUILD_DIR/execfs" exec -i=false "$host" -- hostname) ||
	fail "execfs exec $host: $out"
assert_eq "$nodename" "$out" "execfs exec in .host"
mount_stop "$mnt"
stop_pid "$NODE_AGENT" node-agent
agent_stop
log "agent on the node: .host as well, through execfs exec too"
