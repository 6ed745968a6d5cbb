#!/bin/bash
# Bulk data and flow control: 1 GiB of random data through
# stdin -> cat -> stdout arrives with an equal checksum; so do 20 parallel
# sessions of 16 MiB; with nobody reading, a 1 GiB `dd` in the container is
# held back by flow control (both daemons stay small) and a reader that
# comes later gets every byte.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"
# shellcheck source=lib/bulk.sh
. "$EXECFS_LIB_DIR/bulk.sh"

fsenv_start

rss_kib() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}
n=$(read_file "$C/clone")
echo 'dd if=/dev/zero bs=1M count=1024' >"$C/$n/ctl"
# The producer runs into the window: status says it is held back.
wait_for "[ \"\$(cat '$C/$n/status')\" = 'running (stdout full)' ]" 60 ||
	fail "dd with nobody reading was not held back: $(cat "$C/$n/status")"
size=$(stat -c %s "$C/$n/stdout")
fs_rss=$(rss_kib "$MOUNT_PID")
agent_rss=$(rss_kib "$(agent_worker_pid)") # the process that buffers
log "nobody reading: $size bytes received; RSS execfs $fs_rss KiB, agent $agent_rss KiB"
limit=$((64 * 1024))
if [ "${EXECFS_SANITIZE:-0}" = 1 ]; then
	limit=$((512 * 1024)) # shadow memory and quarantine, not ours
fi
[ "$fs_rss" -lt "$limit" ] || fail "execfs RSS $fs_rss KiB with nobody reading"
[ "$agent_rss" -lt "$limit" ] || fail "agent RSS $agent_rss KiB with nobody reading"
[ "$size" -lt $((8 * 1024 * 1024)) ] ||
	fail "$size bytes buffered with nobody reading: flow control did not hold"
# Through a pipe: `wc -c FILE` trusts st_size (the bytes received so far)
# on a regular file and would not read to the end.
got=$(cat "$C/$n/stdout" | wc -c)
assert_eq 1073741824 "$got" "bytes a late reader got"
assert_eq 'exited 0' "$(read_file "$C/$n/wait")" "dd's end"
log "flow control: dd held back while unread, then all 1073741824 bytes"

# Unread sessions hold only their own stream's window, never the
# connection's: 270 of them, each stalled at history + window (67.5 MiB in
# all, more than the connection's 64 MiB window, which they used to hold
# until every stream of the node stopped), leave the connection to
# everyone else, and a new session on the same mount starts and ends at
# once.
stalled=()
for i in $(seq 1 270); do
	k=$(read_file "$C/clone")
	echo 'dd if=/dev/zero bs=1M count=8' >"$C/$k/ctl"
	stalled+=("$k")
done
wait_for "[ \"\$(cat '$C/${stalled[269]}/status')\" = 'running (stdout full)' ]" 60 ||
	fail "an unread dd did not stall: $(cat "$C/${stalled[269]}/status")"
k=$(read_file "$C/clone")
ctl_write "$C/$k/ctl" "echo still here" || fail "a start next to 270 unread sessions"
assert_eq "exited 0" "$(read_file "$C/$k/wait" 60)" "a session next to 270 unread ones"
assert_eq "still here" "$(read_file "$C/$k/stdout")" "its output"
for k in "${stalled[@]}"; do
	ctl_write "$C/$k/ctl" kill || fail "kill $k"
done
log "270 unread sessions: another session still runs at once"

start=$(date +%s%N)
roundtrip "$C" $((1024 * 1024 * 1024)) big
ms=$((($(date +%s%N) - start) / 1000000))
log "1 GiB through stdin -> cat -> stdout: equal checksums (${ms} ms)"

pids=()
for i in $(seq 1 20); do
	roundtrip "$C" $((16 * 1024 * 1024)) "par$i" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a parallel session failed"
done
log "20 parallel sessions of 16 MiB: equal checksums"
