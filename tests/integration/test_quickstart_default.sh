#!/bin/bash
# The no-config default: `execfs MOUNTPOINT` with no agent on the default
# socket (/run/execfs/agent.sock) starts one itself, which discovers runc's
# default root /run/runc. The test starts a container there (unique id and
# pod name, deleted at the end) and stops the auto-started agent (its pid is
# in /run/execfs/agent.pid) at the end.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

sock=/run/execfs/agent.sock
pidfile=/run/execfs/agent.pid

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
	skip "an agent already runs (pid $(cat "$pidfile")); this test needs none"
fi
if [ -S "$sock" ] && unix_socket_open "$sock"; then
	skip "something already listens on $sock; this test needs nothing there"
fi

# stop_default_agent: stop the agent execfs started (not our child: poll).
stop_default_agent() {
	local pid i
	pid=$(cat "$pidfile" 2>/dev/null) || return 0
	{ [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || return 0
	kill -TERM "$pid"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "auto-started agent (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Leave /run/execfs as a first run finds it.
	rm -f "$pidfile" "$sock"
}

rootfs_build
pod=qs-$$
RUNC_ROOT=/run/runc container_start qs default "$pod" shell
cleanup_push stop_default_agent
log_register "auto-started agent" /run/execfs/agent.log

node=$(hostname)
MOUNT_NODE=$node mount_start "$TESTDIR/mnt"
[ -S "$sock" ] || fail "execfs did not start an agent on $sock"
{ [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")"; } ||
	fail "no live agent pid in $pidfile"
log "auto-started agent: pid $(cat "$pidfile")"

c=$TESTDIR/mnt/$node/default/$pod/shell
wait_for "[ -d '$c' ]" 60 || fail "container in /run/runc not shown as $c"
(echo hostname >"$c/ctl") || fail "echo hostname > ctl failed"
assert_eq "$pod" "$(read_file "$c/stdout")" "hostname inside the container"
assert_eq "exited 0" "$(read_file "$c/wait")" "wait"
