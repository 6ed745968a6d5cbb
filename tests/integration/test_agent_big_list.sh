#!/bin/bash
# A container list larger than a stream takes in one write (4 MiB): eight
# real containers with 600 KB of annotations each. The agent sends the
# list in pieces as the client reads (it used to answer the list 200 with
# an empty body and reset the watch), so the mount shows every container,
# annotations included, and follows a change of the list.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# Six annotations of 100 KB each (one argument must stay under 128 KiB).
blob=$(head -c 100000 /dev/zero | tr '\0' x)
notes=()
for k in 1 2 3 4 5 6; do
	notes+=("execfs.test/blob-$k=$blob")
done
for i in 1 2 3 4 5 6 7 8; do
	container_start "big$i" default "big-$i" app "${notes[@]}"
done
agent_start
mnt=$TESTDIR/mnt
mount_start "$mnt" --agent "unix:$AGENT_SOCK"
ns=$mnt/$AGENT_NODE/default
for i in 1 2 3 4 5 6 7 8; do
	wait_for "[ -d '$ns/big-$i/app' ]" 60 ||
		fail "container big-$i did not appear: $(ls "$ns" 2>&1)"
done

# Every annotation arrived whole.
info=$(read_file "$ns/big-8/app/info")
size=$(printf '%s' "$info" | python3 -c '
import json, sys
labels = json.load(sys.stdin)["labels"]
print(sum(len(v) for k, v in labels.items() if k.startswith("execfs.test/blob-")))')
assert_eq 600000 "$size" "annotation bytes of big-8 in its info"

# A change of the list comes as a whole new list too.
container_delete big3
wait_for "[ ! -d '$ns/big-3' ]" 60 || fail "big-3 still listed after its delete"
[ -d "$ns/big-8/app" ] || fail "big-8 went with big-3"
echo 'echo still here' >"$ns/big-8/app/ctl"
assert_eq "still here" "$(read_file "$ns/big-8/app/stdout")" \
	"a session in a container of the big list"
