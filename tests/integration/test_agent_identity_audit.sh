#!/bin/bash
# Who ran what, and whose streams are whose, over mutual TLS with two
# valid client certificates that the policy both lets exec:
#   - the audit's "spawned" line carries what actually ran: the uid, gid
#     and supplementary groups the user resolved to inside the container
#     (its own /etc/passwd and /etc/group, which here differ from the
#     host's), the process's pid and the container instance (init pid, the
#     runtime's creation time);
#   - identity B, which may exec into the same container, cannot attach to
#     identity A's session by its id: stdout, stderr, stdin, resize and
#     signal streams are each refused (403) and audited "cross_identity";
#     A's process gets none of B's input, is not signalled, and finishes
#     with A's input and exit status.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/h2req.sh
. "$EXECFS_LIB_DIR/h2req.sh"

export AGENT_NODE=n1
T=$TESTDIR
certs_make n1
# Identity B: another client certificate of the same CA.
(
	cd "$CERT_DIR" && umask 077 &&
		_cert_issue other ca "/CN=execfs-other-client" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
subjectAltName=URI:spiffe://execfs.test/other" && chmod 644 other.pem
) || fail "the second client certificate"

# The container's own users: app is uid 1000, gid 1000, and a member of
# two more groups that only the container's /etc/group knows (the groups
# list, as runc sets it, has the primary gid too).
rootfs_build
cp -a "$ROOTFS" "$T/rootfs-ids"
printf 'audit:x:1500:app\nops:x:1600:root,app\n' >>"$T/rootfs-ids/etc/group"
ROOTFS=$T/rootfs-ids container_start ids default ids-1 app
CID=$CONTAINER_ID
init_pid=$(container_pid ids)

port=$(free_port)
printf '%s\n' '{"rules": [{"principals": ["spiffe://execfs.test/client", "spiffe://execfs.test/other"], "actions": ["exec"]}]}' \
	>"$T/policy.json"
audit=$T/audit.jsonl
agent_start --listen "127.0.0.1:$port" --cert "$CERT_DIR/agent.pem" \
	--key "$CERT_DIR/agent.key" --client-ca "$CERT_DIR/ca.pem" \
	--policy "$T/policy.json" --audit "$audit"

# as WHO ARGS... SID: h2req over TLS as identity WHO (client or other).
as() {
	local who=$1
	shift
	"$H2REQ" --ca "$CERT_DIR/ca.pem" --cert "$CERT_DIR/$who.pem" \
		--key "$CERT_DIR/$who.key" "${@:1:$#-1}" "127.0.0.1:$port" "${*: -1}"
}

# ---- A's session: user app, reading its stdin until A ends it -------------------
sid=$(new_sid)
exec_json "$T/a.json" container="\"$CID\"" user='"app"' \
	argv='["sh","-c","id; cat; echo end"]'
mkfifo "$T/a.in"
(as client --exec "$T/a.json" --stdout "$T/a.out" --stdin "$T/a.in" \
	--timeout 600 "$sid" >"$T/a.rep" 2>&1) &
A_PID=$!
cleanup_push "kill $A_PID 2>/dev/null"
exec 7>"$T/a.in" # A's stdin stays open until the test closes it
cleanup_push "exec 7>&-"
wait_for "grep -q '\"event\":\"spawned\"' '$audit'" 60 ||
	fail "no spawned line: $(cat "$T/a.rep" "$audit" 2>&1)"

python3 - "$audit" "$sid" "$init_pid" <<'PY' || fail "the spawned line"
import json, sys
path, sid, init_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [json.loads(l) for l in open(path)]
sp = [l for l in lines if l["event"] == "spawned" and l["session"] == sid]
assert len(sp) == 1, sp
sp = sp[0]
want = {"uid": 1000, "gid": 1000, "groups": [1000, 1500, 1600],
        "identity": "uri:spiffe://execfs.test/client", "init_pid": init_pid}
for k, v in want.items():
    assert sp.get(k) == v, (k, sp.get(k), v)
assert sp["pid"] > 0 and sp["created"], sp
print("spawned:", json.dumps(sp))
PY
log "the spawned line has the ids app resolved to in the container"

# ---- B on A's session: every kind of stream, refused -----------------------------
printf 'from-B\n' >"$T/b.in"
printf '100 40\n' >"$T/b.size"
for s in "--stdout $T/b.out" "--stderr $T/b.err" "--stdin $T/b.in" \
	"--resize $T/b.size" "--signal KILL"; do
	# shellcheck disable=SC2086 # option and its value
	as other $s --timeout 60 "$sid" >"$T/b.rep" 2>&1 || true
	type=${s%% *}
	type=${type#--}
	grep -qx "$type 403" "$T/b.rep" || fail "B's $type stream: $(cat "$T/b.rep")"
done
log "B's stdout, stderr, stdin, resize and signal streams on A's session: 403"

# ---- A's session is untouched ------------------------------------------------------
printf 'from-A\n' >&7
exec 7>&-
wait "$A_PID" || fail "A's client: $(cat "$T/a.rep")"
assert_eq "from-A
end" "$(tail -n 2 "$T/a.out")" "A's output"
head -n 1 "$T/a.out" | grep -q 'uid=1000' || fail "A's id: $(cat "$T/a.out")"
grep -q from-B "$T/a.out" && fail "B's stdin reached A's process"

python3 - "$audit" "$sid" <<'PY' || fail "the audit's refusals"
import json, sys
path, sid = sys.argv[1], sys.argv[2]
lines = [json.loads(l) for l in open(path)]
cross = [l for l in lines if l["event"] == "refused" and l.get("kind") == "cross_identity"]
kinds = sorted(l["reason"].split()[0] for l in cross)
assert kinds == ["resize", "signal", "stderr", "stdin", "stdout"], cross
for l in cross:
    assert l["identity"] == "uri:spiffe://execfs.test/other", l
    assert l["session"] == sid, l
ends = [l for l in lines if l["event"] == "end" and l["session"] == sid]
assert len(ends) == 1 and ends[0]["state"] == "exited" and ends[0]["code"] == 0, ends
assert not [l for l in lines if l["event"] == "signal"], "a signal was audited"
print("%d cross_identity refusals audited" % len(cross))
PY
log "five cross_identity lines, A's session exited 0 with A's input only"

agent_stop
