#!/bin/bash
# Walking skeleton over TCP with mutual TLS: the agent listens on
# 127.0.0.1:PORT with a cert signed by a test CA and demands client certs of
# that CA; `execfs --config FILE MOUNTPOINT` names node n1 at that address.
# Same checks as the local test, plus: certs of another CA, or none, are
# refused, and a mount with such a cert shows no containers.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/skeleton.sh
. "$EXECFS_LIB_DIR/skeleton.sh"
# shellcheck source=lib/bulk.sh
. "$EXECFS_LIB_DIR/bulk.sh"

export AGENT_NODE=n1
certs_make n1
port=$(free_port)
skeleton_containers
# The client's identity (its certificate's URI SAN) may exec anywhere.
printf '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}\n' \
	>"$TESTDIR/policy.json"
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$TESTDIR/policy.json"

tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
	"$CERT_DIR/client.pem" "$CERT_DIR/client.key" ||
	fail "agent refused a client cert of its CA"
if tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem" \
	"$CERT_DIR/rogue-client.pem" "$CERT_DIR/rogue-client.key"; then
	fail "agent accepted a client cert of an unrelated CA"
fi
if tls_client_accepted 127.0.0.1 "$port" "$CERT_DIR/ca.pem"; then
	fail "agent accepted a client without a cert"
fi
log "agent's TLS: accepts its CA's client, refuses others"

tls_config_write "$TESTDIR/execfs.json" "$port"
mount_start "$TESTDIR/mnt" --config "$TESTDIR/execfs.json"
skeleton_check_tree "$TESTDIR/mnt/n1"
skeleton_check_sessions "$TESTDIR/mnt/n1"

assert_match '^connected 127.0.0.1:' "$(read_file "$TESTDIR/mnt/n1/.status")" \
	"n1/.status of a working node"

# Bytes through TLS both ways, checked: DATA frames are encrypted straight
# from the stream buffers in whole records (transport/wire.c).
roundtrip "$TESTDIR/mnt/n1/default/web-1/nginx" $((64 * 1024 * 1024)) tls64
log "64 MiB of random bytes through cat over TLS: equal checksums"

# node_error_is MOUNT NODE REGEX: the node's .status says it is unreachable
# and why, and it shows no containers.
node_error_is() {
	wait_for "grep -q '^error ' '$1/$2/.status'" 60 ||
		fail "$1/$2/.status never reported an error"
	assert_match "$3" "$(read_file "$1/$2/.status")" "$2/.status"
	[ ! -e "$1/$2/prod" ] || fail "$1/$2 shows containers"
}

# A client with a cert of another CA sees no containers, and why.
tls_config_write "$TESTDIR/rogue.json" "$port" "$CERT_DIR/rogue-client.pem" \
	"$CERT_DIR/rogue-client.key"
MOUNT_NODE=n1 mount_start "$TESTDIR/rogue" --config "$TESTDIR/rogue.json"
node_error_is "$TESTDIR/rogue" n1 'TLS|closed'
mount_stop "$TESTDIR/rogue"

# Several nodes, one of them wrong (the agent's certificate does not name
# what the client expects, or nothing listens): only that node fails.
python3 - "$TESTDIR/fleet.json" "$port" "$CERT_DIR" "$(free_port)" <<'PY'
import json, sys
path, port, d, dead = sys.argv[1:5]
with open(path, "w") as f:
    json.dump({"nodes": [
        {"name": "n1", "address": "127.0.0.1:" + port},
        {"name": "imposter", "address": "127.0.0.1:" + port,
         "server_name": "other.example"},
        {"name": "down", "address": "127.0.0.1:" + dead}],
        "ca": d + "/ca.pem", "cert": d + "/client.pem",
        "key": d + "/client.key"}, f)
PY
MOUNT_NODE=n1 mount_start "$TESTDIR/fleet" --config "$TESTDIR/fleet.json"
node_error_is "$TESTDIR/fleet" imposter 'certificate verify failed'
node_error_is "$TESTDIR/fleet" down 'refused'
skeleton_check_sessions "$TESTDIR/fleet/n1"
mount_stop "$TESTDIR/fleet"
