#!/bin/bash
# The systemd units: systemd-analyze verify accepts them as installed (a
# prefix of the test's own), and the agent's hardening is the one it can
# take. PID 1 here is not systemd, so the file-system directives the unit
# takes are set up as systemd sets them up (lib/hardening.sh, in a mount
# namespace of the agent's own), and the agent must then start, say READY=1
# and run sessions (plain, tty, as another user) in a real container. The
# directives it does not take are shown to break it or to reach the
# sessions:
#   ProtectControlGroups= / ProtectKernelTunables=: /sys/fs/cgroup read-only,
#     no session can join a container's cgroups (on cgroup v1 hierarchies);
#   PrivateTmp=: a container whose bundle is under /tmp disappears;
#   NoNewPrivileges= (as every seccomp-based directive: SystemCall*,
#     MemoryDenyWriteExecute=, LockPersonality=, RestrictAddressFamilies=
#     ...): inherited by every session, even in a container that lets its
#     processes gain privileges.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

command -v systemd-analyze >/dev/null || skip "no systemd-analyze"
B=$EXECFS_BUILD_DIR
T=$TESTDIR
unit=$EXECFS_SOURCE_DIR/examples/systemd/execfs-agent.service

# ---- systemd-analyze verify ---------------------------------------------------------
cmake --install "$B" --prefix "$T/prefix" >"$T/install.log" 2>&1 || {
	cat "$T/install.log" >&2
	fail "cmake --install failed"
}
units=$T/prefix/lib/systemd/system
grep -q "^ExecStart=$T/prefix/sbin/execfs-agent " "$units/execfs-agent.service" ||
	fail "the installed unit does not start the installed agent"
out=$(MANPATH=$T/prefix/share/man systemd-analyze verify "$units/execfs-agent.service" \
	"$units/exec.mount" 2>&1) || fail "systemd-analyze verify: $out"
assert_eq "" "$out" "systemd-analyze verify"
log "systemd-analyze verify: clean"

# The unit takes what is tested below and nothing that the sessions would
# inherit or that breaks the agent.
directive() { sed -n "s/^$1=//p" "$unit"; }
assert_eq strict "$(directive ProtectSystem)" "ProtectSystem="
assert_eq read-only "$(directive ProtectHome)" "ProtectHome="
assert_eq notify "$(directive Type)" "Type="
assert_eq all "$(directive NotifyAccess)" "NotifyAccess="
for d in NoNewPrivileges CapabilityBoundingSet SystemCallFilter SystemCallArchitectures \
	MemoryDenyWriteExecute LockPersonality RestrictAddressFamilies RestrictNamespaces \
	RestrictRealtime RestrictSUIDSGID PrivateDevices PrivateTmp ProtectKernelModules \
	ProtectKernelLogs ProtectKernelTunables ProtectControlGroups ProtectClock \
	ProtectHostname ProtectProc ProcSubset PrivateNetwork; do
	[ -z "$(directive "$d")" ] || fail "the unit sets $d=, which the tests below rule out"
done

# ---- the agent under the unit's hardening ---------------------------------------------
run=$(mktemp -d /run/execfs-test.XXXXXX) # not under /tmp: PrivateTmp= below
cleanup_push "rm -rf '$run'"
mkdir -p "$run/rt" "$run/logs" "$run/notify"
chmod 755 "$run" "$run/notify"
python3 "$EXECFS_LIB_DIR/dgram.py" "$run/notify/sock" "$T/notify.txt" &
cleanup_push "kill $! 2>/dev/null; wait $! 2>/dev/null"
wait_for "[ -S '$run/notify/sock' ]" 60 || fail "no notify listener"

CONTAINER_NO_NEW_PRIVS=0 container_start web default web-1 nginx
c_web=default/web-1/nginx

# The agent runs from a copy under $run, as an installed one runs from
# /usr/sbin: a build tree under /tmp (a clone there) vanishes with
# PrivateTmp=.
mkdir "$run/bin"
cp "$B/execfs-agent" "$run/bin/"

# hardened MODES [AGENT ARGS...]: the agent (its socket $run/rt/agent.sock,
# as /run/execfs; --log in $run/logs, as /var/log/execfs) under MODES.
hardened() {
	local modes=$1
	shift
	AGENT_BIN=$run/bin/execfs-agent
	AGENT_SOCK=$run/rt/agent.sock
	AGENT_PREFIX=(env "NOTIFY_SOCKET=$run/notify/sock" unshare --mount --propagation slave
		bash "$EXECFS_LIB_DIR/hardening.sh" "$modes" "$run/rt" "$run/logs" --)
	agent_start --log "$run/logs/agent.log" "$@"
	log_register "agent ($modes)" "$run/logs/agent.log"
}

hardened strict
wait_for "grep -q '^READY=1' '$T/notify.txt'" 60 || fail "no READY=1 under ProtectSystem=strict"
# The emulation holds: the agent's view is read-only outside its directories.
probe=$T/probe-$$
nsenter -t "$AGENT_PID" -m touch "$probe" 2>/dev/null && fail "the agent's / is writable: no emulation"
nsenter -t "$AGENT_PID" -m touch "$run/rt/probe" || fail "the runtime directory is read-only"
mount_start "$T/mnt" --agent "unix:$AGENT_SOCK"
w=$T/mnt/$AGENT_NODE/$c_web
echo 'sh -c "echo plain; id -u"' >"$w/ctl"
assert_eq "plain
0" "$(read_file "$w/stdout")" "a session under ProtectSystem=strict"
n=$(read_file "$w/clone")
printf 'tty 80 24\nuser 1000:1000\nexec sh -c "stty size; id -u; tty"\n' >"$w/$n/ctl"
out=$(read_file "$w/$n/stdout")
assert_match $'^24 80\r\n1000\r\n/dev/pts/[0-9]+' "$out" "a tty session as uid 1000 under strict"
assert_eq "exited 0" "$(read_file "$w/$n/wait")" "the tty session"
grep -q 'NoNewPrivs:[[:space:]]*0' <<<"$(echo 'cat /proc/self/status' >"$w/ctl"; read_file "$w/stdout")" ||
	fail "a session of the unhardened agent has no_new_privs: the NoNewPrivileges check below proves nothing"
log "ProtectSystem=strict, ProtectHome=read-only: READY=1, plain and tty sessions run"
mount_stop "$T/mnt"
agent_stop

# ---- what the unit cannot take --------------------------------------------------------
# /sys/fs/cgroup read-only (ProtectControlGroups=, ProtectKernelTunables=).
if findmnt -n -t cgroup /sys/fs/cgroup/memory >/dev/null; then
	hardened strict,cgroup-ro
	mount_start "$T/mnt" --agent "unix:$AGENT_SOCK"
	echo true >"$w/ctl" 2>"$T/ctl.err" && fail "a session started with /sys/fs/cgroup read-only"
	assert_match "^failed: .*Read-only file system" "$(read_file "$w/status")" \
		"a start with /sys/fs/cgroup read-only"
	log "ProtectControlGroups=/ProtectKernelTunables=: $(read_file "$w/status")"
	mount_stop "$T/mnt"
	agent_stop
else
	log "no cgroup v1 hierarchy here: the read-only cgroup case does not apply"
fi

# PrivateTmp=: the bundle of a container under /tmp is out of the agent's sight.
hardened strict,private-tmp
MOUNT_NODE= mount_start "$T/mnt" --agent "unix:$AGENT_SOCK"
wait_for "[ -d '$T/mnt/$AGENT_NODE' ]" 60 || fail "no node directory"
[ -e "$w" ] && fail "a container with its bundle under /tmp was visible with PrivateTmp="
log "PrivateTmp=: the container (bundle under /tmp) is gone from the tree"
mount_stop "$T/mnt"
agent_stop

# NoNewPrivileges=: every session inherits it, although the container
# allows gaining privileges.
AGENT_SOCK=$run/rt/agent.sock
AGENT_PREFIX=(setpriv --no-new-privs)
agent_start
unset AGENT_PREFIX
mount_start "$T/mnt" --agent "unix:$AGENT_SOCK"
echo 'cat /proc/self/status' >"$w/ctl"
assert_match $'NoNewPrivs:\t1' "$(read_file "$w/stdout")" "a session of an agent with no_new_privs"
log "NoNewPrivileges=: the session has no_new_privs too (so would a seccomp filter reach it)"
