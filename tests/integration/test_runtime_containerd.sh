#!/bin/bash
# Plain containerd (ctr): the containerd namespace is the execfs namespace.
# A private containerd; the agent is given the pattern <runc root>/* before
# any namespace exists, so each namespace's root is followed as it appears.
# The same id in two namespaces: both listed, each under its own name, the
# second with an id on the node of its own (ID@ROOT), said in the agent's
# log (not on its stderr). Each runs a session as `ctr tasks exec` would
# and disappears when deleted; containerd leaves no mount.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

containerd_start
rt_cgroup_note team-b
archive=$TESTDIR/busybox-archive.tar
rt_docker_archive "$archive" execfs.test/busybox:1
for ns in default team-b; do
	ctr_cmd -n "$ns" image import "$archive" >/dev/null || fail "ctr -n $ns image import"
done

# --log: the agent's own log, apart from its stderr ($TESTDIR/agent.log).
log_register "agent --log" "$TESTDIR/agent-own.log"
agent_start --state-root "$CTRD_RUNC_ROOT/*" --log "$TESTDIR/agent-own.log"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

crun_ctr() {
	local ns=$1 id=$2
	ctr_cmd -n "$ns" run -d --null-io --runc-root "$CTRD_RUNC_ROOT" \
		execfs.test/busybox:1 "$id" /bin/sleep infinity >/dev/null ||
		fail "ctr -n $ns run $id"
}

crun_ctr default c1
wait_for "[ -d '$N/default/c1/c1' ]" 60 ||
	fail "default/c1/c1 not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
crun_ctr team-b c1
wait_for "[ -d '$N/team-b/c1/c1' ]" 60 ||
	fail "team-b/c1/c1 not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"

a=$(read_file "$N/default/c1/c1/info")
b=$(read_file "$N/team-b/c1/c1/info")
assert_eq "c1" "$(jq -r .id <<<"$a")" "id of default/c1"
assert_eq "c1" "$(jq -r .runtime_id <<<"$b")" "runtime_id of team-b/c1"
assert_eq "c1@${CTRD_RUNC_ROOT#/}/team-b" "$(jq -r .id <<<"$b" | tr ":" "/")" \
	"id of team-b/c1 (the second one listed)"
assert_eq "containerd" "$(jq -r .naming <<<"$b")" "naming"
grep -q "listing it as c1@" "$TESTDIR/agent-own.log" || fail "the duplicate id is not in the agent's log"
! grep -q "listing it as" "$TESTDIR/agent.log" || fail "the duplicate id went to stderr"

for ns in default team-b; do
	rt_same_as "$N/$ns/c1/c1" ctr_cmd -n "$ns" tasks exec --exec-id "probe$ns" c1
done
# Each session ran in its own container: different mount namespaces.
[ "$(exec_probe "$N/default/c1/c1" readlink /proc/self/ns/mnt)" != \
	"$(exec_probe "$N/team-b/c1/c1" readlink /proc/self/ns/mnt)" ] ||
	fail "both directories entered the same container"
log "same id in two namespaces ok"

ctr_cmd -n team-b tasks kill -s KILL c1 >/dev/null
wait_for "ctr_cmd -n team-b tasks delete c1" 60 || fail "ctr tasks delete"
ctr_cmd -n team-b containers delete c1 >/dev/null
wait_for "[ ! -e '$N/team-b' ]" 60 || fail "team-b/c1/c1 still shown after its delete"
[ -d "$N/default/c1/c1" ] || fail "default/c1/c1 went with team-b's"
log "delete followed"

mount_stop "$TESTDIR/mnt"
agent_stop
containerd_stop || fail "containerd left mounts behind"
