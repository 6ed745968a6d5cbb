# shellcheck shell=bash
# Sessions that cross a handover (an upgrade in place, a take-over), for
# their tests. Not sourced by common.sh: tests source it after it (and
# tlsnode.sh: the container's directory in $web; $out a directory of the
# test's).
#
#   new_session CTL_LINE...  a session on the mount: its directory
#   go NAME                  release the container's FIFO /tmp/NAME
#   handover_streams MARKER  FIFOs go-A and go-D in the container; then
#                            A: 60 batches of 1000 lines, waiting on go-A
#                            after 30 (its reader in the background,
#                            $a_reader, into $out/A.got; $out/A.expected);
#                            C: md5sum of 2,000,000 lines of stdin whose
#                            writer stops half way ($out/C.half) until
#                            $out/MARKER exists ($md5 the expected sum;
#                            $out/C.writer once it finished).
#   handover_streams_check WHAT
#                            release A; both streams complete and exact
#                            across WHAT ("the upgrade"); $mlog the mount's
#                            log, which must say it resumed.
# shellcheck disable=SC2154 # web, out, mlog: the test's

new_session() {
	local n
	n=$(read_file "$web/clone")
	printf '%s\n' "$@" >"$web/$n/ctl"
	echo "$web/$n"
}

# The container's processes wait on FIFOs the test writes by runc exec
# (which needs no agent).
go() {
	runc --root "$RUNC_ROOT" exec "$CONTAINER_ID" sh -c "echo go >/tmp/$1" ||
		fail "cannot release $1 in the container"
}

handover_streams() {
	local marker=$1 i
	# shellcheck disable=SC2016 # expanded in the container
	runc --root "$RUNC_ROOT" exec "$CONTAINER_ID" sh -c \
		'for f in go-A go-D; do rm -f /tmp/$f; mkfifo /tmp/$f; done' ||
		fail "cannot make the FIFOs in the container"
	seq 0 59999 >"$out/A.expected"
	for i in $(seq 0 39); do seq $((i * 50000)) $((i * 50000 + 49999)); done >"$out/C.input"
	md5=$(md5sum <"$out/C.input" | cut -d' ' -f1)
	A=$(new_session "sh -c 'i=0; while [ \$i -lt 60 ]; do seq \$((i*1000)) \$((i*1000+999)); i=\$((i+1)); [ \$i = 30 ] && read g </tmp/go-A; done; exit 0'")
	cat "$A/stdout" >"$out/A.got" 2>"$out/A.err" &
	a_reader=$!
	C=$(new_session "md5sum")
	(
		for i in $(seq 0 39); do
			seq $((i * 50000)) $((i * 50000 + 49999))
			if [ "$i" = 19 ]; then
				: >"$out/C.half"
				while [ ! -e "$out/$marker" ]; do sleep 0.05; done
			fi
		done >"$C/stdin"
		echo finished >"$out/C.writer"
	) 2>"$out/C.writer.err" &
}

handover_streams_check() {
	local what=$1
	go go-A
	wait_for "grep -q 'resumed' '$mlog'" 60 || fail "the mount did not resume"
	wait_for "! kill -0 $a_reader" 60 || fail "A's reader still running"
	wait "$a_reader" || fail "A's reader failed: $(cat "$out/A.err")"
	cmp "$out/A.expected" "$out/A.got" ||
		fail "A: output differs after $what ($(wc -l <"$out/A.got") lines)"
	assert_eq 'exited 0' "$(read_file "$A/wait")" "A's end"
	log "A: 60000 lines across $what, once each, in order"
	wait_for "[ -s '$out/C.writer' ]" 60 || fail "C: the writer did not finish: $(cat "$out/C.writer.err")"
	assert_eq 'exited 0' "$(read_file "$C/wait")" "C's end"
	assert_eq "$md5  -" "$(cat "$C/stdout")" "C: md5 of the stdin written across $what"
	log "C: stdin across $what, nothing lost, nothing twice"
}
