# shellcheck shell=bash
# Real runc containers for the tests, named like containerd's CRI names them.
#
#   container_bundle DIR ROOTFS HOSTNAME [KEY=VALUE...]
#       write DIR/config.json (from `runc spec`): read-only ROOTFS, a tmpfs on
#       /tmp, hostname HOSTNAME, process `sleep infinity` without a terminal,
#       and the given annotations. Needs no test state (quickstart uses it).
#       CONTAINER_SPEC_PATCH, when set, is a JSON merge patch (RFC 7386:
#       objects merge key by key, null deletes, anything else replaces)
#       applied last, for any other setting: seccomp, rlimits, oomScoreAdj,
#       user and umask, capabilities, ... e.g.
#         CONTAINER_SPEC_PATCH='{"process": {"oomScoreAdj": 500}}'
#   container_start ID NAMESPACE POD NAME [KEY=VALUE...]
#       start container $CONTAINER_PREFIX$ID (sets CONTAINER_ID) under
#       $RUNC_ROOT, annotated as a CRI container in NAMESPACE/POD/NAME, with
#       hostname POD; extra annotations as KEY=VALUE. Deleted at exit.
#   container_start_sandbox ID NAMESPACE POD [KEY=VALUE...]
#       likewise, annotated as the pod's sandbox (pause), which execfs hides.
#   container_confined_patch NNP
#       print a CONTAINER_SPEC_PATCH that confines the process as the
#       confinement tests need: a seccomp profile (unshare and mount: EPERM),
#       rlimits (NOFILE 256/512, NPROC 77), oomScoreAdj 500, umask 0027,
#       user 1000:1000 with groups 5 and 6, five capabilities, and
#       noNewPrivileges NNP (true or false).
#   container_delete ID     runc delete -f it now.
#   container_id ID         print the full id.
#   container_pid ID        print its init pid.
#
# RUNC_ROOT is per test ($TESTDIR/runc), so the agent sees only the test's
# containers; set RUNC_ROOT=/run/runc for one call to use runc's default root
# (ids still carry the unique prefix, and cleanup uses the root in force).

if [ -n "${TESTDIR:-}" ]; then
	RUNC_ROOT=${RUNC_ROOT:-$TESTDIR/runc}
	# Unique per test run: the test's pid and a random number.
	CONTAINER_PREFIX=${CONTAINER_PREFIX:-execfs-t$$-$RANDOM-}
fi

_CONTAINERS_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

container_bundle() {
	local dir=$1 rootfs=$2 hostname=$3
	shift 3
	mkdir -p "$dir"
	rm -f "$dir/config.json"
	runc spec --bundle "$dir"
	python3 "$_CONTAINERS_LIB/bundle.py" "$dir/config.json" "$rootfs" "$dir" \
		"$hostname" "$@"
}

container_id() {
	printf '%s%s\n' "$CONTAINER_PREFIX" "$1"
}

# _container_run ID HOSTNAME ANNOTATIONS...
_container_run() {
	local id=$CONTAINER_PREFIX$1 hostname=$2 bundle rc=0
	shift 2
	[ -n "${ROOTFS:-}" ] || rootfs_build
	bundle=$TESTDIR/bundles/$id
	container_bundle "$bundle" "$ROOTFS" "$hostname" "$@"
	mkdir -p "$RUNC_ROOT"
	cleanup_push "runc --root '$RUNC_ROOT' delete -f '$id' >/dev/null 2>&1"
	# -d: runc exits once the container runs; the container keeps runc's
	# stdio, so it gets a file, never a pipe someone waits on.
	runc --root "$RUNC_ROOT" run -d --bundle "$bundle" "$id" \
		</dev/null >"$TESTDIR/runc-$id.log" 2>&1 || rc=$?
	if [ $rc -ne 0 ]; then
		cat "$TESTDIR/runc-$id.log" >&2
		fail "runc run $id failed (status $rc)"
	fi
	# shellcheck disable=SC2034 # used by the caller
	CONTAINER_ID=$id
	log "container $id running (root $RUNC_ROOT)"
}

container_start() {
	local id=$1 ns=$2 pod=$3 name=$4
	shift 4
	_container_run "$id" "$pod" \
		io.kubernetes.cri.container-type=container \
		"io.kubernetes.cri.sandbox-namespace=$ns" \
		"io.kubernetes.cri.sandbox-name=$pod" \
		"io.kubernetes.cri.container-name=$name" \
		"io.kubernetes.cri.sandbox-id=${CONTAINER_PREFIX}sandbox-$pod" \
		"$@"
}

container_start_sandbox() {
	local id=$1 ns=$2 pod=$3
	shift 3
	_container_run "$id" "$pod" \
		io.kubernetes.cri.container-type=sandbox \
		"io.kubernetes.cri.sandbox-namespace=$ns" \
		"io.kubernetes.cri.sandbox-name=$pod" \
		"io.kubernetes.cri.sandbox-id=$CONTAINER_PREFIX$id" \
		"$@"
}

container_confined_patch() {
	local caps='["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID"]'
	printf '%s\n' '{
  "process": {
    "noNewPrivileges": '"$1"',
    "user": {"uid": 1000, "gid": 1000, "additionalGids": [5, 6], "umask": 23},
    "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
                {"type": "RLIMIT_NPROC", "soft": 77, "hard": 77}],
    "oomScoreAdj": 500,
    "capabilities": {"bounding": '"$caps"', "effective": '"$caps"',
                     "permitted": '"$caps"', "inheritable": [], "ambient": []}},
  "linux": {"seccomp": {
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["unshare", "mount"], "action": "SCMP_ACT_ERRNO",
                  "errnoRet": 1}]}}}'
}

container_delete() {
	runc --root "$RUNC_ROOT" delete -f "$CONTAINER_PREFIX$1"
}

container_pid() {
	runc --root "$RUNC_ROOT" state "$CONTAINER_PREFIX$1" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}
