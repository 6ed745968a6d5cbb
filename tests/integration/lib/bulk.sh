# shellcheck shell=bash
# Bulk data through a session, checked end to end. Sourced after common.sh.
#
#   random_bytes N              N pseudo-random bytes on stdout, fast
#   roundtrip DIR BYTES TAG     a new session of the container directory DIR
#                               runs cat; BYTES random bytes go into its
#                               stdin while its stdout is read; the two
#                               sha256 sums must be equal and cat exit 0.

# AES-CTR keystream: random enough to catch reordered or lost bytes, and
# far faster than /dev/urandom.
random_bytes() {
	# head ends the generator with SIGPIPE: not a failure (pipefail).
	(openssl enc -aes-128-ctr -nosalt -pass "pass:$RANDOM$RANDOM" \
		-pbkdf2 </dev/zero 2>/dev/null || true) | head -c "$1"
}

roundtrip() {
	local c=$1 bytes=$2 tag=$3 n dir reader
	n=$(read_file "$c/clone")
	dir=$c/$n
	echo cat >"$dir/ctl" || fail "$tag: cannot start cat"
	sha256sum <"$dir/stdout" | cut -d' ' -f1 >"$TESTDIR/$tag.out" &
	reader=$!
	random_bytes "$bytes" | tee >(sha256sum | cut -d' ' -f1 >"$TESTDIR/$tag.in") \
		>"$dir/stdin" || fail "$tag: writing stdin failed"
	wait "$reader" || fail "$tag: reading stdout failed"
	wait_for "[ -s '$TESTDIR/$tag.in' ]" 60 || fail "$tag: no input checksum"
	assert_eq "$(cat "$TESTDIR/$tag.in")" "$(cat "$TESTDIR/$tag.out")" \
		"$tag: checksum of what came back"
	assert_eq 'exited 0' "$(read_file "$dir/wait")" "$tag: cat's end"
}
