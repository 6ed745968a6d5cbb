#!/bin/bash
# The agent's memory under the worst one valid certificate can do, with the
# default caps: the worker's resident set (VmRSS, and its peak VmHWM) before
# and while each load is held, then with all of them at once
# (docs/SECURITY.md, "Limits", quotes a run).
#
#   tests/bench/limits.sh [--containers N]
#
# As root, from a built checkout (EXECFS_BUILD_DIR, default build/). Uses the
# integration tests' library: a private runc root with N busybox containers
# (default 20), each with a 4 KiB annotation, so that a container list is
# not trivially small; one TLS agent with a policy that lets the client
# certificate exec everywhere (it sees every container: the larger lists).
# Loads, each by tests/tools/h2storm on one certificate and held open
# while measured:
#   status   8,000 status streams on one connection, each with 60 KiB of
#            an exec request that never ends
#   watch    8,000 watch streams on one connection, never read
#   conns    2,000 connections at once, each with a list request
#   raw      2,000 TCP connections that never start their handshake
# A measurement, not a test: it asserts nothing.
# shellcheck source-path=SCRIPTDIR source=../integration/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib/common.sh"

ncont=20
[ "${1:-}" = --containers ] && ncont=$2
export AGENT_NODE=n1
H2STORM=$EXECFS_BUILD_DIR/tests/h2storm
[ -x "$H2STORM" ] || fail "no $H2STORM (build first)"
ulimit -n "$(ulimit -Hn)"
certs_make n1
port=$(free_port)
big=$(head -c 3072 /dev/urandom | base64 -w0)
for ((i = 0; i < ncont; i++)); do
	container_start "b$i" default "pod-$i" box "bench.execfs.io/pad=$big"
done
printf '{"rules": [{"principals": ["*"], "actions": ["exec"]}]}\n' >"$TESTDIR/policy.json"
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" --heartbeat 0
worker=$(agent_worker_pid)

rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %s kB  ", $1, $2}' "/proc/$worker/status"; }
hold() { # NAME ARGS...: run h2storm with ARGS until the measure is taken
	local name=$1
	shift
	"$H2STORM" --ca "$CERT_DIR/ca.pem" --cert "$CERT_DIR/client.pem" \
		--key "$CERT_DIR/client.key" --timeout 300 \
		--hold "$TESTDIR/hold-$name" "$@" "127.0.0.1:$port" \
		>"$TESTDIR/out-$name" 2>&1 &
	storm_pid[$name]=$!
	cleanup_push "rm -f '$TESTDIR/hold-$name'"
	wait_for "[ -e '$TESTDIR/hold-$name' ] || ! kill -0 $!" 300 ||
		fail "$name: no answers in 300 s"
}
release() { # NAME: end the load and wait for its client
	rm -f "$TESTDIR/hold-$1"
	wait "${storm_pid[$1]}" || true
}
declare -A storm_pid

echo "worker pid $worker, $ncont containers"
echo "idle:                    $(rss)"
for load in "status --status 8000" "watch --watch 8000" \
	"conns --conns 2000" "raw --raw 2000"; do
	# shellcheck disable=SC2086 # the load's words are its arguments
	hold $load
	echo "${load%% *} held: $(tr '\n' ' ' <"$TESTDIR/out-${load%% *}")"
	echo "    $(rss)"
	release "${load%% *}"
done
hold status --status 8000
hold watch --watch 8000
hold conns --conns 2000
hold raw --raw 2000
echo "all at once:             $(rss)"
for n in status watch conns raw; do release $n; done
kill -0 "$AGENT_PID" || fail "the agent died"
