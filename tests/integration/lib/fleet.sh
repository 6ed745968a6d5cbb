# shellcheck shell=bash
# A fleet on this machine: N agents (default 50), each its own node, runc
# root, certificate and TLS listener, 4 busybox containers each, a few of
# them in network namespaces of their own, and a DNS server naming them all.
# For test_fleet.sh and the benchmark's fleet case (tests/bench/run.sh).
# Not sourced by common.sh: source it after it.
#
#   fleet_start [N]     start everything (FLEET_NETNS agents, default 3, in
#                       network namespaces); all of it stops at exit
#                       (containers deleted, agents stopped by pid,
#                       namespaces and veths deleted, dnsmasq stopped)
#   fleet_config FILE   write an `execfs --config` file listing every node
#   fleet_config_dns FILE [SERVER_NAME]   write one that finds them through
#                       the DNS server ($FLEET_DNS_NAME, port $FLEET_PORT;
#                       server_name default "{node}": each agent's
#                       certificate carries its node name)
#   fleet_mount MNT [ARGS...]   mount (mount_start) a config through DNS
#                       (FLEET_STATIC=1: the static list), wait until
#                       every container is listed
#   fleet_dns_set ADDR...  the DNS name now lists these addresses (its
#                       hosts file rewritten, dnsmasq told with SIGHUP);
#                       fleet_dns_set_all: every agent's again
#   fleet_agent_extra K NODE CERT ADDR  one more agent, number K (above N),
#                       --node NODE with certs/agents/CERT.{pem,key}, no
#                       containers, listening on ADDR:$FLEET_PORT
#   fleet_freeze K      SIGSTOP every process of agent K (SIGCONT at exit)
#   fleet_thaw K        SIGCONT them
#   fleet_agent_pids K  print agent K's pids (monitor and its children)
#   fleet_dns_addresses print the addresses the DNS server gives for
#                       $FLEET_DNS_NAME, one a line, sorted
#
# After fleet_start:
#   FLEET_N             the number of agents
#   FLEET_NODE[k]       node k's name (k = 1..N: node01, node02, ...)
#   FLEET_ADDR[k]       its listener's IP; FLEET_PORT is every listener's port
#   FLEET_PID[k]        its agent's pid (the privileged monitor)
#   FLEET_HOSTNAMES     a file: every container's expected `uname -n`, sorted
#   FLEET_DNS           dnsmasq's IP:PORT; FLEET_DNS_NAME the name it serves
#   CERT_DIR            the CA and the client certificate (certs.sh)
#
# Addresses: agent k listens on 127.R.k/256.k%256 (R random per run, so
# runs of other tests that use 127.0.0.1 never collide), or, in a network
# namespace, on 10.R.k.2 behind a veth pair whose host end is 10.R.k.1/30.
# Every agent's certificate carries its IP as a SAN and its node name.
#
# Containers: on node k, default/web-1/nginx, default/web-2/nginx,
# prod/api-1/app and prod/db-1/box; each one's host name is
# NODE-POD (node07-api-1), so `uname -n` tells where a command ran.

FLEET_N=0
FLEET_NETNS=${FLEET_NETNS:-3}
FLEET_PODS=("default web-1 nginx" "default web-2 nginx" "prod api-1 app" "prod db-1 box")
FLEET_NODE=()
FLEET_ADDR=()
FLEET_PID=()
FLEET_NS=()
FLEET_CERT=()
FLEET_PORT=
FLEET_DNS=
FLEET_DNS_NAME=agents.fleet.execfs.test
FLEET_HOSTNAMES=
# Parallel runc starts: more than the cores, as runc waits on the kernel.
FLEET_JOBS=${FLEET_JOBS:-6}

# _fleet_certs: the CA and client (certs_make), then one server certificate
# per agent, CN and DNS SAN its node name, IP SAN its address, signed by the
# CA in one python process (50 openssl runs take 20 s on a busy machine).
_fleet_certs() {
	local k
	certs_make
	mkdir -p "$CERT_DIR/agents"
	for ((k = 1; k <= FLEET_N; k++)); do
		printf '%s %s\n' "${FLEET_NODE[k]}" "${FLEET_ADDR[k]}"
	done | python3 -c '
import datetime, ipaddress, os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
certs = sys.argv[1]
ca = x509.load_pem_x509_certificate(open(certs + "/ca.pem", "rb").read())
ca_key = serialization.load_pem_private_key(open(certs + "/ca.key", "rb").read(), None)
now = datetime.datetime.utcnow()
os.umask(0o077)
for line in sys.stdin:
    node, ip = line.split()
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False,
                                         False, False, False), True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(ip)), x509.DNSName(node)]), False)
            .sign(ca_key, hashes.SHA256()))
    with open("%s/agents/%s.key" % (certs, node), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open("%s/agents/%s.pem" % (certs, node), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    os.chmod("%s/agents/%s.pem" % (certs, node), 0o644)
' "$CERT_DIR" || fail "fleet: issuing the agents' certificates failed"
}

# _fleet_netns K: namespace, veth pair and addresses for agent K.
_fleet_netns() {
	local k=$1 ns host peer
	ns=execfs-$FLEET_TAG-$k
	host=xf$FLEET_TAG${k}h
	peer=xf$FLEET_TAG${k}p
	ip netns add "$ns" || fail "ip netns add $ns"
	cleanup_push "ip netns delete '$ns' 2>/dev/null"
	ip link add "$host" type veth peer name "$peer" || fail "veth $host"
	cleanup_push "ip link delete '$host' 2>/dev/null"
	ip link set "$peer" netns "$ns"
	ip addr add "10.$FLEET_R.$k.1/30" dev "$host"
	ip link set "$host" up
	ip -n "$ns" addr add "10.$FLEET_R.$k.2/30" dev "$peer"
	ip -n "$ns" link set "$peer" up
	ip -n "$ns" link set lo up
	FLEET_NS[k]=$ns
}

# _fleet_bundles: every container's bundle, written by one python
# (lib/bundle.py --list).
_fleet_bundles() {
	local k p
	[ -n "${ROOTFS:-}" ] || rootfs_build
	mkdir -p "$TESTDIR/bundles"
	runc spec --bundle "$TESTDIR/bundles" 2>/dev/null ||
		fail "runc spec failed"
	for ((k = 1; k <= FLEET_N; k++)); do
		for p in "${FLEET_PODS[@]}"; do
			# shellcheck disable=SC2086 # three words
			set -- $p
			printf '%s %s %s %s %s\n' "${FLEET_NODE[k]}" "$1" "$2" "$3" \
				"$CONTAINER_PREFIX${FLEET_NODE[k]}-$2"
		done
	done >"$TESTDIR/containers.txt"
	# shellcheck disable=SC2034 # node ns pod name id
	while read -r node ns pod name cid; do
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TESTDIR/bundles/$cid" "$node-$pod" \
			io.kubernetes.cri.container-type=container \
			"io.kubernetes.cri.sandbox-namespace=$ns" \
			"io.kubernetes.cri.sandbox-name=$pod" \
			"io.kubernetes.cri.container-name=$name" \
			"io.kubernetes.cri.sandbox-id=$cid-sandbox"
	done <"$TESTDIR/containers.txt" >"$TESTDIR/bundles.txt"
	python3 "$EXECFS_LIB_DIR/bundle.py" "$TESTDIR/bundles/config.json" "$ROOTFS" \
		--list "$TESTDIR/bundles.txt" || fail "fleet: writing the bundles failed"
	awk '{print $1 "-" $3}' "$TESTDIR/containers.txt" | sort >"$TESTDIR/hostnames.txt"
	# shellcheck disable=SC2034 # for the caller
	FLEET_HOSTNAMES=$TESTDIR/hostnames.txt
}

# _fleet_containers: runc run -d every container, FLEET_JOBS at a time.
_fleet_containers() {
	local k
	for ((k = 1; k <= FLEET_N; k++)); do
		mkdir -p "$RUNC_ROOT/${FLEET_NODE[k]}"
		# One delete per root at exit, FLEET_JOBS at a time.
		# shellcheck disable=SC2016 # expanded at exit
		cleanup_push "runc --root '$RUNC_ROOT/${FLEET_NODE[k]}' list -q 2>/dev/null | grep '^$CONTAINER_PREFIX' | xargs -r -P '$FLEET_JOBS' -n 1 runc --root '$RUNC_ROOT/${FLEET_NODE[k]}' delete -f >/dev/null 2>&1"
	done
	# shellcheck disable=SC2016 # expanded by the inner sh
	awk '{print $1, $5}' "$TESTDIR/containers.txt" |
		xargs -r -P "$FLEET_JOBS" -L 1 sh -c '
			runc --root "$0/$3" run -d --bundle "$1/$4" "$4" \
				</dev/null >"$2/runc-$4.log" 2>&1 ||
				{ echo "runc run $4 failed:"; cat "$2/runc-$4.log"; exit 1; }' \
			"$RUNC_ROOT" "$TESTDIR/bundles" "$TESTDIR" ||
		fail "fleet: starting the containers failed"
}

fleet_agent_extra() {
	local k=$1
	FLEET_NODE[k]=$2
	FLEET_CERT[k]=$3
	FLEET_ADDR[k]=$4
	mkdir -p "$RUNC_ROOT/extra-$k"
	_fleet_agent "$k"
	wait_for "! kill -0 ${FLEET_PID[k]} || port_open ${FLEET_ADDR[k]} $FLEET_PORT" 60 ||
		fail "fleet: extra agent $k not listening on ${FLEET_ADDR[k]}:$FLEET_PORT in 60 s"
	kill -0 "${FLEET_PID[k]}" 2>/dev/null || fail "fleet: extra agent $k exited at start"
}

# _fleet_agent K: start agent K (in its namespace if it has one).
_fleet_agent() {
	local k=$1 node prefix=() log cert root
	node=${FLEET_NODE[k]}
	cert=${FLEET_CERT[k]:-$node}
	root=$RUNC_ROOT/$node
	[ "$k" -le "$FLEET_N" ] || root=$RUNC_ROOT/extra-$k
	log=$TESTDIR/agents/$node-$k.log
	if [ -n "${FLEET_NS[k]:-}" ]; then
		# nsenter --net, not `ip netns exec`: that one also remounts
		# /sys in a private mount namespace, which hides the cgroup
		# hierarchy the agent puts container processes in.
		prefix=(nsenter "--net=/run/netns/${FLEET_NS[k]}")
	fi
	log_register "agent $node" "$log"
	${prefix[@]+"${prefix[@]}"} "$EXECFS_BUILD_DIR/execfs-agent" \
		--runc-root "$root" --node "$node" \
		--listen "${FLEET_ADDR[k]}:$FLEET_PORT" \
		--cert "$CERT_DIR/agents/$cert.pem" --key "$CERT_DIR/agents/$cert.key" \
		--client-ca "$CERT_DIR/ca.pem" --policy "$TESTDIR/policy.json" \
		${FLEET_AGENT_OPTS[@]+"${FLEET_AGENT_OPTS[@]}"} \
		</dev/null >>"$log" 2>&1 &
	FLEET_PID[k]=$!
}

# fleet_stop_agents: SIGCONT (a frozen one), SIGTERM every agent at once,
# then wait for each (stop_pid: SIGKILL after 5 s).
fleet_stop_agents() {
	local k
	for k in "${!FLEET_PID[@]}"; do
		[ -n "${FLEET_PID[k]:-}" ] || continue
		fleet_thaw "$k"
		kill -TERM "${FLEET_PID[k]}" 2>/dev/null || true
	done
	for k in "${!FLEET_PID[@]}"; do
		[ -n "${FLEET_PID[k]:-}" ] || continue
		stop_pid "${FLEET_PID[k]}" "agent ${FLEET_NODE[k]}"
		FLEET_PID[k]=
	done
}

fleet_start() {
	local n=${1:-50} k t0
	t0=$(date +%s.%N)
	FLEET_N=$n
	FLEET_TAG=$((RANDOM % 900 + 100))
	# 127.R.x.y and 10.R.x.y: R in 20..219, per run.
	FLEET_R=$((RANDOM % 200 + 20))
	for ((k = 1; k <= n; k++)); do
		FLEET_NODE[k]=$(printf 'node%02d' "$k")
		if [ "$k" -le "$FLEET_NETNS" ]; then
			FLEET_ADDR[k]=10.$FLEET_R.$k.2
		else
			FLEET_ADDR[k]=127.$FLEET_R.$((k / 256)).$((k % 256))
		fi
	done
	FLEET_PORT=$(free_port)
	mkdir -p "$TESTDIR/agents"
	printf '{"rules": [{"principals": ["spiffe://execfs.test/client"], "actions": ["exec"]}]}\n' \
		>"$TESTDIR/policy.json"
	_fleet_certs
	log "fleet: $n certificates ($(awk "BEGIN {print $(date +%s.%N) - $t0}") s)"
	for ((k = 1; k <= n && k <= FLEET_NETNS; k++)); do
		_fleet_netns "$k"
	done
	_fleet_bundles
	_fleet_containers
	log "fleet: $((n * ${#FLEET_PODS[@]})) containers running ($(awk "BEGIN {print $(date +%s.%N) - $t0}") s)"
	cleanup_push fleet_stop_agents
	for ((k = 1; k <= n; k++)); do
		_fleet_agent "$k"
	done
	for ((k = 1; k <= n; k++)); do
		wait_for "! kill -0 ${FLEET_PID[k]} || port_open ${FLEET_ADDR[k]} $FLEET_PORT" 60 ||
			fail "fleet: agent ${FLEET_NODE[k]} not listening on ${FLEET_ADDR[k]}:$FLEET_PORT in 60 s"
		kill -0 "${FLEET_PID[k]}" 2>/dev/null ||
			fail "fleet: agent ${FLEET_NODE[k]} exited at start"
	done
	log "fleet: $n agents listening ($(awk "BEGIN {print $(date +%s.%N) - $t0}") s)"
	_fleet_dns
	log "fleet: up in $(awk "BEGIN {print $(date +%s.%N) - $t0}") s"
}

# fleet_dns_set ADDR...: the hosts file dnsmasq serves, rewritten whole
# (renamed into place: dnsmasq never reads half of it), then SIGHUP, which
# makes dnsmasq read it again (and empty its cache).
fleet_dns_set() {
	local a
	for a in "$@"; do
		printf '%s %s\n' "$a" "$FLEET_DNS_NAME"
	done >"$TESTDIR/dns-hosts.new"
	mv "$TESTDIR/dns-hosts.new" "$TESTDIR/dns-hosts"
	if [ -n "${FLEET_DNS_PID:-}" ]; then
		kill -HUP "$FLEET_DNS_PID"
	fi
}

fleet_dns_set_all() {
	fleet_dns_set "${FLEET_ADDR[@]:1:FLEET_N}"
}

# _fleet_dns: dnsmasq on 127.R.255.53:PORT serving FLEET_DNS_NAME with
# every agent's address; checked before use.
_fleet_dns() {
	local ip=127.$FLEET_R.255.53 port got
	port=$(free_port)
	fleet_dns_set_all
	log_register dnsmasq "$TESTDIR/dnsmasq.log"
	# --user=root: the files are in the 0700 TESTDIR. --local: it answers
	# for execfs.test itself (NODATA for AAAA, as a cluster's DNS does).
	dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
		--addn-hosts="$TESTDIR/dns-hosts" --local=/execfs.test/ --listen-address="$ip" \
		--bind-interfaces --port="$port" --pid-file= --local-ttl=5 \
		--log-facility="$TESTDIR/dnsmasq.log" \
		</dev/null >>"$TESTDIR/dnsmasq.log" 2>&1 &
	FLEET_DNS_PID=$!
	cleanup_push "stop_pid $FLEET_DNS_PID dnsmasq"
	FLEET_DNS=$ip:$port
	wait_for "! kill -0 $FLEET_DNS_PID || [ \$(fleet_dns_addresses | wc -l) = $FLEET_N ]" 60 ||
		fail "fleet: dnsmasq at $FLEET_DNS does not serve $FLEET_N addresses for $FLEET_DNS_NAME (got: $(fleet_dns_addresses | tr '\n' ' '))"
	got=$(fleet_dns_addresses)
	assert_eq "$(printf '%s\n' "${FLEET_ADDR[@]:1}" | sort)" "$got" "addresses served by dnsmasq"
	log "fleet: dnsmasq at $FLEET_DNS serves $FLEET_N addresses for $FLEET_DNS_NAME"
}

# A query over UDP with EDNS0 (50 A records do not fit in 512 bytes).
fleet_dns_addresses() {
	python3 - "${FLEET_DNS%:*}" "${FLEET_DNS##*:}" "$FLEET_DNS_NAME" <<'PY'
import random, socket, struct, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 1)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
q += b"\0" + struct.pack(">HHIH", 41, 4096, 0, 0)  # OPT: 4096-byte UDP
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(q, (host, port))
r, _ = s.recvfrom(65535)
rid, flags, qd, an = struct.unpack(">HHHH", r[:8])
if rid != qid or flags & 0x0200 or flags & 0xF:
    sys.exit("bad answer: id %d flags %#x" % (rid, flags))
def skip(off):
    while True:
        l = r[off]
        if l == 0:
            return off + 1
        if l & 0xC0:
            return off + 2
        off += 1 + l
off = 12
for _ in range(qd):
    off = skip(off) + 4
out = []
for _ in range(an):
    off = skip(off)
    typ, cls, ttl, rdlen = struct.unpack(">HHIH", r[off:off + 10])
    off += 10
    if typ == 1 and rdlen == 4:
        out.append(socket.inet_ntoa(r[off:off + 4]))
    off += rdlen
print("\n".join(sorted(out)))
PY
}

fleet_config() {
	local file=$1 k
	for ((k = 1; k <= FLEET_N; k++)); do
		printf '%s %s:%s\n' "${FLEET_NODE[k]}" "${FLEET_ADDR[k]}" "$FLEET_PORT"
	done | python3 -c '
import json, sys
path, certs = sys.argv[1:3]
nodes = [{"name": n, "address": a} for n, a in (l.split() for l in sys.stdin)]
with open(path, "w") as f:
    json.dump({"nodes": nodes, "ca": certs + "/ca.pem",
               "cert": certs + "/client.pem", "key": certs + "/client.key"},
              f, indent=1)
' "$file" "$CERT_DIR"
}

# fleet_listing MNT: every container directory, one a line, sorted.
fleet_listing() {
	(cd "$1" && ls -d -- */*/*/*) 2>/dev/null | sort
}

fleet_config_dns() {
	python3 -c '
import json, sys
path, certs, name, port, server, sn = sys.argv[1:7]
with open(path, "w") as f:
    json.dump({"discover": [{"dns": name, "port": int(port), "server_name": sn}],
               "dns_server": server, "ca": certs + "/ca.pem",
               "cert": certs + "/client.pem", "key": certs + "/client.key"},
              f, indent=1)
' "$1" "$CERT_DIR" "$FLEET_DNS_NAME" "$FLEET_PORT" "$FLEET_DNS" "${2:-"{node}"}"
}

fleet_mount() {
	local mnt=$1 want
	shift
	if [ "${FLEET_STATIC:-0}" = 1 ]; then
		fleet_config "$TESTDIR/fleet.json"
	else
		fleet_config_dns "$TESTDIR/fleet.json"
	fi
	MOUNT_NODE=${FLEET_NODE[1]} mount_start "$mnt" --config "$TESTDIR/fleet.json" "$@"
	want=$((FLEET_N * ${#FLEET_PODS[@]}))
	wait_for "[ \$(fleet_listing '$mnt' | wc -l) = $want ]" 60 ||
		fail "fleet: $(fleet_listing "$mnt" | wc -l) of $want containers listed after 60 s"
}

fleet_agent_pids() {
	local pid=${FLEET_PID[$1]} c
	echo "$pid"
	for c in /proc/"$pid"/task/*/children; do
		cat "$c" 2>/dev/null
	done | tr ' ' '\n' | grep . || true
}

fleet_freeze() {
	# shellcheck disable=SC2046 # a list of pids
	kill -STOP $(fleet_agent_pids "$1")
}

fleet_thaw() {
	# shellcheck disable=SC2046 # a list of pids
	kill -CONT $(fleet_agent_pids "$1") 2>/dev/null || true
}
