#!/bin/bash
# Walking skeleton over the local Unix socket: an agent on a per-test socket
# and runc root, `execfs --agent unix:SOCK MOUNTPOINT`, and the acceptance
# checks of lib/skeleton.sh through the files only.
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/skeleton.sh
. "$EXECFS_LIB_DIR/skeleton.sh"

export AGENT_NODE=testnode
skeleton_containers
agent_start
mount_start "$TESTDIR/mnt" --agent "unix:$AGENT_SOCK"
skeleton_check_tree "$TESTDIR/mnt/testnode"
skeleton_check_sessions "$TESTDIR/mnt/testnode"
