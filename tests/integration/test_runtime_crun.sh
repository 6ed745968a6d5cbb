#!/bin/bash
# crun alone (as CRI-O or a script runs it): crun's own state format
# (status + its copy of config.json), a root that appears after the agent
# started, CRI-O's annotations naming a pod (its sandbox hidden), the
# states crun reports (created, running, paused), and one id under both
# runc's and crun's roots: both listed, each under a name of its own.
# Sessions run as `crun exec` would; deleted containers disappear.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

rt_need crun
rootfs_build
log_register "agent --log" "$TESTDIR/agent-own.log"
[ ! -e "$CRUN_ROOT" ] || fail "$CRUN_ROOT exists before the agent"
agent_start --state-root "$CRUN_ROOT" --log "$TESTDIR/agent-own.log"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE
CRUN=$(rt_crun_wrapper)

# crun_start ID HOSTNAME [ANNOTATION...] ("create" instead of "run" with
# CRUN_CREATE=1)
crun_start() {
	local id=$CONTAINER_PREFIX$1 host=$2 bundle
	shift 2
	bundle=$TESTDIR/bundles/$id
	container_bundle "$bundle" "$ROOTFS" "$host" "$@"
	cleanup_push "'$CRUN' delete -f '$id' >/dev/null 2>&1"
	if [ -n "${CRUN_CREATE:-}" ]; then
		set -- create --bundle "$bundle" "$id"
	else
		set -- run -d --bundle "$bundle" "$id"
	fi
	"$CRUN" "$@" </dev/null >"$TESTDIR/crun-$id.log" 2>&1 ||
		fail "crun $1 $id: $(cat "$TESTDIR/crun-$id.log")"
}

state_of() {
	jq -r .state "$1/info"
}

c1=${CONTAINER_PREFIX}c1
crun_start c1 box1
wait_for "[ -d '$N/default/$c1/$c1' ]" 60 ||
	fail "default/$c1/$c1 not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
d=$N/default/$c1/$c1
assert_eq "crun" "$(jq -r .runtime "$d/info")" "runtime"
assert_eq "$CRUN_ROOT" "$(jq -r .root "$d/info")" "root"
rt_same_as "$d" "$CRUN" exec "$c1"
log "crun container ok"

"$CRUN" pause "$c1"
wait_for "[ \"\$(state_of '$d')\" = paused ]" 60 || fail "pause not seen: $(state_of "$d")"
"$CRUN" resume "$c1"
wait_for "[ \"\$(state_of '$d')\" = running ]" 60 || fail "resume not seen: $(state_of "$d")"
CRUN_CREATE=1 crun_start c2 box2
c2=${CONTAINER_PREFIX}c2
wait_for "[ \"\$(state_of '$N/default/$c2/$c2')\" = created ]" 60 || fail "created not seen"
"$CRUN" start "$c2"
wait_for "[ \"\$(state_of '$N/default/$c2/$c2')\" = running ]" 60 || fail "start not seen"
log "states ok"

# CRI-O with crun: a pod's container by its Kubernetes names, the sandbox
# hidden.
crun_start sb web-1 io.kubernetes.cri-o.ContainerType=sandbox \
	io.kubernetes.pod.namespace=prod io.kubernetes.pod.name=web-1
crun_start nginx web-1 io.kubernetes.cri-o.ContainerType=container \
	io.kubernetes.pod.namespace=prod io.kubernetes.pod.name=web-1 \
	io.kubernetes.container.name=nginx
wait_for "[ -d '$N/prod/web-1/nginx' ]" 60 ||
	fail "prod/web-1/nginx not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
assert_eq "nginx" "$(ls "$N/prod/web-1")" "containers of prod/web-1 (sandbox hidden)"
assert_eq "web-1" "$(exec_probe "$N/prod/web-1/nginx" hostname)" "hostname of prod/web-1/nginx"
log "CRI-O names ok"

# One id under runc's root too: both listed.
agent_stop
agent_start --state-root "$CRUN_ROOT" --log "$TESTDIR/agent-own.log"
container_bundle "$TESTDIR/bundles/runc-$c1" "$ROOTFS" runc-box
cleanup_push "runc --root '$RUNC_ROOT' delete -f '$c1' >/dev/null 2>&1"
runc --root "$RUNC_ROOT" run -d --bundle "$TESTDIR/bundles/runc-$c1" "$c1" \
	</dev/null >"$TESTDIR/runc-$c1.log" 2>&1 || fail "runc run $c1"
wait_for "[ \$(ls '$N/default/$c1' | wc -l) = 2 ]" 60 ||
	fail "one id under two roots: $(ls "$N/default/$c1")"
hosts=$(for d in "$N/default/$c1"/*; do exec_probe "$d" hostname; done | sort | tr '\n' ' ')
assert_eq "box1 runc-box " "$hosts" "hostnames of the two containers with id $c1"
grep -q "listing it as $c1@" "$TESTDIR/agent-own.log" || fail "the duplicate id is not logged"
log "one id under two roots ok"

"$CRUN" delete -f "$c2"
wait_for "[ ! -e '$N/default/$c2' ]" 60 || fail "deleted $c2 still shown"
log "delete followed"
