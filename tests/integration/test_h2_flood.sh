#!/bin/bash
# HTTP/2 abuse: floods of PINGs, SETTINGS, stream resets, huge
# and endless header blocks, and thousands of open streams from a hostile
# client leave the agent alive, serving a normal mount, with bounded memory.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

container_start web default web-1 nginx
agent_start
mnt=$TESTDIR/mnt
mount_start "$mnt" --agent "unix:$AGENT_SOCK"
web=$mnt/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$web' ]" 60 || fail "container did not appear"

# The worker is the process that parses the floods (AGENT_PID is the
# privileged monitor, which never sees them).
worker=$(agent_worker_pid)
rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$worker/status"
}
works() {
	echo "echo alive-$1" >"$web/ctl" || fail "exec failed after $1"
	assert_eq "alive-$1" "$(read_file "$web/stdout")" "session after $1"
}

works start
base=$(rss_kib)
for kind in ping settings reset headers continuation streams; do
	count=200000
	case $kind in
	headers) count=2000 ;;
	streams) count=20000 ;;
	continuation) count=100000 ;;
	esac
	out=$(timeout 600 python3 "$EXECFS_LIB_DIR/h2flood.py" "$AGENT_SOCK" \
		"$kind" "$count") || fail "flood $kind did not finish"
	log "$out; agent RSS $(rss_kib) KiB"
	kill -0 "$worker" 2>/dev/null || fail "agent died in the $kind flood"
	works "$kind"
done
peak=$(rss_kib)
log "agent RSS: $base KiB before, $peak KiB after all floods"
# Bounded: a flood may cost a connection's worth of buffers, not a
# queue per frame (200,000 queued PING acks would be several MiB, and
# under ASan each allocation costs far more).
limit=$((base + 64 * 1024))
if [ "${EXECFS_SANITIZE:-0}" = 1 ]; then
	# AddressSanitizer's redzones and its quarantine of freed memory
	# (ASAN_OPTIONS quarantine_size_mb, 256 MiB by default) are not ours.
	limit=$((base + 320 * 1024))
fi
[ "$peak" -le "$limit" ] || fail "agent grew from $base to $peak KiB"
grep -q 'connection from uid:0 closed' "$TESTDIR/agent.log" ||
	fail "no flood connection was dropped"
