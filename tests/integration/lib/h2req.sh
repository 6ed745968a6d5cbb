# shellcheck shell=bash
# Driving the agent's session streams directly, without the mount, through
# $EXECFS_BUILD_DIR/tests/h2req (tests/tools/h2req.c). Not sourced by
# common.sh: tests that need it source it themselves.
#
#   new_sid                    print a fresh session id (32 hex digits)
#   exec_json FILE KEY=JSON... write an exec request: each KEY's value is a
#                              JSON text, e.g. argv='["sh","-c","id"]' tty=true
#   h2req ARGS...              run the tool against the agent's socket:
#                              h2req [--exec F] [--stdout F] ... SID
#   report_body FILE TYPE      the body lines of stream TYPE in a report

H2REQ=$EXECFS_BUILD_DIR/tests/h2req

new_sid() {
	od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

exec_json() {
	local file=$1
	shift
	python3 - "$file" "$@" <<'PY'
import json, sys
doc = {}
for a in sys.argv[2:]:
    key, sep, value = a.partition("=")
    if not sep:
        sys.exit("exec_json: %r is not KEY=JSON" % a)
    doc[key] = json.loads(value)
with open(sys.argv[1], "w") as f:
    json.dump(doc, f)
PY
}

h2req() {
	local sid=${*: -1} n=$(($# - 1))
	[ -x "$H2REQ" ] || fail "no $H2REQ (build first)"
	"$H2REQ" "${@:1:n}" "unix:$AGENT_SOCK" "$sid"
}

report_body() {
	sed -n "s/^$2 body //p" "$1"
}
