#!/bin/bash
# The agent's confinement modules on real runc containers (what a process
# entering a container must get besides namespaces and cgroups):
#   - a container with a seccomp profile (unshare and mount: EPERM), rlimits
#     (NOFILE 256/512, NPROC 77), oomScoreAdj 500, umask 0027, a non-root
#     user and a reduced capability set is read as the inventory reads it
#     (state.json's config, the init's limits) and every setting matches
#     the config and the init;
#   - the compiled filter is the one `runc exec` loads, instruction for
#     instruction (read back from the exec'd process with
#     PTRACE_SECCOMP_GET_FILTER), for that profile and for a default-deny
#     one where runc's -ENOSYS stub is in front;
#   - installed in a forked child on the host, the filter refuses
#     `unshare -U` with EPERM, answers a syscall newer than the profile
#     with ENOSYS, and shows Seccomp 2 / Seccomp_filters 1 as runc exec's
#     process does; the limits are the init's (runc 1.1.5's exec raises the
#     NOFILE soft limit to the hard one: its Go runtime's doing);
#   - each new "privileged" criterion (host network namespace,
#     CAP_SYS_PTRACE, every device allowed, a bind mount of the host's /)
#     is named.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

C=$EXECFS_BUILD_DIR/tests/confinectl
[ -x "$C" ] || fail "no $C: build the tests first"
R=(runc --root "$RUNC_ROOT")

# The value of KEY in a "KEY VALUE..." line of confinectl decode's output.
field() { awk -v k="$1" '$1 == k {$1 = ""; sub(/^ /, ""); print}' "$2"; }
limit() { awk -v k="$1" '$1 == "rlimit" && $2 == k {print $3, $4, $5}' "$2"; }
status_field() { awk -v k="$2:" '$1 == k {print $2}' "$1"; }

# Run `runc exec -d CONTAINER sleep 1000` and set SLEEPER to its pid (on
# the host). Its stdio is /dev/null: the process keeps what runc had, and a
# pipe it held would never end.
exec_sleeper() {
	local pidfile=$TESTDIR/exec-$1.pid
	"${R[@]}" exec -d --pid-file "$pidfile" "$1" /bin/sleep 1000 \
		</dev/null >/dev/null 2>&1
	wait_for "[ -s '$pidfile' ]" 60 || fail "runc exec wrote no pid file"
	SLEEPER=$(cat "$pidfile")
	cleanup_push "kill $SLEEPER 2>/dev/null"
}

# ---- 1. the issue's container --------------------------------------------
CONTAINER_SPEC_PATCH=$(container_confined_patch true)
export CONTAINER_SPEC_PATCH
container_start conf default conf-1 conf
unset CONTAINER_SPEC_PATCH
CID=$CONTAINER_ID
INIT=$(container_pid conf)

"$C" decode "$RUNC_ROOT" "$CID" >"$TESTDIR/decode"
log "decoded: $(tr '\n' ';' <"$TESTDIR/decode")"
assert_eq no "$(field privileged "$TESTDIR/decode")" "privileged"
assert_eq none "$(field entry_error "$TESTDIR/decode")" "entry error"
assert_match '^default 0x7fff0000 rules 2 len [0-9]+ flags 0$' \
	"$(field seccomp "$TESTDIR/decode")" "seccomp"
assert_eq 500 "$(field oom "$TESTDIR/decode")" "oomScoreAdj"
assert_eq 0027 "$(field umask "$TESTDIR/decode")" "umask"
assert_eq none "$(field personality "$TESTDIR/decode")" "personality"
assert_eq none "$(field apparmor "$TESTDIR/decode")" "apparmor"
assert_eq none "$(field selinux "$TESTDIR/decode")" "selinux"
# runc 1.1.5 keeps no rlimits in state.json: every limit is the init's,
# the config's two among them.
assert_eq "256 512 init" "$(limit RLIMIT_NOFILE "$TESTDIR/decode")" "NOFILE"
assert_eq "77 77 init" "$(limit RLIMIT_NPROC "$TESTDIR/decode")" "NPROC"
python3 - "$TESTDIR/decode" "/proc/$INIT/limits" <<'PY' || fail "decoded limits differ from the init's"
import sys
names = {"Max cpu time": "RLIMIT_CPU", "Max file size": "RLIMIT_FSIZE",
         "Max data size": "RLIMIT_DATA", "Max stack size": "RLIMIT_STACK",
         "Max core file size": "RLIMIT_CORE", "Max resident set": "RLIMIT_RSS",
         "Max processes": "RLIMIT_NPROC", "Max open files": "RLIMIT_NOFILE",
         "Max locked memory": "RLIMIT_MEMLOCK", "Max address space": "RLIMIT_AS",
         "Max file locks": "RLIMIT_LOCKS", "Max pending signals": "RLIMIT_SIGPENDING",
         "Max msgqueue size": "RLIMIT_MSGQUEUE", "Max nice priority": "RLIMIT_NICE",
         "Max realtime priority": "RLIMIT_RTPRIO", "Max realtime timeout": "RLIMIT_RTTIME"}
decoded = {l.split()[1]: l.split()[2:4] for l in open(sys.argv[1]) if l.startswith("rlimit ")}
for line in open(sys.argv[2]):
    for row, name in names.items():
        if line.startswith(row + " "):
            want = line[len(row):].split()[0:2]
            if decoded.get(name) != want:
                sys.exit("%s: decoded %s, init has %s" % (name, decoded.get(name), want))
            del decoded[name]
if decoded:
    sys.exit("decoded limits the init's file has not: %s" % decoded)
PY

# The same filter as `runc exec`'s process has, instruction for instruction.
"$C" bpf "$RUNC_ROOT" "$CID" >"$TESTDIR/ours.bpf"
exec_sleeper "$CID"
pid=$SLEEPER
"$C" dump "$pid" >"$TESTDIR/runc.bpf"
cmp "$TESTDIR/ours.bpf" "$TESTDIR/runc.bpf" ||
	fail "our filter differs from runc exec's (see $TESTDIR/*.bpf)"
runc_seccomp="$(status_field "/proc/$pid/status" Seccomp) $(status_field "/proc/$pid/status" Seccomp_filters)"
assert_eq "2 1" "$runc_seccomp" "runc exec's Seccomp and Seccomp_filters"
runc_nofile=$(awk '/^Max open files/ {print $4, $5}' "/proc/$pid/limits")
kill "$pid"
log "runc exec: Seccomp/Seccomp_filters $runc_seccomp, $(wc -l <"$TESTDIR/ours.bpf") instructions (ours identical), NOFILE $runc_nofile (its Go runtime raised the soft limit)"

# Installed in a child on the host (in no container).
rc=0
"$C" run "$RUNC_ROOT" "$CID" -- unshare -U true 2>"$TESTDIR/unshare.err" || rc=$?
[ "$rc" -ne 0 ] || fail "unshare -U succeeded under the container's filter"
grep -q "Operation not permitted" "$TESTDIR/unshare.err" ||
	fail "unshare -U: $(cat "$TESTDIR/unshare.err"), want EPERM"
"$C" run "$RUNC_ROOT" "$CID" -- sh -c 'cat /proc/self/status; cat /proc/self/limits; echo "oom $(cat /proc/self/oom_score_adj)"; echo "umask $(umask)"' >"$TESTDIR/child"
assert_eq "2 1" "$(status_field "$TESTDIR/child" Seccomp) $(status_field "$TESTDIR/child" Seccomp_filters)" \
	"the child's Seccomp and Seccomp_filters (runc exec: $runc_seccomp)"
assert_eq "$(awk '/^Max open files/ {print $4, $5}' "/proc/$INIT/limits")" \
	"$(awk '/^Max open files/ {print $4, $5}' "$TESTDIR/child")" "the child's NOFILE (the init's)"
assert_eq "77 77" "$(awk '/^Max processes/ {print $3, $4}' "$TESTDIR/child")" "the child's NPROC"
assert_eq 500 "$(field oom "$TESTDIR/child")" "the child's oom_score_adj"
assert_eq 0027 "$(field umask "$TESTDIR/child")" "the child's umask"

# ---- 2. default deny: runc's -ENOSYS stub --------------------------------
allow=$("$C" syscalls | grep -vx -e unshare -e mount | python3 -c 'import json, sys; print(json.dumps(sys.stdin.read().split()))')
export CONTAINER_SPEC_PATCH='{"linux": {"seccomp": {
  "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
  "architectures": ["SCMP_ARCH_X86_64"],
  "syscalls": [{"names": '"$allow"', "action": "SCMP_ACT_ALLOW"}]}}}'
container_start deny default deny-1 deny
unset CONTAINER_SPEC_PATCH
"$C" bpf "$RUNC_ROOT" "$CONTAINER_ID" >"$TESTDIR/ours-deny.bpf"
exec_sleeper "$CONTAINER_ID"
pid=$SLEEPER
"$C" dump "$pid" >"$TESTDIR/runc-deny.bpf"
kill "$pid"
cmp "$TESTDIR/ours-deny.bpf" "$TESTDIR/runc-deny.bpf" ||
	fail "our default-deny filter differs from runc exec's"
assert_eq "0006 00 00 00050026" "$(sed -n 9p "$TESTDIR/ours-deny.bpf")" "the stub's ret ERRNO(ENOSYS)"
log "default deny: $(wc -l <"$TESTDIR/ours-deny.bpf") instructions, identical to runc exec's"
"$C" run "$RUNC_ROOT" "$CONTAINER_ID" -- python3 -c '
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    return libc.syscall(nr, *args), ctypes.get_errno()
unshare = 272  # x86_64
assert call(unshare, 0x10000000) == (-1, errno.EPERM), call(unshare, 0x10000000)
assert call(1000) == (-1, errno.ENOSYS), call(1000)  # newer than any listed
assert os.getpid() > 0
print("ok")' >"$TESTDIR/deny.out" || fail "the default-deny filter: $(cat "$TESTDIR/deny.out")"
assert_eq ok "$(cat "$TESTDIR/deny.out")" "python under the default-deny filter"

# ---- 3. privileged criteria ------------------------------------------------
# privileged_of NAME: start a container from CONTAINER_SPEC_PATCH and
# CONTAINER_HOST_NET, decode it into $TESTDIR/decode-NAME, delete it.
privileged_of() {
	container_start "$1" default "$1-1" "$1"
	"$C" decode "$RUNC_ROOT" "$CONTAINER_ID" >"$TESTDIR/decode-$1"
	container_delete "$1"
}
export CONTAINER_HOST_NET=1
privileged_of hostnet
unset CONTAINER_HOST_NET
assert_eq "shares the host's network namespace" \
	"$(field privileged "$TESTDIR/decode-hostnet")" "host network"
export CONTAINER_SPEC_PATCH='{"process": {"capabilities": {"bounding": ["CAP_KILL", "CAP_SYS_PTRACE"]}}}'
privileged_of ptrace
assert_eq "has CAP_SYS_PTRACE" "$(field privileged "$TESTDIR/decode-ptrace")" "CAP_SYS_PTRACE"
export CONTAINER_SPEC_PATCH='{"linux": {"resources": {"devices": [{"allow": true, "access": "rwm"}]}}}'
privileged_of devices
assert_eq "may read or write every device (a device cgroup rule allows all)" \
	"$(field privileged "$TESTDIR/decode-devices")" "every device"
# A merge patch replaces a list: the spec's own mounts, then the host's /.
mkdir "$TESTDIR/spec"
runc spec --bundle "$TESTDIR/spec"
mounts=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))["mounts"]
m.append({"destination": "/run", "type": "bind", "source": "/", "options": ["bind", "ro"]})
print(json.dumps(m))' "$TESTDIR/spec/config.json")
export CONTAINER_SPEC_PATCH='{"mounts": '"$mounts"'}'
privileged_of hostroot
assert_eq "bind-mounts the host's /" "$(field privileged "$TESTDIR/decode-hostroot")" "host root"
unset CONTAINER_SPEC_PATCH
