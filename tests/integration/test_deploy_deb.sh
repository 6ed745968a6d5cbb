#!/bin/bash
# The Debian package, for real on this machine: build it from the build tree
# (cpack -G DEB), install it with apt-get as an operator would, read its man
# pages, check its systemd units, mount the local node from the installed
# binaries through an fstab line, mount -t fuse.execfs and mount -t execfs,
# and purge it: nothing of it may be left running or mounted.
#
# It installs a package system-wide: runs of it take turns on a lock, it
# refuses to run when a package execfs is installed already, and it purges
# the package at exit whatever happened. The mounts and the agent are the
# test's own (its socket, runc root and mount points).
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

command -v apt-get >/dev/null && command -v cpack >/dev/null || skip "needs apt-get and cpack"
B=$EXECFS_BUILD_DIR
T=$TESTDIR

exec 9>/tmp/execfs-deb-test.lock
flock -w 600 9 || fail "another run holds /tmp/execfs-deb-test.lock for 10 min"
if dpkg-query -W -f '${Status}' execfs 2>/dev/null | grep -q 'installed$'; then
	fail "a package execfs is installed already (apt-get purge execfs first)"
fi

apt() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"
}

# exe_procs PATH: the pids running PATH (also once it was deleted, or from
# the sealed memfd copy the agent runs from). One find, not a readlink per
# process: the machine may be busy.
exe_procs() {
	find /proc/[0-9]*/exe -maxdepth 0 \( -lname "$1" -o -lname "$1 (deleted)" \
		-o -lname "/memfd:$1 (deleted)" \) 2>/dev/null | cut -d/ -f3 || true
}

# ---- build and install ----------------------------------------------------------
log "cpack -G DEB from $B"
# cpack reads the version configured last: a build first brings it (and
# the binaries) up to date with the checkout.
(cmake --build "$B" && cd "$B" && cpack -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1 || {
	cat "$T/cpack.log" >&2
	fail "cpack failed"
}
deb=$(ls "$T"/pkg/execfs_*.deb)
version=$("$B/execfs-agent" --version | awk '{print $2}')
assert_eq "$version" "$(dpkg-deb -f "$deb" Version)" "the package's version"
depends=$(dpkg-deb -f "$deb" Depends)
for d in fuse3 libfuse3-3 libnghttp2-14 libevent-core libssl3 libjansson4 libseccomp2; do
	[[ $depends == *"$d"* ]] || fail "Depends lacks $d: $depends"
done
assert_eq runc "$(dpkg-deb -f "$deb" Recommends)" "Recommends"

# (Only if the test did not get to its own purge: the package is still there.)
cleanup_push "! dpkg -s execfs >/dev/null 2>&1 || apt purge execfs >>'$T/apt.log' 2>&1 || echo 'purge failed: see $T/apt.log' >&2"
log "apt-get install ./$(basename "$deb")"
(cd "$T/pkg" && apt install "./$(basename "$deb")") >"$T/apt.log" 2>&1 || {
	tail -20 "$T/apt.log" >&2
	fail "apt-get install failed"
}
assert_eq "$version" "$(/usr/bin/execfs --version | awk 'NR == 1 {print $2}')" "installed execfs --version"
assert_eq "$version" "$(/usr/sbin/execfs-agent --version | awk '{print $2}')" "installed execfs-agent --version"
# Installed, nothing runs: the service is not enabled or started by us.
[ -z "$(exe_procs /usr/sbin/execfs-agent)" ] || fail "installing started an agent"
# No policy is installed where the agent would read one.
[ ! -e /etc/execfs/policy.json ] || fail "the package installed /etc/execfs/policy.json"

# ---- man pages -------------------------------------------------------------------
for page in "1 execfs" "5 execfs" "8 execfs-agent"; do
	read -r sec name <<<"$page"
	where=$(man -w "$sec" "$name") || fail "man -w $sec $name found nothing"
	assert_eq "/usr/share/man/man$sec/$name.$sec.gz" "$where" "man -w $sec $name"
	warn=$(MANWIDTH=80 man --warnings "$sec" "$name" 2>&1 >"$T/man-$sec.txt") ||
		fail "man $sec $name failed: $warn"
	assert_eq "" "$warn" "warnings of man $sec $name"
	grep -q "^NAME" "$T/man-$sec.txt" || fail "man $sec $name has no NAME"
done
grep -q 'mount -t fuse.execfs' "$T/man-1.txt" || fail "execfs(1) does not say how to mount"
grep -q 'forget' "$T/man-5.txt" || fail "execfs(5) lacks the ctl verbs"
grep -q 'SIGUSR1' "$T/man-8.txt" || fail "execfs-agent(8) lacks its signals"
log "man execfs, man 5 execfs, man 8 execfs-agent: no warnings"

# ---- systemd units -----------------------------------------------------------------
out=$(systemd-analyze verify /lib/systemd/system/execfs-agent.service \
	/lib/systemd/system/exec.mount 2>&1) || fail "systemd-analyze verify: $out"
assert_eq "" "$out" "systemd-analyze verify of the installed units"
log "systemd-analyze verify: clean"
if command -v logrotate >/dev/null; then
	out=$(logrotate -d /etc/logrotate.d/execfs 2>&1) || fail "logrotate -d: $out"
	if grep -qi '^error' <<<"$out"; then
		fail "logrotate finds errors in /etc/logrotate.d/execfs: $out"
	fi
	log "logrotate accepts /etc/logrotate.d/execfs"
fi

# ---- the installed binaries: an agent of the test's own, and mounts ---------------
container_start web default web-1 nginx
AGENT_BIN=/usr/sbin/execfs-agent agent_start
for m in tab typed plain; do
	mkdir -p "$T/$m"
	echo "$T/$m" >>"$T/mounts"
	cleanup_push "umount -l '$T/$m' 2>/dev/null"
done
cat >"$T/fstab" <<FSTAB
# an fstab line as DEPLOY.md writes one, with the test's socket and log
execfs-deb  $T/tab  fuse.execfs  agent=unix:$AGENT_SOCK,log=$T/tab.log,noauto,nofail,_netdev,x-systemd.requires=execfs-agent.service,comment=test  0  0
FSTAB
log_register "installed execfs (fstab)" "$T/tab.log"
mount --fstab "$T/fstab" "$T/tab" || fail "mount of the fstab line failed"
assert_eq "execfs-deb fuse.execfs" "$(findmnt -n -o SOURCE,FSTYPE "$T/tab")" "the fstab mount"
c=$T/tab/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$c' ]" 60 || fail "the container did not appear in the fstab mount"
echo 'sh -c "echo hello from $(hostname); exit 3"' >"$c/ctl"
assert_eq "hello from web-1" "$(read_file "$c/stdout")" "a session's output"
assert_eq "exited 3" "$(read_file "$c/wait")" "a session's status"
pid=$(sed -n 's/.* execfs\[\([0-9]*\)\]: info: main: mounted on.*/\1/p' "$T/tab.log" | head -1)
assert_eq /usr/bin/execfs "$(readlink "/proc/$pid/exe")" "the fstab mount's program"
umount "$T/tab"
wait_for "! kill -0 $pid" 60 || fail "execfs $pid still runs after umount"
log "fstab line: mount, a session, umount"

mount -t fuse.execfs -o "agent=unix:$AGENT_SOCK" execfs "$T/typed" || fail "mount -t fuse.execfs failed"
mount -t execfs -o "agent=unix:$AGENT_SOCK" plain "$T/plain" || fail "mount -t execfs failed"
for m in typed plain; do
	wait_for "[ -d '$T/$m/$AGENT_NODE/default/web-1/nginx' ]" 60 || fail "$m: no container"
done
mount --fstab "$T/fstab" "$T/tab" || fail "mount of the fstab line failed (again)"
log "mount -t fuse.execfs, mount -t execfs: mounted"

# ---- purge: nothing left running or mounted ----------------------------------------------
log "apt-get purge execfs, with three mounts and an agent up"
apt purge execfs >>"$T/apt.log" 2>&1 || fail "apt-get purge failed (see $T/apt.log)"
for m in tab typed plain; do
	mountpoint -q "$T/$m" && fail "$T/$m is still mounted after the purge"
done
kill -0 "$AGENT_PID" 2>/dev/null && fail "the agent (pid $AGENT_PID) runs after the purge"
left=$(exe_procs /usr/bin/execfs; exe_procs /usr/sbin/execfs-agent)
assert_eq "" "$left" "processes of the package after the purge"
for f in /usr/bin/execfs /usr/sbin/execfs-agent /sbin/mount.fuse.execfs /sbin/mount.execfs \
	/etc/default/execfs-agent /etc/logrotate.d/execfs /lib/systemd/system/execfs-agent.service \
	/usr/share/man/man5/execfs.5.gz /var/log/execfs; do
	[ ! -e "$f" ] || fail "$f is left after the purge"
done
dpkg-query -W -f '${Status}' execfs 2>/dev/null | grep -q 'not-installed\|^$' ||
	[ -z "$(dpkg-query -W -f '${Status}' execfs 2>/dev/null)" ] ||
	fail "dpkg still knows execfs: $(dpkg-query -W -f '${Status}' execfs)"
log "purged: no mount, no process, no file of the package left"
