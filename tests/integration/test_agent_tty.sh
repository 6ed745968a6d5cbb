#!/bin/bash
# The agent's terminals, driven straight through its Unix socket with
# tests/tools/h2req (no mount): a pty from the container's devpts sized
# before the program starts, resize delivered as SIGWINCH, signals to the
# terminal's foreground group, VEOF as the end of stdin, and the refusals
# (resize without a tty, malformed resize lines, unknown signals, signals
# after the end).
# The commands run in the container are in single quotes on purpose.
# shellcheck disable=SC2016
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

rootfs_build
container_start box default box-1 box
CID=$CONTAINER_ID
agent_start
T=$TESTDIR

# ---- the initial size, before the program's first look -------------------
sid=$(new_sid)
# The terminal is one of the container's own devpts: its path exists in
# the container's /dev/pts.
exec_json "$T/req1" container="\"$CID\"" \
	argv='["sh","-c","stty size; t=$(tty); echo $t; test -c $t && ls /dev/pts | grep -qx ${t#/dev/pts/} && echo in-container"]' \
	tty=true cols=80 rows=24
h2req --exec "$T/req1" --stdout "$T/out1" --stderr "$T/err1" "$sid" >"$T/rep1"
out=$(tr -d '\r' <"$T/out1")
assert_match '^24 80'$'\n''/dev/pts/[0-9]+'$'\n''in-container$' "$out" "stty size; tty on a 80x24 tty"
assert_eq "" "$(cat "$T/err1")" "stderr of a tty session"
grep -qx 'stderr 200' "$T/rep1" || fail "stderr stream not answered 200: $(cat "$T/rep1")"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/rep1" status)" "status"
log "initial size ok: $(echo "$out" | tr '\n' ' ')"

# As another user the terminal is that user's: it can reopen it by path.
sid=$(new_sid)
exec_json "$T/req1u" container="\"$CID\"" user='"app"' tty=true \
	argv='["sh","-c","id -u; stat -c %u $(tty); echo via-path >$(tty)"]'
h2req --exec "$T/req1u" --stdout "$T/out1u" "$sid" >"$T/rep1u"
assert_eq "1000 1000 via-path" "$(tr -d '\r' <"$T/out1u" | tr '\n' ' ' | sed 's/ $//')" "tty of user app"

# Without cols/rows: 80x24.
sid=$(new_sid)
exec_json "$T/req2" container="\"$CID\"" argv='["stty","size"]' tty=true
h2req --exec "$T/req2" --stdout "$T/out2" "$sid" >"$T/rep2"
assert_eq "24 80" "$(tr -d '\r\n' <"$T/out2")" "default size"

# ---- resize -> SIGWINCH, signal -> the foreground group ------------------
sid=$(new_sid)
exec_json "$T/req3" container="\"$CID\"" \
	argv='["sh","-c","trap \"stty size\" WINCH; echo ready; while :; do sleep 0.1; done"]' \
	tty=true cols=80 rows=24
mkfifo "$T/resize3"
h2req --exec "$T/req3" --stdout "$T/out3" --resize "$T/resize3" "$sid" >"$T/rep3" 2>"$T/h2req3.err" &
main=$!
exec 7>"$T/resize3"
cleanup_push "exec 7>&-"
wait_for "grep -q ready '$T/out3'" 60 || fail "tty session did not start: $(cat "$T/rep3" "$T/out3")"
grep -qx 'resize 200' "$T/rep3" || fail "resize stream not answered 200: $(cat "$T/rep3")"
echo "100 30" >&7
wait_for "tr -d '\r' <'$T/out3' | grep -qx '30 100'" 60 ||
	fail "resize to 100x30 not seen by stty: $(cat -v "$T/out3")"
echo "132 43" >&7
wait_for "tr -d '\r' <'$T/out3' | grep -qx '43 132'" 60 ||
	fail "second resize not seen: $(cat -v "$T/out3")"
log "resize ok"

# A bad signal name is refused; the process keeps running.
h2req --signal NOSUCH "$sid" >"$T/sig-bad"
grep -qx 'signal 400' "$T/sig-bad" || fail "bad signal: $(cat "$T/sig-bad")"
assert_match '"errno":"EINVAL"' "$(report_body "$T/sig-bad" signal)" "bad signal errno"
kill -0 $main || fail "the session ended after a bad signal"

h2req --signal term "$sid" >"$T/sig-term"
grep -qx 'signal 200' "$T/sig-term" || fail "signal TERM: $(cat "$T/sig-term")"
wait_for "grep -q '^status body' '$T/rep3'" 60 || fail "TERM did not end the session: $(cat "$T/rep3")"
assert_eq '{"state":"killed","signal":15,"signame":"TERM"}' "$(report_body "$T/rep3" status)" "status after TERM"

# The resize stream is still open (our side), so the session still exists:
# a signal now is too late.
h2req --signal TERM "$sid" >"$T/sig-late"
grep -qx 'signal 409' "$T/sig-late" || fail "signal after the end: $(cat "$T/sig-late")"
assert_match '"errno":"ESRCH"' "$(report_body "$T/sig-late" signal)" "late signal errno"
exec 7>&-
wait $main || fail "h2req of the resize session failed: $(cat "$T/h2req3.err")"
h2req --signal TERM "$sid" >"$T/sig-gone"
grep -qx 'signal 404' "$T/sig-gone" || fail "signal to a forgotten session: $(cat "$T/sig-gone")"
grep -q "signal TERM sent to the terminal's foreground process group" "$T/agent.log" ||
	fail "no log line for the signal"
log "signals ok"

# ---- the end of stdin is VEOF -------------------------------------------
sid=$(new_sid)
exec_json "$T/req4" container="\"$CID\"" argv='["cat"]' tty=true
printf 'hello\npartial' >"$T/in4"
h2req --exec "$T/req4" --stdin "$T/in4" --stdout "$T/out4" "$sid" >"$T/rep4"
grep -qx 'stdin 200' "$T/rep4" || fail "stdin not answered: $(cat "$T/rep4")"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/rep4" status)" "cat after VEOF"
# The terminal echoes the input, cat repeats it: each word twice, the
# partial line handed over by the first of two VEOFs, the second ending cat.
assert_eq "2" "$(grep -o hello "$T/out4" | wc -l)" "hello echoed and repeated"
assert_eq "2" "$(grep -o partial "$T/out4" | wc -l)" "partial line echoed and repeated"
log "VEOF ok"

# ---- refusals ---------------------------------------------------------------
# resize without a tty: 409 EBUSY; a number as the signal.
sid=$(new_sid)
exec_json "$T/req5" container="\"$CID\"" argv='["sleep","1000"]'
: >"$T/empty"
printf '80 24\n' >"$T/resize5"
h2req --exec "$T/req5" --stdout "$T/out5" "$sid" >"$T/rep5" &
main=$!
wait_for "grep -qx 'status 200' '$T/rep5'" 60 || fail "sleep did not start: $(cat "$T/rep5")"
h2req --resize "$T/resize5" "$sid" >"$T/resize5.rep"
grep -qx 'resize 409' "$T/resize5.rep" || fail "resize without a tty: $(cat "$T/resize5.rep")"
assert_match '"errno":"EBUSY"' "$(report_body "$T/resize5.rep" resize)" "resize errno"
h2req --signal 9 "$sid" >"$T/sig5"
grep -qx 'signal 200' "$T/sig5" || fail "signal 9: $(cat "$T/sig5")"
wait $main
assert_eq '{"state":"killed","signal":9,"signame":"KILL"}' "$(report_body "$T/rep5" status)" "killed by 9"

# A malformed resize line resets the stream (and is logged); the session
# goes on. The program says it is ready for a SIGWINCH before the lines
# are sent, and prints the size at the first one.
sid=$(new_sid)
exec_json "$T/req6" container="\"$CID\"" tty=true cols=50 rows=10 \
	argv='["sh","-c","trap \"stty size; exit 0\" WINCH; echo ready; while :; do sleep 0.1; done"]'
mkfifo "$T/resize6"
h2req --exec "$T/req6" --stdout "$T/out6" --resize "$T/resize6" "$sid" >"$T/rep6" 2>"$T/h2req6.err" &
main=$!
exec 7>"$T/resize6"
wait_for "grep -q ready '$T/out6'" 60 || fail "tty session did not start: $(cat "$T/rep6" "$T/out6")"
printf '60 20\nsixty rows\n70 30\n' >&7
exec 7>&-
wait $main || fail "h2req of the malformed resize failed: $(cat "$T/h2req6.err")"
grep -qx 'resize reset 1' "$T/rep6" || fail "malformed resize line not reset: $(cat "$T/rep6")"
assert_eq "20 60" "$(tr -d '\r' <"$T/out6" | tail -n 1)" "size before the bad line applies"
grep -q 'resize stream: malformed line' "$T/agent.log" || fail "no log line for the malformed resize"
assert_eq '{"state":"exited","code":0}' "$(report_body "$T/rep6" status)" "status after a reset resize"
log "refusals ok"
