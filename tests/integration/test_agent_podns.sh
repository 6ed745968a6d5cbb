#!/bin/bash
# The agent as it runs in a pod of its own (agent/hostns.c, spawner.c):
# in a cgroup namespace of its own whose root is not the containers'
# cgroup, on a cgroup v2 hierarchy mounted with nsdelegate (under which
# the kernel refuses to place a process in a cgroup its namespace cannot
# see), and under a seccomp filter that answers clone3 with ENOSYS (as
# Docker's and containerd's default profiles do). Each way, a session's
# /proc/self/cgroup equals the container init's, seen from inside and
# from the host:
#
#   hybrid    this machine's layout (v1 controllers, v2 at
#             /sys/fs/cgroup/unified), with and without clone3;
#   pure v2   a private mount namespace where a cgroup2 mount covers
#             /sys/fs/cgroup, runc and the agent both in it.
#
# nsdelegate is a flag of the one v2 hierarchy, set or cleared by any
# mount of it from the initial cgroup namespace: the test sets it, checks
# it is still set after each start (another test's mount may clear it),
# and puts it back as it found it.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

T=$TESTDIR
NOCLONE3=$EXECFS_BUILD_DIR/tests/noclone3
if ! [ -d /sys/fs/cgroup/unified ] ||
	[ "$(stat -f -c %T /sys/fs/cgroup/unified)" != cgroup2fs ]; then
	skip "no cgroup v2 at /sys/fs/cgroup/unified (the hybrid layout this test is written for)"
fi

# ---- nsdelegate -------------------------------------------------------------
nsdelegate_on() {
	grep -q ' cgroup2 .*nsdelegate' /proc/self/mountinfo
}
# nsdelegate_set on|off: mount the v2 hierarchy once, in a mount namespace
# of its own that goes away at once; the flag stays.
nsdelegate_set() {
	local opt=()
	[ "$1" = on ] && opt=(-o nsdelegate)
	mkdir -p "$T/cg2"
	unshare -m --propagation private mount -t cgroup2 "${opt[@]}" none "$T/cg2"
}
if nsdelegate_on; then was=on; else was=off; fi
cleanup_push "nsdelegate_set $was"

# in-cgroup.sh V2DIR CMD...: move into V2DIR, then become CMD (so that a
# cgroup namespace CMD makes is rooted there, as a pod's is).
cat >"$T/in-cgroup.sh" <<'SH'
#!/bin/sh
echo $$ >"$1/cgroup.procs" || exit 1
shift
exec "$@"
SH
chmod +x "$T/in-cgroup.sh"

# same_cgroups DIR PID: a session in DIR's container has the cgroups of its
# init (inside: /proc/1's; from the host: PID's), and nsdelegate was on
# meanwhile (1 if it was not).
same_cgroups() {
	local sid n out b
	n=$(grep -c ' started (token' "$T/agent.log" || true)
	sid=$(new_sid)
	rm -f "$T/cg.out" "$T/cg.rep" # the last case's
	exec_json "$T/cg.req" container="\"$1\"" \
		argv='["sh","-c","cat /proc/self/cgroup; echo ==; cat /proc/1/cgroup; echo ==; exec sleep 1000"]'
	h2req --timeout 120 --exec "$T/cg.req" --stdout "$T/cg.out" "$sid" >"$T/cg.rep" &
	wait_for "[ \$(grep -c '^==' '$T/cg.out') = 2 ]" 60 ||
		fail "the session did not start: $(cat "$T/cg.rep" "$T/cg.out" "$T/agent.log")"
	out=$(sed '$d' "$T/cg.out")
	assert_eq "${out#*==$'\n'}" "${out%$'\n'==*}" "the session's cgroups inside"
	b=$(sed -n 's/.*request [0-9]*: pid \([0-9]*\) started.*/\1/p' "$T/agent.log" | sed -n "$((n + 1))p")
	assert_eq "$(cat "/proc/$2/cgroup")" "$(cat "/proc/$b/cgroup")" "the session's cgroups from the host"
	h2req --signal KILL "$sid" >/dev/null
	wait_for "grep -q '^status body' '$T/cg.rep'" 60 || fail "the session did not end"
	nsdelegate_on
}

# run_case NAME DIR PID AGENT_PREFIX...: start the agent under the prefix
# (and with nsdelegate on), check a session, stop it.
run_case() {
	local name=$1 dir=$2 pid=$3 try
	shift 3
	# shellcheck disable=SC2034 # read by agent_start
	AGENT_PREFIX=("$@")
	agent_start --host-cgroupns "/proc/$$/ns/cgroup"
	[ "$(readlink "/proc/$AGENT_PID/ns/cgroup")" = "$(readlink /proc/$$/ns/cgroup)" ] ||
		fail "$name: the agent did not join the host's cgroup namespace"
	for try in 1 2 3; do
		nsdelegate_set on
		if same_cgroups "$dir" "$pid"; then
			break
		fi
		[ $try -lt 3 ] || fail "$name: nsdelegate was cleared under the test three times"
		log "$name: nsdelegate was cleared meanwhile (another test mounted cgroup2): again"
	done
	agent_stop
	log "$name: a session has its container's cgroups"
}

rootfs_build

# ---- hybrid ------------------------------------------------------------------
container_start hyb default hyb-1 box
HYB=$CONTAINER_ID
HYB_PID=$(container_pid hyb)
grep -q '^0::/.' "/proc/$HYB_PID/cgroup" || fail "runc put the container in no v2 cgroup"
POD=/sys/fs/cgroup/unified/execfs-pod-$$
mkdir "$POD"
cleanup_push "rmdir '$POD'"
run_case "hybrid, own cgroup namespace" "$HYB" "$HYB_PID" \
	"$T/in-cgroup.sh" "$POD" unshare --cgroup
grep -q 'clone3 is not available' "$T/agent.log" && fail "clone3 was found missing"
run_case "hybrid, own cgroup namespace, no clone3" "$HYB" "$HYB_PID" \
	"$T/in-cgroup.sh" "$POD" unshare --cgroup "$NOCLONE3"
grep -q 'clone3 is not available (Function not implemented)' "$T/agent.log" ||
	fail "the agent did not see clone3 refused"

# ---- pure v2 -----------------------------------------------------------------
# A mount namespace where /sys/fs/cgroup is one cgroup2 mount, held open by
# a sleeping process; runc (for the containers of RUNC_ROOT_V2) and the
# agent run in it.
unshare -m --propagation private sleep infinity &
V2NS=$!
cleanup_push "kill $V2NS"
wait_for "[ \"\$(readlink /proc/$V2NS/ns/mnt)\" != \"\$(readlink /proc/self/ns/mnt)\" ]" 60 ||
	fail "no private mount namespace"
nsenter -t "$V2NS" -m mount -t cgroup2 -o nsdelegate none /sys/fs/cgroup
RUNC_ROOT_V2=$T/runc-v2
runc() {
	if [[ " $* " == *" $RUNC_ROOT_V2 "* ]]; then
		nsenter -t "$V2NS" -m runc "$@"
	else
		command runc "$@"
	fi
}
RUNC_ROOT_SAVED=$RUNC_ROOT
RUNC_ROOT=$RUNC_ROOT_V2
container_start v2 default v2-1 box
V2=$CONTAINER_ID
V2_PID=$(container_pid v2)
grep -q "^0::/$V2\$" "/proc/$V2_PID/cgroup" || fail "runc made no pure v2 container: $(cat "/proc/$V2_PID/cgroup")"
nsenter -t "$V2NS" -m mkdir "/sys/fs/cgroup/execfs-pod-$$-v2"
cleanup_push "nsenter -t $V2NS -m rmdir /sys/fs/cgroup/execfs-pod-$$-v2"
run_case "pure v2, own cgroup namespace" "$V2" "$V2_PID" \
	nsenter -t "$V2NS" -m "$T/in-cgroup.sh" "/sys/fs/cgroup/execfs-pod-$$-v2" unshare --cgroup
run_case "pure v2, own cgroup namespace, no clone3" "$V2" "$V2_PID" \
	nsenter -t "$V2NS" -m "$T/in-cgroup.sh" "/sys/fs/cgroup/execfs-pod-$$-v2" unshare --cgroup "$NOCLONE3"
RUNC_ROOT=$RUNC_ROOT_SAVED
