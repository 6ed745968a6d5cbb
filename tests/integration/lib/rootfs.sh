# shellcheck shell=bash
# A busybox root filesystem for test containers, built once and cached.
# Only defines functions, so examples/quickstart.sh sources it too.
#
#   rootfs_build [DIR]   build DIR (default $EXECFS_BUILD_DIR/test-rootfs) if it
#                        is missing or outdated; sets ROOTFS to its path.
#
# Contents: /bin/busybox (static) and a symlink for every applet at its usual
# place (busybox --list-full), /etc/passwd with root and `app` (uid 1000),
# /etc/group, /etc/hostname, and empty /tmp /proc /sys /dev /root /home/app.
# Its /etc/passwd differs from any real host's, so a test can tell them apart.

ROOTFS_VERSION=2

rootfs_build() {
	local dir=${1:-$EXECFS_BUILD_DIR/test-rootfs} bb tmp applet
	# shellcheck disable=SC2034 # used by the caller
	ROOTFS=$dir
	if [ "$(cat "$dir/.execfs-rootfs" 2>/dev/null)" = "$ROOTFS_VERSION" ]; then
		return 0
	fi
	bb=$(command -v busybox) || {
		echo "rootfs_build: busybox not found (Debian: busybox-static)" >&2
		return 1
	}
	# The container has no libc: only a static busybox runs there.
	if ldd "$bb" >/dev/null 2>&1; then
		echo "rootfs_build: $bb is not static (Debian: busybox-static)" >&2
		return 1
	fi
	mkdir -p "$(dirname "$dir")"
	tmp=$(mktemp -d "$dir.tmp.XXXXXX")
	# mktemp made it 0700: the container's / must be open to user app.
	chmod 755 "$tmp"
	(
		set -e
		cd "$tmp"
		mkdir -p bin sbin usr/bin usr/sbin etc proc sys dev root home/app \
			tmp run var/tmp
		chmod 1777 tmp var/tmp
		chmod 700 root
		cp "$bb" bin/busybox
		chmod 755 bin/busybox
		for applet in $("$bb" --list-full); do
			[ -e "$applet" ] || [ -L "$applet" ] || ln -s /bin/busybox "$applet"
		done
		cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:execfs test user:/home/app:/bin/sh
PASSWD
		cat >etc/group <<'GROUP'
root:x:0:
app:x:1000:
GROUP
		echo execfs-test >etc/hostname
		chown 1000:1000 home/app
		echo "$ROOTFS_VERSION" >.execfs-rootfs
	)
	# Another test may have built it meanwhile: keep whichever came first.
	rm -rf "$dir.old"
	if [ -e "$dir" ]; then
		mv "$dir" "$dir.old"
	fi
	mv "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
	rm -rf "$dir.old"
}
