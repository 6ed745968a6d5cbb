#!/bin/bash
# The examples run as documented (STYLE.md: examples are run by the tests):
# fan-out.sh across three containers matched by a glob, edit-and-run.sh with
# a scripted editor, interactive.sh without a terminal.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

ex=$EXECFS_SOURCE_DIR/examples
fsenv_start web-1 web-2 db-1

# Fan-out: one command in every web-* container, outputs collected.
rc=0
timeout 300 "$ex/fan-out.sh" "$NODE/default/web-*/box" "sh -c 'hostname; echo warn >&2'" \
	>"$TESTDIR/fan.out" 2>&1 || rc=$?
assert_eq 0 "$rc" "fan-out status"
assert_eq "==> $NODE/default/web-1/box <== exited 0
web-1
stderr: warn
==> $NODE/default/web-2/box <== exited 0
web-2
stderr: warn" "$(cat "$TESTDIR/fan.out")" "fan-out output"
# Cloned sessions were used and forgotten; container files untouched.
assert_eq none "$(read_file "$C/status" 60)" "container status after fan-out"
[ -z "$(find "$NODE/default/web-2/box" -mindepth 1 -type d)" ] || fail "fan-out left sessions behind"
# A failing one makes the status 1 and says where.
rc=0
timeout 300 "$ex/fan-out.sh" "$NODE/default/*/box" "sh -c '[ \$(hostname) != db-1 ]'" \
	>"$TESTDIR/fan.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "fan-out status with one failure"
assert_eq 1 "$(grep -c '<== exited 1' "$TESTDIR/fan.out")" "one container failed"
rc=0
timeout 300 "$ex/fan-out.sh" "$NODE/default/*/box" "nosuch" >"$TESTDIR/fan.out" 2>&1 || rc=$?
assert_eq 1 "$rc" "fan-out of a missing program"
assert_eq 3 "$(grep -c '<== failed: nosuch: .*ENOENT' "$TESTDIR/fan.out")" "three failed starts reported: $(cat "$TESTDIR/fan.out")"
log "fan-out ok"

# edit-and-run with a scripted editor.
rc=0
EDITOR="vim -es -u NONE -i NONE -c 'call setline(1, [\"echo edited in \$HOSTNAME\", \"exit 6\"])' -c wq" \
	timeout 300 "$ex/edit-and-run.sh" "$C" >"$TESTDIR/edit.out" 2>"$TESTDIR/edit.err" || rc=$?
assert_eq 6 "$rc" "edit-and-run status"
assert_eq "edited in web-1" "$(cat "$TESTDIR/edit.out")" "edit-and-run output"
log "edit-and-run ok"

# interactive.sh without a terminal: a command in one web replica.
out=$(EXECFS=$EXECFS_BUILD_DIR/execfs timeout 300 "$ex/interactive.sh" "$NODE/default/web-*/box" hostname </dev/null)
assert_match '^web-[12]$' "$out" "interactive.sh picked a web replica"
