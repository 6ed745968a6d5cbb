#!/bin/bash
# Who a TLS client is, end to end through the agent: a client certificate
# whose subjectAltName names no URI or DNS (only an IP, or nothing at all),
# one without the clientAuth extended key usage, and one revoked by the CRL
# given with --crl are refused at the handshake, with a log line saying
# why; identities are typed, so a certificate whose CN equals a policy's
# DNS principal gets nothing from it (its identity is cn:..., the rule's
# dns:...), while a certificate with that DNS SAN is allowed.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

export AGENT_NODE=n1
certs_make n1
port=$(free_port)
container_start web default web-1 nginx

client_ext() { # extra lines after the usual ones of a client certificate
	printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n%s\n' "$1"
}
(
	set -e
	cd "$CERT_DIR"
	umask 077
	_cert_issue dnsonly ca "/CN=someone" \
		"$(client_ext "extendedKeyUsage=clientAuth
subjectAltName=DNS:client.execfs.test")"
	_cert_issue cnonly ca "/CN=client.execfs.test" \
		"$(client_ext "extendedKeyUsage=clientAuth")"
	_cert_issue iponly ca "/CN=client.execfs.test" \
		"$(client_ext "extendedKeyUsage=clientAuth
subjectAltName=IP:10.0.0.1")"
	_cert_issue emptysan ca "/CN=client.execfs.test" \
		"$(client_ext "extendedKeyUsage=clientAuth
subjectAltName=DER:30:00")"
	_cert_issue noclientauth ca "/CN=client.execfs.test" \
		"$(client_ext "extendedKeyUsage=serverAuth
subjectAltName=DNS:client.execfs.test")"
	_cert_issue revoked ca "/CN=revoked" \
		"$(client_ext "extendedKeyUsage=clientAuth
subjectAltName=DNS:client.execfs.test")"
	# The CA's CRL, revoking one of them.
	: >index.txt
	echo 1000 >crlnumber
	cat >ca.cnf <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $CERT_DIR/index.txt
crlnumber = $CERT_DIR/crlnumber
default_md = sha256
default_crl_days = 2
certificate = $CERT_DIR/ca.pem
private_key = $CERT_DIR/ca.key
EOF
	openssl ca -config ca.cnf -batch -revoke revoked.pem 2>/dev/null
	openssl ca -config ca.cnf -batch -gencrl -out crl.pem 2>/dev/null
	chmod 644 ./*.pem
) || fail "making the test certificates failed"
openssl x509 -in "$CERT_DIR/emptysan.pem" -noout -text | grep -q 'Subject Alternative Name' ||
	fail "the empty-SAN certificate has no subjectAltName"

printf '{"rules": [{"principals": ["dns:client.execfs.test"], "actions": ["exec"]}]}\n' \
	>"$TESTDIR/policy.json"
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--crl "$CERT_DIR/crl.pem" --policy "$TESTDIR/policy.json"

accepted() {
	tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
		"$CERT_DIR/$1.pem" "$CERT_DIR/$1.key"
}
accepted client || fail "the usual client certificate was refused"
accepted dnsonly || fail "a DNS-SAN certificate was refused"
accepted cnonly || fail "a CN-only certificate (a usable name) was refused"
# refused NAME REASON: the handshake fails and the log says why.
refused() {
	if accepted "$1" >/dev/null; then
		fail "certificate $1 was accepted"
	fi
	grep -q "refused: $2" "$TESTDIR/agent.log" ||
		fail "no log line saying \"refused: $2\" for $1"
}
refused iponly "its subjectAltName has no URI or DNS name"
refused emptysan "its subjectAltName has no URI or DNS name"
# OpenSSL's own purpose check refuses an extended key usage without
# clientAuth; ours, one without the extension at all (unit-tested).
refused noclientauth "unsuitable certificate purpose"
refused revoked "certificate revoked"

log "refused: IP-only and empty SANs, no clientAuth, revoked; accepted: URI, DNS, CN"

# Typed identities: the CN-only certificate is cn:client.execfs.test, which
# the rule's dns:client.execfs.test does not name.
# try_exec NAME FILE: exec `echo hi` with certificate NAME; the session's
# FILE (wait: once it ended; status: at once) goes to $TESTDIR/status-NAME.
try_exec() {
	local cfg=$TESTDIR/$1.json mnt=$TESTDIR/mnt-$1 dir
	tls_config_write "$cfg" "$port" "$CERT_DIR/$1.pem" "$CERT_DIR/$1.key"
	mount_start "$mnt" --config "$cfg"
	dir=$mnt/n1/default/web-1/nginx
	wait_for "[ -d '$dir' ]" 60 || fail "$1: the container did not appear"
	echo 'echo hi' >"$dir/ctl" 2>/dev/null || true
	read_file "$dir/$2" >"$TESTDIR/status-$1"
	mount_stop "$mnt"
}
try_exec dnsonly wait
assert_match '^exited 0' "$(cat "$TESTDIR/status-dnsonly")" \
	"exec with the DNS SAN certificate"
# No rule names cn:client.execfs.test: it is shown no container at all.
tls_config_write "$TESTDIR/cnonly.json" "$port" "$CERT_DIR/cnonly.pem" "$CERT_DIR/cnonly.key"
mount_start "$TESTDIR/mnt-cnonly" --config "$TESTDIR/cnonly.json"
wait_for "grep -q '^connected' '$TESTDIR/mnt-cnonly/n1/.status'" 60 ||
	fail "cnonly: the mount did not connect"
assert_eq "" "$(ls "$TESTDIR/mnt-cnonly/n1")" "what the CN-only certificate sees"
mount_stop "$TESTDIR/mnt-cnonly"
log "dns:client.execfs.test allowed; cn:client.execfs.test sees nothing"
