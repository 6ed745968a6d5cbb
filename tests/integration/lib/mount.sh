# shellcheck shell=bash
# The FUSE client under test.
#
#   mount_start MOUNTPOINT [ARGS...]   run
#       $EXECFS_BUILD_DIR/execfs -f [ARGS...] MOUNTPOINT
#     in the background, logging to $TESTDIR/execfs-<basename>.log; waits
#     (20 s) until MOUNTPOINT is mounted and its node directory $MOUNT_NODE
#     exists (default $AGENT_NODE; MOUNT_NODE= waits for the mount only).
#     Sets MOUNT_PID. At exit: fusermount3 -u -z, then the process is stopped.
#   mount_stop MOUNTPOINT              unmount and stop it now.

MOUNT_PID=

mount_start() {
	local mp=$1 bin=$EXECFS_BUILD_DIR/execfs node=${MOUNT_NODE-${AGENT_NODE:-}} log
	shift
	[ -x "$bin" ] || fail "no $bin (build first)"
	mkdir -p "$mp"
	echo "$mp" >>"$TESTDIR/mounts"
	log=$TESTDIR/execfs-$(basename "$mp").log
	log_register "execfs $mp" "$log"
	log "mount: $bin -f $* $mp"
	"$bin" -f "$@" "$mp" </dev/null >>"$log" 2>&1 &
	MOUNT_PID=$!
	cleanup_push "mount_stop '$mp' $MOUNT_PID"
	wait_for "! kill -0 $MOUNT_PID || mountpoint -q '$mp'" 60 ||
		fail "mount: $mp not mounted in 60 s"
	kill -0 "$MOUNT_PID" 2>/dev/null || fail "execfs exited at start"
	if [ -n "$node" ]; then
		wait_for "[ -d '$mp/$node' ]" 60 ||
			fail "mount: no node directory $mp/$node in 60 s (ls: $(find "$mp" -mindepth 1 -maxdepth 1 -printf "%f " 2>&1))"
	fi
	log "mounted $mp (pid $MOUNT_PID)"
}

# mount_stop MOUNTPOINT [PID]
mount_stop() {
	local mp=$1 pid=${2:-$MOUNT_PID}
	if mountpoint -q "$mp" 2>/dev/null; then
		fusermount3 -u -z "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
	fi
	if [ -n "$pid" ]; then
		stop_pid "$pid" execfs
	fi
	[ "$pid" != "$MOUNT_PID" ] || MOUNT_PID=
}
