# shellcheck shell=bash
# One agent, one mount and a few containers for the fs and exec tests.
# Not sourced by common.sh: tests source it after it.
#
#   fsenv_start [POD...]   start a container default/POD/box for each POD
#                          (default: web-1), the agent and the mount; sets
#                          NODE (the node directory) and C (the first
#                          container's directory).
#   ctl_write FILE TEXT    printf '%s' TEXT > FILE in a subshell; prints the
#                          shell's error and returns its status (no exit).
#   errno_of_ctl FILE TEXT the strerror text of a failing write, "ok" if it
#                          succeeded.
#   ls_names DIR           entries of DIR, sorted, on one line.
#   execfs_exec ARGS...    run $EXECFS_BUILD_DIR/execfs exec ARGS... with a
#                          timeout (EXEC_TIMEOUT, default 300 s: it only ends
#                          a test that failed).

export AGENT_NODE=${AGENT_NODE:-testnode}

fsenv_start() {
	local pods=("$@") pod
	[ ${#pods[@]} -gt 0 ] || pods=(web-1)
	rootfs_build
	for pod in "${pods[@]}"; do
		container_start "$pod" default "$pod" box
	done
	agent_start
	mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
	NODE=$TESTDIR/mnt/$AGENT_NODE
	C=$NODE/default/${pods[0]}/box
	wait_for "[ -d '$C' ]" 60 || fail "no $C"
}

ctl_write() {
	(printf '%s' "$2" >"$1") 2>&1
}

errno_of_ctl() {
	local out rc=0
	out=$( (printf '%s' "$2" >"$1") 2>&1) || rc=$?
	if [ $rc -eq 0 ]; then
		echo ok
	else
		# "bash: line 1: FILE: Invalid argument" -> "Invalid argument"
		printf '%s\n' "${out##*: }"
	fi
}

execfs_exec() {
	timeout -k 2 "${EXEC_TIMEOUT:-300}" "$EXECFS_BUILD_DIR/execfs" exec "$@"
}

# ls_names DIR: the entries of DIR on one line, sorted (as skeleton.sh's).
ls_names() {
	local out
	out=$(timeout 60 ls -A -- "$1") || fail "ls $1 failed or hung"
	printf '%s\n' "$out" | sort | tr '\n' ' ' | sed 's/ $//'
}
