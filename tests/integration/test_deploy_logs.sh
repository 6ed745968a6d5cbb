#!/bin/bash
# Operating both programs as daemons: --version prints one version for
# both; --help lists every option each program parses; the agent's --log
# is reopened on SIGUSR1 by the monitor and by the unprivileged worker (the
# monitor hands it the new file: it could not open a root-owned log
# itself); the agent tells a $NOTIFY_SOCKET READY=1 once it listens, and
# STOPPING=1; a mount run the way mount(8) runs it (mount.fuse.execfs
# SOURCE DIR -o ...) goes to the background, logs to -o log=FILE and
# reopens it on SIGUSR1, survives SIGHUP, and without log= logs to syslog.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

B=$EXECFS_BUILD_DIR
T=$TESTDIR

# dgram_start PATH OUT: a datagram listener (lib/dgram.py), stopped at exit.
dgram_start() {
	python3 "$EXECFS_LIB_DIR/dgram.py" "$1" "$2" &
	cleanup_push "kill $! 2>/dev/null; wait $! 2>/dev/null"
	wait_for "[ -S '$1' ]" 60 || fail "no listener at $1"
}

# ---- one version ------------------------------------------------------------
v_fs=$("$B/execfs" --version | awk 'NR == 1 {print $2}')
v_agent=$("$B/execfs-agent" --version | awk '{print $2}')
assert_match '^[0-9]+\.[0-9]+\.[0-9]+' "$v_fs" "execfs --version"
assert_eq "$v_fs" "$v_agent" "execfs-agent --version"
log "both programs: version $v_fs"

# ---- --help lists every option ---------------------------------------------
help=$("$B/execfs-agent" --help)
opts=$(sed -n '/longopts\[\] = {/,/};/p' "$EXECFS_SOURCE_DIR/agent/options.c" |
	grep -o '{ "[a-z-]*"' | cut -d'"' -f2 | grep -v '^privsep-')
[ "$(wc -l <<<"$opts")" -gt 15 ] || fail "could not read the agent's options"
for o in $opts; do
	grep -q -- "--$o\b" <<<"$help" || fail "execfs-agent --help lacks --$o"
done
help=$("$B/execfs" --help)
opts=$(grep -o 'OPT("[a-z_-]*' "$EXECFS_SOURCE_DIR/fs/mountopts.c" | cut -d'"' -f2 | sort -u)
[ "$(wc -l <<<"$opts")" -gt 10 ] || fail "could not read execfs's options"
for o in $opts; do
	grep -q -- "$o" <<<"$help" || fail "execfs --help lacks $o"
done
log "--help of both programs lists every option"

# ---- the agent: READY=1 once it listens, --log reopened on SIGUSR1 ----------
container_start web default web-1 nginx
# The worker (uid nobody) must reach the notify socket.
chmod 711 "$T"
mkdir -m 755 "$T/notify"
dgram_start "$T/notify/sock" "$T/notify.txt"
NOTIFY_SOCKET=$T/notify/sock agent_start --log "$T/agent-file.log"
log_register "agent --log" "$T/agent-file.log"
wait_for "grep -q '^READY=1' '$T/notify.txt'" 60 || fail "no READY=1 (got: $(cat "$T/notify.txt"))"
assert_match "^READY=1\|STATUS=node $AGENT_NODE: 1 container\(s\); listening on unix:$AGENT_SOCK$" \
	"$(head -1 "$T/notify.txt")" "the READY message"
# It was sent after the listener was up: the socket accepts.
unix_socket_open "$AGENT_SOCK" || fail "READY=1 came before the socket listened"
log "READY=1 and a STATUS line reached \$NOTIFY_SOCKET"

mount_start "$T/mnt" --agent "unix:$AGENT_SOCK"
c=$T/mnt/$AGENT_NODE/default/web-1/nginx
echo 'echo one' >"$c/ctl"
assert_eq "exited 0" "$(read_file "$c/wait")" "a session before the rotation"
# The worker is the monitor's only child (agent_worker_pid scans every
# process's fds: slow on a busy machine).
worker=$(ps -o pid= --ppid "$AGENT_PID" | tr -d ' ')
[ -n "$worker" ] || fail "no worker under the monitor $AGENT_PID"
mv "$T/agent-file.log" "$T/agent-file.log.1"
kill -USR1 "$AGENT_PID"
wait_for "grep -q 'log file reopened' '$T/agent-file.log'" 60 ||
	fail "the worker did not switch to the new log file"
# The new file is root's, 0600: the worker (nobody) writes there only
# through the file the monitor handed it.
assert_eq "600 root" "$(stat -c '%a %U' "$T/agent-file.log")" "the new log file"
echo 'echo two' >"$c/ctl"
assert_eq "exited 0" "$(read_file "$c/wait")" "a session after the rotation"
kill -HUP "$AGENT_PID" # the monitor logs the policy reload
wait_for "grep -q 'execfs-agent\[monitor\].*SIGHUP' '$T/agent-file.log'" 60 ||
	fail "the monitor does not write to the new log file"
grep -q "execfs-agent\[worker\]\[$worker\]" "$T/agent-file.log" ||
	fail "no line of the worker ($worker) in the new log file"
grep -q 'log file reopened' "$T/agent-file.log.1" && fail "the old file got the reopen line"
grep -q 'serving 1 container' "$T/agent-file.log.1" || fail "the old file lost its lines"
log "SIGUSR1: the monitor and the worker write to the new log file"
mount_stop "$T/mnt"
agent_stop
wait_for "grep -q '^STOPPING=1' '$T/notify.txt'" 60 || fail "no STOPPING=1 at SIGTERM"
log "STOPPING=1 at SIGTERM"

# ---- the mount as mount(8) runs it -------------------------------------------
agent_start
ln -s "$B/execfs" "$T/mount.fuse.execfs"
mkdir -p "$T/bg"
echo "$T/bg" >>"$T/mounts"
cleanup_push "umount -l '$T/bg' 2>/dev/null"
"$T/mount.fuse.execfs" bgtest "$T/bg" -n -o "rw,agent=unix:$AGENT_SOCK,log=$T/bg.log,nofail,_netdev,x-systemd.requires=x.service" \
	-t fuse.execfs </dev/null || fail "the helper call failed"
log_register "execfs in the background" "$T/bg.log"
# The helper returned: the mount is there and its process in the background.
mountpoint -q "$T/bg" || fail "not mounted after the helper returned"
assert_eq "bgtest fuse.execfs" "$(findmnt -n -o SOURCE,FSTYPE "$T/bg")" "the mount table entry"
pid=$(sed -n 's/.* execfs\[\([0-9]*\)\]: info: main: mounted on.*/\1/p' "$T/bg.log" | head -1)
[ -n "$pid" ] || fail "no 'mounted on' line with a pid in $T/bg.log"
cleanup_push "kill $pid 2>/dev/null"
[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] || fail "execfs $pid is not in a session of its own"
c=$T/bg/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$c' ]" 60 || fail "the container did not appear"
kill -HUP "$pid"
echo 'echo after-hup' >"$c/ctl"
assert_eq "after-hup" "$(read_file "$c/stdout")" "a session after SIGHUP"
mountpoint -q "$T/bg" || fail "SIGHUP unmounted"
mv "$T/bg.log" "$T/bg.log.1"
kill -USR1 "$pid"
wait_for "grep -q 'log reopened' '$T/bg.log'" 60 || fail "the mount did not reopen its log"
umount "$T/bg"
wait_for "! kill -0 $pid" 60 || fail "execfs $pid still runs after umount"
log "mount.fuse.execfs: background, log=, SIGUSR1 reopens, SIGHUP ignored, umount ends it"

# mount -f (fake) checks and mounts nothing.
"$T/mount.fuse.execfs" bgtest "$T/bg" -f -o "agent=unix:$AGENT_SOCK" || fail "mount -f failed"
mountpoint -q "$T/bg" && fail "mount -f mounted"
out=$("$T/mount.fuse.execfs" bgtest "$T/bg" -o "agent=unix:$AGENT_SOCK,bogus" 2>&1) &&
	fail "an unknown option was accepted"
assert_match "unknown option.*bogus" "$out" "an unknown option's refusal"

# ---- without log=: syslog ------------------------------------------------------
# In a mount namespace of its own with a /dev of its own, where /dev/log is
# our listener (this machine has no syslog daemon, and /dev/log is the
# machine's).
cat >"$T/syslog.sh" <<'INNER'
set -eu
T=$1 B=$2 sock=$3 lib=$4
mkdir -p "$T/olddev" "$T/sl"
mount --rbind /dev "$T/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero full random urandom tty fuse; do
	touch "/dev/$n"
	mount --bind "$T/olddev/$n" "/dev/$n"
done
mkdir /dev/pts /dev/shm
mount --rbind "$T/olddev/pts" /dev/pts
ln -s pts/ptmx /dev/ptmx
ln -s /proc/self/fd /dev/fd
python3 "$lib/dgram.py" /dev/log "$T/syslog.txt" &
for i in $(seq 600); do [ -S /dev/log ] && break; sleep 0.1; done
"$B/execfs" --agent "unix:$sock" sl "$T/sl"
for i in $(seq 600); do grep -q 'mounted on' "$T/syslog.txt" && break; sleep 0.1; done
ls "$T/sl" >"$T/sl.ls"
pid=$(sed -n 's/.*execfs\[\([0-9]*\)\]: info: main: mounted on.*/\1/p' "$T/syslog.txt" | head -1)
echo "$pid" >"$T/sl.pid"
kill -TERM "$pid"
for i in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill %1
INNER
cleanup_push "[ ! -s '$T/sl.pid' ] || kill \$(cat '$T/sl.pid') 2>/dev/null"
timeout -k 5 240 unshare --mount --propagation private \
	bash "$T/syslog.sh" "$T" "$B" "$AGENT_SOCK" "$EXECFS_LIB_DIR" ||
	fail "the syslog run failed"
assert_match "^<30>.* execfs\[[0-9]+\]: info: main: mounted on $T/sl$" \
	"$(grep 'mounted on' "$T/syslog.txt")" "the syslog line (daemon.info)"
grep -q "^$AGENT_NODE$" "$T/sl.ls" || fail "the syslog-logging mount did not show the node"
grep -q 'signal 15: unmounting' "$T/syslog.txt" || fail "no unmount line in syslog"
log "in the background without log=, the mount logs to syslog (daemon facility)"
