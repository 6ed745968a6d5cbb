#!/bin/bash
# Each criterion that makes a container privileged, on a real runc
# container through a real mount over mutual TLS: a container that shares
# the host's pid, ipc, network or uts namespace, restricts no capability,
# holds a dangerous capability (in the bounding set only, or in the
# permitted set only), lets every device through its device cgroup, or
# bind-mounts the host's / is listed, with its reason in `info`, and
# startable only while a rule grants the client exec_privileged; with exec
# alone every one of them leaves the listing (and a start there would be
# refused by the worker and by the monitor, which test_agent_rogue_worker
# forges), while an ordinary container stays.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AGENT_NODE=n1
client_id=spiffe://execfs.test/client
certs_make n1
port=$(free_port)

# The default mounts of `runc spec` plus the test bundle's /tmp, and the
# host's / read-only at /host: a merge patch replaces a list whole.
hostroot_patch=$(cd "$TESTDIR" && mkdir -p spec && cd spec && runc spec &&
	python3 -c '
import json
m = json.load(open("config.json"))["mounts"]
m.append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
          "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]})
m.append({"destination": "/host", "type": "bind", "source": "/",
          "options": ["rbind", "ro"]})
print(json.dumps({"mounts": m}))')
caps='"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"'

rootfs_build

# case_start NAME REASON (a regular expression) [VAR=VALUE...]: start container
# NAME in pod NAME of namespace default with the environment given
# (lib/containers.sh), and remember what its info must say.
names=()
declare -A reasons
case_start() {
	local name=$1 reason=$2
	shift 2
	# shellcheck disable=SC2163 # "$@" holds VAR=VALUE words
	(export "$@" && container_start "$name" default "$name" box) ||
		fail "container $name did not start"
	cleanup_push "runc --root '$RUNC_ROOT' delete -f '$(container_id "$name")' >/dev/null 2>&1"
	names+=("$name")
	reasons[$name]=$reason
}
case_start hostpid "shares the host's pid namespace" \
	CONTAINER_SPEC_PATCH='{"linux": {"namespaces": [{"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]}}'
case_start hostipc "shares the host's ipc namespace" \
	CONTAINER_SPEC_PATCH='{"linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "uts"}, {"type": "mount"}]}}'
case_start hostnet "shares the host's network namespace" CONTAINER_HOST_NET=1
case_start hostuts "shares the host's uts namespace" \
	CONTAINER_SPEC_PATCH='{"hostname": null, "linux": {"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "mount"}]}}'
case_start nocaps "restricts no capability" \
	CONTAINER_SPEC_PATCH='{"process": {"capabilities": null}}'
case_start sysadmin "has CAP_SYS_ADMIN" \
	CONTAINER_SPEC_PATCH='{"process": {"capabilities": {"bounding": ['"$caps"', "CAP_SYS_ADMIN"]}}}'
case_start ptrace "has CAP_SYS_PTRACE" \
	CONTAINER_SPEC_PATCH='{"process": {"capabilities": {"permitted": ['"$caps"', "CAP_SYS_PTRACE"]}}}'
case_start devices "may read or write every device" \
	CONTAINER_SPEC_PATCH='{"linux": {"resources": {"devices": [{"allow": true, "access": "rwm"}]}}}'
case_start hostroot "bind-mounts the host's /" CONTAINER_SPEC_PATCH="$hostroot_patch"
container_start plain default plain box

policy=$TESTDIR/policy.json
write_policy() {
	printf '%s\n' "$1" >"$policy.tmp"
	mv "$policy.tmp" "$policy"
}
write_policy '{"rules": [{"principals": ["'$client_id'"], "actions": ["exec", "exec_privileged"]}]}'
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$policy"
tls_config_write "$TESTDIR/execfs.json" "$port"
mnt=$TESTDIR/mnt
mount_start "$mnt" --config "$TESTDIR/execfs.json"
ns=$mnt/n1/default

# With exec_privileged: each is listed, says why it is privileged, and runs.
for name in "${names[@]}" plain; do
	wait_for "[ -d '$ns/$name/box' ]" 60 || fail "$name did not appear"
done
assert_match '"privileged": *false' "$(read_file "$ns/plain/box/info")" "plain's info"
for name in "${names[@]}"; do
	dir=$ns/$name/box
	info=$(read_file "$dir/info")
	assert_match '"privileged": *true' "$info" "$name's info"
	assert_match "\"privileged_reason\": *\"${reasons[$name]}" "$info" "$name's reason"
	echo "echo ran-$name" >"$dir/ctl" || fail "a start in $name failed"
	assert_eq "ran-$name" "$(read_file "$dir/stdout")" "output of $name"
	assert_match '^exited 0' "$(read_file "$dir/status")" "status of $name"
done
log "with exec_privileged: ${#names[@]} criteria listed with their reason, each ran"

# With exec alone: each privileged one leaves the listing, plain stays.
write_policy '{"rules": [{"principals": ["'$client_id'"], "actions": ["exec"]}]}'
kill -HUP "$AGENT_PID"
for name in "${names[@]}"; do
	wait_for "[ ! -e '$ns/$name' ]" 60 ||
		fail "$name is still listed without exec_privileged"
done
echo 'echo plain-ok' >"$ns/plain/box/ctl" || fail "a start in plain failed"
assert_eq plain-ok "$(read_file "$ns/plain/box/stdout")" "output of plain"
log "with exec alone: every privileged container hidden, plain runs"

mount_stop "$mnt"
agent_stop
