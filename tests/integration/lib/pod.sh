#!/bin/bash
# The agent's pod, as a kubelet and runc would start it on a node whose
# mount and network namespaces are the caller's (the test's node):
#   pod.sh PLAN_DIR WORK_DIR AGENT_BINARY CGROUP_DIRS_FILE
# PLAN_DIR is lib/k8s_pod.py's output. The pod's process joins the pod's
# cgroups (one directory per hierarchy, listed in CGROUP_DIRS_FILE), then
# gets a cgroup namespace and a mount namespace of its own, in which:
#   - the image is this machine's /usr and /etc with the agent's binary at
#     the command's path (an overlay on a tmpfs: nothing reaches the disk);
#   - /run and /tmp start empty, as in an image;
#   - every volume is mounted at its mountPath: a hostPath from the node
#     (at the same path there), a Secret or ConfigMap from the files the
#     plan wrote; read-only when the manifest says so;
# and it execs the command with exactly the manifest's environment. The
# pod's pid is written to WORK_DIR/pod.pid (hostPID: it is the agent's).
set -eu
plan=$1 work=$2 bin=$3 cgdirs=$4

if [ "${POD_INNER:-}" != 1 ]; then
	while read -r d; do
		echo $$ >"$d/cgroup.procs"
	done <"$cgdirs"
	POD_INNER=1 exec unshare --cgroup --mount --propagation private --fork -- \
		bash "${BASH_SOURCE[0]}" "$@"
fi

echo $$ >"$work/pod.pid"
mapfile -d '' argv <"$plan/argv"
mapfile -d '' envv <"$plan/env"
mapfile -t mounts <"$plan/mounts"

fs=$work/podfs
mkdir -p "$fs"
mount -t tmpfs -o mode=700 tmpfs "$fs"
# The image.
overlay() { # DIR: a writable copy of DIR, in the tmpfs
	local n=${1//\//_}
	mkdir -p "$fs/$n.up" "$fs/$n.work"
	mount -t overlay overlay -o "lowerdir=$1,upperdir=$fs/$n.up,workdir=$fs/$n.work" "$1"
}
overlay /etc
overlay "$(dirname "${argv[0]}")"
cp "$bin" "${argv[0]}"
# The node's /run, reachable once the pod's own covers it.
mkdir -p "$fs/noderun"
mount --rbind /run "$fs/noderun"
mount -t tmpfs -o mode=755 tmpfs /run
for m in "${mounts[@]}"; do
	read -r kind src dst ro <<<"$m"
	mkdir -p "$dst"
	case $kind in
	hostPath)
		case $src in
		/run/*) src=$fs/noderun/${src#/run/} ;;
		esac
		mount --rbind "$src" "$dst"
		;;
	files) mount --bind "$src" "$dst" ;;
	esac
	if [ "$ro" = ro ]; then
		mount -o remount,bind,ro "$dst"
	fi
done
mount -t tmpfs -o mode=1777 tmpfs /tmp
exec env -i "${envv[@]}" "${argv[@]}"
