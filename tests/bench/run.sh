#!/bin/bash
# The benchmark: execfs against ssh, runc exec and
# nsenter, all on this machine's loopback, in one run, so that only ratios
# of the same run are compared (never absolute timings, never in tests).
#
#   tests/bench/run.sh [--quick] [--profile] [--cases LIST] [--out DIR] [--reps N] [--build DIR]
#
# As root. Installs what is missing (.ci/debian-packages.txt and
# tests/bench/packages.txt), builds Release into build-bench/ of the checkout,
# then sets up, and tears down at exit:
#   - a busybox runc container under a private runc root;
#   - one execfs-agent listening on 127.0.0.1:PORT with mutual TLS (test CA
#     of tests/integration/lib/certs.sh) and on a Unix socket;
#   - two mounts: `execfs --config FILE` (TLS) and `execfs --agent unix:PATH`;
#   - a throwaway sshd on 127.0.0.1 (own host key, config, authorized key for
#     root, no PAM, root's login shell /bin/sh in a private mount namespace so
#     no rc file is read) and a warm ssh ControlMaster.
# Then tests/bench/bench.py runs the cases (interleaving the contenders) and
# prints the table of medians, ratios and targets; it is also written to
# DIR/results.md (default build-bench/bench-results/).
#
#   --quick     2 repetitions, 256 MiB transfers, 200 sessions: a smoke run
#   --reps N    repetitions per contender (default 5)
#   --cases LIST  only these cases, comma-separated, of: concurrency, out,
#               in, latency (back to back and paced), echo (default all);
#               for A/B runs of one change; and fleet (never by default:
#               50 agents with 200 containers, one TLS mount over them,
#               against pdsh and ssh to 50 loopback sshd; tests/bench/fleet.sh)
#               and appear (never by default: how fast a new container of
#               Docker, ctr, Podman, crun and runc shows in a mount and goes;
#               run first, on its own daemons; tests/bench/appear.sh)
#   --profile   instead of the cases: perf record/stat the agent and the
#               client during throughput runs; reports in DIR/profile/
#   --hold      instead of the cases: keep everything up, print the paths
#               (DIR/bench.json) and wait for Ctrl-C, for manual profiling
#   --agent-opt ARG  one more argument for execfs-agent, repeatable
#               (e.g. --agent-opt --spin --agent-opt 0), for A/B holds
#   --mount-opt ARG  likewise for both mounts (e.g. --mount-opt -o
#               --mount-opt spin=0)
#   --build DIR use the execfs and execfs-agent already built in DIR
#               (no build step)
# shellcheck source-path=SCRIPTDIR
set -Eeu -o pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$bench_dir/../.." && pwd)
quick=0
profile=0
hold=0
reps=
cases=concurrency,out,in,latency,echo
out=
build=
agent_opts=()
mount_opts=()

usage() {
	sed -n '/^#   tests/,/^#  *(no build step)/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--profile) profile=1 ;;
	--hold) hold=1 ;;
	--reps)
		reps=${2:?--reps N}
		shift
		;;
	--cases)
		cases=${2:?--cases LIST}
		shift
		;;
	--out)
		out=${2:?--out DIR}
		shift
		;;
	--build)
		build=$(cd "${2:?--build DIR}" && pwd)
		shift
		;;
	--agent-opt)
		agent_opts+=("${2?--agent-opt ARG}")
		shift
		;;
	--mount-opt)
		mount_opts+=("${2?--mount-opt ARG}")
		shift
		;;
	-h | --help) usage ;;
	*) usage ;;
	esac
	shift
done

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (runc containers, FUSE mounts, sshd)" >&2
	exit 1
fi

"$src/.ci/install-deps.sh" >&2
"$src/.ci/install-deps.sh" "$bench_dir/packages.txt" >&2

if [ -z "$build" ]; then
	build=$src/build-bench
	echo "bench: building Release into $build" >&2
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEXECFS_TESTS=OFF >/dev/null
	cmake --build "$build" -j "$(nproc)" >/dev/null
fi

out=${out:-$build/bench-results}
mkdir -p "$out"
out=$(cd "$out" && pwd)

export EXECFS_BUILD_DIR=$build

# The appear case brings its own runtimes, agent and mount: run on its own,
# first.
if [[ ",$cases," == *,appear,* ]]; then
	appear_reps=$reps
	[ "$quick" = 0 ] || appear_reps=${reps:-2}
	"$bench_dir/appear.sh" --out "$out" ${appear_reps:+--reps "$appear_reps"}
	cases=$(tr , '\n' <<<"$cases" | grep -vx appear | paste -sd, -) || true
	[ -n "$cases" ] || exit 0
fi

# The shared harness's watchdog: generous, the full run takes minutes.
export EXECFS_TEST_TIMEOUT=${EXECFS_TEST_TIMEOUT:-2400}
# shellcheck source=../integration/lib/common.sh
. "$src/tests/integration/lib/common.sh"

# --- the container and the agent ------------------------------------------

export AGENT_NODE=n1
certs_make n1
port=$(free_port)
rootfs_build
container_start bench default bench box
cpid=$(container_pid bench)
# The policy (default deny): root on the Unix socket and the test client
# (its certificate's URI SAN) may exec in any container.
printf '{"rules": [{"principals": ["uid:0", "spiffe://execfs.test/client"], "actions": ["exec"]}]}\n' \
	>"$TESTDIR/policy.json"
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" ${agent_opts[@]+"${agent_opts[@]}"}
# shellcheck disable=SC2153 # set by agent_start
agent_pid=$AGENT_PID

python3 - "$TESTDIR/execfs.json" "$port" "$CERT_DIR" <<'PY'
import json, sys
path, port, certs = sys.argv[1:4]
with open(path, "w") as f:
    json.dump({"nodes": [{"name": "n1", "address": "127.0.0.1:" + port}],
               "ca": certs + "/ca.pem", "cert": certs + "/client.pem",
               "key": certs + "/client.key"}, f, indent=2)
PY
mount_start "$TESTDIR/tls" --config "$TESTDIR/execfs.json" ${mount_opts[@]+"${mount_opts[@]}"}
tls_pid=$MOUNT_PID
mount_start "$TESTDIR/unix" --agent "unix:$AGENT_SOCK" ${mount_opts[@]+"${mount_opts[@]}"}
unix_pid=$MOUNT_PID
for mp in tls unix; do
	wait_for "[ -e '$TESTDIR/$mp/n1/default/bench/box/ctl' ]" 60 ||
		fail "no container directory in $TESTDIR/$mp"
done

# --- the ssh contender -------------------------------------------------------

ssh_dir=$TESTDIR/ssh
mkdir -p "$ssh_dir"
chmod 700 "$ssh_dir"
ssh_port=$(free_port)
ssh-keygen -q -t ed25519 -N '' -C bench-host -f "$ssh_dir/host_key"
ssh-keygen -q -t ed25519 -N '' -C bench-client -f "$ssh_dir/id"
cp "$ssh_dir/id.pub" "$ssh_dir/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$ssh_port" "$(cut -d' ' -f1,2 "$ssh_dir/host_key.pub")" \
	>"$ssh_dir/known_hosts"
# root's login shell becomes dash, which reads no rc file for `sh -c CMD`
# (bash would source ~/.bashrc under sshd): shell start-up is not measured.
awk -F: -v OFS=: '$1 == "root" { $7 = "/bin/sh" } { print }' /etc/passwd >"$ssh_dir/passwd"
# shellcheck source=sshd.sh
. "$bench_dir/sshd.sh"
bench_sshd_config 127.0.0.1 "$ssh_port" "$ssh_dir" "$ssh_dir/sshd.pid" >"$ssh_dir/sshd_config"
cat >"$ssh_dir/config" <<EOF
Host bench
  HostName 127.0.0.1
  Port $ssh_port
  User root
  IdentityFile $ssh_dir/id
  IdentitiesOnly yes
  UserKnownHostsFile $ssh_dir/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  Compression no
  ControlMaster no
  ControlPath $ssh_dir/cm
  LogLevel ERROR
EOF
# sshd's privilege-separation directory.
if [ ! -d /run/sshd ]; then
	mkdir -p /run/sshd
	chmod 755 /run/sshd
	cleanup_push "rmdir /run/sshd 2>/dev/null"
fi
log_register sshd "$ssh_dir/sshd.log"
# shellcheck disable=SC2016 # expanded by the inner sh
unshare -m --propagation private sh -c \
	'mount --bind "$1" /etc/passwd && exec /usr/sbin/sshd -D -e -f "$2"' \
	_ "$ssh_dir/passwd" "$ssh_dir/sshd_config" </dev/null >>"$ssh_dir/sshd.log" 2>&1 &
sshd_pid=$!
cleanup_push "stop_pid $sshd_pid sshd"
wait_for "! kill -0 $sshd_pid || port_open 127.0.0.1 $ssh_port" 60 ||
	fail "sshd not listening on 127.0.0.1:$ssh_port"
kill -0 "$sshd_pid" 2>/dev/null || fail "sshd exited at start"
ssh -F "$ssh_dir/config" -o ControlMaster=yes -o ControlPersist=yes -f -N bench ||
	fail "ssh ControlMaster did not start"
cleanup_push "ssh -F '$ssh_dir/config' -O exit bench 2>/dev/null"
login_shell=$(ssh -F "$ssh_dir/config" bench 'readlink /proc/$$/exe')
[ "$login_shell" = "$(readlink -f /bin/sh)" ] ||
	fail "ssh: the login shell is $login_shell, not /bin/sh"
log "sshd on 127.0.0.1:$ssh_port (pid $sshd_pid), ControlMaster up"

# --- the fleet case's setup ---------------------------------------------------

fleet_json=
if [[ ",$cases," == *,fleet,* ]]; then
	# shellcheck source=fleet.sh
	. "$bench_dir/fleet.sh"
	fleet_bench_setup "${EXECFS_BENCH_FLEET:-50}"
	fleet_json=$TESTDIR/fleet.json
fi

# --- run ---------------------------------------------------------------------

python3 - "$TESTDIR/bench.json" <<PY
import json, sys
json.dump({
    "quick": $quick == 1,
    "reps": int("${reps:-0}") or None,
    "cases": "$cases".split(","),
    "out": "$out",
    "src": "$src",
    "build": "$build",
    "testdir": "$TESTDIR",
    "runc_root": "$RUNC_ROOT",
    "container_id": "$CONTAINER_ID",
    "container_pid": $cpid,
    "agent_pid": $agent_pid,
    "tls_mount": "$TESTDIR/tls",
    "tls_pid": $tls_pid,
    "unix_mount": "$TESTDIR/unix",
    "unix_pid": $unix_pid,
    "container_path": "n1/default/bench/box",
    "ssh_config": "$ssh_dir/config",
    "ssh_host": "bench",
    "fleet": "$fleet_json" or None,
}, open(sys.argv[1], "w"), indent=2)
PY

if [ "$hold" = 1 ]; then
	cp "$TESTDIR/bench.json" "$out/bench.json"
	cat "$out/bench.json"
	log "holding; the paths are in $out/bench.json; Ctrl-C (or SIGTERM) tears down"
	# Until told: the harness's watchdog would tear a long hold down
	# under whoever is profiling it. Being told is the normal end.
	watchdog_stop
	trap 'log "hold: stopping"; _cleanup_run 0; exit 0' INT TERM
	# wait, not a foreground sleep: bash runs the TERM trap only once
	# the foreground command ends, but interrupts a wait at once.
	while :; do
		sleep 3600 &
		wait $! || :
	done
elif [ "$profile" = 1 ]; then
	python3 "$bench_dir/bench.py" --profile "$TESTDIR/bench.json"
else
	python3 "$bench_dir/bench.py" "$TESTDIR/bench.json"
fi
