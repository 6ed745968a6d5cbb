#!/bin/bash
# `execfs exec --all` on one node with three containers (the 50-node run is
# test_fleet.sh): prefixed lines, stdout and stderr apart, a last line
# without a newline, the summary and the exit status (largest code, 127
# for a missing program), --json with bytes that are not UTF-8, several
# globs matching one container twice, --max-parallel 1, usage errors, a
# reader that goes away (| head), Ctrl-C once (signal INT to every
# target) and twice (kill, then leave), a command whose outputs end
# before it does (its status from `wait`, not ctl), and that only cloned
# sessions were used and all were forgotten.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fsenv.sh
. "$EXECFS_LIB_DIR/fsenv.sh"

export LC_ALL=C # sort order
fsenv_start web-1 web-2 db-1
X=$EXECFS_BUILD_DIR/execfs
g="$NODE/*/*/*"
p=$AGENT_NODE/default

# all_rc ARGS...: run execfs exec --all, stdout and stderr to files; print
# the status.
all_rc() {
	local rc=0
	timeout -k 2 300 "$X" exec --all "$@" >"$TESTDIR/out" 2>"$TESTDIR/err" </dev/null || rc=$?
	echo "$rc"
}

# Lines prefixed, streams apart, a partial last line completed.
rc=$(all_rc "$g" -- sh -c 'hostname; echo warn >&2; printf partial')
assert_eq 0 "$rc" "status ($(cat "$TESTDIR/err"))"
assert_eq "$p/db-1/box: db-1
$p/db-1/box: partial
$p/web-1/box: partial
$p/web-1/box: web-1
$p/web-2/box: partial
$p/web-2/box: web-2" "$(sort "$TESTDIR/out")" "stdout"
assert_eq "$p/db-1/box: warn
$p/web-1/box: warn
$p/web-2/box: warn" "$(head -3 "$TESTDIR/err" | sort)" "stderr"
assert_eq "execfs exec --all: 3 targets: 3 exited 0" "$(tail -n +4 "$TESTDIR/err")" "the summary, last"
# Each target's own lines stay in order.
assert_eq "$p/web-1/box: web-1
$p/web-1/box: partial" "$(grep web-1 "$TESTDIR/out")" "order within a target"

# The largest code is the status; the summary names each target.
# shellcheck disable=SC2016 # expanded in the container
rc=$(all_rc "$g" -- sh -c 'case $(hostname) in web-1) exit 3;; web-2) kill -TERM $$;; esac')
assert_eq 143 "$rc" "status: the largest code (128+SIGTERM)"
assert_eq "execfs exec --all: 3 targets: 1 exited 0, 2 did not:
  $p/web-1/box: exited 3 (3)
  $p/web-2/box: killed SIGTERM (143)" "$(cat "$TESTDIR/err")" "summary with failures"

rc=$(all_rc "$g" -- nosuch)
assert_eq 127 "$rc" "a missing program"
assert_eq 3 "$(grep -c ': failed to start: .*No such file or directory (ENOENT) (127)$' "$TESTDIR/err")" \
	"three failed starts: $(cat "$TESTDIR/err")"

# --json: data, data_base64 for bytes that are not UTF-8, one end record
# per target; nothing on stderr.
rc=$(all_rc --json "$NODE/default/web-1/box" -- sh -c 'printf "caf\303\251\n\377\n"; echo e >&2; printf end; exit 4')
assert_eq 4 "$rc" "--json status"
[ ! -s "$TESTDIR/err" ] || fail "--json wrote to stderr: $(cat "$TESTDIR/err")"
python3 - "$TESTDIR/out" "$p/web-1/box" <<'PY' || fail "--json records: $(cat "$TESTDIR/out")"
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
t = sys.argv[2]
out = [r for r in recs if r.get("stream") == "stdout"]
assert all(r["target"] == t for r in recs), recs
assert out[0]["data"] == "caf\u00e9\n", out
assert base64.b64decode(out[1]["data_base64"]) == b"\xff\n", out
assert out[2]["data"] == "end", out
assert [r["data"] for r in recs if r.get("stream") == "stderr"] == ["e\n"], recs
assert recs[-1] == {"target": t, "exit": 4, "status": "exited 4"}, recs[-1]
PY

# Globs overlapping: each container once. --max-parallel 1 runs them all.
rc=$(all_rc --max-parallel 1 "$NODE/default/web-*/box" "$NODE/default/*/box" -- hostname)
assert_eq 0 "$rc" "--max-parallel 1"
assert_eq 3 "$(wc -l <"$TESTDIR/out")" "each container once"

# Usage errors.
assert_eq 2 "$(all_rc "$g")" "no -- CMD"
assert_eq 2 "$(all_rc -- true)" "no GLOB"
assert_eq 2 "$(all_rc --max-parallel 0 "$g" -- true)" "--max-parallel 0"
assert_eq 2 "$(all_rc -t "$g" -- true)" "-t with --all"
assert_eq 125 "$(all_rc "$NODE/nope/*/*" -- true)" "a glob matching nothing"
assert_match 'matches no container' "$(cat "$TESTDIR/err")" "no match message"
"$X" exec --help | grep -q -- "--all \[--max-parallel N\] \[--json\] GLOB" || fail "--help lacks --all"

# The reader goes away: the targets get SIGPIPE, the status says so.
(timeout -k 2 300 "$X" exec --all "$g" -- sh -c 'while :; do echo y; done' </dev/null 2>"$TESTDIR/err" ||
	echo $? >"$TESTDIR/pipe.rc") | head -1 >/dev/null
assert_eq 141 "$(cat "$TESTDIR/pipe.rc")" "status when stdout's reader left"

# Ctrl-C once: `signal INT` to every target, each ends killed by it.
fifo=$TESTDIR/started
mkfifo "$fifo"
"$X" exec --all "$g" -- sh -c 'echo up; sleep 100' >"$fifo" 2>"$TESTDIR/err" </dev/null &
pid=$!
exec 3<"$fifo"
for i in 1 2 3; do read -r -t 60 _ <&3 || fail "target $i did not start"; done
kill -INT "$pid"
rc=0
wait "$pid" || rc=$?
exec 3<&-
assert_eq 130 "$rc" "status after one SIGINT"
assert_eq 3 "$(grep -c 'killed SIGINT (130)$' "$TESTDIR/err")" "every target got SIGINT: $(cat "$TESTDIR/err")"

# A second signal: a target that ignores the first is killed, and execfs
# leaves.
"$X" exec --all "$g" -- sh -c 'trap "" INT TERM; echo up; sleep 100' >"$fifo" 2>"$TESTDIR/err" </dev/null &
pid=$!
exec 3<"$fifo"
for i in 1 2 3; do read -r -t 60 _ <&3 || fail "target $i did not start"; done
# Two different signals: two of one kind sent at once may merge into one.
# Either may come first: the first is forwarded (and ignored), the second
# makes execfs kill every target and leave with 128 + its number.
kill -INT "$pid"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
exec 3<&-
assert_match '^(130|143)$' "$rc" "status after SIGINT and SIGTERM"
assert_match 'second signal' "$(cat "$TESTDIR/err")" "second signal message"
assert_eq 3 "$(grep -c 'killed SIGKILL (137)$' "$TESTDIR/err")" "every target killed: $(cat "$TESTDIR/err")"
# Nothing runs on in the containers.
for c in web-1 web-2 db-1; do
	wait_for "[ -z \"\$(find '$NODE/default/$c/box' -mindepth 1 -maxdepth 1 -type d)\" ]" 60 ||
		fail "sessions left in $c: $(for s in "$NODE/default/$c/box"/*/; do cat "$s/status"; done)"
done

# A command that closes its outputs and runs on: both outputs end while
# the session runs, so its end is not in ctl yet and comes from `wait`.
# It ends once a second fan-out creates a file, after the first one has
# opened `wait`.
w=$NODE/default/web-1/box
"$X" exec --all "$w" -- sh -c 'exec >&- 2>&-; while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 5' \
	>"$TESTDIR/late.out" 2>"$TESTDIR/late.err" </dev/null &
pid=$!
wait_for "ls -l /proc/$pid/fd 2>/dev/null | grep -q '/wait\$'" 60 || fail "the fan-out never opened wait"
assert_eq 0 "$(all_rc "$w" -- touch /tmp/go)" "the second fan-out"
rc=0
wait "$pid" || rc=$?
assert_eq 5 "$rc" "status from wait: $(cat "$TESTDIR/late.err")"
assert_eq "execfs exec --all: 1 target: 0 exited 0, 1 did not:
  $p/web-1/box: exited 5 (5)" "$(cat "$TESTDIR/late.err")" "summary from wait"

# Only cloned sessions: the containers' own files untouched.
assert_eq none "$(read_file "$C/status")" "container status after exec --all"
log "execfs exec --all ok"
