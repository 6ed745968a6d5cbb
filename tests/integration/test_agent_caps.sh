#!/bin/bash
# What one valid certificate can see and hold, end to end through a TLS
# agent, real runc containers and real mounts:
#   - a client whose certificate no rule names sees no container (an empty
#     node directory); one whose rule names one container sees that one,
#     not the other;
#   - sessions count from their first stream: unfinished status streams
#     beyond --max-sessions are refused (503), each refusal audited;
#   - streams beyond --max-streams-per-peer are reset (REFUSED_STREAM),
#     connections beyond --max-conns-per-peer closed, TCP connections
#     beyond --max-handshakes closed at accept, each with a log line; all
#     count-based (tests/tools/h2storm.c);
#   - the audit log of a session: its start with env, a signal, its end;
#   - --audit-required: with the audit file on /dev/full a start fails
#     (EIO) and nothing runs.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AGENT_NODE=n1
H2STORM=$EXECFS_BUILD_DIR/tests/h2storm
[ -x "$H2STORM" ] || fail "no $H2STORM (build first)"
certs_make n1
(
	set -e
	cd "$CERT_DIR"
	umask 077
	_cert_issue norules ca "/CN=norules" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=DNS:norules.execfs.test"
	chmod 644 ./*.pem
) || fail "making the test certificates failed"
port=$(free_port)
container_start web default web-1 nginx
container_start db default db-1 redis

printf '{"rules": [{"principals": ["uri:spiffe://execfs.test/client"], "pods": ["web-1"], "actions": ["exec"]}]}\n' \
	>"$TESTDIR/policy.json"
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" --audit "$TESTDIR/audit.log" \
	--max-sessions 20 --max-streams-per-peer 100 --max-conns-per-peer 4 \
	--max-handshakes 16 --heartbeat 60

# ---- what each certificate sees ------------------------------------------
tls_config_write "$TESTDIR/client.json" "$port"
tls_config_write "$TESTDIR/norules.json" "$port" "$CERT_DIR/norules.pem" \
	"$CERT_DIR/norules.key"
mount_start "$TESTDIR/mnt" --config "$TESTDIR/client.json"
web=$TESTDIR/mnt/n1/default/web-1/nginx
wait_for "[ -d '$web' ]" 60 || fail "the allowed container did not appear"
[ -e "$TESTDIR/mnt/n1/default/db-1" ] && fail "a container no rule allows is listed"
mount_start "$TESTDIR/mnt2" --config "$TESTDIR/norules.json"
wait_for "[ -d '$TESTDIR/mnt2/n1' ]" 60 || fail "the node did not appear for norules"
# Its first snapshot came (the node's .status says so), and it is empty.
wait_for "grep -q '^connected' '$TESTDIR/mnt2/n1/.status'" 60 ||
	fail "the norules mount never connected"
assert_eq "" "$(ls "$TESTDIR/mnt2/n1")" "what a certificate without rules sees"
mount_stop "$TESTDIR/mnt2"
log "client sees web-1 only; norules sees nothing"

# ---- the audit of a session ----------------------------------------------
printf 'env A=1\nsleep 1000\n' >"$web/ctl"
sid=$(read_file "$web/ctl" | awk 'NR == 1 {print $1}')
echo kill >"$web/$sid/ctl"
assert_eq "killed SIGKILL" "$(read_file "$web/$sid/wait")" "the session's end"
audit_count() { # EVENT [FILTER]: lines of EVENT matching FILTER (a regex)
	grep "\"event\":\"$1\"" "$TESTDIR/audit.log" | grep -c -- "${2:-.}" || true
}
wait_for "[ \$(audit_count end) -ge 1 ]" 60 || fail "no end line"
assert_eq 1 "$(audit_count start '"env":\["A=1"\]')" "start line with env"
assert_eq 1 "$(audit_count signal '"signal":"KILL","sent":true')" "signal line"
mount_stop "$TESTDIR/mnt"

# ---- sessions from their first stream --------------------------------------
storm() { # CERT ARGS...: run h2storm with CERT against the TLS listener
	local cert=$1
	shift
	"$H2STORM" --ca "$CERT_DIR/ca.pem" --cert "$CERT_DIR/$cert.pem" \
		--key "$CERT_DIR/$cert.key" --timeout 60 "$@" "127.0.0.1:$port"
}
out=$(storm norules --status 50) || fail "h2storm --status 50: $out"
assert_eq "status ok 20 refused 30 reset 0" "$(head -1 <<<"$out")" \
	"unfinished status streams against --max-sessions 20"
assert_eq 30 "$(audit_count refused '"kind":"over_limit"')" "over_limit lines"

# ---- streams, connections, handshakes --------------------------------------
out=$(storm norules --status 150) || fail "h2storm --status 150: $out"
# 20 sessions are held, 80 more streams are refused with 503 (sessions),
# the rest reset once 100 streams are open; the list request after them
# is over the cap too.
assert_match "status ok 20 refused 80 reset 50" "$out" "--max-streams-per-peer 100"
grep -q "dns:norules.execfs.test has 100 streams open, the limit" "$TESTDIR/agent.log" ||
	fail "no log line for the stream cap"
out=$(storm norules --conns 10 2>&1) || fail "h2storm --conns 10: $out"
assert_match "conns ok 4 closed 6" "$out" "--max-conns-per-peer 4"
grep -q "dns:norules.execfs.test has 4 connections, the limit" "$TESTDIR/agent.log" ||
	fail "no log line for the connection cap"
storm norules --raw 40 --hold "$TESTDIR/hold" >"$TESTDIR/raw.out" 2>&1 &
raw=$!
cleanup_push "rm -f '$TESTDIR/hold'; kill $raw 2>/dev/null || true"
wait_for "[ -e '$TESTDIR/hold' ]" 60 || fail "h2storm --raw did not connect"
wait_for "grep -q 'TLS handshakes under way, the limit' '$TESTDIR/agent.log'" 60 ||
	fail "no log line for the handshake cap"
if tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
	"$CERT_DIR/client.pem" "$CERT_DIR/client.key" >/dev/null; then
	fail "a handshake was accepted while 16 were under way"
fi
rm -f "$TESTDIR/hold"
wait "$raw" || true
wait_for "tls_client_accepted 127.0.0.1 $port '$CERT_DIR/ca.pem' '$CERT_DIR/client.pem' '$CERT_DIR/client.key' >/dev/null" 60 ||
	fail "handshakes still refused once the bare connections closed"
kill -0 "$AGENT_PID" || fail "the agent died"
log "caps: sessions, streams, connections, handshakes"
agent_stop

# ---- a handshake has a deadline ------------------------------------------
# Bare connections held open give their slots back after three heartbeat
# intervals (here 3 s; bytes of an unfinished handshake do not count as
# heard). An outsider without a certificate cannot keep --max-handshakes
# full.
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" --max-handshakes 4 --heartbeat 1
storm norules --raw 4 --hold "$TESTDIR/hold2" >"$TESTDIR/raw2.out" 2>&1 &
raw=$!
cleanup_push "rm -f '$TESTDIR/hold2'; kill $raw 2>/dev/null || true"
wait_for "[ -e '$TESTDIR/hold2' ]" 60 || fail "h2storm --raw did not connect"
wait_for "[ \$(grep -cE 'TLS handshake not done in 3 s|no answer in 3 s' '$TESTDIR/agent.log') -ge 4 ]" 60 ||
	fail "bare connections were not closed at their handshake's deadline"
wait_for "tls_client_accepted 127.0.0.1 $port '$CERT_DIR/ca.pem' '$CERT_DIR/client.pem' '$CERT_DIR/client.key' >/dev/null" 60 ||
	fail "handshakes refused while the bare connections are still open"
rm -f "$TESTDIR/hold2"
wait "$raw" || true
agent_stop
# With the heartbeat off nothing else ends a handshake: its own deadline
# (15 s then) closes a client that never finishes one.
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json" --heartbeat 0
(
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	printf '\x16\x03\x01\x02\x00' >&3 # a record header, then nothing
	cat <&3 >/dev/null                     # until the agent closes it
) &
silent=$!
cleanup_push "kill $silent 2>/dev/null || true"
wait_for "grep -q 'TLS handshake not done in 15 s' '$TESTDIR/agent.log'" 60 ||
	fail "with --heartbeat 0 a handshake that never finishes was not closed"
wait_for "! kill -0 $silent 2>/dev/null" 60 || fail "the silent client's connection is still open"
log "a TLS handshake not done in three heartbeats (15 s without them) is closed, its slot given back"
agent_stop

# ---- a start whose audit line cannot be written ----------------------------
agent_start --audit /dev/full --audit-required
mount_start "$TESTDIR/mnt3" --agent "unix:$AGENT_SOCK"
web=$TESTDIR/mnt3/$AGENT_NODE/default/web-1/nginx
wait_for "[ -d '$web' ]" 60 || fail "container did not appear"
if out=$(echo 'touch /tmp/ran' 2>&1 >"$web/ctl"); then
	fail "a start whose audit line was lost ran"
fi
assert_match 'Input/output error' "$out" "error of the start"
assert_match "audit line could not be written" "$(read_file "$web/status")" \
	"status of the refused start"
runc --root "$RUNC_ROOT" exec "$(container_id web)" test -e /tmp/ran &&
	fail "the refused start ran after all"
log "--audit-required: the start failed with EIO"
