#!/bin/bash
# Editors save into stdin and read stdout:
# vim scripted (-es) and full-screen with swap and backup files on, nano and
# emacs each write a buffer into N/stdin; the remote side (md5sum or cat)
# gets exactly the text. vim -es and less read stdout.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

for e in vim nano emacs less script; do
	command -v $e >/dev/null || skip "$e not installed (.ci/debian-packages.txt)"
done
fsenv_start
export HOME=$TESTDIR/home
mkdir -p "$HOME"
cd "$TESTDIR"

# session_cat: a new session running cat; prints N.
session_cat() {
	local n
	n=$(read_file "$C/clone")
	ctl_write "$C/$n/ctl" cat >/dev/null || fail "cat in $n"
	echo "$n"
}

# expect_text N TEXT: session N ended and echoed exactly TEXT.
expect_text() {
	assert_eq "exited 0" "$(read_file "$C/$1/wait" 60)" "$2: the editor's close ended the session"
	read_file "$C/$1/stdout" >"$TESTDIR/got"
	printf '%s' "$3" >"$TESTDIR/want"
	cmp -s "$TESTDIR/got" "$TESTDIR/want" ||
		fail "$2 sent [$(od -c "$TESTDIR/got" | head -5)], wanted [$(od -c "$TESTDIR/want" | head -5)]"
	log "$2 saved exactly the buffer"
}

n=$(session_cat)
timeout 300 vim -es -u NONE -i NONE -c 'call setline(1, ["hello from vim", "  second line"])' \
	-c wq "$C/$n/stdin" || fail "vim -es failed ($?)"
expect_text "$n" "vim -es" $'hello from vim\n  second line\n'

# Full-screen vim on a terminal, swap file and backup on: the directory
# refuses both names, vim falls back to writing in place.
n=$(session_cat)
timeout 300 script -qfec "vim -u NONE -N -i NONE -c 'set swapfile backup writebackup' \
	-c 'call setline(1, \"full vim\")' -c w -c q '$C/$n/stdin'" /dev/null \
	</dev/null >"$TESTDIR/vim.log" 2>&1 || fail "full-screen vim failed: $(tail -c 500 "$TESTDIR/vim.log")"
expect_text "$n" "vim (swap, backup)" $'full vim\n'

n=$(session_cat)
timeout 300 emacs --batch -Q "$C/$n/stdin" \
	--eval '(progn (insert "hello from emacs\n") (save-buffer))' >"$TESTDIR/emacs.log" 2>&1 ||
	fail "emacs failed: $(cat "$TESTDIR/emacs.log")"
expect_text "$n" "emacs" $'hello from emacs\n'

# nano on a terminal (in tmux, which shows what nano drew): type, ^O
# Enter (write out), ^X (exit); each key once nano asks for it.
n=$(session_cat)
sock=$TESTDIR/tmux.sock
cleanup_push "tmux -S '$sock' kill-server 2>/dev/null"
pane() { tmux -S "$sock" capture-pane -p -t nano 2>/dev/null; }
nano_expect() {
	wait_for "tmux -S '$sock' capture-pane -p -t nano | grep -Eq -- '$1'" 60 ||
		fail "nano never showed /$1/: $(pane)"
}
tmux -S "$sock" new-session -d -s nano -x 80 -y 24 \
	"nano '$C/$n/stdin'; echo \$? >'$TESTDIR/nano.rc'; sleep infinity"
nano_expect '\^O Write Out'
tmux -S "$sock" send-keys -t nano 'hello from nano'
nano_expect '^hello from nano'
tmux -S "$sock" send-keys -t nano C-o
nano_expect 'File Name to Write'
tmux -S "$sock" send-keys -t nano Enter
nano_expect 'Wrote 1 line'
tmux -S "$sock" send-keys -t nano C-x
wait_for "[ -s '$TESTDIR/nano.rc' ]" 60 || fail "nano did not exit: $(pane)"
assert_eq 0 "$(cat "$TESTDIR/nano.rc")" "nano's status"
tmux -S "$sock" kill-server
expect_text "$n" "nano" $'hello from nano\n'

# Reading stdout with vim -es and less.
n=$(read_file "$C/clone")
ctl_write "$C/$n/ctl" "seq 1 500" || fail "seq"
read_file "$C/$n/wait" >/dev/null
assert_eq "$(seq 1 500)" "$(timeout 300 vim -es -u NONE -i NONE -c '%p' -c 'q!' "$C/$n/stdout")" "vim -es reads stdout"
assert_eq "$(seq 1 500)" "$(LESS= timeout 300 less -F "$C/$n/stdout")" "less reads stdout"
assert_eq "$(seq 1 500 | grep -c 7)" "$(grep -c 7 "$C/$n/stdout")" "grep on stdout"
