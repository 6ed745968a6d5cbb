#!/bin/bash
# A policy's run_as is matched against the ids the user resolves to inside
# the container, not only its name (docs/SECURITY.md "Who may run as
# whom"): through a TLS mount, a rule allowing user "app" as uid
# 1000-1999 lets `user app` run where the container's /etc/passwd makes
# app uid 1000, and refuses it, saying why, where the container's own file
# makes app uid 5000 or uid 0; the refused process prints nothing.
# shellcheck disable=SC2016 # the probes run in the container
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/runtimes.sh
. "$EXECFS_LIB_DIR/runtimes.sh"
# shellcheck source=lib/tlsnode.sh
. "$EXECFS_LIB_DIR/tlsnode.sh"

export AGENT_NODE=n1
certs_make n1
rootfs_build
BASE=$ROOTFS
container_start good default good-1 app
for uid in 5000 0; do
	cp -a "$BASE" "$TESTDIR/rootfs-$uid"
	sed -i "s/^app:x:1000:1000:/app:x:$uid:1000:/" "$TESTDIR/rootfs-$uid/etc/passwd"
	grep -q "^app:x:$uid:1000:" "$TESTDIR/rootfs-$uid/etc/passwd" || fail "passwd not edited"
	ROOTFS=$TESTDIR/rootfs-$uid container_start "as$uid" default "as$uid-1" app
done

tls_agent_mount '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"], "run_as": ["app", "uid:1000-1999"]}]}'

# start_as DIR: `user app`, then `id -u`; prints the session's state once
# it ended (`wait`), and keeps its stdout.
start_as() {
	local dir=$1 n
	wait_for "[ -d '$dir' ]" 60 || fail "$dir not shown"
	n=$(read_file "$dir/clone")
	printf 'user app\n' >"$dir/$n/ctl" || fail "user app: refused before the start"
	(printf 'exec id -u\n' >"$dir/$n/ctl") 2>/dev/null || true
	read_file "$dir/$n/wait" 30
	read_file "$dir/$n/stdout" 30 >"$TESTDIR/stdout-$(basename "$(dirname "$dir")")"
}

st=$(start_as "$mnt/n1/default/good-1/app")
assert_match '^exited 0' "$st" "user app as uid 1000"
assert_eq 1000 "$(cat "$TESTDIR/stdout-good-1")" "the uid user app ran as"
for uid in 5000 0; do
	st=$(start_as "$mnt/n1/default/as$uid-1/app")
	assert_match '^failed: user app: run_as does not allow the uid:gid it is in the container' \
		"$st" "user app as uid $uid"
	assert_eq "" "$(cat "$TESTDIR/stdout-as$uid-1")" "the refused process's output"
	log "uid $uid: $st"
done

mount_stop "$mnt"
agent_stop
