#!/bin/bash
# ctl verbs that need the agent's side, through the files alone: tty with
# its size applied before the program starts, resize, env, cwd, user (names
# from the container's own /etc/passwd), merge, nice (raised freely, lowered
# only with the container's CAP_SYS_NICE), signal TERM and kill ending a
# process with `killed SIG...` in wait, eof.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

fsenv_start

# tty: size before the start (stty size is "ROWS COLS"), a real pty.
n=$(read_file "$C/clone")
printf 'tty 80 24\nexec sh -c "stty size; tty; sleep 1000"\n' >"$C/$n/ctl" ||
	fail "tty 80 24 + exec: $(read_file "$C/$n/ctl" 60)"
wait_for "[ \"\$(head -c 5 '$C/$n/stdout')\" = '24 80' ]" 60 ||
	fail "stty size under tty 80 24: [$(head -c 100 "$C/$n/stdout" | od -c | head -3)]"
wait_for "grep -q '^/dev/pts/[0-9]' '$C/$n/stdout'" 60 || fail "tty is not a pts: $(head -c 200 "$C/$n/stdout")"
assert_eq "0" "$(stat -c %s "$C/$n/stderr")" "stderr under a tty"
ctl_write "$C/$n/ctl" "signal TERM" || fail "signal TERM: $(read_file "$C/$n/ctl" 60)"
assert_eq "killed SIGTERM" "$(read_file "$C/$n/wait" 60)" "wait after signal TERM"
assert_eq "No such process" "$(errno_of_ctl "$C/$n/ctl" "signal TERM")" "signal after the end"
log "tty 80 24: stty size 24 80, signal TERM -> killed SIGTERM"

# resize reaches the program as SIGWINCH with the new size.
n=$(read_file "$C/clone")
printf 'tty 100 30\nexec sh -c "trap \x27stty size\x27 WINCH; stty size; while :; do sleep 0.1; done"\n' >"$C/$n/ctl" ||
	fail "tty 100 30: $(read_file "$C/$n/ctl" 60)"
wait_for "grep -q '^30 100' '$C/$n/stdout'" 60 || fail "initial size 30 100"
ctl_write "$C/$n/ctl" "resize 120 40" || fail "resize: $(read_file "$C/$n/ctl" 60)"
wait_for "grep -q '^40 120' '$C/$n/stdout'" 60 || fail "resize 120 40 not seen: $(od -c "$C/$n/stdout" | head)"
ctl_write "$C/$n/ctl" kill || fail "kill"
assert_eq "killed SIGKILL" "$(read_file "$C/$n/wait" 60)" "wait after kill"
log "resize 120 40 reached the program"

# env, cwd, user.
n=$(read_file "$C/clone")
printf 'env "GREETING=hi there"\nenv PATH=/bin:/usr/bin\ncwd /tmp\nuser app\nexec sh -c "echo $GREETING; pwd; id -u; id -g"\n' \
	>"$C/$n/ctl" || fail "env/cwd/user: $(read_file "$C/$n/ctl" 60)"
assert_eq "exited 0" "$(read_file "$C/$n/wait")" "env/cwd/user session"
assert_eq "hi there
/tmp
1000
1000" "$(read_file "$C/$n/stdout")" "env, cwd, user app"
n=$(read_file "$C/clone")
printf 'user 1000:0\nexec id\n' >"$C/$n/ctl" || fail "user 1000:0: $(read_file "$C/$n/ctl" 60)"
assert_match '^uid=1000\(app\) gid=0\(root\)' "$(read_file "$C/$n/stdout")" "user 1000:0"
n=$(read_file "$C/clone")
[ "$(errno_of_ctl "$C/$n/ctl" $'user nosuchuser\nexec id\n')" != ok ] || fail "user unknown in the container started"
assert_match '^failed: .*nosuchuser' "$(read_file "$C/$n/status" 60)" "status names the unknown user"
log "env, cwd, user ok"

# The agent's message quotes the program name, which is the user's; with
# control characters in it, status and wait still show one printable line
# (a terminal that prints them gets no escape sequence).
n=$(read_file "$C/clone")
[ "$(errno_of_ctl "$C/$n/ctl" $'exec "no\e[2Jsuch\tprog"\n')" = "No such file or directory" ] ||
	fail "a missing program with control characters in its name"
for f in status wait; do
	line=$(od -An -c "$C/$n/$f" | tr -d ' \n')
	assert_eq 'failed:execno?[2Jsuch?prog:Nosuchfileordirectory\n' "$line" "$f of a name with ESC and TAB"
done
log "control characters in an agent's message are shown as ?"

# merge: stderr into stdout, in order.
n=$(read_file "$C/clone")
printf 'merge\nexec sh -c "echo a; echo b >&2; echo c"\n' >"$C/$n/ctl" || fail "merge: $(read_file "$C/$n/ctl" 60)"
assert_eq "exited 0" "$(read_file "$C/$n/wait")" "merge session"
assert_eq "a
b
c" "$(read_file "$C/$n/stdout")" "merge: stdout"
assert_eq "" "$(read_file "$C/$n/stderr")" "merge: stderr empty"

# nice: the process starts with it (field 19 of /proc/PID/stat).
n=$(read_file "$C/clone")
printf 'nice 7\nexec cat /proc/self/stat\n' >"$C/$n/ctl" || fail "nice 7: $(read_file "$C/$n/ctl" 60)"
assert_eq "exited 0" "$(read_file "$C/$n/wait" 60)" "nice 7 session"
assert_eq "7" "$(cut -d' ' -f19 "$C/$n/stdout")" "nice 7: the process's nice value"
# Lowering it needs CAP_SYS_NICE, which this container's processes lack:
# the start fails as `nice -n -5` inside would, and nothing runs.
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "nice -5" || fail "nice -5 (pre-exec): $(read_file "$C/$n/ctl" 60)"
assert_eq "Permission denied" "$(errno_of_ctl "$C/$n/ctl" "touch /tmp/niced")" "exec under nice -5"
assert_match "nice" "$(read_file "$C/$n/status" 60)" "status of the refused nice -5"
assert_eq "Invalid argument" "$(errno_of_ctl "$C/$(read_file "$C/clone")/ctl" "nice 20")" "nice 20"
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "ls /tmp/niced" 2>/dev/null || true
assert_eq "exited 1" "$(read_file "$C/$n/wait" 60)" "nothing ran under the refused nice -5"
log "nice 7 applied; nice -5 refused without CAP_SYS_NICE; nice 20 invalid"

# signal by number, to a process that traps it; eof ends cat.
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "sh -c 'trap \"echo got USR1; exit 9\" USR1; echo ready; while :; do sleep 0.1; done'" || fail "trap"
wait_for "grep -q ready '$C/$n/stdout'" 60 || fail "the trap was never set"
ctl_write "$C/$n/ctl" "signal 10" || fail "signal 10: $(read_file "$C/$n/ctl" 60)"
assert_eq "exited 9" "$(read_file "$C/$n/wait" 60)" "trap USR1"
assert_eq "ready
got USR1" "$(read_file "$C/$n/stdout")" "trap output"
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" cat || fail cat
exec 7>"$C/$n/stdin"
echo kept-open >&7
ctl_write "$C/$n/ctl" eof || fail "eof"
assert_eq "exited 0" "$(read_file "$C/$n/wait" 60)" "cat after eof with stdin still open"
exec 7>&-
assert_eq kept-open "$(read_file "$C/$n/stdout")" "cat's output"
log "merge, signal by number, eof ok"
