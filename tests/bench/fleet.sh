# shellcheck shell=bash
# The fleet case's setup, sourced by tests/bench/run.sh after
# tests/integration/lib/common.sh when --cases holds `fleet`:
#   - the 50-agent fleet of tests/integration/lib/fleet.sh (200 busybox
#     containers, TLS listeners on 127.R.x.y and in network namespaces,
#     dnsmasq), and two `execfs --config` files: one that finds the agents
#     through the DNS name (bench.py mounts it: the time from mount to the
#     first complete listing is one of the figures), and one that lists
#     them (static, for comparison and the 1-node mount);
#   - the baseline: 50 throwaway sshd instances, one on each of 50 loopback
#     addresses 127.S.0.k (host key, authorized key for root, no PAM, root's
#     login shell /bin/sh and a /run of its own in a private mount
#     namespace), a
#     private ssh config (StrictHostKeyChecking off), and a ControlMaster to
#     each for the parallel ssh loop;
#   - $TESTDIR/fleet.json: what bench.py needs (paths, pids, hosts).
#
#   fleet_bench_setup N

fleet_bench_setup() {
	local n=${1:-50} k s addr dir=$TESTDIR/fleet-ssh pids=() hosts=()
	# shellcheck source=../integration/lib/fleet.sh
	. "$EXECFS_LIB_DIR/fleet.sh"
	# shellcheck source=sshd.sh
	. "$(dirname "${BASH_SOURCE[0]}")/sshd.sh"
	fleet_start "$n"
	fleet_config_dns "$TESTDIR/fleet-config.json"
	fleet_config "$TESTDIR/fleet-config-static.json"

	mkdir -p "$dir"
	chmod 700 "$dir"
	ssh-keygen -q -t ed25519 -N '' -C fleet-host -f "$dir/host_key"
	ssh-keygen -q -t ed25519 -N '' -C fleet-client -f "$dir/id"
	cp "$dir/id.pub" "$dir/authorized_keys"
	awk -F: -v OFS=: '$1 == "root" { $7 = "/bin/sh" } { print }' /etc/passwd >"$dir/passwd"
	s=$(((FLEET_R + 100) % 200 + 20))
	FLEET_SSH_PORT=$(free_port)
	cat >"$dir/config" <<EOF
Host 127.$s.*
  Port $FLEET_SSH_PORT
  User root
  IdentityFile $dir/id
  IdentitiesOnly yes
  UserKnownHostsFile /dev/null
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking no
  BatchMode yes
  Compression no
  ControlMaster no
  ControlPath $dir/cm-%h
  LogLevel ERROR
EOF
	log_register "fleet sshd" "$dir/sshd.log"
	for ((k = 1; k <= n; k++)); do
		addr=127.$s.$((k / 256)).$((k % 256))
		hosts+=("$addr")
		bench_sshd_config "$addr" "$FLEET_SSH_PORT" "$dir" none >"$dir/sshd-$k.conf"
		# A private /run: sshd's privilege separation directory
		# /run/sshd is then its own, never removed under it by
		# another run's cleanup (the machine's /run is shared).
		# shellcheck disable=SC2016 # expanded by the inner sh
		unshare -m --propagation private sh -c \
			'mount --bind "$1" /etc/passwd && mount -t tmpfs -o mode=755 tmpfs /run &&
			mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$2"' \
			_ "$dir/passwd" "$dir/sshd-$k.conf" </dev/null >>"$dir/sshd.log" 2>&1 &
		pids+=($!)
		cleanup_push "stop_pid $! 'sshd $addr'"
	done
	for ((k = 1; k <= n; k++)); do
		wait_for "! kill -0 ${pids[k - 1]} || port_open ${hosts[k - 1]} $FLEET_SSH_PORT" 60 ||
			fail "sshd on ${hosts[k - 1]}:$FLEET_SSH_PORT not listening"
	done
	for addr in "${hosts[@]}"; do
		ssh -F "$dir/config" -o ControlMaster=yes -o ControlPersist=yes -f -N "$addr" ||
			fail "ssh ControlMaster to $addr did not start"
		cleanup_push "ssh -F '$dir/config' -O exit $addr 2>/dev/null"
	done
	log "fleet: $n sshd on 127.$s.0.1-$n:$FLEET_SSH_PORT, ControlMasters up"

	python3 - "$TESTDIR/fleet.json" "$TESTDIR/fleet-config.json" "$dir/config" \
		"$(printf '%s,' "${hosts[@]}")" "$(printf '%s,' "${FLEET_NODE[@]:1}")" \
		"$(printf '%s,' "${FLEET_PID[@]:1}")" "$TESTDIR/fleet-mnt" "$FLEET_HOSTNAMES" \
		"$TESTDIR/fleet-config-static.json" "$TESTDIR/dns-hosts" "$FLEET_DNS_PID" \
		"$FLEET_DNS_NAME" "$(printf '%s,' "${FLEET_ADDR[@]:1}")" <<'PY'
import json, sys
(out, config, ssh_config, hosts, nodes, pids, mnt, hostnames, static, dns_hosts,
 dns_pid, dns_name, addrs) = sys.argv[1:14]
json.dump({
    "config": config,
    "static_config": static,
    "dns_hosts": dns_hosts,
    "dns_pid": int(dns_pid),
    "dns_name": dns_name,
    "addresses": addrs.strip(",").split(","),
    "ssh_config": ssh_config,
    "ssh_hosts": hosts.strip(",").split(","),
    "nodes": nodes.strip(",").split(","),
    "agent_pids": [int(p) for p in pids.strip(",").split(",")],
    "mount": mnt,
    "hostnames": hostnames,
}, open(out, "w"), indent=1)
PY
}
