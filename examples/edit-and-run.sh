#!/bin/bash
# Editors work on the files: write a script in your editor straight into a
# container's shell, then see what it printed.
#
#   examples/edit-and-run.sh CONTAINER-DIR [SHELL]
#   EDITOR=nano examples/edit-and-run.sh /exec/n1/default/web-1/nginx
#
# It takes a session (N=$(cat DIR/clone)), starts SHELL (default /bin/sh) in
# it, opens $EDITOR (default vi) on N/stdin: saving sends the buffer to the
# shell, and quitting the editor closes stdin, so the shell runs what it
# got and ends. Then it prints N/stdout, N/stderr and N/wait, and exits
# with the shell's status. The container directory refuses new names, so
# editors write in place (their swap and backup files go elsewhere).
set -eu

[ $# -ge 1 ] || {
	echo "usage: $0 CONTAINER-DIR [SHELL]" >&2
	exit 2
}
c=$1 shell=${2:-/bin/sh}
n=$(cat "$c/clone")
echo "exec $shell" >"$c/$n/ctl"
# As git does: EDITOR is a shell command line, the file its argument.
sh -c "${EDITOR:-vi} \"\$@\"" editor "$c/$n/stdin"
# An editor that never opened stdin for writing leaves it open: end it.
echo eof >"$c/$n/ctl"
cat "$c/$n/stdout"
sed 's/^/stderr: /' "$c/$n/stderr" >&2
res=$(cat "$c/$n/wait")
echo "($res)" >&2
case $res in
"exited "*) exit "${res#exited }" ;;
*) exit 1 ;;
esac
