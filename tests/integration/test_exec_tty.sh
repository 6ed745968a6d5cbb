#!/bin/bash
# `execfs exec -it` under tmux: a shell on a /dev/pts terminal
# sized as the tmux window, resizing the window resizes it (SIGWINCH ->
# resize), keys go through raw mode (Ctrl-C interrupts the remote command,
# not the client), `~.` closes, `exit 4` ends the client with status 4, and
# the local terminal is restored afterwards.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

command -v tmux >/dev/null || skip "tmux not installed (.ci/debian-packages.txt)"
fsenv_start

sock=$TESTDIR/tmux.sock
tm() { tmux -S "$sock" "$@"; }
cleanup_push "tmux -S '$sock' kill-server 2>/dev/null"
# screen: the pane's text.
screen() { tm capture-pane -p -t t 2>/dev/null; }
# expect REGEX [TIMEOUT]: wait until the pane shows REGEX.
expect() {
	wait_for "tmux -S '$sock' capture-pane -p -t t | grep -Eq -- '$1'" "${2:-60}" ||
		fail "pane never showed /$1/; it shows:
$(screen)"
}

# start_exec OPTS: clear the pane, run execfs exec OPTS $C -- sh in it,
# wait for the new shell's banner and prompt.
start_exec() {
	# Ctrl-C first: busybox sh asks the terminal where the cursor is
	# (ESC[6n) with every prompt, and when the client has already ended
	# tmux's answer lands in the local shell's input line.
	tm send-keys -t t C-c
	# The status is printed after the terminal state is saved, so a test
	# that saw it can compare the states at once.
	tm send-keys -t t "clear; $EXECFS_BUILD_DIR/execfs exec $1 $C -- sh; st=\$?; stty -g > $TESTDIR/stty.after; echo \"client-status=\$st\"" Enter
	expect '^BusyBox v'
	expect '^/ # ?$'
}

# A local shell in tmux that records the client's status and stty state.
tm new-session -d -s t -x 100 -y 30 "env PS1='local\$ ' TERM=xterm bash --norc -i"
expect 'local\$'
tm send-keys -t t "stty -g > $TESTDIR/stty.before" Enter
# Saved before start_exec's Ctrl-C could interrupt it.
wait_for "[ -s '$TESTDIR/stty.before' ]" 60 || fail "local stty -g did not run"
start_exec -it
tm send-keys -t t 'tty; stty size; echo "TERM=$TERM"' Enter
expect '^/dev/pts/[0-9]+'
expect '^30 100'
expect '^TERM=xterm'
pts=$(screen | grep -Eo '/dev/pts/[0-9]+' | head -1)
log "a shell on $pts, 30x100"

# The new size reaches the container's terminal (seen from the container
# itself, with runc exec) before the shell is asked for it.
tm resize-window -t t -x 120 -y 40
wait_for "[ \"\$(runc --root '$RUNC_ROOT' exec '$CONTAINER_ID' stty -F $pts size)\" = '40 120' ]" 60 ||
	fail "the window's new size never reached $pts"
tm send-keys -t t 'stty size' Enter
expect '^40 120'
log "resize-window 120x40 -> stty size 40 120"

# Ctrl-C reaches the remote foreground process through the pty, once that
# process runs.
tm send-keys -t t 'sleep 3033; echo after-sleep' Enter
wait_for "pgrep -f '^sleep 3033\$' >/dev/null" 60 || fail "sleep 3033 did not start"
tm send-keys -t t C-c
wait_for "! pgrep -f '^sleep 3033\$' >/dev/null" 60 || fail "Ctrl-C did not end sleep 3033"
tm send-keys -t t 'echo still-here' Enter
expect '^still-here'
screen | grep -q "^after-sleep" && fail "Ctrl-C did not interrupt sleep"

tm send-keys -t t 'exit 4' Enter
expect 'client-status=4'
cmp -s "$TESTDIR/stty.before" "$TESTDIR/stty.after" ||
	fail "terminal not restored: $(cat "$TESTDIR/stty.before") vs $(cat "$TESTDIR/stty.after")"
log "exit 4 -> client status 4, terminal restored"

# The escape: ~. at the start of a line closes the session (status 255);
# ~~ sends one ~.
start_exec -it
# At a line start (cat echoes the line it got): ~~x arrives as ~x.
# (Keys typed before cat runs wait in the terminal, in order.)
tm send-keys -t t 'cat' Enter
tm send-keys -t t '~~' 'x' Enter
expect '^~x$'
tm send-keys -t t C-d
tm send-keys -t t Enter '~.'
expect 'client-status=255'
cmp -s "$TESTDIR/stty.before" "$TESTDIR/stty.after" || fail "terminal not restored after ~."
log "~~ sent ~, ~. closed"

# -e none: ~. is just text.
start_exec "-it -e none"
tm send-keys -t t 'echo ' '~.' 'y' Enter
expect '^~\.y'
tm send-keys -t t 'exit 0' Enter
expect 'client-status=0'

# vi drawn inside it: open, type, save into a file in /tmp, quit.
start_exec -it
tm send-keys -t t 'vi /tmp/v.txt' Enter
expect '^~ *$'
# ESC and the next key arriving at once would read as an escape sequence:
# the cursor (one left of the text's end once vi took the ESC) says when
# vi has it.
tm send-keys -t t 'i' 'drawn by vi'
expect '^drawn by vi'
wait_for "[ \"\$(tmux -S '$sock' display -p -t t '#{cursor_x}')\" = 11 ]" 60 ||
	fail "vi's cursor is not after the text"
tm send-keys -t t Escape
wait_for "[ \"\$(tmux -S '$sock' display -p -t t '#{cursor_x}')\" = 10 ]" 60 ||
	fail "vi did not leave insert mode"
tm send-keys -t t ':wq' Enter
tm send-keys -t t 'cat /tmp/v.txt' Enter
expect '^drawn by vi$'
tm send-keys -t t 'exit' Enter
log "vi inside execfs exec -it works"
