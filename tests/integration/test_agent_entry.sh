#!/bin/bash
# Entering a container (agent/spawn*.c, docs/SECURITY.md "Entering a
# container"), through the agent's Unix socket with tests/tools/h2req:
#
# - A start held inside the container (its /etc/passwd on a FUSE file
#   system whose reads wait until the test lets them go, tests/tools/
#   stallfs) holds only its own process: meanwhile another session's
#   signal is answered, its exit status delivered, and another start
#   completes; then the held one finishes as the user it asked for.
# - While held, that process (B) holds no fd of the host's beyond the
#   entry's (checked from the host), and, seen from inside the container
#   (which has CAP_SYS_PTRACE), its /proc/PID/exe is the agent's sealed
#   memfd: a handle kept on it cannot be written, not even once the agent
#   stopped, and the agent's binary is unchanged.
# - A FIFO planted at the container's /etc/passwd (a writer waiting on it)
#   or a device node at its /etc/group is never opened: the writer stays
#   blocked, the start fails saying why.
# - HOME as runc exec sets it: env is the same as `runc exec`'s.
# The commands run in the container are in single quotes on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

T=$TESTDIR
rootfs_build
BASE_ROOTFS=$ROOTFS

# ---- the containers ---------------------------------------------------------
# "held": /etc/passwd is stallfs's file. Reads go through until the test
# writes 'h' to the control FIFO (fd 8), and wait from then until 'r'.
cp -a "$BASE_ROOTFS" "$T/rootfs-held"
cp "$BASE_ROOTFS/etc/passwd" "$T/passwd"
mkdir "$T/rootfs-held/stall"
ln -sf /stall/file "$T/rootfs-held/etc/passwd"
mkfifo "$T/stall.ctl"
echo "$T/rootfs-held/stall" >>"$TESTDIR/mounts"
log_register stallfs "$T/stallfs.log"
"$EXECFS_BUILD_DIR/tests/stallfs" "$T/passwd" "$T/stall.ctl" "$T/rootfs-held/stall" \
	</dev/null >"$T/stallfs.log" 2>&1 &
stallfs_pid=$!
exec 8<>"$T/stall.ctl"
cleanup_push "exec 8>&-"
cleanup_push "printf r >&8; fusermount3 -u -z '$T/rootfs-held/stall' 2>/dev/null; stop_pid $stallfs_pid stallfs"
wait_for "mountpoint -q '$T/rootfs-held/stall'" 60 || fail "stallfs did not mount"

# With CAP_SYS_PTRACE, which a process of the container needs to look at
# B's /proc files (B is not dumpable); runc's default set besides.
caps='["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SYS_PTRACE"]'
ROOTFS=$T/rootfs-held \
	CONTAINER_SPEC_PATCH='{"process":{"capabilities":{"bounding":'$caps',"effective":'$caps',"permitted":'$caps'}}}' \
	container_start held default held-1 box
HELD=$CONTAINER_ID
HELD_INIT=$(container_pid held)
cp -a "$BASE_ROOTFS" "$T/rootfs-planted"
ROOTFS=$T/rootfs-planted container_start planted default planted-1 box
PLANTED=$CONTAINER_ID
ROOTFS=$BASE_ROOTFS container_start free default free-1 box
FREE=$CONTAINER_ID

# The agent runs from a copy of the binary the test may watch.
mkdir "$T/bin"
cp "${AGENT_BIN:-$EXECFS_BUILD_DIR/execfs-agent}" "$T/bin/execfs-agent"
sum_before=$(sha256sum <"$T/bin/execfs-agent")
AGENT_BIN=$T/bin/execfs-agent agent_start
# Whatever fails, a held read is let go before the agent is stopped (an
# agent whose own process waits there could not stop).
cleanup_push "printf r >&8"

# started_pids: the pids of the sessions the monitor started, in order.
started_pids() {
	sed -n 's/.*request [0-9]*: pid \([0-9]*\) started.*/\1/p' "$T/agent.log"
}

# ---- a session that runs, and one that is held --------------------------------
sidY=$(new_sid)
exec_json "$T/y.req" container="\"$FREE\"" argv='["sleep","1000"]'
h2req --timeout 200 --exec "$T/y.req" "$sidY" >"$T/y.rep" &
wait_for "grep -qx 'status 200' '$T/y.rep'" 60 || fail "session Y did not start: $(cat "$T/y.rep")"
nstarted=$(started_pids | wc -l)

printf h >&8
sidX=$(new_sid)
# (Numbers: as app, id could not read the FUSE file, which is root's.)
exec_json "$T/x.req" container="\"$HELD\"" user='"app"' \
	argv='["sh","-c","echo $(id -u) $(id -g) $(id -G) $HOME"]'
h2req --timeout 200 --exec "$T/x.req" --stdout "$T/x.out" "$sidX" >"$T/x.rep" &
xreq=$!
wait_for "[ \$(started_pids | wc -l) -gt $nstarted ]" 60 ||
	fail "the held start's process was not reported started"
B=$(started_pids | tail -n 1)
# B reads /etc/passwd through the FUSE file system and waits there.
wait_for "ls -l /proc/$B/fd 2>/dev/null | grep -q /stall/file" 60 ||
	fail "B ($B) never opened the container's /etc/passwd: $(ls -l "/proc/$B/fd" 2>&1)"
log "start X held in its process $B, which reads the container's /etc/passwd"

# What B holds: /dev/null on 0-2, its three stdio pipes, the report
# socket, and what it opened in the container: its root, its /proc and
# the file it reads. No pidfd, no cgroup, no host /proc, no agent socket.
fds=$(for f in "/proc/$B/fd/"*; do
	l=$(readlink "$f")
	case $l in
	pipe:*) echo pipe ;;
	socket:*) echo socket ;;
	*) echo "$l" ;;
	esac
done | sort | tr '\n' ' ')
assert_eq "/ /dev/null /dev/null /dev/null /proc /stall/file pipe pipe pipe socket " \
	"$fds" "fds of the entering process"
for f in "/proc/$B/fd/"*; do
	[ "$(readlink "$f")" = /proc ] || continue
	[ "$(stat -L -c %d:%i "$f")" != "$(stat -c %d:%i /proc)" ] ||
		fail "B holds the host's /proc"
done

# ---- meanwhile the monitor serves everyone else -------------------------------
timeout 60 "$H2REQ" --signal TERM "unix:$AGENT_SOCK" "$sidY" >"$T/ysig.rep" ||
	fail "signal to Y while X is held: $(cat "$T/ysig.rep")"
grep -qx 'signal 200' "$T/ysig.rep" || fail "signal to Y not answered 200: $(cat "$T/ysig.rep")"
wait_for "grep -q '^status body' '$T/y.rep'" 60 || fail "Y's exit did not come while X is held"
assert_eq '{"state":"killed","signal":15,"signame":"TERM"}' "$(report_body "$T/y.rep" status)" "Y's status"
sidZ=$(new_sid)
exec_json "$T/z.req" container="\"$FREE\"" argv='["echo","another start"]'
timeout 60 "$H2REQ" --exec "$T/z.req" --stdout "$T/z.out" "unix:$AGENT_SOCK" "$sidZ" >"$T/z.rep" ||
	fail "start Z while X is held: $(cat "$T/z.rep")"
assert_eq "another start" "$(cat "$T/z.out")" "Z's output"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/z.rep" status)" "Z's status"
grep -q '^status' "$T/x.rep" && fail "X is not held: $(cat "$T/x.rep")"
log "while X is held: Y signalled and reaped, Z started and ended"

# ---- B seen from the container --------------------------------------------------
# A process of the container looks for B (by its name: B's cmdline reads
# empty, the agent's arguments are not in its memory) and keeps a handle on
# its exe; a setsid()ed one outlives its session. (HOME in the env: this
# session reads no /etc/passwd, which is held.)
cat >"/proc/$HELD_INIT/root/tmp/look.sh" <<'SH'
for p in /proc/[0-9]*; do
	case $(cat "$p/comm" 2>/dev/null) in
	execfs-agent) b=${p#/proc/} ;;
	esac
done
echo "exe=$(readlink "/proc/$b/exe")"
if [ -n "$(tr '\0' ' ' <"/proc/$b/cmdline")" ]; then echo cmdline=set; else echo cmdline=empty; fi
if echo x >>"/proc/$b/exe"; then echo write=done; else echo write=refused; fi
mkfifo /tmp/go
setsid sh -c "exec 3</proc/$b/exe; readlink /proc/self/fd/3 >/tmp/opened
	read x </tmp/go
	if echo pwned >/proc/self/fd/3; then echo wrote; else echo refused; fi >/tmp/result" \
	</dev/null >/dev/null 2>&1 &
while [ ! -s /tmp/opened ]; do sleep 0.1; done
echo "kept $(cat /tmp/opened)"
SH
# B's memory holds none of the agent's arguments, but in a sanitized build,
# where A forks and B is a copy of all of it.
cmdline="empty"
[ "${EXECFS_SANITIZE:-0}" = 1 ] && cmdline="set"
sidA=$(new_sid)
exec_json "$T/a.req" container="\"$HELD\"" env='["HOME=/"]' argv='["sh","/tmp/look.sh"]'
timeout 60 "$H2REQ" --exec "$T/a.req" --stdout "$T/a.out" --stderr "$T/a.err" \
	"unix:$AGENT_SOCK" "$sidA" >"$T/a.rep" || fail "the look from inside: $(cat "$T/a.rep")"
assert_eq "exe=/memfd:$T/bin/execfs-agent (deleted)
cmdline=$cmdline
write=refused
kept /memfd:$T/bin/execfs-agent (deleted)" "$(cat "$T/a.out")" "B's exe seen from the container ($(cat "$T/a.err"))"
log "B from inside: its exe the sealed memfd, a write refused; no agent's arguments"

# ---- the held start goes on ------------------------------------------------------
printf r >&8
wait "$xreq" || fail "h2req of X failed: $(cat "$T/x.rep")"
assert_eq "1000 1000 1000 /home/app" "$(cat "$T/x.out")" "X's output"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/x.rep" status)" "X's status"
log "X released: ran as app"

# ---- planted files are never opened ----------------------------------------------
# (Planted from the host after the container started: runc's own start
# reads /etc/passwd.)
run_planted() {
	local name=$1
	shift
	exec_json "$T/$name.req" container="\"$PLANTED\"" "$@"
	timeout 60 "$H2REQ" --exec "$T/$name.req" --stdout "$T/$name.out" \
		"unix:$AGENT_SOCK" "$(new_sid)" >"$T/$name.rep" || fail "h2req $name: $(cat "$T/$name.rep")"
}
rm "$T/rootfs-planted/etc/passwd"
mkfifo "$T/rootfs-planted/etc/passwd"
bash -c 'echo released >"$1"' _ "$T/rootfs-planted/etc/passwd" &
writer=$!
cleanup_push "kill $writer 2>/dev/null"
wait_for "[ \"\$(cat /proc/$writer/wchan)\" = wait_for_partner ]" 60 ||
	fail "the FIFO's writer does not wait"
run_planted fifo user='"app"' argv='["id"]'
grep -qx 'status 400' "$T/fifo.rep" || fail "a FIFO passwd: $(cat "$T/fifo.rep")"
assert_eq '{"state":"failed","errno":"EINVAL","message":"container'"'"'s /etc/passwd: not a regular file"}' \
	"$(report_body "$T/fifo.rep" status)" "a FIFO passwd"
# Without HOME in its env a start reads /etc/passwd too.
run_planted fifohome argv='["true"]'
assert_match 'not a regular file' "$(report_body "$T/fifohome.rep" status)" "a FIFO passwd for HOME"
# An open for reading would have woken it, and it would wait no more.
assert_eq wait_for_partner "$(cat "/proc/$writer/wchan")" "the FIFO's writer"
kill "$writer"
rm "$T/rootfs-planted/etc/passwd"
cp "$T/passwd" "$T/rootfs-planted/etc/passwd"
rm "$T/rootfs-planted/etc/group"
# /dev/kmsg's numbers: a device the container's device cgroup refuses.
mknod "$T/rootfs-planted/etc/group" c 1 11
run_planted device user='"app"' argv='["id"]'
assert_eq '{"state":"failed","errno":"EINVAL","message":"container'"'"'s /etc/group: not a regular file"}' \
	"$(report_body "$T/device.rep" status)" "a device node group"
log "a FIFO and a device node planted in the container: never opened"

# ---- HOME, as runc exec sets it ---------------------------------------------------
for user in "" 1000:1000; do
	if [ -n "$user" ]; then
		exec_json "$T/env.req" container="\"$FREE\"" argv='["env"]' user="\"$user\""
		runc --root "$RUNC_ROOT" exec --user "$user" "$FREE" env | sort >"$T/env.runc"
	else
		exec_json "$T/env.req" container="\"$FREE\"" argv='["env"]'
		runc --root "$RUNC_ROOT" exec "$FREE" env | sort >"$T/env.runc"
	fi
	timeout 60 "$H2REQ" --exec "$T/env.req" --stdout "$T/env.out" \
		"unix:$AGENT_SOCK" "$(new_sid)" >"$T/env.rep" || fail "env: $(cat "$T/env.rep")"
	assert_eq "$(cat "$T/env.runc")" "$(sort "$T/env.out")" "env as ${user:-the container user}"
	grep -q '^HOME=' "$T/env.runc" || fail "runc exec set no HOME"
done
log "env, HOME included, as runc exec's"

# ---- a handle on B's exe, kept past the agent ------------------------------------
agent_stop
echo go >"/proc/$HELD_INIT/root/tmp/go"
wait_for "[ -s /proc/$HELD_INIT/root/tmp/result ]" 60 || fail "the kept handle was not tried"
assert_eq refused "$(cat "/proc/$HELD_INIT/root/tmp/result")" "a write through the kept handle"
assert_eq "$sum_before" "$(sha256sum <"$T/bin/execfs-agent")" "the agent's binary"
log "a handle on B's exe kept past the agent cannot write; the binary is unchanged"
