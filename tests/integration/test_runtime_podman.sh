#!/bin/bash
# Podman containers, named from Podman's own store: podman/<name>/<name>
# for a container in no pod, podman/<pod>/<name> for one in a pod, whose
# infra container is hidden. Both runtimes Podman runs: crun (its default;
# wrapped so that crun 1.8 accepts this machine's hybrid cgroups, with its
# state in the test's own root) and runc. Each container appears, runs a
# session as `podman exec` would, and disappears when removed; the store
# leaves no mount behind.
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
. "$EXECFS_LIB_DIR/runtimes.sh"

podman_setup crun
crun_wrapper=$PODMAN_RUNTIME
runc_wrapper=$(rt_runc_wrapper)

log_register "agent --log" "$TESTDIR/agent-own.log"
agent_start --state-root "$CRUN_ROOT" --state-root "$RUNC_WRAP_ROOT" \
	--log "$TESTDIR/agent-own.log"
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

prun() {
	podman_cmd run -d --network none "$@" >/dev/null || fail "podman run $*"
}

# crun, no pod.
prun --name web localhost/execfs-busybox:1 /bin/sleep infinity
wait_for "[ -d '$N/podman/web/web' ]" 60 ||
	fail "podman/web/web not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$N/podman/web/web" podman_cmd exec web
info=$(read_file "$N/podman/web/web/info")
assert_eq "crun" "$(jq -r .runtime <<<"$info")" "runtime of web"
assert_eq "podman" "$(jq -r .naming <<<"$info")" "naming of web"
assert_eq "localhost/execfs-busybox:1" "$(jq -r .image <<<"$info")" "image of web"
assert_match "/containers.json$" "$(jq -r '.name_sources[0]' <<<"$info")" "name source of web"
log "crun ok"

# runc, no pod.
PODMAN_RUNTIME=$runc_wrapper
prun --name api localhost/execfs-busybox:1 /bin/sleep infinity
wait_for "[ -d '$N/podman/api/api' ]" 60 ||
	fail "podman/api/api not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
rt_same_as "$N/podman/api/api" podman_cmd exec api
assert_eq "runc" "$(jq -r .runtime "$N/podman/api/api/info")" "runtime of api"
log "runc ok"

# A pod (crun): its container under the pod's name, the infra hidden.
PODMAN_RUNTIME=$crun_wrapper
podman_cmd pod create --name shop --network none >/dev/null || fail "podman pod create"
prun --pod shop --name shop-api localhost/execfs-busybox:1 /bin/sleep infinity
wait_for "[ -d '$N/podman/shop/shop-api' ]" 60 ||
	fail "podman/shop/shop-api not shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
[ "$(podman_cmd pod inspect shop --format '{{.NumContainers}}')" = 2 ] ||
	fail "the pod should hold its infra container and shop-api"
assert_eq "shop-api" "$(ls "$N/podman/shop")" "containers of pod shop (infra hidden)"
assert_eq "api shop web" "$(ls "$N/podman" | tr '\n' ' ' | sed 's/ $//')" "pods in podman"
rt_same_as "$N/podman/shop/shop-api" podman_cmd exec shop-api
assert_match "bolt_state.db" "$(jq -r '.name_sources | join(" ")' "$N/podman/shop/shop-api/info")" \
	"name sources of shop-api"
log "pod ok"

podman_cmd rm -f -t 0 web >/dev/null
podman_cmd pod rm -f -t 0 shop >/dev/null
wait_for "[ ! -e '$N/podman/web' ] && [ ! -e '$N/podman/shop' ]" 60 ||
	fail "removed containers still shown: $(find "$N" -maxdepth 3 | tr '\n' ' ')"
[ -d "$N/podman/api/api" ] || fail "podman/api/api went with the others"
log "removal followed"

mount_stop "$TESTDIR/mnt"
agent_stop
podman_stop || fail "podman left mounts behind"
