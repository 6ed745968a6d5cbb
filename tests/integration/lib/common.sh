# shellcheck shell=bash
# Shared by every integration test: source it first, as
#     . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# It gives the test
#   - strict mode (set -Eeu -o pipefail) and a line number on an unexpected failure;
#   - TESTDIR, a fresh directory under /tmp (removed on success; kept when the
#     test failed or EXECFS_KEEP_TMP=1);
#   - a cleanup stack (cleanup_push) run in reverse order on EXIT, INT and TERM;
#   - fail, assert_eq, assert_match, wait_for, read_file (a read with a timeout),
#     fuse_blocked (a process waits in a FUSE request);
#   - fusectl_ensure (the fusectl file system, which a fresh machine lacks);
#   - a watchdog that ends the test after EXECFS_TEST_TIMEOUT seconds (default
#     840, below ctest's 900) even when it is stuck in a blocked FUSE read;
#   - daemon logs (log_register) printed when the test fails, and scanned for
#     sanitizer reports, which fail the test;
# and sources the other files of lib/ (rootfs, containers, certs, agent, mount).
#
# Environment: EXECFS_SOURCE_DIR (default: this checkout), EXECFS_BUILD_DIR
# (default: $EXECFS_SOURCE_DIR/build), both set by ctest.

# shellcheck source-path=SCRIPTDIR
set -Eeu -o pipefail

EXECFS_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXECFS_SOURCE_DIR=${EXECFS_SOURCE_DIR:-$(cd "$EXECFS_LIB_DIR/../../.." && pwd)}
EXECFS_BUILD_DIR=${EXECFS_BUILD_DIR:-$EXECFS_SOURCE_DIR/build}
export EXECFS_SOURCE_DIR EXECFS_BUILD_DIR

TEST_NAME=$(basename "$0" .sh)
TEST_MAIN_PID=$$

# Daemons we start report sanitizer findings in their logs (and abort);
# keep the options unless the caller chose others.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:print_summary=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

_cleanup_stack=()
_cleanup_done=0
_cleanup_failed=0
_final_rc=0
_logs=()
_watchdog_pid=

log() {
	printf '[%s %s] %s\n' "$(date +%T.%3N)" "$TEST_NAME" "$*" >&2
}

# fail MSG...: the test failed; the EXIT trap cleans up and prints the logs.
fail() {
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 1
}

# cleanup_fail MSG...: fail from a cleanup helper: in the test's body, as
# fail; while the cleanup runs, the test fails at its end, and the rest of
# the cleanup still runs.
cleanup_fail() {
	[ "$_cleanup_done" = 1 ] || fail "$@"
	printf 'FAIL: %s: %s\n' "$TEST_NAME" "$*" >&2
	_cleanup_failed=1
}

# skip MSG...: the test cannot run here (ctest reports it as skipped).
skip() {
	printf 'SKIP: %s: %s\n' "$TEST_NAME" "$*" >&2
	exit 77
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: expected [$1], got [$2]"
	fi
}

# assert_match REGEX ACTUAL [WHAT]   (bash extended regex)
assert_match() {
	if ! [[ $2 =~ $1 ]]; then
		fail "${3:-value}: [$2] does not match /$1/"
	fi
}

# wait_for CMD [TIMEOUT]: evaluate the shell command CMD every 0.1 s until it
# succeeds (return 0) or TIMEOUT seconds (default 60) have passed (return 1,
# with a line saying what it waited for). A timeout only ends a test that
# failed: make it generous (a busy or slow machine must pass), never a
# measure of speed.
#     wait_for "[ -d '$dir' ]" 60 || fail "no $dir"
wait_for() {
	local cmd=$1 timeout=${2:-60} deadline
	deadline=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(date +%s%N)" -ge "$deadline" ]; then
			log "wait_for: gave up after $timeout s waiting for: $cmd"
			return 1
		fi
		sleep 0.1
	done
}

# read_file FILE [TIMEOUT]: print FILE's contents; fails the test if the read
# takes longer than TIMEOUT seconds (default 60) or fails.
read_file() {
	local rc=0
	timeout -k 2 "${2:-60}" cat -- "$1" || rc=$?
	case $rc in
	0) ;;
	124 | 137) fail "reading $1 did not finish in ${2:-60} s" ;;
	*) fail "reading $1 failed (status $rc)" ;;
	esac
}

# fuse_blocked PID: succeed if process PID waits for an answer of a FUSE file
# system (a read parked at a stream's tail, a held poll): its kernel wait
# channel says so. For "the reader is blocked before the event", instead of
# a guessed sleep:
#     wait_for "fuse_blocked $pid" 60 || fail "the reader never blocked"
fuse_blocked() {
	[ "$(cat "/proc/$1/wchan" 2>/dev/null)" = request_wait_answer ]
}

# cleanup_push CMD: run the shell command CMD at exit (last pushed runs first).
cleanup_push() {
	_cleanup_stack+=("$1")
}

# log_register NAME FILE: print FILE if the test fails; scan it for sanitizer
# reports at the end.
log_register() {
	_logs+=("$1=$2")
}

_print_logs() {
	local entry name file
	for entry in ${_logs[@]+"${_logs[@]}"}; do
		name=${entry%%=*}
		file=${entry#*=}
		[ -s "$file" ] || continue
		printf '\n----- %s (%s), last 200 lines -----\n' "$name" "$file" >&2
		tail -n 200 "$file" >&2 || true
	done
	if [ -s "$TESTDIR/watchdog.log" ]; then
		printf '\n----- watchdog -----\n' >&2
		cat "$TESTDIR/watchdog.log" >&2 || true
	fi
}

_sanitizer_findings() {
	local entry file found=1
	for entry in ${_logs[@]+"${_logs[@]}"}; do
		file=${entry#*=}
		[ -f "$file" ] || continue
		if grep -Eq 'ERROR: (Address|Leak|Undefined|Thread)Sanitizer|runtime error:' "$file"; then
			printf 'FAIL: %s: sanitizer report in %s\n' "$TEST_NAME" "$file" >&2
			found=0
		fi
	done
	return $found
}

_cleanup_run() {
	local i rc=$1
	[ "$_cleanup_done" = 0 ] || return "$_final_rc"
	_cleanup_done=1
	trap - ERR
	set +e
	if [ -n "$_watchdog_pid" ]; then
		kill "$_watchdog_pid" 2>/dev/null
		wait "$_watchdog_pid" 2>/dev/null
	fi
	for ((i = ${#_cleanup_stack[@]} - 1; i >= 0; i--)); do
		eval "${_cleanup_stack[i]}" </dev/null
	done
	_fusectl_release
	if _sanitizer_findings || [ "$_cleanup_failed" = 1 ]; then
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		_print_logs
		printf '\n%s: FAILED (status %s); files kept in %s\n' "$TEST_NAME" "$rc" "$TESTDIR" >&2
	elif [ "${EXECFS_KEEP_TMP:-0}" = 1 ]; then
		[ "$rc" -ne 0 ] || printf '%s: PASSED\n' "$TEST_NAME" >&2
		printf '%s: files kept in %s\n' "$TEST_NAME" "$TESTDIR" >&2
	else
		# --one-file-system: never descend into a mount that outlived us.
		rm -rf --one-file-system "$TESTDIR"
		[ "$rc" -ne 0 ] || printf '%s: PASSED\n' "$TEST_NAME" >&2
	fi
	_final_rc=$rc
	return "$rc"
}

_on_exit() {
	local rc=$?
	_cleanup_run "$rc"
	exit $?
}

_on_signal() {
	printf '%s: interrupted by SIG%s\n' "$TEST_NAME" "$1" >&2
	_cleanup_run 1
	exit 1
}

_on_err() {
	local rc=$?
	printf 'FAIL: %s: line %s: "%s" exited %s\n' "$TEST_NAME" "$1" "$2" "$rc" >&2
}

# fusectl_ensure: the fusectl file system mounted on /sys/fs/fuse/connections
# (where a FUSE connection can be aborted and its waiting requests counted).
# Nothing mounts it on a fresh machine; if this test mounts it, the cleanup
# unmounts it again, so no test ever relies on one that ran before.
# Returns 1 if it cannot be mounted.
fusectl_ensure() {
	mountpoint -q /sys/fs/fuse/connections 2>/dev/null && return 0
	[ -d /sys/fs/fuse/connections ] || modprobe fuse 2>/dev/null || true
	mount -t fusectl fusectl /sys/fs/fuse/connections || return 1
	: >"$TESTDIR/fusectl.mounted"
}

_fusectl_release() {
	[ -e "$TESTDIR/fusectl.mounted" ] || return 0
	umount /sys/fs/fuse/connections 2>/dev/null || true
	rm -f "$TESTDIR/fusectl.mounted"
}

# abort_fuse_mounts: abort the FUSE connection of every mount the test made
# (listed in $TESTDIR/mounts), which ends reads blocked in them at once.
abort_fuse_mounts() {
	local mp dev
	[ -f "$TESTDIR/mounts" ] || return 0
	fusectl_ensure || return 0
	while read -r mp; do
		dev=$(mountpoint -d "$mp" 2>/dev/null) || continue
		if [ -w "/sys/fs/fuse/connections/${dev#*:}/abort" ]; then
			echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" || true
		fi
	done <"$TESTDIR/mounts"
}

# The watchdog: after the timeout, unblock the test (abort its mounts, end
# its children) and end it with SIGTERM, so the cleanup still runs before
# ctest's own timeout kills everything.
_watchdog_start() {
	local timeout=${EXECFS_TEST_TIMEOUT:-840}
	(
		set +eE
		trap - ERR
		trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
		sleep "$timeout" >/dev/null 2>&1 &
		sleeper=$!
		wait "$sleeper"
		echo "timeout: the test ran longer than $timeout s (EXECFS_TEST_TIMEOUT)"
		abort_fuse_mounts
		pkill -TERM -P "$TEST_MAIN_PID" 2>/dev/null
		sleep 2
		kill -TERM "$TEST_MAIN_PID" 2>/dev/null
		sleep 5
		pkill -KILL -P "$TEST_MAIN_PID" 2>/dev/null
	) </dev/null >"$TESTDIR/watchdog.log" 2>&1 &
	_watchdog_pid=$!
}

# watchdog_stop: no timeout from here on (a benchmark --hold, which lasts
# until it is told to stop; the EXIT/INT/TERM traps still clean up).
watchdog_stop() {
	[ -n "$_watchdog_pid" ] || return 0
	kill "$_watchdog_pid" 2>/dev/null
	wait "$_watchdog_pid" 2>/dev/null
	_watchdog_pid=
}

if [ "$(id -u)" -ne 0 ]; then
	printf 'SKIP: %s: integration tests need root (runc, mounts)\n' "$TEST_NAME" >&2
	exit 77
fi

TESTDIR=$(mktemp -d "/tmp/execfs-$TEST_NAME.XXXXXX")
export TESTDIR
trap '_on_exit' EXIT
trap '_on_signal INT' INT
trap '_on_signal TERM' TERM
trap '_on_err "$LINENO" "$BASH_COMMAND"' ERR
_watchdog_start
log "test dir $TESTDIR, build dir $EXECFS_BUILD_DIR"

# shellcheck source=rootfs.sh
. "$EXECFS_LIB_DIR/rootfs.sh"
# shellcheck source=containers.sh
. "$EXECFS_LIB_DIR/containers.sh"
# shellcheck source=certs.sh
. "$EXECFS_LIB_DIR/certs.sh"
# shellcheck source=agent.sh
. "$EXECFS_LIB_DIR/agent.sh"
# shellcheck source=mount.sh
. "$EXECFS_LIB_DIR/mount.sh"
