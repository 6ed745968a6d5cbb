#!/bin/bash
# The privileged monitor starts a process only in the container instance
# the worker decided on (agent/startgate.c, docs/SECURITY.md "Privilege
# separation"): with the worker stopped (SIGSTOP) while a client's exec
# request waits in its socket, the container is replaced under the same
# id (runc delete, runc run: another init) and the monitor has seen it;
# the worker then decides on the instance it still knows and the monitor
# refuses the start ("changed since the request was decided"); nothing
# runs in the new instance, and the next start goes into it.
# shellcheck disable=SC2016 # the probes run in the container
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/runtimes.sh
. "$EXECFS_LIB_DIR/runtimes.sh"
# shellcheck source=lib/tlsnode.sh
. "$EXECFS_LIB_DIR/tlsnode.sh"

export AGENT_NODE=n1
certs_make n1
container_start web default web-1 app
ID=$CONTAINER_ID
old_pid=$(container_pid web)
tls_agent_mount '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}'
dir=$mnt/n1/default/web-1/app
wait_for "[ -d '$dir' ]" 60 || fail "$dir not shown"
worker=$(agent_worker_pid)
changes() { grep -c 'inventory changed' "$TESTDIR/agent.log" || true; }

n=$(read_file "$dir/clone")
kill -STOP "$worker"
cleanup_push "kill -CONT $worker 2>/dev/null"
# The request waits in the stopped worker's socket.
sh -c 'printf "exec sh -c \"echo ran >/tmp/mark\"\n" >"$1/ctl"; echo $? >"$2"' \
	_ "$dir/$n" "$TESTDIR/ctl.rc" 2>"$TESTDIR/ctl.err" &
# In the worker's socket before the monitor can push the new list to it:
# the worker, woken, reads them in that order.
wait_for "ss -Htn state established '( sport = :$port )' | awk '\$1 > 0 {f = 1} END {exit !f}'" 60 ||
	fail "the request did not reach the worker's socket"
before=$(changes)
runc --root "$RUNC_ROOT" delete -f "$ID"
_container_run web web-1 io.kubernetes.cri.container-type=container \
	io.kubernetes.cri.sandbox-namespace=default io.kubernetes.cri.sandbox-name=web-1 \
	io.kubernetes.cri.container-name=app "io.kubernetes.cri.sandbox-id=${CONTAINER_PREFIX}sandbox-web-1"
new_pid=$(container_pid web)
[ "$new_pid" != "$old_pid" ] || fail "the new init has the old pid"
# The monitor has the new instance (its last change lists it).
wait_for "[ \$(changes) -gt $before ] && runc --root '$RUNC_ROOT' state '$ID' >/dev/null 2>&1 && tail -n 50 '$TESTDIR/agent.log' | grep 'inventory changed' | tail -1 | grep -q ': 1 container'" 60 ||
	fail "the monitor did not see the replaced container"
kill -CONT "$worker"
wait_for "[ -s '$TESTDIR/ctl.rc' ]" 60 || fail "the exec write did not return"
[ "$(cat "$TESTDIR/ctl.rc")" != 0 ] || fail "the start in a replaced container succeeded"
log "replaced: the exec write failed: $(cat "$TESTDIR/ctl.err")"
# The monitor's refusal, and the reason the session failed with (its
# directory goes with the container's old instance).
grep -q "start refused: container $ID changed since the request was decided" "$TESTDIR/agent.log" ||
	fail "no log line of the monitor's refusal"
grep -q "start failed: container $ID changed since the request was decided" "$TESTDIR/agent.log" ||
	fail "the session did not fail with the monitor's reason"
runc --root "$RUNC_ROOT" exec "$ID" cat /tmp/mark >"$TESTDIR/mark" 2>&1 &&
	fail "the refused command ran in the new instance: $(cat "$TESTDIR/mark")"

# The next start, decided on the new instance, goes in.
assert_eq ran "$(exec_probe "$dir" sh -c 'echo ran')" "a start after the replacement"

mount_stop "$mnt"
agent_stop
