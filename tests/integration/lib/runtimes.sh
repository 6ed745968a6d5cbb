# shellcheck shell=bash
# Real container runtimes for the tests: Docker, containerd (with its CRI
# plugin), Podman and crun, each started by the test with private roots,
# sockets and state under $TESTDIR, stopped by pid, and checked to leave no
# mount behind. Not sourced by common.sh: a test sources it after common.sh.
#
# Packages and images
#   rt_need PKG...          install the Debian packages not installed yet
#                           (CI has them from .ci/debian-packages.txt)
#   rt_busybox_tar          print the path of a tarball of the test rootfs
#                           (lib/rootfs.sh), cached in the build directory
#   rt_docker_archive OUT NAME:TAG [ENTRYPOINT...]
#                           write a docker-archive of it (manifest.json, a
#                           config, one layer) that `ctr image import` takes
#   rt_crun_wrapper         print a crun that runs in a private mount
#                           namespace without /sys/fs/cgroup/unified (crun
#                           1.8 refuses the hybrid layout) and keeps its
#                           state in $CRUN_ROOT
#   rt_runc_wrapper         print a runc whose state is in $RUNC_WRAP_ROOT
#
# Daemons (each pushes its stop onto the cleanup stack; *_stop also checks
# that nothing stays mounted under its directory)
#   docker_start            dockerd (and the containerd it starts) under
#                           $DOCKER_DIR; `docker_cmd ARGS...` talks to it.
#                           Sets DOCKER_DATA (its --data-root) and
#                           DOCKER_STATE_ROOT (where runc keeps its state)
#   docker_stop
#   containerd_start [CRI]  containerd under $CTRD_DIR, with the CRI plugin
#                           when CRI=cri (pause image, CNI bridge on
#                           169.254.213.0/24, restrict_oom_score_adj);
#                           `ctr_cmd ARGS...`; CTRD_SOCK, CTRD_RUNC_ROOT
#                           (pass --runc-root "$CTRD_RUNC_ROOT" to ctr run:
#                           the state lands in $CTRD_RUNC_ROOT/<namespace>)
#   containerd_stop
#   cri_cmd VERB ARGS...    tests/tools/cri/cri.js against that containerd's
#                           CRI plugin (its npm packages installed from the
#                           committed lock file into $EXECFS_BUILD_DIR/cri-node
#                           on first use)
#   cri_run_pod SANDBOX_JSON   RunPodSandbox; sets POD_ID; containerd_stop
#                           stops and removes the pod
#   podman_setup RUNTIME    RUNTIME runc or crun: `podman_cmd ARGS...` runs
#                           Podman with its store under $PODMAN_DIR, that
#                           runtime (wrapped as above), cgroupfs, file events
#                           and default_ulimits the machine allows
#   podman_stop             remove every container and pod, unmount the store
#
# Checks
#   rt_cgroup_note NAME...  a top-level cgroup NAME a runtime is about to
#                           create (docker, k8s.io, libpod_parent, a
#                           containerd namespace): if it does not exist yet
#                           in any hierarchy, the *_stop functions remove it
#                           again once it holds no process
#   rt_mounts_under DIR     print the mount points under DIR
#   rt_unmount_under DIR    unmount them (deepest first); print how many
#   exec_probe DIR CMD...   run CMD through the execfs container directory
#                           DIR (clone, ctl, stdout, wait); print stdout
#   rt_same_as DIR EXEC...  hostname and /proc/1/cmdline through DIR are what
#                           the runtime's own exec (EXEC..., the command
#                           appended) prints
#   rt_parity DIR OUT EXEC...
#                           the confinement probe ($RT_PROBE: ids, groups,
#                           capabilities, no_new_privs, seccomp, LSM label,
#                           oom_score_adj, rlimits, cgroups, namespaces, cwd,
#                           umask, environment) run by the runtime's own exec
#                           and through DIR, into OUT.runtime and OUT.execfs;
#                           prints `diff -u` of the two, returns 1 if they
#                           differ

RT_BIN=${TESTDIR:+$TESTDIR/bin}
CRUN_ROOT=${CRUN_ROOT:-${TESTDIR:+$TESTDIR/crun}}
RUNC_WRAP_ROOT=${RUNC_WRAP_ROOT:-${TESTDIR:+$TESTDIR/runc-wrapped}}
DOCKER_BIN=/usr/bin/docker # Debian's client, not one found first in PATH

rt_need() {
	local pkg missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q ' installed$' ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 \
		install -y -q --no-install-recommends "${missing[@]}" \
		>"$TESTDIR/apt.log" 2>&1 || {
		tail -20 "$TESTDIR/apt.log" >&2
		fail "cannot install ${missing[*]}"
	}
}

rt_busybox_tar() {
	local tar=$EXECFS_BUILD_DIR/test-busybox.tar tmp
	rootfs_build
	if [ ! -s "$tar" ] || [ "$ROOTFS/.execfs-rootfs" -nt "$tar" ]; then
		tmp=$(mktemp "$tar.XXXXXX")
		tar -C "$ROOTFS" --exclude=./.execfs-rootfs --numeric-owner -cf "$tmp" .
		mv "$tmp" "$tar"
	fi
	printf '%s\n' "$tar"
}

rt_docker_archive() {
	local out=$1 ref=$2 dir layer_sum
	shift 2
	dir=$(mktemp -d "$TESTDIR/archive.XXXXXX")
	cp "$(rt_busybox_tar)" "$dir/layer.tar"
	layer_sum=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
	python3 - "$dir" "$ref" "$layer_sum" "$@" <<'PY'
import hashlib, json, os, sys
d, ref, layer, entry = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
config = {"architecture": "amd64", "os": "linux",
          "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                     "Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer]}}
if entry:
    config["config"]["Entrypoint"] = entry
    config["config"]["Cmd"] = None
data = json.dumps(config).encode()
name = hashlib.sha256(data).hexdigest() + ".json"
with open(os.path.join(d, name), "wb") as f:
    f.write(data)
with open(os.path.join(d, "manifest.json"), "w") as f:
    json.dump([{"Config": name, "RepoTags": [ref], "Layers": ["layer.tar"]}], f)
PY
	tar -C "$dir" -cf "$out" manifest.json layer.tar "$(cd "$dir" && ls ./*.json | grep -v manifest | head -1)"
	rm -rf "$dir"
}

rt_crun_wrapper() {
	local w=$RT_BIN/crun
	mkdir -p "$RT_BIN" "$CRUN_ROOT"
	if [ ! -x "$w" ]; then
		# unshare -m: the umount stays in the wrapper's own namespace;
		# the container gets one of its own from crun anyway.
		cat >"$w" <<EOF
#!/bin/sh
exec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun --root "$CRUN_ROOT" "\$@"' crun "\$@"
EOF
		chmod 755 "$w"
	fi
	printf '%s\n' "$w"
}

rt_runc_wrapper() {
	local w=$RT_BIN/runc
	mkdir -p "$RT_BIN" "$RUNC_WRAP_ROOT"
	if [ ! -x "$w" ]; then
		cat >"$w" <<EOF
#!/bin/sh
exec runc --root "$RUNC_WRAP_ROOT" "\$@"
EOF
		chmod 755 "$w"
	fi
	printf '%s\n' "$w"
}

# The mount points under DIR, deepest first.
rt_mounts_under() {
	awk -v d="$1/" '{ p = $5; gsub(/\\040/, " ", p); if (index(p "/", d) == 1) print p }' \
		/proc/self/mountinfo | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2-
}

rt_unmount_under() {
	local mp n=0
	while IFS= read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
		n=$((n + 1))
	done < <(rt_mounts_under "$1")
	echo "$n"
}

RT_CGROUPS=()

rt_cgroup_note() {
	local name h
	for name in "$@"; do
		for h in /sys/fs/cgroup/*/; do
			[ ! -e "$h$name" ] || continue 2
		done
		RT_CGROUPS+=("$name")
	done
}

# Remove the noted cgroups, innermost first; a cgroup that still holds a
# process stays (rmdir refuses it) and is logged.
rt_cgroup_cleanup() {
	local name h d
	for name in ${RT_CGROUPS[@]+"${RT_CGROUPS[@]}"}; do
		for h in /sys/fs/cgroup/*/; do
			[ -d "$h$name" ] || continue
			while IFS= read -r d; do
				rmdir "$d" 2>/dev/null || true
			done < <(find "$h$name" -depth -type d)
			[ ! -d "$h$name" ] || log "cgroup $h$name is still there"
		done
	done
}

# _rt_wait_gone PID SECS: wait until PID has exited.
_rt_wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# ---- Docker ------------------------------------------------------------------

DOCKER_PID=

docker_cmd() {
	"$DOCKER_BIN" -H "unix://$DOCKER_SOCK" "$@"
}

docker_start() {
	rt_need docker.io containerd runc
	DOCKER_DIR=$TESTDIR/docker
	DOCKER_DATA=$DOCKER_DIR/data
	DOCKER_EXEC=$DOCKER_DIR/exec
	DOCKER_SOCK=$DOCKER_DIR/docker.sock
	DOCKER_STATE_ROOT=$DOCKER_EXEC/runtime-runc/moby
	mkdir -p "$DOCKER_DATA" "$DOCKER_EXEC"
	rt_cgroup_note docker
	log_register dockerd "$DOCKER_DIR/dockerd.log"
	# No iptables, no bridge: nothing outside the test changes; dockerd
	# starts its own containerd under --exec-root.
	dockerd --iptables=false --ip6tables=false --bridge=none \
		--data-root "$DOCKER_DATA" --exec-root "$DOCKER_EXEC" \
		--host "unix://$DOCKER_SOCK" --pidfile "$DOCKER_DIR/docker.pid" \
		</dev/null >"$DOCKER_DIR/dockerd.log" 2>&1 &
	DOCKER_PID=$!
	cleanup_push "docker_stop"
	wait_for "! kill -0 $DOCKER_PID || docker_cmd version" 60 ||
		fail "dockerd not up in 60 s"
	kill -0 "$DOCKER_PID" 2>/dev/null || fail "dockerd exited at start"
	log "dockerd up (pid $DOCKER_PID, data $DOCKER_DATA)"
}

docker_stop() {
	local ids left
	[ -n "$DOCKER_PID" ] || return 0
	ids=$(docker_cmd ps -aq 2>/dev/null) || true
	[ -z "$ids" ] || docker_cmd rm -f $ids >/dev/null 2>&1 || true
	stop_pid "$DOCKER_PID" dockerd
	# Its containerd ends with it; wait for the shims too.
	wait_for "! pgrep -f 'containerd-shim.*$DOCKER_EXEC' >/dev/null" 60 ||
		log "docker: shims still running"
	DOCKER_PID=
	rt_cgroup_cleanup
	left=$(rt_mounts_under "$DOCKER_DIR")
	if [ -n "$left" ]; then
		log "docker: mounts left under $DOCKER_DIR: $left"
		rt_unmount_under "$DOCKER_DIR" >/dev/null
		return 1
	fi
}

# ---- containerd ----------------------------------------------------------------

CTRD_PID=

ctr_cmd() {
	ctr --address "$CTRD_SOCK" "$@"
}

containerd_start() {
	local cri=${1:-} pause
	rt_need containerd runc
	CTRD_DIR=$TESTDIR/containerd
	CTRD_SOCK=$CTRD_DIR/containerd.sock
	CTRD_RUNC_ROOT=$CTRD_DIR/runc
	mkdir -p "$CTRD_DIR/root" "$CTRD_DIR/state" "$CTRD_RUNC_ROOT"
	# ctr puts a container in /<namespace>/<id>, the CRI plugin in
	# /k8s.io/<id>.
	rt_cgroup_note default k8s.io
	local disabled='"io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"'
	[ "$cri" = cri ] || disabled="\"io.containerd.grpc.v1.cri\", $disabled"
	cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = [$disabled]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$CTRD_SOCK.debug"
EOF
	if [ "$cri" = cri ]; then
		rt_need containernetworking-plugins
		_containerd_cni_conf
		cat >>"$CTRD_DIR/config.toml" <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "execfs.test/pause:1"
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CTRD_DIR/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$CTRD_RUNC_ROOT"
EOF
	fi
	log_register containerd "$CTRD_DIR/containerd.log"
	containerd --config "$CTRD_DIR/config.toml" </dev/null \
		>"$CTRD_DIR/containerd.log" 2>&1 &
	CTRD_PID=$!
	cleanup_push "containerd_stop"
	wait_for "! kill -0 $CTRD_PID || ctr_cmd version" 60 ||
		fail "containerd not up in 60 s"
	kill -0 "$CTRD_PID" 2>/dev/null || fail "containerd exited at start"
	log "containerd up (pid $CTRD_PID, socket $CTRD_SOCK)"
	if [ "$cri" = cri ]; then
		pause=$CTRD_DIR/pause.tar
		rt_docker_archive "$pause" execfs.test/pause:1 /bin/sleep infinity
		ctr_cmd -n k8s.io image import "$pause" >/dev/null ||
			fail "ctr image import (pause)"
	fi
}

# A bridge with host-local addresses on a link-local range, no gateway, no
# masquerade: pods get a network that reaches nothing beyond this machine.
_containerd_cni_conf() {
	mkdir -p "$CTRD_DIR/cni"
	cat >"$CTRD_DIR/cni/10-execfs.conflist" <<EOF
{"cniVersion": "0.4.0", "name": "execfs-test",
 "plugins": [{"type": "bridge", "bridge": "exfs$$", "isGateway": false,
              "ipMasq": false, "hairpinMode": false,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "169.254.213.0/24"}]],
                       "dataDir": "$CTRD_DIR/cni-ipam"}}]}
EOF
}

containerd_stop() {
	local ns c t left
	[ -n "$CTRD_PID" ] || return 0
	# Pods first: the CRI plugin owns their mounts (shm, netns).
	for t in ${CRI_PODS[@]+"${CRI_PODS[@]}"}; do
		cri_cmd stop-pod "$t" >/dev/null 2>&1
		cri_cmd rm-pod "$t" >/dev/null 2>&1
	done
	CRI_PODS=()
	for ns in $(ctr_cmd namespaces ls -q 2>/dev/null); do
		for t in $(ctr_cmd -n "$ns" tasks ls -q 2>/dev/null); do
			ctr_cmd -n "$ns" tasks kill -s KILL "$t" >/dev/null 2>&1
		done
		for t in $(ctr_cmd -n "$ns" tasks ls -q 2>/dev/null); do
			wait_for "ctr_cmd -n '$ns' tasks delete '$t'" 60 || true
		done
		for c in $(ctr_cmd -n "$ns" containers ls -q 2>/dev/null); do
			ctr_cmd -n "$ns" containers delete "$c" >/dev/null 2>&1
		done
	done
	stop_pid "$CTRD_PID" containerd
	CTRD_PID=
	wait_for "! pgrep -f 'containerd-shim.*$CTRD_SOCK' >/dev/null" 60 ||
		log "containerd: shims still running"
	ip link del "exfs$$" 2>/dev/null || true
	rt_cgroup_cleanup
	left=$(rt_mounts_under "$CTRD_DIR")
	if [ -n "$left" ]; then
		log "containerd: mounts left under $CTRD_DIR: $left"
		rt_unmount_under "$CTRD_DIR" >/dev/null
		return 1
	fi
}

# ---- the CRI client -------------------------------------------------------------

CRI_NODE_DIR=${EXECFS_BUILD_DIR:+$EXECFS_BUILD_DIR/cri-node}

_cri_client_ready() {
	local src=$EXECFS_SOURCE_DIR/tests/tools/cri
	command -v node >/dev/null || rt_need nodejs
	command -v npm >/dev/null || fail "no npm (this machine's nodejs should bring it)"
	if [ -d "$CRI_NODE_DIR/node_modules" ] &&
		cmp -s "$src/package-lock.json" "$CRI_NODE_DIR/package-lock.json"; then
		return 0
	fi
	rm -rf "$CRI_NODE_DIR"
	mkdir -p "$CRI_NODE_DIR"
	cp "$src/package.json" "$src/package-lock.json" "$CRI_NODE_DIR/"
	log "npm ci in $CRI_NODE_DIR"
	(cd "$CRI_NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts) \
		>"$TESTDIR/npm.log" 2>&1 || {
		tail -20 "$TESTDIR/npm.log" >&2
		rm -rf "$CRI_NODE_DIR"
		fail "npm ci for the CRI client failed"
	}
}

CRI_PODS=()

cri_run_pod() {
	POD_ID=$(cri_cmd run-pod "$1") || fail "RunPodSandbox $1"
	CRI_PODS+=("$POD_ID")
}

cri_cmd() {
	[ -n "${_cri_ready:-}" ] || {
		_cri_client_ready
		_cri_ready=1
	}
	NODE_PATH=$CRI_NODE_DIR/node_modules timeout -k 5 150 \
		node "$EXECFS_SOURCE_DIR/tests/tools/cri/cri.js" "$CTRD_SOCK" "$@"
}

# ---- Podman --------------------------------------------------------------------

PODMAN_DIR=
PODMAN_RUNTIME=

podman_cmd() {
	CONTAINERS_CONF=$PODMAN_DIR/containers.conf podman \
		--root "$PODMAN_DIR/root" --runroot "$PODMAN_DIR/run" \
		--tmpdir "$PODMAN_DIR/tmp" --cgroup-manager cgroupfs \
		--events-backend file --runtime "$PODMAN_RUNTIME" "$@"
}

podman_setup() {
	rt_need podman crun catatonit conmon runc
	PODMAN_DIR=$TESTDIR/podman
	mkdir -p "$PODMAN_DIR/root" "$PODMAN_DIR/run" "$PODMAN_DIR/tmp"
	rt_cgroup_note libpod_parent
	case $1 in
	crun) PODMAN_RUNTIME=$(rt_crun_wrapper) ;;
	runc) PODMAN_RUNTIME=$(rt_runc_wrapper) ;;
	*) fail "podman_setup: runtime $1?" ;;
	esac
	# This machine's root lacks CAP_SYS_RESOURCE: Podman's default
	# rlimits (raising nofile to 1048576) would be refused.
	cat >"$PODMAN_DIR/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
EOF
	cleanup_push "podman_stop"
	podman_cmd import "$(rt_busybox_tar)" localhost/execfs-busybox:1 \
		>"$PODMAN_DIR/import.log" 2>&1 || fail "podman import: $(cat "$PODMAN_DIR/import.log")"
}

podman_stop() {
	local left n
	[ -n "$PODMAN_DIR" ] || return 0
	podman_cmd pod rm -a -f -t 0 >/dev/null 2>&1 || true
	podman_cmd rm -a -f -t 0 >/dev/null 2>&1 || true
	# conmon runs `podman container cleanup` once a container exited,
	# which may mount the store again: let those finish first.
	wait_for "! pgrep -f -- '--root $PODMAN_DIR/root' >/dev/null" 60 ||
		log "podman: cleanup processes still running"
	# c/storage keeps its overlay directory bind-mounted on itself (once
	# per runtime it was used with, here).
	for _ in 1 2 3 4; do
		mountpoint -q "$PODMAN_DIR/root/overlay" || break
		umount "$PODMAN_DIR/root/overlay" || break
	done
	rt_cgroup_cleanup
	left=$(rt_mounts_under "$PODMAN_DIR")
	PODMAN_DIR=
	if [ -n "$left" ]; then
		log "podman: mounts left: $left"
		n=$(rt_unmount_under "$TESTDIR/podman")
		log "podman: unmounted $n"
		return 1
	fi
}

# ---- through execfs --------------------------------------------------------------

# exec_probe DIR CMD...: a cloned session in the container directory DIR
# running CMD (words as ctl splits them); prints its stdout, fails the test
# unless it exits 0.
exec_probe() {
	local dir=$1 n line st
	shift
	n=$(read_file "$dir/clone")
	line=$(printf '%q ' "$@")
	(printf 'exec %s\n' "$line" >"$dir/$n/ctl") 2>"$TESTDIR/exec_probe.err" ||
		fail "exec $* in $dir: $(cat "$TESTDIR/exec_probe.err")"
	read_file "$dir/$n/stdout" 30
	st=$(read_file "$dir/$n/wait" 30)
	[ "$st" = "exited 0" ] || fail "exec $* in $dir: $st ($(cat "$dir/$n/stderr" 2>&1))"
}

rt_same_as() {
	local dir=$1
	shift
	assert_eq "$("$@" hostname)" "$(exec_probe "$dir" hostname)" "hostname in $dir"
	assert_eq "$("$@" cat /proc/1/cmdline | od -c)" \
		"$(exec_probe "$dir" cat /proc/1/cmdline | od -c)" "/proc/1/cmdline in $dir"
}

# The probe, one shell line (ctl takes one line). Namespaces by readlink:
# `ls -l` would add the links' times, which differ between two runs.
RT_PROBE='grep -E "^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp|Seccomp_filters):" /proc/self/status; echo "attr/current: $(cat /proc/self/attr/current 2>&1)"; echo "oom_score_adj: $(cat /proc/self/oom_score_adj)"; cat /proc/self/limits; cat /proc/self/cgroup; for n in /proc/self/ns/*; do echo "$n -> $(readlink $n)"; done; echo "pwd: $(pwd)"; echo "umask: $(umask)"; env | sort'

rt_parity() {
	local dir=$1 out=$2
	shift 2
	"$@" sh -c "$RT_PROBE" >"$out.runtime" 2>&1 || log "the runtime's probe failed: $(tail -3 "$out.runtime")"
	exec_probe "$dir" sh -c "$RT_PROBE" >"$out.execfs" 2>&1
	diff -u --label "runtime's exec" --label execfs "$out.runtime" "$out.execfs"
}
