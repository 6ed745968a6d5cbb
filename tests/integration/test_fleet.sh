#!/bin/bash
# A fleet of 50 agents (lib/fleet.sh: each its own node, runc root with 4
# busybox containers, certificate and TLS listener on 127.R.x.y, three of
# them in network namespaces behind veth pairs, a dnsmasq naming them all)
# under one TLS mount with a static config listing every node:
#   - `ls -d MNT/*/*/*/*` lists all 200 containers;
#   - `execfs exec --all` of `uname -n` reaches all 200, each line prefixed
#     with its container's path, the exit summary on stderr; --json too;
#   - a target whose command fails makes the exit status its code;
#   - with one agent frozen (SIGSTOP), listing and fan-out over the other
#     49 complete and the frozen node's targets are reported as failed.
# No timed assertions: every wait is generous. FLEET_SIZE=N runs another
# size; the sanitized build runs 10 agents (40 containers): an ASan agent
# forks its shadow memory's page tables for every session, and 200 such
# starts take minutes on 2 cores.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fleet.sh
. "$EXECFS_LIB_DIR/fleet.sh"

command -v dnsmasq >/dev/null || skip "no dnsmasq (Debian: dnsmasq-base)"
t_start=$(date +%s)
if [ "${EXECFS_SANITIZE:-0}" = 1 ]; then
	fleet_start "${FLEET_SIZE:-10}"
else
	fleet_start "${FLEET_SIZE:-50}"
fi
n=$FLEET_N
want=$((n * 4))
mnt=$TESTDIR/mnt
# heartbeat=1, resume=5: a frozen node is given up in seconds, not a minute.
fleet_mount "$mnt" -o heartbeat=1 -o resume=5
log "mount lists $want containers"

# The listing: exactly the fleet's containers, node by node.
awk '{print $1 "/" $2 "/" $3 "/" $4}' "$TESTDIR/containers.txt" | sort >"$TESTDIR/want.ls"
(cd "$mnt" && timeout 60 ls -d -- */*/*/*) | sort >"$TESTDIR/got.ls"
cmp -s "$TESTDIR/want.ls" "$TESTDIR/got.ls" ||
	fail "ls -d MNT/*/*/*/*: $(diff "$TESTDIR/want.ls" "$TESTDIR/got.ls" | head -5)"
for k in 1 "$n"; do
	assert_match "^connected " "$(read_file "$mnt/${FLEET_NODE[k]}/.status")" "${FLEET_NODE[k]}/.status"
done

exec_all() {
	timeout -k 5 300 "$EXECFS_BUILD_DIR/execfs" exec --all "$@" \
		>"$TESTDIR/all.out" 2>"$TESTDIR/all.err"
}

# uname -n everywhere: one prefixed line per container, the right host.
rc=0
exec_all "$mnt/*/*/*/*" -- uname -n || rc=$?
assert_eq 0 "$rc" "exec --all uname -n status ($(tail -3 "$TESTDIR/all.err"))"
awk '{print $1 "/" $2 "/" $3 "/" $4 ": " $1 "-" $3}' "$TESTDIR/containers.txt" |
	sort >"$TESTDIR/want.out"
sort "$TESTDIR/all.out" >"$TESTDIR/got.out"
cmp -s "$TESTDIR/want.out" "$TESTDIR/got.out" ||
	fail "exec --all uname -n output: $(diff "$TESTDIR/want.out" "$TESTDIR/got.out" | head -5)"
assert_eq "execfs exec --all: $want targets: $want exited 0" "$(cat "$TESTDIR/all.err")" "summary"
log "uname -n reached $want containers"

# --json: one record per line and one end record per target.
rc=0
exec_all --json "$mnt/*/*/*/*" -- hostname || rc=$?
assert_eq 0 "$rc" "exec --all --json hostname status"
python3 - "$TESTDIR/all.out" "$want" <<'PY' || fail "--json records: $(head -3 "$TESTDIR/all.out")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
data = [r for r in recs if "data" in r]
ends = [r for r in recs if "exit" in r]
assert len(data) == len(ends) == int(sys.argv[2]), (len(data), len(ends))
for r in data:
    node, ns, pod, name = r["target"].split("/")
    assert r["stream"] == "stdout" and r["data"] == "%s-%s\n" % (node, pod), r
assert all(r["exit"] == 0 and r["status"] == "exited 0" for r in ends)
PY
# Nothing left behind: every cloned session was forgotten.
left=$(cd "$mnt" && find . -mindepth 5 -maxdepth 5 -type d -name '[0-9]*' | head -3)
[ -z "$left" ] || fail "sessions left after exec --all: $left"

# One target fails: its code is the exit status, and the summary names it.
bad=${FLEET_NODE[n]}
rc=0
exec_all "$mnt/*/*/*/*" -- sh -c "[ \"\$(hostname)\" != $bad-db-1 ] || { echo no >&2; exit 3; }" || rc=$?
assert_eq 3 "$rc" "exec --all status with one failing target"
assert_eq "$bad/prod/db-1/box: no" "$(grep -v '^execfs\|^  ' "$TESTDIR/all.err")" "the failing target's stderr line"
assert_match "$want targets: $((want - 1)) exited 0, 1 did not" "$(cat "$TESTDIR/all.err")" "summary with a failure"
assert_match "  $bad/prod/db-1/box: exited 3 \\(3\\)" "$(cat "$TESTDIR/all.err")" "the failing target in the summary"
log "a failing target is reported"

# One agent frozen: the others still list and run; the frozen one fails.
frozen=$((n > 7 ? 7 : n))
fz=${FLEET_NODE[frozen]}
fleet_freeze "$frozen"
log "froze agent $fz"
grep -v "^$fz/" "$TESTDIR/want.ls" >"$TESTDIR/want49.ls"
(cd "$mnt" && timeout 60 ls -d -- */*/*/*) | grep -v "^$fz/" | sort >"$TESTDIR/got49.ls"
cmp -s "$TESTDIR/want49.ls" "$TESTDIR/got49.ls" ||
	fail "listing with $fz frozen: $(diff "$TESTDIR/want49.ls" "$TESTDIR/got49.ls" | head -5)"
# Over every node but the frozen one.
globs=()
for ((k = 1; k <= n; k++)); do
	[ "$k" = "$frozen" ] || globs+=("$mnt/${FLEET_NODE[k]}/*/*/*")
done
rc=0
exec_all "${globs[@]}" -- uname -n || rc=$?
assert_eq 0 "$rc" "exec --all over the $((n - 1)) healthy nodes"
assert_eq "$(grep -v "^$fz/" "$TESTDIR/want.out")" "$(sort "$TESTDIR/all.out")" "output over the healthy nodes"
# Over all of them: the frozen node's targets fail (125), the rest run.
rc=0
exec_all "$mnt/*/*/*/*" -- uname -n || rc=$?
assert_eq 125 "$rc" "exec --all status with $fz frozen ($(tail -5 "$TESTDIR/all.err"))"
assert_eq "$(grep -v "^$fz/" "$TESTDIR/want.out")" "$(sort "$TESTDIR/all.out")" "output with $fz frozen"
assert_match "$want targets: $((want - 4)) exited 0, 4 did not" "$(cat "$TESTDIR/all.err")" "summary with $fz frozen"
assert_eq 4 "$(grep -c "^  $fz/.*(125)\$" "$TESTDIR/all.err")" "the frozen node's targets in the summary: $(cat "$TESTDIR/all.err")"
assert_match "^error " "$(read_file "$mnt/$fz/.status")" "$fz/.status"
fleet_thaw "$frozen"
log "frozen node reported: $(grep "^  $fz/" "$TESTDIR/all.err" | head -1)"
log "test body took $(($(date +%s) - t_start)) s"
