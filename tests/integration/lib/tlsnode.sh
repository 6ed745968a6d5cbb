# shellcheck shell=bash
# One node over mutual TLS with 1 s heartbeats, for the connection tests.
# Not sourced by common.sh: tests source it after it.
#
#   tls_node_start [AGENT_ARG...]
#                    certificates, a policy letting the test client (and
#                    root on the agent's Unix socket) exec,
#                    container default/web-1/nginx, the agent on a free
#                    port ($port; its arguments in agent_args, for a
#                    restart), $TESTDIR/execfs.json, and the mount $mnt
#                    (-o heartbeat=1); web is the container's directory.
#                    AGENT_ARGs go to the agent too (not in agent_args).
#   tls_agent_mount POLICY_JSON
#                    the agent of node n1 (certificates made first with
#                    certs_make n1) on a free port ($port) with that policy,
#                    and the mount $mnt over mutual TLS as the test client.

port=
agent_args=()
mnt=
web=

# shellcheck disable=SC2120 # its arguments are optional
tls_node_start() {
	export AGENT_NODE=n1
	certs_make n1
	port=$(free_port)
	container_start web default web-1 nginx
	printf '{"rules": [{"principals": ["spiffe://execfs.test/client", "uid:0"], "actions": ["exec"]}]}\n' \
		>"$TESTDIR/policy.json"
	agent_args=(--listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem"
		--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem"
		--policy "$TESTDIR/policy.json" --heartbeat 1)
	agent_start "${agent_args[@]}" "$@"
	tls_config_write "$TESTDIR/execfs.json" "$port"
	mnt=$TESTDIR/mnt
	mount_start "$mnt" --config "$TESTDIR/execfs.json" -o heartbeat=1
	web=$mnt/n1/default/web-1/nginx
	wait_for "[ -d '$web' ]" 60 || fail "the container did not appear"
}


tls_agent_mount() {
	port=$(free_port)
	printf '%s\n' "$1" >"$TESTDIR/policy.json"
	agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
		--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
		--policy "$TESTDIR/policy.json"
	tls_config_write "$TESTDIR/execfs.json" "$port"
	mnt=$TESTDIR/mnt
	mount_start "$mnt" --config "$TESTDIR/execfs.json"
}
