#!/bin/bash
# A process started through execfs (a real mount, the agent over mutual
# TLS) is confined as `runc exec` confines it, in real runc containers
# (agent/spawn_child.c, docs/SECURITY.md "Confinement"):
#   - a container whose config has a seccomp profile (unshare and mount:
#     EPERM), rlimits (NOFILE 256/512, NPROC 77), oomScoreAdj 500, umask
#     0027, a non-root user with extra groups, a reduced capability set and
#     no_new_privs: the probe (/proc/self/status's ids, groups,
#     capabilities, NoNewPrivs and Seccomp lines, oom_score_adj, cgroups,
#     namespaces, cwd, env) is the same as `runc exec`'s, the limits are
#     the container's init's (runc 1.1.5's exec raises the NOFILE soft
#     limit to the hard one, its Go runtime's doing: not a model) and the
#     umask is the config's (runc 1.1.5's exec keeps its own 0022; runc
#     1.2 applies the config's); `unshare -U true` fails with "Operation
#     not permitted";
#   - the same without no_new_privs (the filter is loaded while the entry
#     still has CAP_SYS_ADMIN, before the user and capabilities change);
#   - under a profile that refuses sendmsg, a failed execve is still
#     reported (the filter is in force by then; the report falls back to
#     write);
#   - the network worker itself runs under its seccomp sandbox;
#   - a container whose profile asks for SCMP_ACT_NOTIFY (which the agent
#     cannot reproduce: it runs no seccomp agent) is refused, saying why,
#     and the agent logs it.
# shellcheck disable=SC2016 # the probes run in the container
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/runtimes.sh
. "$EXECFS_LIB_DIR/runtimes.sh"
# shellcheck source=lib/tlsnode.sh
. "$EXECFS_LIB_DIR/tlsnode.sh"

R=(runc --root "$RUNC_ROOT")
export AGENT_NODE=n1
certs_make n1

CONTAINER_SPEC_PATCH=$(container_confined_patch true) container_start nnp default nnp-1 app
NNP=$CONTAINER_ID
CONTAINER_SPEC_PATCH=$(container_confined_patch false) container_start caps default caps-1 app
CAPS=$CONTAINER_ID

# A profile that refuses sendmsg, the report's first choice after the
# filter (with no_new_privs it is loaded last): a failed execve is still
# told, through write.
CONTAINER_SPEC_PATCH='{"process": {"noNewPrivileges": true}, "linux": {"seccomp": {
    "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}}}' \
	container_start nosend default nosend-1 app

# SCMP_ACT_NOTIFY: runc hands the filter's fd to a listener, which holds
# it until the test ends.
listener=$TESTDIR/seccomp.sock
python3 - "$listener" "$TESTDIR/listener.ready" <<'PY' &
import array, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
s.listen(1)
open(sys.argv[2], "w").close()
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
while True:
    time.sleep(3600)
PY
listener_pid=$!
cleanup_push "kill $listener_pid 2>/dev/null"
wait_for "[ -e '$TESTDIR/listener.ready' ]" 60 || fail "the seccomp listener did not start"
CONTAINER_SPEC_PATCH='{"linux": {"seccomp": {
    "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "'"$listener"'",
    "architectures": ["SCMP_ARCH_X86_64"],
    "syscalls": [{"names": ["mknodat"], "action": "SCMP_ACT_NOTIFY"}]}}}' \
	container_start notify default notify-1 app
NOTIFY=$CONTAINER_ID

tls_agent_mount '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}'
# The network worker serves from inside its own seccomp sandbox.
assert_eq 2 "$(awk '$1 == "Seccomp:" {print $2}' "/proc/$(agent_worker_pid)/status")" "the worker's Seccomp"

# parity NAME ID: the probe through execfs and through runc exec, the same
# but for the limits, which are the init's.
parity() {
	local name=$1 id=$2 dir=$mnt/n1/default/$1-1/app init out=$TESTDIR/parity-$1
	wait_for "[ -d '$dir' ]" 60 || fail "$name: $dir not shown"
	init=$("${R[@]}" state "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	"${R[@]}" exec "$id" sh -c "$RT_PROBE" >"$out.runc" 2>&1 ||
		fail "$name: runc exec's probe failed: $(tail -3 "$out.runc")"
	exec_probe "$dir" sh -c "$RT_PROBE" >"$out.execfs"
	# runc 1.1.5's exec leaves its own umask (0022) and ignores the
	# config's; runc 1.2 applies it, and so do we: compared to the config.
	grep -v -e '^Max ' -e '^Limit ' -e '^umask: ' "$out.runc" >"$out.runc.nolimits"
	grep -v -e '^Max ' -e '^Limit ' -e '^umask: ' "$out.execfs" >"$out.execfs.nolimits"
	diff -u --label "runc exec" --label execfs "$out.runc.nolimits" "$out.execfs.nolimits" >&2 ||
		fail "$name: the probe differs from runc exec's"
	grep -E '^(Limit|Max) ' "/proc/$init/limits" >"$out.init-limits"
	grep -E '^(Limit|Max) ' "$out.execfs" >"$out.execfs-limits"
	diff -u --label "the init's" --label execfs "$out.init-limits" "$out.execfs-limits" >&2 ||
		fail "$name: the limits differ from the container init's"
	grep -q '^Seccomp:[[:space:]]*2$' "$out.execfs" || fail "$name: no seccomp filter: $(grep Seccomp "$out.execfs")"
	grep -q '^Max processes  *77  *77 ' "$out.execfs" || fail "$name: NPROC is not 77"
	grep -qx 'oom_score_adj: 500' "$out.execfs" || fail "$name: oom_score_adj is not 500"
	grep -qx 'umask: 0027' "$out.execfs" || fail "$name: umask is not 0027"
	grep -q '^Uid:[[:space:]]*1000' "$out.execfs" || fail "$name: not uid 1000"
	log "$name: the probe is runc exec's; the limits the init's ($(grep 'open files' "$out.execfs" | tr -s ' '))"

	# A blocked syscall fails with the profile's errno.
	exec_probe "$dir" sh -c 'unshare -U true 2>&1; echo "status $?"' >"$out.unshare"
	grep -q "Operation not permitted" "$out.unshare" ||
		fail "$name: unshare -U: $(cat "$out.unshare"), want EPERM"
	grep -qx "status 1" "$out.unshare" || fail "$name: unshare -U did not fail: $(cat "$out.unshare")"
}
parity nnp "$NNP"
grep -q '^NoNewPrivs:[[:space:]]*1$' "$TESTDIR/parity-nnp.execfs" || fail "nnp: NoNewPrivs is not 1"
parity caps "$CAPS"
grep -q '^NoNewPrivs:[[:space:]]*0$' "$TESTDIR/parity-caps.execfs" || fail "caps: NoNewPrivs is not 0"

# ---- the report under the container's filter ----------------------------------
dir=$mnt/n1/default/nosend-1/app
wait_for "[ -d '$dir' ]" 60 || fail "nosend: $dir not shown"
assert_eq ok "$(exec_probe "$dir" sh -c 'echo ok')" "a start under a filter refusing sendmsg"
n=$(read_file "$dir/clone")
(printf 'exec /nosuch\n' >"$dir/$n/ctl") 2>/dev/null || true
wait_for "grep -q . '$dir/$n/status'" 60 || fail "nosend: no status"
st=$(cat "$dir/$n/status")
assert_match '^failed: exec /nosuch: No such file or directory' "$st" "a failed execve under a filter refusing sendmsg"

# ---- a profile the agent cannot reproduce -------------------------------------
dir=$mnt/n1/default/notify-1/app
wait_for "[ -d '$dir' ]" 60 || fail "notify: $dir not shown"
n=$(read_file "$dir/clone")
if (printf 'exec true\n' >"$dir/$n/ctl") 2>"$TESTDIR/notify.err"; then
	st=$(read_file "$dir/$n/wait" 30)
	fail "a container with SCMP_ACT_NOTIFY was entered: $st"
fi
log "notify: refused: $(cat "$TESTDIR/notify.err")"
wait_for "grep -q 'container $NOTIFY: start refused: seccomp: .*SCMP_ACT_NOTIFY' '$TESTDIR/agent.log'" 60 ||
	fail "no log line for the refused start"
st=$(cat "$dir/$n/status")
assert_match '^failed: unsupported container config: seccomp: .*SCMP_ACT_NOTIFY' "$st" "the failed start's status"

mount_stop "$mnt"
agent_stop
