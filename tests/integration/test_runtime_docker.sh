#!/bin/bash
# Docker containers, named as Docker, Compose and Nomad show them: a private
# dockerd (its own containerd, runc state under its --exec-root, which
# appears only with the first container, after the agent started), the
# agent told that root and Docker's --data-root, a real mount.
#   docker/<name>/<name>, renamed when Docker renames it
#   <project>/<service>-<N>/<service> for Compose's labels
#   <nomad namespace>/<job>.<group>[<index>]/<task> for Nomad's docker driver
# Each appears, runs a session (hostname and /proc/1/cmdline as `docker
# exec` sees them) and disappears when removed; dockerd leaves no mount.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

docker_start
docker_cmd import "$(rt_busybox_tar)" execfs/busybox:1 >/dev/null || fail "docker import"

[ ! -e "$DOCKER_STATE_ROOT" ] || fail "the state root exists before any container"
log_register "agent --log" "$TESTDIR/agent-own.log"
agent_start --state-root "$DOCKER_STATE_ROOT" --docker-root "$DOCKER_DATA" \
	--log "$TESTDIR/agent-own.log"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

drun() {
	docker_cmd run -d --network none "$@" >/dev/null || fail "docker run $*"
}

# A plain container, started after the agent: its root did not exist.
drun --name web execfs/busybox:1 /bin/sleep infinity
wait_for "[ -d '$N/docker/web/web' ]" 60 ||
	fail "docker/web/web not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$N/docker/web/web" docker_cmd exec web
info=$(read_file "$N/docker/web/web/info")
id=$(docker_cmd inspect -f '{{.Id}}' web)
assert_eq "docker" "$(jq -r .naming <<<"$info")" "naming of web"
assert_eq "$id" "$(jq -r .runtime_id <<<"$info")" "runtime_id of web"
assert_eq "execfs/busybox:1" "$(jq -r .image <<<"$info")" "image of web"
assert_eq "$DOCKER_DATA/containers/$id/config.v2.json" "$(jq -r '.name_sources[0]' <<<"$info")" \
	"name source of web"
log "docker/web/web ok"

docker_cmd rename web web2
wait_for "[ -d '$N/docker/web2/web2' ] && [ ! -e '$N/docker/web' ]" 60 ||
	fail "rename not followed: $(ls "$N/docker")"
log "rename followed"

# Compose: two services of project shop.
compose() {
	drun --name "shop-$1-1" --label com.docker.compose.project=shop \
		--label "com.docker.compose.service=$1" \
		--label com.docker.compose.container-number=1 \
		--label com.docker.compose.oneoff=False execfs/busybox:1 /bin/sleep infinity
}
compose web
compose db
wait_for "[ -d '$N/shop/web-1/web' ] && [ -d '$N/shop/db-1/db' ]" 60 ||
	fail "compose project not grouped: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
assert_eq "db-1 web-1" "$(ls "$N/shop" | sort | tr '\n' ' ' | sed 's/ $//')" "pods of shop"
rt_same_as "$N/shop/db-1/db" docker_cmd exec shop-db-1
assert_eq "compose" "$(jq -r .naming "$N/shop/web-1/web/info")" "naming of shop-web-1"
assert_eq "web" "$(jq -r '.labels["com.docker.compose.service"]' "$N/shop/web-1/web/info")" \
	"Docker's labels in info"
log "compose ok"

# Nomad's docker driver: labels (extra_labels) and the task's environment.
alloc=6f3c2a9e-1b7d-4c2e-9a55-0d3e2c1b7a10
drun --name "redis-$alloc" --label "com.hashicorp.nomad.alloc_id=$alloc" \
	--label com.hashicorp.nomad.job_name=cache \
	--label com.hashicorp.nomad.task_group_name=kv \
	--label com.hashicorp.nomad.task_name=redis \
	--label com.hashicorp.nomad.namespace=platform \
	-e NOMAD_ALLOC_INDEX=2 -e "NOMAD_ALLOC_ID=$alloc" \
	execfs/busybox:1 /bin/sleep infinity
nomad_dir="$N/platform/cache.kv[2]/redis"
wait_for "[ -d '$nomad_dir' ]" 60 ||
	fail "nomad allocation not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$nomad_dir" docker_cmd exec "redis-$alloc"
assert_eq "nomad" "$(jq -r .naming "$nomad_dir/info")" "naming of the allocation"
# A job name Nomad makes with '/' (a dispatched job) is no path component:
# the allocation is then shown by its short id.
drun --name "task-$alloc" --label "com.hashicorp.nomad.alloc_id=$alloc" \
	--label com.hashicorp.nomad.job_name=batch/dispatch-1688760549-ec1a5470 \
	--label com.hashicorp.nomad.task_group_name=g --label com.hashicorp.nomad.task_name=t \
	-e NOMAD_ALLOC_INDEX=0 execfs/busybox:1 /bin/sleep infinity
wait_for "[ -d '$N/default/${alloc:0:8}/t' ]" 60 ||
	fail "dispatched job not shown by its allocation: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
grep -q 'unsafe pod name' "$TESTDIR/agent-own.log" || fail "the unsafe name was not logged"
log "nomad ok"

# Gone when removed.
docker_cmd rm -f web2 shop-web-1 "redis-$alloc" >/dev/null
wait_for "[ ! -e '$N/docker' ] && [ ! -e '$N/shop/web-1' ] && [ ! -e '$nomad_dir' ]" 60 ||
	fail "removed containers still shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
[ -d "$N/shop/db-1/db" ] || fail "shop/db-1/db went with the others"
log "removal followed"

mount_stop "$TESTDIR/mnt"
agent_stop
docker_stop || fail "dockerd left mounts behind"
