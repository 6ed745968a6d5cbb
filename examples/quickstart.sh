#!/bin/bash
# execfs quick start, as root on a fresh Debian 12 machine:
#   examples/quickstart.sh          install what is missing, build, start a demo
#                                   busybox container with runc and mount /exec
#   examples/quickstart.sh stop     unmount, stop the agent, delete the demo
# Running it again keeps what already runs.
#
# Environment:
#   EXECFS_MOUNT=DIR       the mountpoint (default /exec)
#   EXECFS_BUILD_DIR=DIR   the build directory (default build/ in this checkout)
#   EXECFS_DEMO_ID=ID      the demo container's runc id (default execfs-demo)
# shellcheck source-path=SCRIPTDIR
set -eu -o pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mnt=${EXECFS_MOUNT:-/exec}
build=${EXECFS_BUILD_DIR:-$src/build}
demo=${EXECFS_DEMO_ID:-execfs-demo}
state=$build/quickstart
agent_pidfile=/run/execfs/agent.pid
# runc's default state root: the agent looks there without configuration.
runc_root=/run/runc

say() {
	printf 'quickstart: %s\n' "$*"
}

die() {
	printf 'quickstart: %s\n' "$*" >&2
	exit 1
}

# stop_pidfile FILE NAME: SIGTERM the pid in FILE, wait up to 30 s, SIGKILL.
stop_pidfile() {
	local pid i
	pid=$(cat "$1" 2>/dev/null) || return 0
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		say "stopping $2 (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$1"
}

stop() {
	if mountpoint -q "$mnt" 2>/dev/null; then
		say "unmounting $mnt"
		fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt"
	fi
	stop_pidfile "$state/execfs.pid" execfs
	stop_pidfile "$agent_pidfile" execfs-agent
	if runc --root "$runc_root" state "$demo" >/dev/null 2>&1; then
		say "deleting the demo container $demo"
		runc --root "$runc_root" delete -f "$demo"
	fi
	rmdir "$mnt" 2>/dev/null || true
	say "stopped"
}

[ "$(id -u)" -eq 0 ] || die "run me as root (runc containers and the mount need it)"

case ${1:-start} in
start) ;;
stop)
	stop
	exit 0
	;;
*) die "usage: $0 [stop]" ;;
esac

cd "$src"
say "packages"
bash .ci/install-deps.sh

say "building into $build"
cmake -S . -B "$build" >/dev/null
cmake --build "$build" -j 2

# shellcheck source=../tests/integration/lib/rootfs.sh
. "$src/tests/integration/lib/rootfs.sh"
# shellcheck source=../tests/integration/lib/containers.sh
. "$src/tests/integration/lib/containers.sh"
rootfs_build "$build/rootfs"
mkdir -p "$state"

status=$(runc --root "$runc_root" state "$demo" 2>/dev/null |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || true)
if [ "$status" = running ]; then
	say "demo container $demo already runs"
else
	[ -z "$status" ] || runc --root "$runc_root" delete -f "$demo"
	say "starting the demo container $demo (busybox) as default/demo/shell"
	container_bundle "$state/bundle" "$ROOTFS" demo \
		io.kubernetes.cri.container-type=container \
		io.kubernetes.cri.sandbox-namespace=default \
		io.kubernetes.cri.sandbox-name=demo \
		io.kubernetes.cri.container-name=shell
	runc --root "$runc_root" run -d --bundle "$state/bundle" "$demo" \
		</dev/null >"$state/demo.log" 2>&1 ||
		die "runc run failed: $(cat "$state/demo.log")"
fi

node=$(hostname)
if mountpoint -q "$mnt" 2>/dev/null; then
	say "$mnt is mounted already"
else
	mkdir -p "$mnt"
	say "mounting $mnt (execfs starts the local agent; log: $state/execfs.log)"
	setsid "$build/execfs" -f "$mnt" </dev/null >>"$state/execfs.log" 2>&1 &
	echo $! >"$state/execfs.pid"
	for ((i = 0; i < 600; i++)); do
		mountpoint -q "$mnt" && break
		kill -0 "$(cat "$state/execfs.pid")" 2>/dev/null ||
			die "execfs exited: $(tail -n 20 "$state/execfs.log")"
		sleep 0.1
	done
	mountpoint -q "$mnt" || die "$mnt not mounted after 60 s (see $state/execfs.log)"
fi

c=$mnt/$node/default/demo/shell
for ((i = 0; i < 600; i++)); do
	[ -d "$c" ] && break
	sleep 0.1
done
[ -d "$c" ] || die "$c did not appear in 60 s (see $state/execfs.log)"

cat <<HINT

execfs is mounted on $mnt. The demo container is $c.
Try:
    echo date > $c/ctl; cat $c/stdout
    echo hostname > $c/ctl; cat $c/stdout
    echo "sh -c 'echo oops >&2; exit 3'" > $c/ctl; cat $c/stderr $c/wait
    ls $mnt/$node
Stop it all with:
    $src/examples/quickstart.sh stop
HINT
