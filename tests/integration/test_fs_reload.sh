#!/bin/bash
# SIGHUP re-reads the mount's configuration (three agents of lib/fleet.sh,
# a TLS mount of node01 alone at first), while a session on node01 streams
# its output across every reload:
#   - node02 added to the file and SIGHUP: it appears; removed while a
#     session runs there: it stays, `leaving` in its .status, refusing new
#     sessions, until that session ended, then it goes;
#   - a file that does not parse, and one whose CA file is missing: nothing
#     changes, the log says why;
#   - a `discover` DNS name added (dnsmasq listing node02 and node03): both
#     appear; the name removed again: both go;
#   - the session's output arrives whole (checksum) and it ends as it should.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/fleet.sh
. "$EXECFS_LIB_DIR/fleet.sh"

command -v dnsmasq >/dev/null || skip "no dnsmasq (Debian: dnsmasq-base)"
FLEET_NETNS=0 fleet_start 3
mnt=$TESTDIR/mnt
cfg=$TESTDIR/execfs.json
mlog=$TESTDIR/execfs-mnt.log

# write_config STATIC_NODES... [-- DISCOVER]: the config file, replaced
# whole (a rename: the mount never reads half of it).
write_config() {
	local nodes=() dns=0 k
	while [ $# -gt 0 ]; do
		if [ "$1" = -- ]; then
			dns=1
		else
			k=$1
			nodes+=("${FLEET_NODE[k]}=${FLEET_ADDR[k]}:$FLEET_PORT")
		fi
		shift
	done
	python3 -c '
import json, sys
path, certs, name, port, server, dns = sys.argv[1:7]
c = {"ca": certs + "/ca.pem", "cert": certs + "/client.pem", "key": certs + "/client.key"}
c["nodes"] = [{"name": n.split("=")[0], "address": n.split("=")[1]} for n in sys.argv[7:]]
if dns == "1":
    c["discover"] = [{"dns": name, "port": int(port), "server_name": "{node}"}]
    c["dns_server"] = server
with open(path + ".new", "w") as f:
    json.dump(c, f)
' "$cfg" "$CERT_DIR" "$FLEET_DNS_NAME" "$FLEET_PORT" "$FLEET_DNS" "$dns" ${nodes[@]+"${nodes[@]}"}
	mv "$cfg.new" "$cfg"
}

# reload: SIGHUP, then wait until the mount logged that it took the file
# (or refused it): the Nth "SIGHUP"/"reloaded" line.
reloads=0
reload() {
	reloads=$((reloads + 1))
	kill -HUP "$MOUNT_PID"
	wait_for "[ \$(grep -cE 'configuration .* reloaded|SIGHUP: ' '$mlog') -ge $reloads ]" 60 ||
		fail "the mount did not answer SIGHUP number $reloads"
	kill -0 "$MOUNT_PID" || fail "the mount died on SIGHUP"
	mountpoint -q "$mnt" || fail "SIGHUP unmounted"
}

listed() { # listed NODE: its 4 containers are there
	[ "$(cd "$mnt" && ls -d -- "$1"/*/*/* 2>/dev/null | wc -l)" = 4 ]
}

write_config 1
MOUNT_NODE=${FLEET_NODE[1]} mount_start "$mnt" --config "$cfg"
wait_for "listed ${FLEET_NODE[1]}" 60 || fail "node01 not listed"

# The session that streams across every reload.
c=$mnt/${FLEET_NODE[1]}/prod/api-1/app
n=$(read_file "$c/clone")
echo "sh -c 'seq 1 30000; read x; seq 30001 60000'" >"$c/$n/ctl"
wait_for "[ \$(stat -c %s '$c/$n/stdout') -ge $(seq 1 30000 | wc -c) ]" 60 ||
	fail "the session did not print its first half"

# A node added, then removed.
write_config 1 2
reload
wait_for "listed ${FLEET_NODE[2]}" 60 || fail "node02 did not appear: $(cat "$mnt/.status")"
assert_match "^connected " "$(read_file "$mnt/${FLEET_NODE[2]}/.status")" "node02/.status"
log "SIGHUP added node02"

# Files that do not load change nothing.
echo '{"nodes": [' >"$cfg"
reload
grep -q "SIGHUP: .*; the configuration in force stays" "$mlog" || fail "no log line for the bad file"
write_config 1
python3 -c '
import json, sys
c = json.load(open(sys.argv[1])); c["ca"] = sys.argv[1] + ".nosuch"
json.dump(c, open(sys.argv[1], "w"))' "$cfg"
reload
assert_eq 2 "$(grep -c "SIGHUP: .*; the configuration in force stays" "$mlog")" "refusals logged"
listed "${FLEET_NODE[2]}" || fail "a bad file took node02 away"
log "bad files kept the configuration in force"

# Removed while a session runs there: it stays until the session ended.
c2=$mnt/${FLEET_NODE[2]}/prod/db-1/box
n2=$(read_file "$c2/clone")
echo "sh -c 'echo started; read x; echo done'" >"$c2/$n2/ctl"
wait_for "[ -s '$c2/$n2/stdout' ]" 60 || fail "node02's session did not start"
write_config 1
reload
wait_for "grep -q '^leaving: no longer in the configuration' '$mnt/${FLEET_NODE[2]}/.status'" 60 ||
	fail "node02 is not leaving: $(cat "$mnt/${FLEET_NODE[2]}/.status")"
m=$(read_file "$c2/clone")
rc=0
echo true 2>/dev/null >"$c2/$m/ctl" || rc=$?
[ "$rc" != 0 ] || fail "a new session started on a leaving node"
assert_match "^failed: node not connected" "$(read_file "$c2/$m/status")" "a new session on a leaving node"
listed "${FLEET_NODE[2]}" || fail "node02 went while its session ran"
echo go >"$c2/$n2/stdin"
assert_eq "exited 0" "$(read_file "$c2/$n2/wait")" "node02's session's end"
wait_for "[ ! -e '$mnt/${FLEET_NODE[2]}' ]" 60 || fail "node02 did not go: $(cat "$mnt/.status")"
log "SIGHUP removed node02, once its session ended"

# A DNS name added: its addresses become nodes; removed: they go.
fleet_dns_set "${FLEET_ADDR[2]}" "${FLEET_ADDR[3]}"
write_config 1 --
reload
wait_for "listed ${FLEET_NODE[2]} && listed ${FLEET_NODE[3]}" 60 ||
	fail "the DNS name's nodes did not appear: $(cat "$mnt/.status")"
assert_match "^dns $FLEET_DNS_NAME port $FLEET_PORT: 2 addresses" "$(read_file "$mnt/.status")" "MNT/.status"
log "SIGHUP added a DNS name: node02 and node03"
write_config 1
reload
wait_for "[ ! -e '$mnt/${FLEET_NODE[2]}' ] && [ ! -e '$mnt/${FLEET_NODE[3]}' ]" 60 ||
	fail "the DNS name's nodes did not go: $(cat "$mnt/.status")"
log "SIGHUP removed the DNS name"

# node01's session went on through it all.
echo go >"$c/$n/stdin"
assert_eq "exited 0" "$(read_file "$c/$n/wait")" "the session's end"
assert_eq "$(seq 1 60000 | md5sum)" "$(md5sum <"$c/$n/stdout")" "the session's output"
listed "${FLEET_NODE[1]}" || fail "node01 is not listed at the end"
grep -q "session .*resum\|connection lost" "$mlog" && fail "node01's connection was touched: $(grep "resum\|connection lost" "$mlog")"
log "the session on node01 streamed across every reload, complete"
