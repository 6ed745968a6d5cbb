#!/bin/bash
# A compromised worker against the monitor's gates. The worker is
# unprivileged and sandboxed, but one taken over through the network can
# send the monitor any privsep message. tests/tools/rogue_worker runs the
# real monitor code (monitor_run(), linked from the agent library and
# started as execfs-agent starts it) with, in the worker's place, a process
# that forges what the steps say (see the tool's header for why a test
# program and not an agent option: the agent has no test-only way in).
# With real runc containers:
#   - forged starts on a node whose policy says exec_enabled false, into a
#     container whose annotation disables exec, a
#     privileged container with no exec_privileged rule, .host without
#     --host-exec and with it but no exec_node rule, a start bound to
#     another instance (another init pid, none at all, the privileged flag
#     flipped), and a start as root under a run_as of uid:1000-1999: each
#     refused with the monitor's log line and reason (run_as by the
#     entering process itself), a signal for a token never handed out
#     refused; nothing ran in any container (no marker file), and the
#     monitor still answers a ping afterwards. One start the gates allow
#     runs, so the refusals are not the tool's failure.
#   - the monitor hands the worker the policy text it read for its own
#     gates (read once at start).
#   - malformed messages (a SPAWN cut short, six fds, an unknown type, a
#     type only the monitor sends): the monitor fails closed, as designed:
#     it logs why, kills the worker (and every session) and exits 1; the
#     service manager restarts the agent. Nothing ran.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

T=$TESTDIR
ROGUE=$EXECFS_BUILD_DIR/tests/rogue_worker
[ -x "$ROGUE" ] || fail "no $ROGUE (build first)"
container_start ok default ok-1 app
OK=$CONTAINER_ID
container_start off default off-1 app execfs.io/disable-exec=true
OFF=$CONTAINER_ID
CONTAINER_HOST_NET=1 container_start priv default priv-1 app
PRIV=$CONTAINER_ID
printf '%s\n' '{"rules": [{"principals": ["*"], "actions": ["exec"]}]}' >"$T/policy.json"

# rogue NAME [OPTIONS...] -- STEPS...: run the tool; NAME.out its lines,
# NAME.log the monitor's log; its exit status in NAME.rc.
rogue() {
	local name=$1 rc=0
	shift
	timeout 120 "$ROGUE" --state-root "$RUNC_ROOT" --node n1 \
		--policy "$T/policy.json" "$@" >"$T/$name.out" 2>"$T/$name.log" || rc=$?
	echo "$rc" >"$T/$name.rc"
	log "$name: exit $rc; $(tr '\n' ';' <"$T/$name.out")"
}
expect() { grep -qx -- "$2" "$T/$1.out" || fail "$1: no line '$2': $(cat "$T/$1.out" "$T/$1.log")"; }
expect_log() { grep -q -- "$2" "$T/$1.log" || fail "$1: no log line '$2': $(cat "$T/$1.log")"; }

# ---- the gates ---------------------------------------------------------------------
# exec_enabled false: the node's switch, whatever the rules say.
printf '%s\n' '{"exec_enabled": false, "rules": [{"principals": ["*"], "actions": ["exec", "exec_privileged"]}]}' \
	>"$T/policy-off.json"
rogue off --policy "$T/policy-off.json" "spawn:$OK" ping
expect off "spawn 1 refused EACCES: .*"
expect off "pong"
expect_log off "request 1: start refused: remote exec is disabled on this node"
runc --root "$RUNC_ROOT" exec "$OK" ls /tmp >"$T/ls" 2>&1 || fail "ls /tmp: $(cat "$T/ls")"
assert_eq "" "$(cat "$T/ls")" "the markers after exec_enabled false"

rogue gates "spawn:$OK" "spawn:$OFF" "spawn:$PRIV" "spawn:.host" \
	"spawn:$OK:stale" "spawn:$OK:unbound" "spawn:$OK:unpriv" "spawn:$OK:runas" \
	signal ping
expect gates "spawn 1 started"
expect gates "spawn 1 exited 0"
expect gates "spawn 2 refused EACCES: .*disable-exec.*"
expect gates "spawn 3 refused EACCES: container $PRIV is privileged .* and no rule grants exec_privileged"
expect gates "spawn 4 refused ENOENT: .*"
for n in 5 6 7; do
	expect gates "spawn $n refused ESTALE: container $OK changed since the request was decided .*"
done
expect gates "spawn 8 report: user root: run_as does not allow the uid:gid it is in the container"
expect gates "signal refused ESRCH"
expect gates "pong"
for n in 2 3 5 6 7; do
	expect_log gates "request $n: start refused: "
done
expect_log gates "signal 9 for token 999999 refused: no such process"
# The tool's worker ended after its steps: the monitor ends with it.
assert_eq 1 "$(cat "$T/gates.rc")" "the monitor's exit once the worker ended"
log "gates: each forged start refused with a log line; the monitor kept serving"

# The monitor read the policy once and handed the worker that very text.
rogue policy policy
assert_eq "policy: $(cat "$T/policy.json")" "$(cat "$T/policy.out")" "the policy the worker got"

rogue host --host-exec "spawn:.host" ping
expect host "spawn 1 refused EACCES: .host is the node itself and no rule grants exec_node"
expect host "pong"
[ -e /tmp/rogue-1 ] && fail "the forged start ran on the node"

# ---- malformed messages: the monitor fails closed ---------------------------------------
for what in truncated fds unknown monitor-msg; do
	rogue "$what" "$what" ping
	expect "$what" "sent $what"
	grep -qx pong "$T/$what.out" && fail "$what: the monitor answered after a malformed message"
	assert_eq 1 "$(cat "$T/$what.rc")" "$what: the monitor's exit"
	expect_log "$what" "killing the worker and every session"
done
expect_log truncated "worker: "
expect_log fds "worker: "
expect_log unknown "worker: "
expect_log monitor-msg "the worker sent a monitor's message"
log "malformed messages: the monitor logged why, killed the worker and exited 1"

# ---- nothing ran where it was refused ----------------------------------------------------
for id in "$OK" "$OFF" "$PRIV"; do
	runc --root "$RUNC_ROOT" exec "$id" ls /tmp >"$T/ls" 2>&1 || fail "ls /tmp in $id: $(cat "$T/ls")"
	if [ "$id" = "$OK" ]; then
		assert_eq rogue-1 "$(cat "$T/ls")" "the markers in $id"
	else
		assert_eq "" "$(cat "$T/ls")" "the markers in $id"
	fi
done
log "only the allowed start left its marker"
