#!/bin/bash
# The agent's TLS files reloaded under a running session, as a Kubernetes
# Secret volume holds them: tls.crt, tls.key and ca.crt are symlinks through
# "..data" to a timestamped directory, and an update swaps "..data".
# The key is root's alone (0600), so only the monitor can read it again.
# While a session streams its output over TLS through a real mount:
#   - the files rewritten where the agent does not watch, then SIGHUP: a new
#     TLS connection sees the new certificate (serial);
#   - "..data" swapped to new files, no signal: the directory watch reloads;
#   - a broken certificate, a key of another certificate and a missing file,
#     swapped in or with SIGHUP: the certificate in use stays, the log says
#     why;
#   - the policy file replaced (a rename, as a ConfigMap volume does), no
#     signal: in force for new sessions; a bad one changes nothing;
#   - a second mount connects with the new certificate; the session's output
#     arrives whole (checksum), it exits 0, and its connection was never lost.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AGENT_NODE=n1
certs_make n1
port=$(free_port)
container_start web default web-1 nginx
# The policy in a directory of its own, as a ConfigMap volume is: the agent
# watches the directory, and logs and other files written next to it would
# wake that watch (and a re-read of the TLS files) at any time.
pol=$TESTDIR/policy
mkdir "$pol"
printf '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}\n' \
	>"$pol/policy.json"
alog=$TESTDIR/agent.log

# new_cert NAME: another agent certificate of the test CA, with its own key.
new_cert() {
	(
		cd "$CERT_DIR" && umask 077 &&
			_cert_issue "$1" ca "/CN=n1" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:n1"
	) || fail "openssl failed"
}
serial_of() { openssl x509 -noout -serial -in "$CERT_DIR/$1.pem" | cut -d= -f2; }

# The Secret volume: VERSION NAME makes ..VERSION from certificate NAME.
sec=$TESTDIR/secret
secret_version() {
	mkdir -p "$sec/..$1"
	cp "$CERT_DIR/$2.pem" "$sec/..$1/tls.crt"
	install -m 600 "$CERT_DIR/$2.key" "$sec/..$1/tls.key"
	cp "$CERT_DIR/ca.pem" "$sec/..$1/ca.crt"
}
# swap VERSION: what the kubelet does, one rename of ..data.
swap() {
	ln -sfn "..$1" "$sec/..data_tmp"
	mv -T "$sec/..data_tmp" "$sec/..data"
}
secret_version v1 agent
ln -s ..v1 "$sec/..data"
for f in tls.crt tls.key ca.crt; do ln -s "..data/$f" "$sec/$f"; done

# The serial a new TLS connection is shown (with a client certificate: the
# agent requires one).
served_serial() {
	openssl s_client -connect "127.0.0.1:$port" -CAfile "$CERT_DIR/ca.pem" \
		-cert "$CERT_DIR/client.pem" -key "$CERT_DIR/client.key" \
		-alpn h2 </dev/null 2>/dev/null | openssl x509 -noout -serial | cut -d= -f2
}
# served IS: wait until new connections are shown serial IS.
served() {
	wait_for "[ \"\$(served_serial)\" = '$1' ]" 60 ||
		fail "new connections are not shown serial $1 but $(served_serial)"
}
# refused N WHY: the Nth refusal is logged with WHY, and v3's serial stays.
refusals=0
refused() {
	refusals=$((refusals + 1))
	wait_for "[ \$(grep -c 'the certificate in use stays' '$alog') -ge $refusals ]" 60 ||
		fail "no refusal logged for $2"
	assert_match "$1" "$(grep 'the certificate in use stays' "$alog" | tail -1)" "the refusal of $2"
	assert_eq "$(serial_of agent3)" "$(served_serial)" "the certificate in use after $2"
}

agent_start --listen "127.0.0.1:$port" --cert "$sec/tls.crt" \
	--key "$sec/tls.key" --client-ca "$sec/ca.crt" \
	--policy "$pol/policy.json" --heartbeat 1
assert_eq "600 root" "$(stat -L -c '%a %U' "$sec/tls.key")" "the key's mode and owner"
worker=$(agent_worker_pid)
[ "$(stat -c %u "/proc/$worker")" != 0 ] || fail "the worker runs as root"
assert_eq "$(serial_of agent)" "$(served_serial)" "the first certificate"

tls_config_write "$TESTDIR/execfs.json" "$port"
mnt=$TESTDIR/mnt
mlog=$TESTDIR/execfs-mnt.log
mount_start "$mnt" --config "$TESTDIR/execfs.json" -o heartbeat=1
c=$mnt/n1/default/web-1/nginx
wait_for "[ -d '$c' ]" 60 || fail "the container did not appear"
n=$(read_file "$c/clone")
echo "sh -c 'seq 1 30000; read x; seq 30001 60000'" >"$c/$n/ctl"
wait_for "[ \$(stat -c %s '$c/$n/stdout') -ge $(seq 1 30000 | wc -c) ]" 60 ||
	fail "the session did not print its first half"

# 1. SIGHUP: the files change inside ..v1, which no watch sees.
new_cert agent2
cp "$CERT_DIR/agent2.pem" "$sec/..v1/tls.crt"
cat "$CERT_DIR/agent2.key" >"$sec/..v1/tls.key"
assert_eq "$(serial_of agent)" "$(served_serial)" "the certificate before SIGHUP"
kill -HUP "$AGENT_PID"
served "$(serial_of agent2)"
grep -q 'TLS: new connections get the certificate serial' "$alog" || fail "no log line for the reload"
log "SIGHUP: new connections get the new certificate"

# 2. A Secret update: ..data swapped, no signal.
new_cert agent3
secret_version v2 agent3
swap v2
served "$(serial_of agent3)"
log "..data swapped: the directory watch reloaded the files"

# 3. Bad files keep the certificate in force.
mkdir -p "$sec/..v3"
printf -- '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n' >"$sec/..v3/tls.crt"
install -m 600 "$CERT_DIR/agent3.key" "$sec/..v3/tls.key"
cp "$CERT_DIR/ca.pem" "$sec/..v3/ca.crt"
swap v3
refused 'certificate' "a certificate that does not parse"
cp "$CERT_DIR/agent2.pem" "$sec/..v3/tls.crt"
kill -HUP "$AGENT_PID"
refused 'key.*mismatch' "the key of another certificate"
rm "$sec/..v3/ca.crt"
kill -HUP "$AGENT_PID"
refused 'client-ca .*No such file' "a missing CA file"
ok=$(grep -c 'TLS: new connections get' "$alog")
swap v2
wait_for "[ \$(grep -c 'TLS: new connections get' '$alog') -gt $ok ]" 60 ||
	fail "the good files swapped back were not loaded"
kill -HUP "$AGENT_PID"
wait_for "grep -q 'TLS files unchanged' '$alog'" 60 || fail "SIGHUP with the files in force said nothing"
assert_eq "$(serial_of agent3)" "$(served_serial)" "the certificate in use at the end"
log "bad files: the certificate in use stays, the log says why"

# The policy, as a ConfigMap volume changes it: renamed in, no signal.
# policy_set JSON: the file replaced whole, and the worker took it (or, for
# a bad one, the monitor's or worker's refusal was logged).
policy_set() {
	local n
	n=$(grep -cE 'agent_set_policy: policy: |policy .*: (invalid|keeping the old policy)' "$alog")
	printf '%s\n' "$1" >"$pol/policy.json.new"
	mv "$pol/policy.json.new" "$pol/policy.json"
	wait_for "[ \$(grep -cE 'agent_set_policy: policy: |policy .*: (invalid|keeping the old policy)' '$alog') -gt $n ]" 60 ||
		fail "the policy file's change was not noticed"
}
# starts: does a new session start on the mount?
starts() {
	local m
	m=$(read_file "$c/clone")
	echo true 2>/dev/null >"$c/$m/ctl" && [ "$(read_file "$c/$m/wait")" = "exited 0" ]
}
# Exec turned off: the client still sees its containers (the rules show
# them; a rule that no longer named it would hide them, and the mount would
# drop the streaming session's directory) but may start nothing.
policy_set '{"exec_enabled": false, "rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}'
starts && fail "the new policy (exec_enabled false) let the client start a session"
policy_set '{"rules": ['
grep -q 'keeping the old policy' "$alog" || fail "no log line for the bad policy"
starts && fail "a bad policy file changed the policy in force"
policy_set '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}'
starts || fail "the client's policy back: no session starts"
log "the policy file replaced: in force without a signal; a bad one changes nothing"

# New connections work with the new certificate: a second mount.
MOUNT_NODE=n1 mount_start "$TESTDIR/mnt2" --config "$TESTDIR/execfs.json"
wait_for "[ -d '$TESTDIR/mnt2/n1/default/web-1/nginx' ]" 60 || fail "a new mount does not list the container"
assert_match '^connected ' "$(read_file "$TESTDIR/mnt2/n1/.status")" "the second mount's node"
mount_stop "$TESTDIR/mnt2"

# The session went on through it all.
kill -0 "$AGENT_PID" || fail "the agent died"
echo go >"$c/$n/stdin"
assert_eq "exited 0" "$(read_file "$c/$n/wait")" "the session's end"
assert_eq "$(seq 1 60000 | md5sum)" "$(md5sum <"$c/$n/stdout")" "the session's output"
if grep -E 'resum|connection lost' "$mlog"; then
	fail "the session's connection was touched"
fi
log "the session streamed across every reload, complete, on its first connection"
