#!/bin/bash
# Install the Debian packages listed in .ci/debian-packages.txt that are not
# installed yet. Runs `apt-get update` only when something is missing, so a
# machine that has everything makes no network call at all.
# Usage: .ci/install-deps.sh [LIST]     (as root, or with sudo available)
set -eu

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=${1:-$here/debian-packages.txt}

missing=()
while read -r line; do
	pkg=${line%%#*}
	pkg=${pkg//[[:space:]]/}
	[ -n "$pkg" ] || continue
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case $status in
	*" installed") ;;
	*) missing+=("$pkg") ;;
	esac
done <"$list"

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo=(sudo)
	else
		echo "install-deps: missing packages and not root: ${missing[*]}" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
