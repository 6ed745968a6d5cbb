#!/bin/bash
# The exec request's env, cwd, user and merge_stderr, end to end through
# the agent's Unix socket with tests/tools/h2req (no mount): users and
# groups come from the container's own /etc/passwd and /etc/group (this
# container's has a user and groups no host has), never from the host's.
# The commands run in the container are in single quotes on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

T=$TESTDIR
rootfs_build
# A copy of the test rootfs with supplementary groups and a user of its own.
cp -a "$ROOTFS" "$T/rootfs"
cat >>"$T/rootfs/etc/group" <<'GROUP'
staff:x:50:app,other
wheel:x:10:root
audio:x:29:other,app
GROUP
echo 'other:x:1001:1001:only here:/home/other:/bin/sh' >>"$T/rootfs/etc/passwd"
ROOTFS=$T/rootfs
container_start box default box-1 box
CID=$CONTAINER_ID
agent_start

# run NAME KEY=JSON...: exec in the container, output in $T/NAME.{out,err,rep}
run() {
	local name=$1
	shift
	exec_json "$T/$name.req" container="\"$CID\"" "$@"
	h2req --exec "$T/$name.req" --stdout "$T/$name.out" --stderr "$T/$name.err" \
		"$(new_sid)" >"$T/$name.rep" || fail "h2req $name failed"
}

# ---- user by name, with its groups from the container's /etc/group
# (the kernel keeps the list sorted) --------------------------------------
run user argv='["sh","-c","id; echo HOME=$HOME"]' user='"app"'
assert_eq "uid=1000(app) gid=1000(app) groups=29(audio),50(staff),1000(app)" \
	"$(head -n1 "$T/user.out")" "id as app"
assert_eq "HOME=/home/app" "$(sed -n 2p "$T/user.out")" "HOME of app"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/user.rep" status)" "status"

run group argv='["id"]' user='"app:wheel"'
assert_eq "uid=1000(app) gid=10(wheel) groups=10(wheel)" "$(cat "$T/group.out")" "id as app:wheel"
run numeric argv='["id"]' user='"1001:50"'
assert_eq "uid=1001(other) gid=50(staff) groups=50(staff)" "$(cat "$T/numeric.out")" "id as 1001:50"
run uidonly argv='["id"]' user='"1001"'
assert_eq "uid=1001(other) gid=1001 groups=29(audio),50(staff),1001" "$(cat "$T/uidonly.out")" "id as 1001"
run unknownuid argv='["id"]' user='"4242"'
assert_eq "uid=4242 gid=0(root)" "$(cat "$T/unknownuid.out")" "id as 4242"
log "users ok"

# ---- users the container does not have --------------------------------------
run nosuch argv='["id"]' user='"nosuch"'
grep -qx 'status 400' "$T/nosuch.rep" || fail "unknown user: $(cat "$T/nosuch.rep")"
assert_eq '{"state":"failed","errno":"EINVAL","message":"user nosuch: no such user in the container"}' \
	"$(report_body "$T/nosuch.rep" status)" "unknown user"
grep -q 'start failed: user nosuch: no such user in the container' "$T/agent.log" ||
	fail "no log line for the unknown user"
# A user every Debian host has, but this container does not: never the
# host's NSS.
getent passwd daemon >/dev/null || fail "the host has no user daemon"
run hostuser argv='["id"]' user='"daemon"'
grep -qx 'status 400' "$T/hostuser.rep" || fail "the host's user was used: $(cat "$T/hostuser.rep")"
run nogroup argv='["id"]' user='"app:nosuchgroup"'
assert_match '"message":"group nosuchgroup: no such group in the container"' \
	"$(report_body "$T/nogroup.rep" status)" "unknown group"
run badspec argv='["id"]' user='"app:"'
grep -qx 'status 400' "$T/badspec.rep" || fail "malformed user: $(cat "$T/badspec.rep")"
log "refusals ok"

# ---- env and cwd ------------------------------------------------------------
run env argv='["sh","-c","pwd; echo $FOO; echo $PATH; env | grep -c ^PATH="]' \
	env='["FOO=bar baz","PATH=/bin:/usr/bin"]' cwd='"/tmp"'
assert_eq "/tmp
bar baz
/bin:/usr/bin
1" "$(cat "$T/env.out")" "pwd, env added and overriding"
run envhome argv='["sh","-c","echo $HOME"]' user='"app"' env='["HOME=/tmp"]'
assert_eq "/tmp" "$(cat "$T/envhome.out")" "env overrides the user's HOME"
run nocwd argv='["pwd"]' cwd='"/nonexistent"'
grep -qx 'status 404' "$T/nocwd.rep" || fail "missing cwd: $(cat "$T/nocwd.rep")"
assert_match '"message":"cwd /nonexistent: No such file or directory"' \
	"$(report_body "$T/nocwd.rep" status)" "missing cwd"
log "env and cwd ok"

# ---- merge_stderr -----------------------------------------------------------
run merged argv='["sh","-c","echo out; echo err >&2; echo out2"]' merge_stderr=true
assert_eq "out
err
out2" "$(cat "$T/merged.out")" "stdout with stderr merged"
assert_eq "" "$(cat "$T/merged.err")" "stderr when merged"
grep -qx 'stderr 200' "$T/merged.rep" || fail "stderr stream not answered 200"
run separate argv='["sh","-c","echo out; echo err >&2"]'
assert_eq "out" "$(cat "$T/separate.out")" "stdout without merge"
assert_eq "err" "$(cat "$T/separate.err")" "stderr without merge"
log "merge_stderr ok"
