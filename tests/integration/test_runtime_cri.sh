#!/bin/bash
# Kubernetes pods through containerd's CRI plugin, driven by a small gRPC
# client (tests/tools/cri) as the kubelet would: a pod with its own network
# (a CNI bridge on a link-local range, no gateway), a host-network pod (no
# hostname of its own) and a pod whose container runs as a non-root user
# with no_new_privs and every capability dropped. Each container appears as
# <namespace>/<pod>/<container> (sandboxes hidden), runs a session as the
# CRI's ExecSync does, and disappears with its pod; containerd and the CNI
# leave nothing mounted.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

containerd_start cri
archive=$TESTDIR/busybox-archive.tar
rt_docker_archive "$archive" execfs.test/busybox:1
ctr_cmd -n k8s.io image import "$archive" >/dev/null || fail "ctr image import"

agent_start --state-root "$CTRD_RUNC_ROOT/*"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

# pod NS NAME NETWORK(POD|NODE): a sandbox config (JSON)
pod_config() {
	local host=",\"hostname\": \"$2\""
	[ "$3" = POD ] || host="" # a host-network pod keeps the node's
	printf '{"metadata": {"name": "%s", "namespace": "%s", "uid": "uid-%s-%s"}%s,
	  "linux": {"security_context": {"namespace_options": {"network": "%s", "pid": "CONTAINER", "ipc": "POD"}}}}' \
		"$2" "$1" "$1" "$2" "$host" "$3"
}

# run_pod NS NAME NETWORK CONTAINER [SECURITY_CONTEXT_JSON]: sets POD_ID and
# CTR_ID.
run_pod() {
	local sandbox ctr sc=${5:-"{}"}
	sandbox=$(pod_config "$1" "$2" "$3")
	cri_run_pod "$sandbox"
	ctr=$(printf '{"metadata": {"name": "%s"}, "image": {"image": "execfs.test/busybox:1"},
	  "command": ["/bin/sleep", "infinity"], "envs": [{"key": "POD_NAME", "value": "%s"}],
	  "linux": {"security_context": %s}}' "$4" "$2" "$sc")
	CTR_ID=$(cri_cmd create "$POD_ID" "$ctr" "$sandbox") || fail "CreateContainer $4"
	cri_cmd start "$CTR_ID" || fail "StartContainer $4"
	log "pod $1/$2 ($3 network): sandbox $POD_ID, container $4 $CTR_ID"
}

run_pod prod web-1 POD nginx
web_pod=$POD_ID
web=$CTR_ID
wait_for "[ -d '$N/prod/web-1/nginx' ]" 60 ||
	fail "prod/web-1/nginx not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
assert_eq "nginx" "$(ls "$N/prod/web-1")" "containers of prod/web-1 (the sandbox hidden)"
rt_same_as "$N/prod/web-1/nginx" cri_cmd exec "$web"
assert_eq "web-1" "$(exec_probe "$N/prod/web-1/nginx" hostname)" "the pod's hostname"
assert_match "inet 169\.254\.213\." "$(exec_probe "$N/prod/web-1/nginx" ip -4 addr show eth0)" \
	"the pod's address on the test bridge"
assert_eq "kubernetes" "$(jq -r .naming "$N/prod/web-1/nginx/info")" "naming"
log "pod network ok"

run_pod kube-system hostnet-1 NODE agent
hostnet=$CTR_ID
wait_for "[ -d '$N/kube-system/hostnet-1/agent' ]" 60 ||
	fail "kube-system/hostnet-1/agent not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$N/kube-system/hostnet-1/agent" cri_cmd exec "$hostnet"
assert_eq "$(hostname)" "$(exec_probe "$N/kube-system/hostnet-1/agent" hostname)" \
	"a host-network pod's hostname is the node's"
assert_eq "true" "$(jq -r .privileged "$N/kube-system/hostnet-1/agent/info")" \
	"a host-network pod is privileged in execfs's terms"
log "host network ok"

run_pod prod app-1 POD app '{"run_as_user": {"value": 1000}, "run_as_group": {"value": 1000},
  "no_new_privs": true, "capabilities": {"drop_capabilities": ["ALL"]}}'
app=$CTR_ID
d=$N/prod/app-1/app
wait_for "[ -d '$d' ]" 60 || fail "prod/app-1/app not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$d" cri_cmd exec "$app"
status_lines='^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):'
assert_eq "$(cri_cmd exec "$app" grep -E "$status_lines" /proc/self/status)" \
	"$(exec_probe "$d" grep -E "$status_lines" /proc/self/status)" \
	"user, groups, capabilities and no_new_privs of prod/app-1/app"
assert_match "^Uid:[[:space:]]+1000" "$(exec_probe "$d" grep ^Uid: /proc/self/status)" "uid"
assert_match "^NoNewPrivs:[[:space:]]+1" "$(exec_probe "$d" grep ^NoNewPrivs: /proc/self/status)" "no_new_privs"
assert_match "^CapEff:[[:space:]]+0+$" "$(exec_probe "$d" grep ^CapEff: /proc/self/status)" "no capabilities"
log "non-root pod ok"

cri_cmd stop-pod "$web_pod" || fail "StopPodSandbox"
cri_cmd rm-pod "$web_pod" || fail "RemovePodSandbox"
wait_for "[ ! -e '$N/prod/web-1' ]" 60 || fail "prod/web-1 still shown after its pod went"
[ -d "$d" ] || fail "prod/app-1/app went with prod/web-1"
log "pod removal followed"

mount_stop "$TESTDIR/mnt"
agent_stop
containerd_stop || fail "containerd left mounts behind"
