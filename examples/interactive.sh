#!/bin/bash
# A shell in a container, as with `kubectl exec -it` or `nomad alloc exec`,
# through the files only (execfs exec uses clone, N/ctl, N/stdin, N/stdout,
# N/stderr and N/wait).
#
#   examples/interactive.sh 'GLOB' [COMMAND...]
#   examples/interactive.sh '/exec/*/default/web-*/nginx'          # a shell
#   examples/interactive.sh '/exec/*/prod/api-*/app' top           # top
#
# GLOB may match several containers (replicas of one pod): one is picked at
# random (Nomad's -job). With a terminal you get raw mode, window resizes
# and the `~.` escape; the exit status is the command's own. Set EXECFS to
# the execfs binary if it is not in PATH.
set -eu

[ $# -ge 1 ] || {
	echo "usage: $0 'GLOB' [COMMAND...]" >&2
	exit 2
}
glob=$1
shift
[ $# -gt 0 ] || set -- /bin/sh
exec "${EXECFS:-execfs}" exec --any "$glob" -- "$@"
