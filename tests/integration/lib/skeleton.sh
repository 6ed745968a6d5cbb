# shellcheck shell=bash
# The walking-skeleton acceptance checks, shared by test_skeleton_local.sh and
# test_skeleton_tls.sh (which differ only in how they reach the agent).
# Not sourced by common.sh: the two tests source it themselves.
#
#   skeleton_containers          start default/web-1/nginx, prod/api-7/app and
#                                a sandbox of default/web-1 (before the mount)
#   skeleton_check_tree NODEDIR  the listing; the sandbox hidden; a container
#                                started after the mount appears, and goes
#                                when deleted
#   skeleton_check_sessions NODEDIR   sessions through ctl/stdin/stdout/...

skeleton_containers() {
	rootfs_build
	container_start web default web-1 nginx
	container_start api prod api-7 app
	container_start_sandbox pause default web-1
}

# ls_names DIR: the entries of DIR on one line, sorted.
ls_names() {
	local out
	out=$(timeout 60 ls -A -- "$1") || fail "ls $1 failed or hung"
	printf '%s\n' "$out" | sort | tr '\n' ' ' | sed 's/ $//'
}

skeleton_check_tree() {
	local n=$1 f
	wait_for "[ -d '$n/default/web-1/nginx' ] && [ -d '$n/prod/api-7/app' ]" 60 ||
		fail "containers not shown under $n: $(find "$n" -maxdepth 3 2>&1 | tr '\n' ' ')"
	assert_eq ".status default prod" "$(ls_names "$n")" "namespaces in $n"
	assert_eq "web-1" "$(ls_names "$n/default")" "pods in default"
	assert_eq "nginx" "$(ls_names "$n/default/web-1")" "containers in default/web-1 (sandbox must be hidden)"
	assert_eq "api-7" "$(ls_names "$n/prod")" "pods in prod"
	assert_eq "app" "$(ls_names "$n/prod/api-7")" "containers in prod/api-7"
	for f in ctl stdin stdout stderr status wait clone info; do
		[ -e "$n/default/web-1/nginx/$f" ] || fail "no file $f in a container directory"
	done
	log "tree ok; starting a container after the mount"

	container_start late default late-1 box
	wait_for "[ -d '$n/default/late-1/box' ]" 60 ||
		fail "container started after the mount not shown in 60 s"
	container_delete late
	wait_for "[ ! -e '$n/default/late-1/box' ] && [ ! -e '$n/default/late-1' ]" 60 ||
		fail "deleted container still shown after 60 s"
	assert_eq "web-1" "$(ls_names "$n/default")" "pods in default after the delete"
	log "tree follows containers"
}

# run_line CDIR LINE: write LINE to CDIR/ctl; the write must succeed.
run_line() {
	local rc=0
	(printf '%s\n' "$2" >"$1/ctl") 2>"$TESTDIR/ctl.err" || rc=$?
	[ $rc -eq 0 ] || fail "echo '$2' > ctl failed: $(cat "$TESTDIR/ctl.err")"
}

skeleton_check_sessions() {
	local n=$1 c out err rc
	c=$n/default/web-1/nginx

	# date: the whole output, even though date ended before cat opened.
	run_line "$c" date
	out=$(read_file "$c/stdout")
	assert_match '^[A-Z][a-z]{2} .*[0-9]{2}:[0-9]{2}:[0-9]{2} .*[0-9]{4}$' "$out" "date output"
	assert_eq "exited 0" "$(read_file "$c/wait")" "wait after date"
	log "date: $out"

	run_line "$c" hostname
	assert_eq "web-1" "$(read_file "$c/stdout")" "hostname in default/web-1/nginx"
	run_line "$n/prod/api-7/app" hostname
	assert_eq "api-7" "$(read_file "$n/prod/api-7/app/stdout")" "hostname in prod/api-7/app"

	# The container's own /etc/passwd, not the host's.
	run_line "$c" "cat /etc/passwd"
	read_file "$c/stdout" >"$TESTDIR/passwd.out"
	cmp -s "$TESTDIR/passwd.out" "$ROOTFS/etc/passwd" ||
		fail "cat /etc/passwd: not the container's file: $(head -c 300 "$TESTDIR/passwd.out")"
	! cmp -s "$TESTDIR/passwd.out" /etc/passwd || fail "cat /etc/passwd shows the host's file"

	# stdout and stderr apart; the exit code in wait and status.
	run_line "$c" "sh -c 'echo oops >&2; echo fine; exit 7'"
	assert_eq "exited 7" "$(read_file "$c/wait")" "wait after exit 7"
	assert_eq "exited 7" "$(read_file "$c/status" 60)" "status after exit 7"
	assert_eq "fine" "$(read_file "$c/stdout")" "stdout of the sh -c"
	assert_eq "oops" "$(read_file "$c/stderr")" "stderr of the sh -c"
	log "exit 7 ok"

	# status never blocks and says running while it runs (until the test
	# gives it its line).
	run_line "$c" "sh -c 'read x'"
	assert_eq "running" "$(read_file "$c/status" 60)" "status while read x waits"
	echo go >"$c/stdin"
	assert_eq "exited 0" "$(read_file "$c/wait" 60)" "wait after read x got its line"

	# A program that does not exist: the write fails (ENOENT), status says why.
	rc=0
	(echo nosuch >"$c/ctl") 2>"$TESTDIR/nosuch.err" || rc=$?
	err=$(cat "$TESTDIR/nosuch.err")
	[ $rc -ne 0 ] || fail "echo nosuch > ctl succeeded"
	log "echo nosuch > ctl: status $rc: $err"
	[[ $err == *"No such file or directory"* ]] ||
		fail "echo nosuch > ctl: expected ENOENT, got: $err"
	out=$(read_file "$c/status" 60)
	assert_match '^failed: .+' "$out" "status after nosuch"
	log "nosuch: $out"

	# stdin: two writes, then closing it ends cat.
	run_line "$c" cat
	exec 3>"$c/stdin"
	echo "line one" >&3
	echo "line two" >&3
	exec 3>&-
	assert_eq "exited 0" "$(read_file "$c/wait")" "wait after cat's stdin closed"
	assert_eq "line one
line two" "$(read_file "$c/stdout")" "cat echoes stdin"
	log "stdin ok"
}
