#!/bin/bash
# `execfs exec` without a terminal (the -i and no-stdin modes): stdin piped
# and as a heredoc, exit statuses (code, 128+signal, 127 for a missing
# program, 128+SIGPIPE and SIGPIPE sent on when the local reader leaves),
# stdout and stderr kept apart, large output, globs with --any,
# and that it used session files only (a cloned N/, container files
# untouched).
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

fsenv_start web-1 web-2

# exec_rc ARGS...: run execfs exec, print its status (stdout/stderr to files).
exec_rc() {
	local rc=0
	execfs_exec "$@" >"$TESTDIR/out" 2>"$TESTDIR/err" || rc=$?
	echo "$rc"
}

rc=$(printf 'echo hi\nexit 3\n' | exec_rc -i "$C" -- sh)
assert_eq 3 "$rc" "status of printf | execfs exec -i DIR -- sh"
assert_eq hi "$(cat "$TESTDIR/out")" "stdout of the piped script"

rc=0
execfs_exec "$C" -- /bin/sh >"$TESTDIR/out" 2>"$TESTDIR/err" <<'SCRIPT' || rc=$?
echo "$HOSTNAME" in the container
echo to-stderr >&2
exit 0
SCRIPT
assert_eq 0 "$rc" "heredoc status"
assert_eq "web-1 in the container" "$(cat "$TESTDIR/out")" "heredoc: expanded in the container"
assert_eq "to-stderr" "$(cat "$TESTDIR/err")" "heredoc: stderr apart"

rc=$(exec_rc -i=false "$C" -- sh -c 'echo out; echo err >&2; cat; exit 7')
assert_eq 7 "$rc" "-i=false status (cat read EOF at once)"
assert_eq out "$(cat "$TESTDIR/out")" "-i=false stdout"
assert_eq err "$(cat "$TESTDIR/err")" "-i=false stderr"
assert_eq 7 "$(exec_rc --no-stdin "$C" sh -c 'exit 7')" "--no-stdin, no --"

assert_eq 143 "$(exec_rc "$C" -- sh -c 'kill -TERM $$' </dev/null)" "killed by SIGTERM: 128+15"
assert_eq 127 "$(exec_rc "$C" -- nosuch </dev/null)" "missing program"
assert_match 'nosuch.*No such file or directory' "$(cat "$TESTDIR/err")" "missing program message"

# Arguments arrive as words, quotes and all.
execfs_exec "$C" -- printf '%s|' "it's" 'a b' '$HOME' '' >"$TESTDIR/out" </dev/null
assert_eq "it's|a b|\$HOME||" "$(cat "$TESTDIR/out")" "argv passed verbatim"

# Large output, and bytes through stdin and back.
execfs_exec "$C" -- seq 1 200000 </dev/null | md5sum >"$TESTDIR/seq.md5"
assert_eq "$(seq 1 200000 | md5sum)" "$(cat "$TESTDIR/seq.md5")" "200000 lines through execfs exec"
head -c 3000000 /dev/urandom >"$TESTDIR/rand"
execfs_exec "$C" -- cat <"$TESTDIR/rand" | cmp - "$TESTDIR/rand" || fail "3 MB through stdin and stdout differ"

# A local reader that goes away (| head -1): the client leaves with
# 128+SIGPIPE and the command gets SIGPIPE, as it would writing to a pipe.
(execfs_exec "$C" -- sh -c 'while :; do echo y; done' </dev/null ||
	echo $? >"$TESTDIR/pipe.rc") | head -1 >"$TESTDIR/out"
assert_eq y "$(cat "$TESTDIR/out")" "head -1 of an endless command"
assert_eq 141 "$(cat "$TESTDIR/pipe.rc")" "execfs exec status when its reader left"
n=$(find "$C" -mindepth 1 -maxdepth 1 -name '[0-9]*' -printf '%f\n' | sort -n | tail -1)
wait_for "grep -q 'killed SIGPIPE' '$C/$n/status'" 60 ||
	fail "the command was not sent SIGPIPE (status: $(cat "$C/$n/status"))"

# Globs: ambiguous without --any, one of them with it.
assert_eq 125 "$(exec_rc "$NODE/default/web-*/box" -- hostname </dev/null)" "ambiguous glob"
assert_match 'matches 2 containers' "$(cat "$TESTDIR/err")" "ambiguous glob message"
assert_eq 0 "$(exec_rc --any "$NODE/default/web-*/box" -- hostname </dev/null)" "--any"
assert_match '^web-[12]$' "$(cat "$TESTDIR/out")" "--any ran in one of them"
assert_eq 125 "$(exec_rc "$NODE/nope/*/box" -- true </dev/null)" "glob matching nothing"
assert_eq 2 "$(exec_rc --bogus "$C" -- true </dev/null)" "unknown option"
execfs_exec --help | grep -q "<<'EOF'" || fail "--help lacks the heredoc example"
execfs_exec --help | grep -q -- "-it DIR" || fail "--help lacks the -it mode"

# Only session files were used: the container's own files are untouched.
assert_eq none "$(read_file "$C/status" 60)" "container status after execfs exec"
log "execfs exec without a tty ok"
