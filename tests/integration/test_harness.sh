#!/bin/bash
# The integration harness itself (lib/), without execfs: the rootfs, runc
# containers with CRI annotations, certificates, the TLS probe, and that a
# failing or hanging test still cleans up after itself.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

rootfs_build
{ [ -x "$ROOTFS/bin/busybox" ] && [ -L "$ROOTFS/bin/sh" ] && [ -L "$ROOTFS/usr/bin/env" ]; } ||
	fail "rootfs: no busybox applet links"
grep -q '^app:x:1000:1000:' "$ROOTFS/etc/passwd" || fail "rootfs: no user app"
! cmp -s "$ROOTFS/etc/passwd" /etc/passwd || fail "rootfs: /etc/passwd same as the host's"

container_start web default web-1 nginx
container_start_sandbox pause default web-1
id=$(container_id web)
assert_eq "web-1" "$(runc --root "$RUNC_ROOT" exec "$id" hostname)" "hostname"
runc --root "$RUNC_ROOT" exec "$id" cat /etc/passwd >"$TESTDIR/passwd"
cmp -s "$TESTDIR/passwd" "$ROOTFS/etc/passwd" || fail "the container's /etc/passwd is not the rootfs's"
# shellcheck disable=SC2016 # awk's $2
assert_eq "1000" "$(runc --root "$RUNC_ROOT" exec --user 1000:1000 "$id" awk '/^Uid:/ { print $2 }' /proc/self/status)" "uid of app"
python3 - "$TESTDIR/bundles/$id/config.json" <<'PY' || fail "annotations"
import json, sys
a = json.load(open(sys.argv[1]))["annotations"]
assert a["io.kubernetes.cri.container-type"] == "container", a
assert a["io.kubernetes.cri.sandbox-namespace"] == "default", a
assert a["io.kubernetes.cri.sandbox-name"] == "web-1", a
assert a["io.kubernetes.cri.container-name"] == "nginx", a
PY
[ "$(container_pid web)" -gt 1 ] || fail "container_pid"
container_delete web
! runc --root "$RUNC_ROOT" state "$id" >/dev/null 2>&1 || fail "container_delete"

certs_make n1
(
	cd "$CERT_DIR"
	openssl verify -CAfile ca.pem agent.pem client.pem >/dev/null
	openssl verify -CAfile rogue-ca.pem rogue-client.pem >/dev/null
	! openssl verify -CAfile ca.pem rogue-client.pem >/dev/null 2>&1
	openssl x509 -in agent.pem -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1'
	openssl x509 -in client.pem -noout -ext subjectAltName | grep -q 'URI:spiffe://execfs.test/client'
) || fail "certificates"

port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$CERT_DIR/agent.pem" \
	-key "$CERT_DIR/agent.key" -CAfile "$CERT_DIR/ca.pem" -Verify 1 \
	-verify_return_error -alpn h2 -rev </dev/null >"$TESTDIR/s_server.log" 2>&1 &
server=$!
cleanup_push "kill $server 2>/dev/null"
wait_for "port_open 127.0.0.1 $port" 60 || fail "openssl s_server not up"
tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
	"$CERT_DIR/client.pem" "$CERT_DIR/client.key" >/dev/null || fail "tls probe: good client refused"
! tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
	"$CERT_DIR/rogue-client.pem" "$CERT_DIR/rogue-client.key" >/dev/null ||
	fail "tls probe: rogue client accepted"
! tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" >/dev/null ||
	fail "tls probe: client without a cert accepted"

# A test that fails, and one that hangs, must still clean up. The hanging
# one sleeps for ever, so only its watchdog ends it, whenever that fires
# (during the container's start on a slow machine, or after it).
for mode in fail hang; do
	cat >"$TESTDIR/inner_$mode.sh" <<INNER
. "$EXECFS_LIB_DIR/common.sh"
echo "\$RUNC_ROOT" >"$TESTDIR/inner_$mode.root"
container_start c default p c
[ $mode = fail ] && assert_eq a b "on purpose"
sleep infinity
INNER
	rc=0
	limit=120
	[ $mode = hang ] && limit=20
	EXECFS_TEST_TIMEOUT=$limit timeout 300 bash "$TESTDIR/inner_$mode.sh" >"$TESTDIR/inner_$mode.log" 2>&1 || rc=$?
	{ [ $rc -ne 0 ] && [ $rc -ne 124 ]; } || fail "inner $mode test: status $rc"
	root=$(cat "$TESTDIR/inner_$mode.root")
	[ -z "$(runc --root "$root" list -q 2>/dev/null)" ] || fail "inner $mode test left containers"
	grep -q 'FAILED' "$TESTDIR/inner_$mode.log" || fail "inner $mode test: no FAILED line"
	rm -rf --one-file-system "$(dirname "$root")"
done
grep -q 'on purpose' "$TESTDIR/inner_fail.log" || fail "inner fail test: no message"
grep -q 'timeout' "$TESTDIR/inner_hang.log" || fail "inner hang test: no watchdog message"
