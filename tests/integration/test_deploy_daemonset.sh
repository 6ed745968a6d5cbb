#!/bin/bash
# examples/kubernetes/, run for real on this machine without a cluster: the
# DaemonSet's agent container is run exactly as its manifest says (command,
# args, environment with the downward API resolved, every volume mount),
# with lib/k8s_pod.py and lib/pod.sh, as a kubelet would:
#   - the node: a mount namespace whose /run is its own (the runtime state
#     roots, where the test's runc container lives at containerd's paths)
#     and a network namespace joined to this machine by a veth pair (the
#     node's address is HOST_IP; hostNetwork: the pod shares it);
#   - the pod: cgroups of its own, a cgroup namespace and a mount namespace
#     of its own with the hostPaths bind-mounted where the manifest says,
#     the Secret in cert-manager's shape (tls.crt, tls.key, ca.crt issued as
#     the Certificate resources ask) and the ConfigMap policy as files.
# Then this machine mounts the node over TLS with the client certificate
# from certificates.yaml, checking the agent against the Service's name as
# the manifests say, and runs a session in the runc container: the session
# must be in the container's cgroups although the agent is in a cgroup
# namespace of its own.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

python3 -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
B=$EXECFS_BUILD_DIR
T=$TESTDIR
M=$EXECFS_SOURCE_DIR/examples/kubernetes
NODE=$(hostname)
sub=$((RANDOM % 250 + 1))
HOST_IP=198.18.$sub.2 # the node's address (198.18.0.0/15: test networks)
GW=198.18.$sub.1      # this machine's end of the link

fact() { sed -n "s/^$1=//p" "$T/plan/facts"; }

# ---- the manifests ----------------------------------------------------------------
python3 "$EXECFS_LIB_DIR/k8s_pod.py" "$M" "$NODE" "$HOST_IP" "$T/plan" ||
	fail "the manifests do not describe one agent pod"
for f in hostPID=True hostNetwork=True priorityClassName=system-node-critical \
	tolerates_all=True service_headless=True service_selects_pods=True; do
	assert_eq "${f#*=}" "$(fact "${f%%=*}")" "${f%%=*}"
done
grep -q -- "--listen=$HOST_IP:$(fact service_port)" <(tr '\0' '\n' <"$T/plan/argv") ||
	fail "the agent does not listen on the Service's port at HOST_IP"
grep -q -- "--metrics=127.0.0.1:" <(tr '\0' '\n' <"$T/plan/argv") ||
	fail "the agent serves no loopback --metrics for its probes"
[ "$(wc -l <"$T/plan/probes")" = 2 ] || fail "not two probes: $(cat "$T/plan/probes")"
log "pod: $(tr '\0' ' ' <"$T/plan/argv")"
log "env: $(tr '\0' ' ' <"$T/plan/env")"

# ---- the node: mount and network namespaces -----------------------------------------
unshare --mount --net --propagation private -- bash -c '
	mount -t tmpfs -o mode=755 tmpfs /run && ip link set lo up && touch "$1" && exec sleep infinity' \
	_ "$T/node.ready" &
holder=$!
cleanup_push "kill $holder 2>/dev/null; wait $holder 2>/dev/null"
wait_for "[ -e '$T/node.ready' ]" 60 || fail "the node's namespaces are not up"
node() { nsenter -t "$holder" -m -n -- "$@"; }
veth=xfh$$
ip link add "$veth" type veth peer name "xfn$$"
cleanup_push "ip link del '$veth' 2>/dev/null"
ip link set "xfn$$" netns "$holder"
ip addr add "$GW/30" dev "$veth"
ip link set "$veth" up
node ip addr add "$HOST_IP/30" dev "xfn$$"
node ip link set "xfn$$" up
# The kubelet creates DirectoryOrCreate hostPaths on the node.
while read -r kind src _; do
	[ "$kind" = hostPath ] && node mkdir -p "$src"
done <"$T/plan/mounts"

# A container as containerd's runc shim runs one, at containerd's paths.
rootfs_build
id=${CONTAINER_PREFIX}web
croot=/run/containerd/runc/k8s.io
bundle=/run/containerd/io.containerd.runtime.v2.task/k8s.io/$id
container_bundle "$T/stage" "$ROOTFS" web-1 \
	io.kubernetes.cri.container-type=container \
	io.kubernetes.cri.sandbox-namespace=default \
	io.kubernetes.cri.sandbox-name=web-1 \
	io.kubernetes.cri.container-name=nginx \
	"io.kubernetes.cri.sandbox-id=${CONTAINER_PREFIX}sandbox"
node mkdir -p "$bundle"
node cp "$T/stage/config.json" "$bundle/"
cleanup_push "nsenter -t $holder -m runc --root $croot delete -f $id >/dev/null 2>&1"
node runc --root "$croot" run -d --bundle "$bundle" "$id" </dev/null >"$T/runc.log" 2>&1 ||
	fail "runc run in the node failed: $(cat "$T/runc.log")"
init=$(node runc --root "$croot" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
log "node: $NODE at $HOST_IP, container $id (pid $init) at containerd's paths"

# ---- the pod -------------------------------------------------------------------------
# Its cgroups: one directory per hierarchy, below the test's own.
python3 - "$T/podcg" "pod-$$" <<'PY'
import sys
out, name = sys.argv[1], sys.argv[2]
mine = {}
for line in open("/proc/self/cgroup"):
    _, ctrls, path = line.rstrip("\n").split(":", 2)
    mine[ctrls] = path
dirs = []
for line in open("/proc/self/mountinfo"):
    f = line.split()
    fstype = f[f.index("-") + 1]
    if fstype == "cgroup2":
        key = ""
    elif fstype == "cgroup":
        opts = f[f.index("-") + 3].split(",")
        key = ",".join(o for o in opts if o not in ("rw", "ro")
                       and not o.startswith(("release_agent", "clone_children")))
    else:
        continue
    for ctrls, path in mine.items():
        if ctrls == key or (key and set(ctrls.split(",")) == set(key.split(","))):
            dirs.append(f[4] + path.rstrip("/") + "/" + name)
open(out, "w").write("\n".join(dirs) + "\n")
PY
while read -r d; do
	mkdir "$d"
	cleanup_push "rmdir '$d' 2>/dev/null"
	if [ -e "$d/cpuset.cpus" ]; then # a new cpuset has no CPUs
		cat "$(dirname "$d")/cpuset.cpus" >"$d/cpuset.cpus"
		cat "$(dirname "$d")/cpuset.mems" >"$d/cpuset.mems"
	fi
done <"$T/podcg"

log_register "agent pod" "$T/pod.log"
node bash "$EXECFS_LIB_DIR/pod.sh" "$T/plan" "$T" "$B/execfs-agent" "$T/podcg" \
	</dev/null >"$T/pod.log" 2>&1 &
podwrap=$!
# The agent is not the test's child (nsenter, unshare --fork are between).
pod_stop() {
	local pid
	pid=$(cat "$T/pod.pid" 2>/dev/null) || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	wait_for "! kill -0 $pid" 60 || kill -KILL "$pid" 2>/dev/null
	wait "$podwrap" 2>/dev/null
}
cleanup_push pod_stop
wait_for "[ -s '$T/pod.pid' ]" 60 || fail "the pod did not start: $(cat "$T/pod.log")"
pod=$(cat "$T/pod.pid")
wait_for "! kill -0 $pod || port_open $HOST_IP $(fact service_port)" 60 ||
	fail "the agent does not accept on $HOST_IP:$(fact service_port)"
kill -0 "$pod" 2>/dev/null || fail "the agent exited: $(tail -5 "$T/pod.log")"
[ "$(readlink "/proc/$pod/ns/cgroup")" != "$(readlink /proc/self/ns/cgroup)" ] ||
	fail "the agent is not in a cgroup namespace of its own"
grep -q "pod-$$" "/proc/$pod/cgroup" || fail "the agent is not in the pod's cgroups"
assert_eq "0::/" "$(nsenter -t "$pod" -C cat "/proc/$pod/cgroup" | grep '^0::')" \
	"the agent's own view of its cgroup (v2)"
log "pod: agent pid $pod in its own cgroup and mount namespaces, listening on $HOST_IP"

# As the kubelet probes: from the node's network (the pod's, with
# hostNetwork), at the probe's host.
while read -r kind path port host; do
	code=$(nsenter -t "$pod" -n python3 -c 'import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except Exception as e:
    print(getattr(e, "code", e))' "http://$host:$port$path")
	assert_eq 200 "$code" "$kind $path"
done <"$T/plan/probes"
log "probes answer 200"

# ---- a client from outside: the admin certificate, the Service's name -------------
python3 - "$T/execfs.json" "$NODE" "$HOST_IP:$(fact service_port)" \
	"$(cat "$T/plan/server_name")" "$T/plan/client" <<'PY'
import json, sys
path, node, addr, name, d = sys.argv[1:6]
json.dump({"nodes": [{"name": node, "address": addr, "server_name": name}],
           "ca": d + "/ca.crt", "cert": d + "/tls.crt", "key": d + "/tls.key"},
          open(path, "w"), indent=2)
PY
MOUNT_NODE=$NODE mount_start "$T/mnt" --config "$T/execfs.json"
c=$T/mnt/$NODE/default/web-1/nginx
wait_for "[ -d '$c' ]" 60 || fail "the container does not appear: $(cat "$T/mnt/$NODE/.status")"
if ! echo 'cat /proc/self/cgroup' >"$c/ctl" 2>"$T/ctl.err"; then
	fail "a session cannot be placed in the container's cgroups from inside the agent's cgroup namespace: $(read_file "$c/status")"
fi
assert_eq "exited 0" "$(read_file "$c/wait")" "the session"
read_file "$c/stdout" | sort >"$T/session.cgroup"
sort "/proc/$init/cgroup" >"$T/init.cgroup"
diff "$T/init.cgroup" "$T/session.cgroup" >&2 ||
	fail "the session is not in its container's cgroups (above: the container's init < > the session)"
echo 'sh -c "echo hello from $(hostname)"' >"$c/ctl"
assert_eq "hello from web-1" "$(read_file "$c/stdout")" "a session's output"
log "over TLS as spiffe://execfs.example/admin: a session in the container's cgroups"
