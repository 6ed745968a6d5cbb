#!/bin/bash
# Confinement parity with each runtime's own exec: the probe of
# lib/runtimes.sh (ids, groups, capabilities, no_new_privs, seccomp, LSM
# label, oom_score_adj, rlimits, cgroups, namespaces, cwd, umask,
# environment) run in one container of each runtime by the runtime's exec
# (docker exec, ctr tasks exec, CRI ExecSync, podman exec, crun exec) and
# through an execfs mount, compared line by line. Every difference fails
# the test, except the documented ones below, where a runtime's own exec
# CLI departs from the container's config and execfs follows the config
# (as containerd's and CRI's exec do); only those lines may differ, and a
# difference there is logged:
#   - podman-crun, podman-runc: `podman exec` leaves HOSTNAME out of the
#     environment, which the container's process.env has (execfs: present);
#   - crun: bare `crun exec` applies neither the config's noNewPrivileges
#     (NoNewPrivs 0, execfs 1) nor its rlimits (it keeps its caller's
#     NOFILE; execfs the init's).
# docker, containerd and cri must be identical.
# By hand, some of them only:
#     tests/integration/test_runtime_parity.sh [docker] [containerd] [cri]
#         [podman-crun] [podman-runc] [crun]      (default: all of them)
# The diffs are kept in the test directory (parity-NAME.diff).
EXECFS_TEST_TIMEOUT=${EXECFS_TEST_TIMEOUT:-900}
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(docker containerd cri podman-crun podman-runc crun)
wants() {
	local w
	for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
	return 1
}

roots=(--state-root "$CRUN_ROOT" --state-root "$RUNC_WRAP_ROOT")
if wants docker; then
	docker_start
	docker_cmd import "$(rt_busybox_tar)" execfs/busybox:1 >/dev/null || fail "docker import"
	roots+=(--state-root "$DOCKER_STATE_ROOT" --docker-root "$DOCKER_DATA")
fi
if wants containerd || wants cri; then
	containerd_start cri
	rt_docker_archive "$TESTDIR/busybox.tar" execfs.test/busybox:1
	for ns in default k8s.io; do
		ctr_cmd -n "$ns" image import "$TESTDIR/busybox.tar" >/dev/null || fail "ctr image import"
	done
	roots+=(--state-root "$CTRD_RUNC_ROOT/*")
fi
if wants podman-crun || wants podman-runc; then
	podman_setup crun
fi
agent_start "${roots[@]}"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

failed=()
# probe NAME DIR EXEC...: compare; DIR is waited for first. $ALLOW, when
# set, is an ERE of the documented lines (either side) that may differ:
# without them the two probes must be identical.
probe() {
	local name=$1 dir=$2 out
	out=$TESTDIR/parity-$name
	shift 2
	wait_for "[ -d '$dir' ]" 60 || fail "$name: $dir not shown"
	if rt_parity "$dir" "$out" "$@" >"$out.diff"; then
		log "$name: the probe is identical"
	elif [ -n "${ALLOW:-}" ] &&
		diff <(grep -vE "$ALLOW" "$out.runtime") <(grep -vE "$ALLOW" "$out.execfs") >/dev/null; then
		log "$name: the probe is identical but for the documented lines: $(grep -E '^[-+][^-+]' "$out.diff" | tr '\n' ' ')"
	else
		log "$name: the probe differs:"
		cat "$TESTDIR/parity-$name.diff" >&2
		failed+=("$name")
	fi
}

if wants docker; then
	docker_cmd run -d --network none --name probe execfs/busybox:1 /bin/sleep infinity >/dev/null
	probe docker "$N/docker/probe/probe" docker_cmd exec probe
fi
if wants containerd; then
	ctr_cmd -n default run -d --null-io --runc-root "$CTRD_RUNC_ROOT" \
		execfs.test/busybox:1 probe /bin/sleep infinity >/dev/null
	probe containerd "$N/default/probe/probe" ctr_cmd -n default tasks exec --exec-id probe probe
fi
if wants cri; then
	sandbox='{"metadata": {"name": "app-1", "namespace": "prod", "uid": "uid-app-1"}, "hostname": "app-1",
	  "linux": {"security_context": {"namespace_options": {"network": "POD", "pid": "CONTAINER", "ipc": "POD"}}}}'
	cri_run_pod "$sandbox"
	ctr=$(cri_cmd create "$POD_ID" '{"metadata": {"name": "app"}, "image": {"image": "execfs.test/busybox:1"},
	  "command": ["/bin/sleep", "infinity"], "working_dir": "/tmp",
	  "linux": {"security_context": {"run_as_user": {"value": 1000}, "run_as_group": {"value": 1000},
	    "no_new_privs": true, "capabilities": {"drop_capabilities": ["ALL"]}}}}' "$sandbox") ||
		fail "CreateContainer"
	cri_cmd start "$ctr" || fail "StartContainer"
	probe cri "$N/prod/app-1/app" cri_cmd exec "$ctr"
fi
if wants podman-crun; then
	podman_cmd run -d --network none --name probe-crun localhost/execfs-busybox:1 /bin/sleep infinity >/dev/null
	ALLOW='^HOSTNAME=' probe podman-crun "$N/podman/probe-crun/probe-crun" podman_cmd exec probe-crun
fi
if wants podman-runc; then
	PODMAN_RUNTIME=$(rt_runc_wrapper)
	podman_cmd run -d --network none --name probe-runc localhost/execfs-busybox:1 /bin/sleep infinity >/dev/null
	ALLOW='^HOSTNAME=' probe podman-runc "$N/podman/probe-runc/probe-runc" podman_cmd exec probe-runc
fi
if wants crun; then
	rootfs_build
	crun=$(rt_crun_wrapper)
	id=${CONTAINER_PREFIX}probe
	container_bundle "$TESTDIR/bundles/$id" "$ROOTFS" probe
	cleanup_push "'$crun' delete -f '$id' >/dev/null 2>&1"
	"$crun" run -d --bundle "$TESTDIR/bundles/$id" "$id" </dev/null >"$TESTDIR/crun.log" 2>&1 ||
		fail "crun run: $(cat "$TESTDIR/crun.log")"
	ALLOW='^NoNewPrivs:|^Max open files ' probe crun "$N/default/$id/$id" "$crun" exec "$id"
fi

mount_stop "$TESTDIR/mnt"
agent_stop
[ ${#failed[@]} -eq 0 ] || fail "the probe differs for: ${failed[*]} (diffs above and in $TESTDIR)"
