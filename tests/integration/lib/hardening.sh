#!/bin/bash
# Run a command under the file-system side of a systemd unit's hardening,
# as systemd would set it up, for a machine whose PID 1 is not systemd:
#   hardening.sh MODE RW_DIR... -- COMMAND [ARGS...]     (execs COMMAND)
# in a mount namespace of its own (the caller's: unshare --mount
# --propagation slave). MODEs, comma-separated:
#   strict      ProtectSystem=strict + ProtectHome=read-only: every mount
#               read-only but the API file systems (/dev, /proc, /sys) and
#               RW_DIRs (RuntimeDirectory=, LogsDirectory=, ReadWritePaths=)
#   cgroup-ro   ProtectControlGroups= (and ProtectKernelTunables=, which
#               makes /sys read-only with what is below it): /sys/fs/cgroup
#               and its hierarchies read-only
#   private-tmp PrivateTmp=: an empty /tmp and /var/tmp of its own
# FUSE mounts (other tests') are left alone: remounting them needs nothing
# from their daemons, but a lookup of a hung one would hang.
set -eu
modes=$1
shift
rw=()
while [ "$1" != -- ]; do
	rw+=("$1")
	shift
done
shift

ro_mounts() { # mount points under $1 (all with /), API and FUSE ones left out
	awk -v top="$1" '{
		mp = $5
		for (i = 7; $i != "-"; i++) ;
		fs = $(i + 1)
		if (fs ~ /^fuse/ || fs == "nsfs") next
		if (top == "/" && mp ~ "^/(dev|proc|sys)(/|$)") next
		if (top != "/" && mp != top && index(mp, top "/") != 1) next
		print mp
	}' /proc/self/mountinfo | sed 's/\\040/ /g'
}

for mode in ${modes//,/ }; do
	case $mode in
	strict)
		for d in "${rw[@]}"; do
			mount --bind "$d" "$d"
		done
		while read -r mp; do
			mount -o remount,bind,ro "$mp" 2>/dev/null || true
		done < <(ro_mounts /)
		for d in "${rw[@]}"; do
			mount -o remount,bind,rw "$d"
		done
		;;
	cgroup-ro)
		while read -r mp; do
			mount -o remount,bind,ro "$mp" 2>/dev/null || true
		done < <(ro_mounts /sys/fs/cgroup)
		;;
	private-tmp)
		mount -t tmpfs -o mode=1777 tmpfs /tmp
		mount -t tmpfs -o mode=1777 tmpfs /var/tmp
		;;
	*)
		echo "hardening.sh: unknown mode $mode" >&2
		exit 2
		;;
	esac
done
exec "$@"
