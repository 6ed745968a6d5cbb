#!/bin/bash
# Sessions through the files (docs/FILES.md): clone and
# N/ directories, the container's current session, ctl verbs and their
# errors (EINVAL, EBUSY, ESRCH, ENOTTY, ENOENT) with the reason readable in
# ctl, forget, the bounded number of ended sessions, listings and stat that
# tell the truth without starting anything.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

fsenv_start

# ---- nothing runs on lookup, readdir, getattr, open ----------------------
ls -lR "$NODE" >/dev/null
find "$NODE" -type f -exec stat {} + >/dev/null
compgen -f "$C/" >/dev/null
exec 3<"$C/stdout" 4<"$C/wait"
exec 3<&- 4<&-
assert_eq "none" "$(read_file "$C/status" 60)" "status before any session"
assert_eq "none" "$(read_file "$C/ctl" 60)" "ctl before any session"
[ -z "$(find "$C" -mindepth 1 -maxdepth 1 -type d)" ] || fail "a session directory appeared without clone"
! grep -q 'exec in' "$TESTDIR/agent.log" || fail "listing the tree started a process"
log "ls -lR, find, stat, open: nothing started"

# ---- clone and N/ ---------------------------------------------------------
n=$(read_file "$C/clone")
assert_match '^[0-9]+$' "$n" "clone"
assert_eq "ctl status stderr stdin stdout wait" "$(ls_names "$C/$n")" "files of $n/"
assert_eq "new" "$(read_file "$C/$n/status" 60)" "status of a cloned session"
assert_match "^$n [0-9a-f]{32} new$" "$(read_file "$C/$n/ctl" 60)" "$n/ctl"
m=$(read_file "$C/clone")
[ "$m" -gt "$n" ] || fail "second clone gave $m after $n"

ctl_write "$C/$n/ctl" "sh -c 'echo hi; echo err >&2; exit 5'" || fail "exec in $n/ctl"
assert_eq "exited 5" "$(read_file "$C/$n/wait")" "$n/wait"
assert_eq "hi" "$(read_file "$C/$n/stdout")" "$n/stdout"
assert_eq "err" "$(read_file "$C/$n/stderr")" "$n/stderr"
assert_eq "3 4 9" "$(stat -c %s "$C/$n/stdout" "$C/$n/stderr" "$C/$n/wait" | tr '\n' ' ' | sed 's/ $//')" "sizes of stdout, stderr, wait"
# Every file and directory belongs to the user who mounted (docs/FILES.md).
assert_eq "$(id -u):$(id -g)" "$(stat -c %u:%g "$C" "$C/clone" "$C/$n" "$C/$n/ctl" "$C/$n/stdout" | sort -u)" "owners"
# A cloned session does not become the container's current one.
assert_eq "none" "$(read_file "$C/status" 60)" "container status after a cloned session ran"
log "clone: $n/ ran, container files untouched"

# ---- the container's current session --------------------------------------
ctl_write "$C/ctl" "echo x" || fail "exec in ctl"
assert_eq "exited 0" "$(read_file "$C/wait")" "wait"
cur=$(read_file "$C/ctl" 2 | cut -d' ' -f1)
[ -d "$C/$cur" ] || fail "the current session $cur has no directory"
assert_eq "x" "$(read_file "$C/$cur/stdout")" "$cur/stdout is the current session's"
# Pre-exec verbs in separate writes gather on a new current session.
ctl_write "$C/ctl" "env GREETING=hello" || fail "env"
ctl_write "$C/ctl" "cwd /tmp" || fail "cwd"
ctl_write "$C/ctl" 'sh -c "echo $GREETING; pwd"' || fail "exec after env"
assert_eq "exited 0" "$(read_file "$C/wait")" "wait after env/cwd"
assert_eq "hello
/tmp" "$(read_file "$C/stdout")" "env and cwd verbs"
# Several lines in one write, to a clone.
k=$(read_file "$C/clone")
printf 'env A=1\nenv B=2\nenv A=3\nexec sh -c "echo $A$B"\n' >"$C/$k/ctl"
assert_eq "32" "$(read_file "$C/$k/stdout")" "env lines in one write"
log "current session and pre-exec verbs ok"

# ---- errors: EINVAL, EBUSY, ESRCH, ENOTTY, ENOENT ---------------------------
for bad in 'tty 0 24' 'tty 80' 'resize 80' 'env NOEQUALS' 'env =x' 'cwd tmp' \
	'user a:b:c' 'user' 'signal NOPE' 'signal 99' 'kill 9' 'eof now' "sh -c 'x" 'merge 1'; do
	assert_eq "Invalid argument" "$(errno_of_ctl "$C/$k/ctl" "$bad")" "[$bad]"
done
assert_match 'error: merge 1: merge takes 0 arguments' "$(read_file "$C/$k/ctl" 60)" "the reason in $k/ctl"
grep -q 'ctl: merge 1: merge takes 0 arguments' "$TESTDIR/execfs-mnt.log" || fail "the reason is not logged"
assert_eq "Device or resource busy" "$(errno_of_ctl "$C/$k/ctl" "true")" "exec on an ended session"
assert_eq "No such process" "$(errno_of_ctl "$C/$k/ctl" "signal TERM")" "signal after the end"
assert_eq "No such process" "$(errno_of_ctl "$C/$k/ctl" "resize 80 24")" "resize after the end"

s=$(read_file "$C/clone")
assert_eq "Device or resource busy" "$(errno_of_ctl "$C/$s/ctl" "signal TERM")" "signal before the start"
assert_eq "Device or resource busy" "$(errno_of_ctl "$C/$s/ctl" "eof")" "eof before the start"
ctl_write "$C/$s/ctl" "sleep 1000" || fail "sleep 1000"
assert_eq "running" "$(read_file "$C/$s/status" 60)" "status of sleep"
assert_eq "Device or resource busy" "$(errno_of_ctl "$C/$s/ctl" "env A=b")" "env after the start"
assert_match 'error: env A=b: the session has started.*\(EBUSY\)' "$(read_file "$C/$s/ctl" 60)" "EBUSY reason"
assert_eq "Device or resource busy" "$(errno_of_ctl "$C/$s/ctl" "forget")" "forget while running"
assert_eq "Inappropriate ioctl for device" "$(errno_of_ctl "$C/$s/ctl" "resize 100 30")" "resize without a tty"
assert_match 'error: resize 100 30: .*\(ENOTTY\)' "$(read_file "$C/$s/ctl" 60)" "ENOTTY reason"
ctl_write "$C/$s/ctl" "eof" || fail "eof while running"
# A successful write clears the error line.
assert_match "^$s [0-9a-f]{32} running$" "$(read_file "$C/$s/ctl" 60)" "ctl after a good write"
log "EINVAL/EBUSY/ESRCH/ENOTTY ok"

# ---- forget -------------------------------------------------------------
assert_eq ok "$(errno_of_ctl "$C/$k/ctl" forget)" "forget an ended session"
wait_for "[ ! -e '$C/$k' ]" 60 || fail "$k/ still listed after forget"
log "forget ok"

# ---- ended sessions are bounded -------------------------------------------
first=""
for i in $(seq 1 20); do
	j=$(read_file "$C/clone")
	[ -n "$first" ] || first=$j
	ctl_write "$C/$j/ctl" true || fail "true in $j"
	read_file "$C/$j/wait" >/dev/null
done
dirs=$(find "$C" -mindepth 1 -maxdepth 1 -type d | wc -l)
log "after 20 more sessions: $dirs session directories (sleep $s still running)"
[ "$dirs" -le 19 ] || fail "$dirs session directories: ended sessions are not bounded"
[ ! -e "$C/$first" ] || fail "the oldest ended session $first was kept"
[ -d "$C/$j" ] || fail "the newest session $j is gone"
[ -d "$C/$s" ] || fail "the running session $s was forgotten"
[ -d "$C/$cur" ] || [ "$(read_file "$C/ctl" 60 | cut -d' ' -f1)" != "$cur" ] || fail "current session forgotten"

# ---- stat moves with the output -------------------------------------------
t=$(read_file "$C/clone")
# The second line comes when the test writes to stdin.
ctl_write "$C/$t/ctl" "sh -c 'echo a; read x; echo b'" || fail "exec a/b"
wait_for "[ \"\$(stat -c %s '$C/$t/stdout')\" = 2 ]" 60 || fail "stdout size not 2"
m1=$(stat -c %.9Y "$C/$t/stdout")
echo go >"$C/$t/stdin"
wait_for "[ \"\$(stat -c %s '$C/$t/stdout')\" = 4 ]" 60 || fail "stdout size did not grow to 4"
m2=$(stat -c %.9Y "$C/$t/stdout")
python3 -c "import sys; sys.exit(0 if float('$m2') > float('$m1') else 1)" || fail "stdout mtime did not move ($m1 -> $m2)"
log "st_size 2 -> 4, mtime $m1 -> $m2"

# ---- status says what blocks the process ------------------------------------
# 16 MiB: more than the history (1 MiB) and the stream window (4 MiB) hold.
b=$(read_file "$C/clone")
ctl_write "$C/$b/ctl" "dd if=/dev/zero bs=65536 count=256" || fail "dd"
wait_for "[ \"\$(cat '$C/$b/status')\" = 'running (stdout full)' ]" 60 ||
	fail "status with nobody reading: $(cat "$C/$b/status")"
assert_eq 16777216 "$(timeout 300 cat "$C/$b/stdout" | wc -c)" "bytes after the stall"
assert_eq "exited 0" "$(read_file "$C/$b/wait")" "dd"
log "status: running (stdout full) while nobody read"

ctl_write "$C/$s/ctl" kill || fail "kill: $(read_file "$C/$s/ctl" 60)"
assert_eq "killed SIGKILL" "$(read_file "$C/$s/wait" 60)" "wait after kill"

# ---- a cloned session whose container goes before it started --------------
# Its wait and stdout readers are answered (failed; end of file), not left
# waiting for a start that cannot come.
container_start gone default gone-1 box
G=$NODE/default/gone-1/box
wait_for "[ -d '$G' ]" 60 || fail "no $G"
g=$(read_file "$G/clone")
(timeout 300 cat "$G/$g/wait" >"$TESTDIR/gone.wait" 2>&1 || true) &
waiter=$!
(
	rc=0
	timeout 300 cat "$G/$g/stdout" >"$TESTDIR/gone.out" 2>&1 || rc=$?
	echo "$rc" >"$TESTDIR/gone.rc"
) &
reader=$!
# Both wait in the mount before the container goes.
wait_for "fuse_blocked \$(pgrep -P \$(pgrep -P $waiter -x timeout) -x cat)" 60 ||
	fail "cat wait of a never-started session did not block"
wait_for "fuse_blocked \$(pgrep -P \$(pgrep -P $reader -x timeout) -x cat)" 60 ||
	fail "cat stdout of a never-started session did not block"
container_delete gone
wait_for "[ -s '$TESTDIR/gone.wait' ] && [ -s '$TESTDIR/gone.rc' ]" 60 ||
	fail "readers of a never-started session still wait after its container went"
assert_eq "failed: the container is gone" "$(cat "$TESTDIR/gone.wait")" "wait"
assert_eq 0 "$(cat "$TESTDIR/gone.rc")" "cat stdout: end of file"
log "never-started session of a deleted container: wait and stdout answered"
