#!/bin/bash
# Fan-out is plain shell: run one command in every container matching a
# glob, all at once, and collect each one's output and status.
#
#   examples/fan-out.sh 'GLOB' COMMAND-LINE
#   examples/fan-out.sh '/exec/*/prod/*/web' 'uptime'
#   examples/fan-out.sh '/exec/*/*/*/*' "sh -c 'df -h / | tail -1'"
#
# COMMAND-LINE is one ctl line: split with shell quoting rules and not
# expanded (docs/FILES.md). For every container directory C the glob matches
# it takes a session of its own (N=$(cat C/clone)), so nobody else's current
# session is touched, starts the command in all of them, then prints
#
#   ==> C <== exited 0
#   ...that container's stdout...
#
# with stderr lines prefixed by "stderr: ". The exit status is 0 when every
# command exited 0, else 1 (a start that failed counts as a failure).
# Only the files are used; nothing here knows about nodes or agents.
#
# `execfs exec --all 'GLOB' -- CMD...` does the same at scale (all targets
# in flight at once, each output line prefixed with its container, a
# summary, --json for scripts; docs/FILES.md). This script stays as the
# proof that a shell loop over the files is enough.
set -u

[ $# -eq 2 ] || {
	echo "usage: $0 'GLOB' COMMAND-LINE" >&2
	exit 2
}
pattern=$1 line=$2
status=0
sessions=()

dirs=()
# shellcheck disable=SC2206 # the glob is the point
for c in $pattern; do
	[ -f "$c/clone" ] && dirs+=("$c")
done
[ ${#dirs[@]} -gt 0 ] || {
	echo "$0: $pattern matches no container directory" >&2
	exit 1
}
for c in "${dirs[@]}"; do
	n=$(cat "$c/clone") || { status=1; continue; }
	# The write returns once the process started (or fails with why).
	if printf '%s\n' "$line" >"$c/$n/ctl"; then
		sessions+=("$c/$n")
	else
		printf '==> %s <== failed: %s\n' "$c" "$(sed -n 's/^error: //p' "$c/$n/ctl")"
		status=1
	fi
done

# All run in parallel already; collect them in order. stdout and stderr are
# read together so a chatty stderr never stalls a command (see FILES.md).
for s in ${sessions[@]+"${sessions[@]}"}; do
	sed 's/^/stderr: /' "$s/stderr" >"${TMPDIR:-/tmp}/fan-out.$$.err" &
	out=$(cat "$s/stdout")
	wait $!
	res=$(cat "$s/wait")
	printf '==> %s <== %s\n' "${s%/*}" "$res"
	[ -z "$out" ] || printf '%s\n' "$out"
	cat "${TMPDIR:-/tmp}/fan-out.$$.err"
	[ "$res" = "exited 0" ] || status=1
	echo forget >"$s/ctl"
done
rm -f "${TMPDIR:-/tmp}/fan-out.$$.err"
exit $status
