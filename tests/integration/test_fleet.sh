#!/bin/bash
# A fleet of 50 agents (lib/fleet.sh: each its own node, runc root with 4
# busybox containers, certificate and TLS listener on 127.R.x.y, three of
# them in network namespaces behind veth pairs, a dnsmasq naming them all)
# under one TLS mount that finds them through DNS (one name, 50 A records,
# each agent's certificate checked against the name it reports, the
# server_name template "{node}"):
#   - `ls -d MNT/*/*/*/*` lists all 200 containers, MNT/.status the name
#     and every node;
#   - `execfs exec --all` of `uname -n` reaches all 200, each line prefixed
#     with its container's path, the exit summary on stderr; --json too;
#   - a target whose command fails makes the exit status its code;
#   - an address that leaves the DNS name takes its node away, and one that
#     comes back brings it again, while a session on another node streams
#     its output across every change (all of it arrives, checksum);
#   - a second agent reporting a node name another holds is refused, one
#     whose certificate does not carry the name it reports too, and one that
#     accepts and never speaks TLS stays "connecting": each says so in
#     MNT/.status (and the first in the holder's .status), none gets a
#     directory, and the listing and a session elsewhere go on meanwhile;
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
	assert_match "found: dns $FLEET_DNS_NAME" "$(read_file "$mnt/${FLEET_NODE[k]}/.status")" "${FLEET_NODE[k]}/.status"
done
st=$(read_file "$mnt/.status")
assert_match "^dns $FLEET_DNS_NAME port $FLEET_PORT: $n addresses" "$st" "MNT/.status"
assert_eq "$n" "$(grep -c "^node[0-9]* connected " <<<"$st")" "connected nodes in MNT/.status: $st"

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

# A session on node01 that streams output across the DNS changes below:
# half of its output, then it waits for a line on stdin, then the rest.
s1=$mnt/${FLEET_NODE[1]}/default/web-1/nginx
sn=$(read_file "$s1/clone")
echo "sh -c 'seq 1 20000; read x; seq 20001 40000'" >"$s1/$sn/ctl"
wait_for "[ \$(stat -c %s '$s1/$sn/stdout') -ge $(seq 1 20000 | wc -c) ]" 60 ||
	fail "the session on ${FLEET_NODE[1]} did not print its first half"
seq 1 40000 | md5sum >"$TESTDIR/want.md5"

# An address leaves the name: its node goes, within one re-resolve
# interval (dnsmasq's TTL: 5 s; waited for generously).
gone=${FLEET_NODE[n]}
fleet_dns_set "${FLEET_ADDR[@]:1:n-1}"
wait_for "[ ! -e '$mnt/$gone' ]" 60 || fail "$gone still listed after its address left DNS: $(cat "$mnt/.status")"
assert_eq "" "$(grep "^$gone " "$mnt/.status" || true)" "$gone in MNT/.status after it left"
log "$gone left with its address"
# ...and comes back with it.
fleet_dns_set_all
wait_for "[ \$(cd '$mnt' && ls -d -- $gone/*/*/* 2>/dev/null | wc -l) = 4 ]" 60 ||
	fail "$gone did not come back with its address: $(cat "$mnt/.status")"
log "$gone came back with its address"

# Three addresses that must not become nodes: an agent reporting node02's
# name (with node02's certificate), one reporting node99 with node03's
# certificate, and a listener that accepts and never speaks TLS.
x=127.$FLEET_R.254
fleet_agent_extra $((n + 1)) "${FLEET_NODE[2]}" "${FLEET_NODE[2]}" "$x.1"
fleet_agent_extra $((n + 2)) node99 "${FLEET_NODE[3]}" "$x.2"
python3 -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
held = []
while True:
    held.append(s.accept())
' "$x.3" "$FLEET_PORT" </dev/null >/dev/null 2>&1 &
mute_pid=$!
cleanup_push "kill $mute_pid 2>/dev/null || true"
wait_for "port_open $x.3 $FLEET_PORT" 60 || fail "the mute listener did not listen"
fleet_dns_set "${FLEET_ADDR[@]:1:n}" "$x.1" "$x.2" "$x.3"
wait_for "grep -q '^- error $x.1:$FLEET_PORT: refused: it reports node ${FLEET_NODE[2]}, which ${FLEET_ADDR[2]}:$FLEET_PORT is' '$mnt/.status'" 60 ||
	fail "no refusal of the second ${FLEET_NODE[2]}: $(cat "$mnt/.status")"
wait_for "grep -q '^- error $x.2:$FLEET_PORT: certificate verify failed: the agent reports node node99, and its certificate does not carry node99' '$mnt/.status'" 60 ||
	fail "no refusal of node99: $(cat "$mnt/.status")"
wait_for "grep -Eq '^- (connecting|error) $x.3:$FLEET_PORT' '$mnt/.status'" 60 ||
	fail "the mute address is not in MNT/.status: $(cat "$mnt/.status")"
assert_match "conflict: $x.1:$FLEET_PORT also reports node ${FLEET_NODE[2]}: refused" \
	"$(read_file "$mnt/${FLEET_NODE[2]}/.status")" "${FLEET_NODE[2]}/.status"
assert_match "^connected ${FLEET_ADDR[2]}:" "$(read_file "$mnt/${FLEET_NODE[2]}/.status")" "${FLEET_NODE[2]}/.status"
[ ! -e "$mnt/node99" ] || fail "node99 got a directory"
(cd "$mnt" && timeout 60 ls -d -- */*/*/*) | sort >"$TESTDIR/got.ls"
cmp -s "$TESTDIR/want.ls" "$TESTDIR/got.ls" ||
	fail "listing with the refused and mute addresses: $(diff "$TESTDIR/want.ls" "$TESTDIR/got.ls" | head -5)"
grep -q "refused: it reports node ${FLEET_NODE[2]}" "$TESTDIR/execfs-mnt.log" ||
	fail "no log line for the refused ${FLEET_NODE[2]}"
log "refused: a second ${FLEET_NODE[2]}, node99 without its certificate; the mute address waits"

# The session on node01 saw none of it: it goes on and ends complete.
echo go >"$s1/$sn/stdin"
assert_eq "exited 0" "$(read_file "$s1/$sn/wait")" "the streaming session's end"
assert_eq "$(cat "$TESTDIR/want.md5")" "$(md5sum <"$s1/$sn/stdout")" "the streaming session's output"
echo forget >"$s1/$sn/ctl"
log "a session on ${FLEET_NODE[1]} streamed across every change, complete"

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

# The extra addresses leave the name: nothing of them stays.
fleet_dns_set_all
wait_for "! grep -q '$x' '$mnt/.status'" 60 || fail "the extra addresses stayed: $(cat "$mnt/.status")"
log "test body took $(($(date +%s) - t_start)) s"
