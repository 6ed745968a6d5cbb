#!/bin/bash
# examples/quickstart.sh works as the README says: run it (with its own
# mountpoint and demo id, building into the ctest build dir, so a user's
# quick start is left alone), use the demo container through the files, then
# `quickstart.sh stop` removes the mount, the agent and the container.
# The package step only checks (everything is installed by then).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if [ -f /run/execfs/agent.pid ] && kill -0 "$(cat /run/execfs/agent.pid)" 2>/dev/null; then
	skip "an agent already runs (pid $(cat /run/execfs/agent.pid)); quickstart stop would end it"
fi
if runc state execfs-demo >/dev/null 2>&1; then
	skip "a quick start demo (execfs-demo) runs; its names would clash"
fi

script=$EXECFS_SOURCE_DIR/examples/quickstart.sh
mnt=$TESTDIR/exec
demo=$(container_id demo)
export EXECFS_MOUNT=$mnt EXECFS_DEMO_ID=$demo

# Whatever happens, stop it (and delete the container even if stop fails).
echo "$mnt" >>"$TESTDIR/mounts"
cleanup_push "runc delete -f '$demo' >/dev/null 2>&1"
cleanup_push "bash '$script' stop >>'$TESTDIR/quickstart.log' 2>&1"
log_register quickstart "$TESTDIR/quickstart.log"
log_register "quickstart's execfs" "$EXECFS_BUILD_DIR/quickstart/execfs.log"

log "running $script"
timeout 600 bash "$script" >"$TESTDIR/quickstart.log" 2>&1 ||
	fail "quickstart.sh failed (status $?)"
grep -q 'quickstart.sh stop' "$TESTDIR/quickstart.log" || fail "no stop hint printed"
mountpoint -q "$mnt" || fail "$mnt not mounted"

c=$mnt/$(hostname)/default/demo/shell
grep -qF "echo date > $c/ctl" "$TESTDIR/quickstart.log" || fail "no hint for $c"
(echo date >"$c/ctl") || fail "echo date > ctl failed"
assert_match '[0-9]{2}:[0-9]{2}:[0-9]{2}' "$(read_file "$c/stdout")" "date in the demo"
(echo hostname >"$c/ctl") || fail "echo hostname > ctl failed"
assert_eq demo "$(read_file "$c/stdout")" "hostname of the demo"

log "running it again keeps what runs"
timeout 600 bash "$script" >>"$TESTDIR/quickstart.log" 2>&1 ||
	fail "quickstart.sh (second run) failed"
grep -q 'already runs' "$TESTDIR/quickstart.log" || fail "second run restarted the demo"
grep -q 'mounted already' "$TESTDIR/quickstart.log" || fail "second run remounted"

log "stop"
agent_pid=$(cat /run/execfs/agent.pid 2>/dev/null || true)
timeout 300 bash "$script" stop >>"$TESTDIR/quickstart.log" 2>&1 || fail "quickstart.sh stop failed"
! mountpoint -q "$mnt" 2>/dev/null || fail "$mnt still mounted after stop"
! runc state "$demo" >/dev/null 2>&1 || fail "demo container still there after stop"
if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
	fail "agent (pid $agent_pid) still runs after stop"
fi
