# shellcheck shell=bash
# Certificates for the TLS tests, made with the openssl CLI (EC P-256).
#
#   certs_make [NODE]   write into $TESTDIR/certs and set CERT_DIR:
#     ca.pem ca.key                 the test CA
#     agent.pem agent.key           the agent's server cert, CN=NODE (default
#                                   n1), SAN DNS:localhost, IP:127.0.0.1, DNS:NODE
#     client.pem client.key         a client cert, CN=execfs-test-client,
#                                   SAN URI:spiffe://execfs.test/client and
#                                   DNS:client.execfs.test
#     rogue-ca.pem rogue-ca.key     an unrelated CA
#     rogue-client.pem rogue-client.key   a client cert from the unrelated CA
#   tls_client_accepted HOST PORT CA [CERT KEY]
#       succeed if a TLS 1.2+ client (ALPN h2, verifying the server against
#       CA and HOST) completes the handshake and is not refused right after
#       it (TLS 1.3 sends the refusal of a client cert after the handshake).
#   tls_config_write FILE PORT [CERT KEY]
#       write an `execfs --config` file naming node n1 at 127.0.0.1:PORT,
#       with the test CA and CERT/KEY (default the client cert).

# _cert_issue NAME CA SUBJECT EXTENSIONS
_cert_issue() {
	local name=$1 ca=$2 subj=$3 ext=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
	printf '%s\n' "$ext" >"$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" \
		-CAcreateserial -days 2 -sha256 -extfile "$name.ext" \
		-out "$name.pem" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

# _cert_ca NAME CN
_cert_ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$1.key" -subj "/CN=$2" -days 2 -sha256 \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1.pem" 2>/dev/null
}

certs_make() {
	local node=${1:-n1}
	CERT_DIR=$TESTDIR/certs
	mkdir -p "$CERT_DIR"
	(
		set -e
		cd "$CERT_DIR"
		umask 077
		_cert_ca ca "execfs test CA"
		_cert_ca rogue-ca "unrelated CA"
		_cert_issue agent ca "/CN=$node" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:$node"
		_cert_issue client ca "/CN=execfs-test-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:spiffe://execfs.test/client,DNS:client.execfs.test"
		_cert_issue rogue-client rogue-ca "/CN=execfs-test-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:spiffe://execfs.test/client,DNS:client.execfs.test"
		chmod 644 ./*.pem
	) || fail "certs_make: openssl failed"
}

tls_client_accepted() {
	python3 - "$@" <<'PY'
import socket, ssl, sys
host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
ctx.load_verify_locations(ca)
ctx.set_alpn_protocols(["h2"])
if len(sys.argv) > 5:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
try:
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            if s.selected_alpn_protocol() != "h2":
                print("alpn:", s.selected_alpn_protocol()); sys.exit(1)
            # HTTP/2 client preface + empty SETTINGS: an accepting server
            # answers with its SETTINGS; a refusing one with an alert or EOF.
            s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
            s.settimeout(3)
            try:
                data = s.recv(9)
            except socket.timeout:
                print("no answer in 3 s"); sys.exit(1)
            if not data:
                print("closed after handshake"); sys.exit(1)
            sys.exit(0)
except (ssl.SSLError, OSError) as e:
    print("refused:", e)
    sys.exit(1)
PY
}

tls_config_write() {
	python3 - "$1" "$2" "$CERT_DIR/ca.pem" "${3:-$CERT_DIR/client.pem}" \
		"${4:-$CERT_DIR/client.key}" <<'PY'
import json, sys
path, port, ca, cert, key = sys.argv[1:6]
with open(path, "w") as f:
    json.dump({"nodes": [{"name": "n1", "address": "127.0.0.1:" + port}],
               "ca": ca, "cert": cert, "key": key}, f, indent=2)
PY
}
