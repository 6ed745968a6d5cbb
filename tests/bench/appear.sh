#!/bin/bash
# The appear case of the benchmark (`tests/bench/run.sh --cases appear`):
# how fast a new container shows in a mount under its orchestrator's name,
# and goes when it is removed, for each runtime the integration tests know
# how to start (tests/integration/lib/runtimes.sh): Docker (docker/NAME/NAME),
# containerd's ctr (default/ID/ID), Podman with crun (podman/NAME/NAME),
# crun alone and runc alone (default/ID/ID). Each runs privately (dockerd,
# containerd, Podman's store, crun's and runc's roots under the run's
# TESTDIR, stopped by pid at exit), with one agent following all of them
# and one mount of it over its Unix socket.
#
#   tests/bench/appear.sh [--reps N] [--runtimes LIST] [--out DIR]
#
#   --reps N        rounds (default 10; one warm-up round besides, not
#                   counted); each round starts and removes one container
#                   per runtime, the runtimes in turn
#   --runtimes LIST comma-separated, of docker, ctr, podman, crun, runc
#                   (default all)
#   --out DIR       where appear.md goes (default $EXECFS_BUILD_DIR/bench-results)
#
# Per container: the start command's own time; the time from the start
# command's start, and from its return, to the name appearing in the mount
# (`[ -e PATH ]` polled every 10 ms while the command runs and after: a
# stat through FUSE, as a user's `ls` would see it; inotify does not reach
# into FUSE); the same for the
# removal (`docker rm -f`, `ctr tasks kill` + `tasks delete` + `containers
# delete`, `podman rm -f -t 0`, `crun delete -f`, `runc delete -f`) and the
# name going. Printed as median and p90 per runtime, with the verdict on
# "within 1 s of its start"; nothing is asserted (a benchmark, not a test).
# EXECFS_BUILD_DIR: the execfs and execfs-agent to use (run.sh sets it).
# shellcheck source-path=SCRIPTDIR
set -Eeu -o pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$bench_dir/../.." && pwd)
reps=10
runtimes=docker,ctr,podman,crun,runc
out=

while [ $# -gt 0 ]; do
	case $1 in
	--reps)
		reps=${2:?--reps N}
		shift
		;;
	--runtimes)
		runtimes=${2:?--runtimes LIST}
		shift
		;;
	--out)
		out=${2:?--out DIR}
		shift
		;;
	*)
		sed -n '/^#   tests\/bench\/appear.sh/,/^#   --out/p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
	shift
done

export EXECFS_BUILD_DIR=${EXECFS_BUILD_DIR:-$src/build}
export EXECFS_TEST_TIMEOUT=${EXECFS_TEST_TIMEOUT:-2400}
# shellcheck source=../integration/lib/common.sh
. "$src/tests/integration/lib/common.sh"
# shellcheck source=../integration/lib/runtimes.sh
. "$EXECFS_LIB_DIR/runtimes.sh"

out=${out:-$EXECFS_BUILD_DIR/bench-results}
mkdir -p "$out"
IFS=, read -r -a rts <<<"$runtimes"
has() { [[ ",$runtimes," == *,$1,* ]]; }
for rt in "${rts[@]}"; do
	case $rt in
	docker | ctr | podman | crun | runc) ;;
	*) fail "unknown runtime $rt (docker, ctr, podman, crun, runc)" ;;
	esac
done

# --- the runtimes, one agent over all of them, one mount ----------------------

rootfs_build
roots=()
if has docker; then
	docker_start
	docker_cmd import "$(rt_busybox_tar)" execfs/busybox:1 >/dev/null || fail "docker import"
	roots+=(--state-root "$DOCKER_STATE_ROOT" --docker-root "$DOCKER_DATA")
fi
if has ctr; then
	# shellcheck disable=SC2119 # no CRI plugin
	containerd_start
	rt_docker_archive "$TESTDIR/busybox-archive.tar" execfs.test/busybox:1
	ctr_cmd -n default image import "$TESTDIR/busybox-archive.tar" >/dev/null ||
		fail "ctr image import"
	roots+=(--state-root "$CTRD_RUNC_ROOT/*")
fi
if has podman; then
	podman_setup crun
fi
if has crun || has podman; then
	CRUN=$(rt_crun_wrapper)
	roots+=(--state-root "$CRUN_ROOT")
fi
agent_start ${roots[@]+"${roots[@]}"}
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
N=$TESTDIR/mnt/$AGENT_NODE

# Bundles for crun and runc, written before any clock runs.
for ((r = 0; r <= reps; r++)); do
	for rt in crun runc; do
		has "$rt" || continue
		container_bundle "$TESTDIR/bundles/$rt$r" "$ROOTFS" "$rt$r"
	done
done

# --- one container: start, appear, remove, gone --------------------------------

# A wait without a fork: a read on a FIFO nobody writes times out.
mkfifo "$TESTDIR/tick"
exec {tick}<>"$TESTDIR/tick"

# watch TEST CMD...: run CMD in the background and poll, every 10 ms,
# both for TEST (a shell test) to hold and for CMD to return, up to 60 s
# for each: W_HELD is the time TEST first held (empty: never), W_DONE the
# time CMD was seen returned; CMD failing fails the run. In the loop nothing forks
# (EPOCHREALTIME, [, read are the shell's own), so what it sees is what a
# user's `stat` would see then: the name may come before CMD returns.
watch() {
	local test=$1 pid st deadline t
	shift
	"$@" </dev/null &
	pid=$!
	deadline=$((${EPOCHREALTIME/./} + 60000000))
	W_HELD='' W_DONE=''
	while :; do
		t=${EPOCHREALTIME/./}
		if [ -z "$W_HELD" ] && eval "$test"; then
			W_HELD=$t
		fi
		if [ -z "$W_DONE" ]; then
			# Returned: a zombie, or reaped by the shell already.
			st=Z
			read -r _ _ st _ 2>/dev/null <"/proc/$pid/stat" || st=Z
			[ "$st" != Z ] || W_DONE=$t
		fi
		if [ -n "$W_DONE" ] && { [ -n "$W_HELD" ] || [ "$t" -ge "$deadline" ]; }; then
			break
		fi
		read -r -t 0.01 -u "$tick" _ || :
	done
	wait "$pid" || fail "$* failed (status $?)"
}

# start_RT R / remove_RT R / path_RT R: round R's container of runtime RT.
path_docker() { echo "$N/docker/appear$1/appear$1"; }
start_docker() {
	docker_cmd run -d --network none --name "appear$1" execfs/busybox:1 \
		/bin/sleep infinity >/dev/null
}
remove_docker() { docker_cmd rm -f "appear$1" >/dev/null; }

path_ctr() { echo "$N/default/appear$1/appear$1"; }
start_ctr() {
	ctr_cmd -n default run -d --null-io --runc-root "$CTRD_RUNC_ROOT" \
		execfs.test/busybox:1 "appear$1" /bin/sleep infinity >/dev/null
}
remove_ctr() {
	ctr_cmd -n default tasks kill -s KILL "appear$1" >/dev/null
	# The task is deleted once it is reaped.
	wait_for "ctr_cmd -n default tasks delete 'appear$1'" 60
	ctr_cmd -n default containers delete "appear$1" >/dev/null
}

path_podman() { echo "$N/podman/appear$1/appear$1"; }
start_podman() {
	podman_cmd run -d --network none --name "appear$1" \
		localhost/execfs-busybox:1 /bin/sleep infinity >/dev/null
}
remove_podman() { podman_cmd rm -f -t 0 "appear$1" >/dev/null; }

path_crun() { echo "$N/default/${CONTAINER_PREFIX}crun$1/${CONTAINER_PREFIX}crun$1"; }
start_crun() {
	cleanup_push "'$CRUN' delete -f '${CONTAINER_PREFIX}crun$1' >/dev/null 2>&1"
	"$CRUN" run -d --bundle "$TESTDIR/bundles/crun$1" "${CONTAINER_PREFIX}crun$1" \
		</dev/null >>"$TESTDIR/crun.log" 2>&1
}
remove_crun() { "$CRUN" delete -f "${CONTAINER_PREFIX}crun$1" >/dev/null; }

# shellcheck disable=SC2153 # RUNC_ROOT: lib/containers.sh
path_runc() { echo "$N/default/${CONTAINER_PREFIX}runc$1/${CONTAINER_PREFIX}runc$1"; }
# shellcheck disable=SC2153 # RUNC_ROOT: lib/containers.sh
start_runc() {
	cleanup_push "runc --root '$RUNC_ROOT' delete -f '${CONTAINER_PREFIX}runc$1' >/dev/null 2>&1"
	runc --root "$RUNC_ROOT" run -d --bundle "$TESTDIR/bundles/runc$1" \
		"${CONTAINER_PREFIX}runc$1" </dev/null >>"$TESTDIR/runc.log" 2>&1
}
# shellcheck disable=SC2153 # RUNC_ROOT: lib/containers.sh
remove_runc() { runc --root "$RUNC_ROOT" delete -f "${CONTAINER_PREFIX}runc$1" >/dev/null; }

# measure RT R: one line "RT R t0 t1 t2 t3 t4 t5" (us) into raw.txt: start
# began, start returned, name seen; remove began, remove returned, name
# gone. A name that never comes or never goes is a failure line.
measure() {
	local rt=$1 r=$2 p t0 t1 t2 t3 t4 t5
	p=$("path_$rt" "$r")
	[ ! -e "$p" ] || fail "$p exists before its container"
	t0=${EPOCHREALTIME/./}
	watch "[ -e '$p' ]" "start_$rt" "$r"
	t1=$W_DONE t2=$W_HELD
	if [ -z "$t2" ]; then
		echo "$rt $r: did not appear within 60 s as $p" >>"$TESTDIR/failures.txt"
		"remove_$rt" "$r" || :
		return 0
	fi
	t3=${EPOCHREALTIME/./}
	watch "[ ! -e '$p' ]" "remove_$rt" "$r"
	t4=$W_DONE t5=$W_HELD
	[ -n "$t5" ] || {
		echo "$rt $r: still shown 60 s after its removal: $p" >>"$TESTDIR/failures.txt"
		return 0
	}
	echo "$rt $r $t0 $t1 $t2 $t3 $t4 $t5" >>"$TESTDIR/raw.txt"
}

log "appear: $reps rounds (and a warm-up) of: ${rts[*]}"
: >"$TESTDIR/raw.txt"
: >"$TESTDIR/failures.txt"
for ((r = 0; r <= reps; r++)); do
	for rt in "${rts[@]}"; do
		measure "$rt" "$r"
	done
	log "appear: round $r of $reps done"
done

python3 - "$TESTDIR/raw.txt" "$TESTDIR/failures.txt" "$out/appear.md" "$reps" \
	"$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys

raw, failures, path, reps, cpus, load = sys.argv[1:7]
rows = {}
for line in open(raw):
    rt, r, *t = line.split()
    if r == "0":
        continue  # the warm-up round
    t0, t1, t2, t3, t4, t5 = (int(x) / 1000.0 for x in t)  # ms
    rows.setdefault(rt, []).append(
        (t1 - t0, t2 - t0, t2 - t1, t4 - t3, t5 - t3, t5 - t4))

def p90(xs):
    xs = sorted(xs)
    return xs[max(0, -(-len(xs) * 9 // 10) - 1)]  # nearest rank

names = {"docker": "Docker (`docker run -d`)", "ctr": "containerd (`ctr run -d`)",
         "podman": "Podman, crun (`podman run -d`)", "crun": "crun (`crun run -d`)",
         "runc": "runc (`runc run -d`)"}
cols = ["start command", "seen, from start", "seen, from its return",
        "remove command", "gone, from remove", "gone, from its return"]
L = ["### How fast a new container appears (`tests/bench/run.sh --cases appear`)", "",
     "%s rounds per runtime after a warm-up, %s CPUs, load average %s at the end. "
     "Milliseconds, median / p90; negative: the name came (or went) before the "
     "command returned." % (reps, cpus, load), "",
     "| runtime | n | " + " | ".join(cols) + " |",
     "| --- | --- |" + " --- |" * len(cols)]
verdict = []
for rt in ("docker", "ctr", "podman", "crun", "runc"):
    if rt not in rows:
        continue
    v = rows[rt]
    cells = ["%.0f / %.0f" % (statistics.median(c), p90(c)) for c in zip(*v)]
    L.append("| %s | %d | %s |" % (names[rt], len(v), " | ".join(cells)))
    worst = max(x[2] for x in v)
    verdict.append("| %s | %.0f ms | %s |" % (
        names[rt], worst, "MET" if worst <= 1000 else "NOT MET"))
L += ["", "| within 1 s of the start command's return, every round | worst | verdict |",
      "| --- | --- | --- |"] + verdict
fails = [l.strip() for l in open(failures) if l.strip()]
if fails:
    L += ["", "Failures:", ""] + ["- " + f for f in fails]
text = "\n".join(L) + "\n"
open(path, "w").write(text)
print(text)
PY
log "appear: written to $out/appear.md"
