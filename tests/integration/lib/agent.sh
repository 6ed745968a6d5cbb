# shellcheck shell=bash
# The node daemon under test.
#
#   agent_start [ARGS...]   run
#       $EXECFS_BUILD_DIR/execfs-agent --runc-root $RUNC_ROOT --node $AGENT_NODE
#           --listen unix:$AGENT_SOCK [ARGS...]
#     in the background (AGENT_NODE defaults to testnode, AGENT_SOCK to
#     $TESTDIR/agent.sock), logging to $TESTDIR/agent.log; waits until the
#     Unix socket and every TCP --listen HOST:PORT in ARGS accept connections.
#     Sets AGENT_PID. Stopped at exit (SIGTERM, then SIGKILL after 30 s).
#     Its processes (the monitor and its worker) are recorded at start:
#     when it is stopped, or found dead, each must be gone (stop_pid).
#     With AGENT_PREFIX (an array, e.g. (prlimit --nofile=64:200)) set, the
#     agent runs under that command, which must exec it in its own pid.
#     AGENT_BIN runs another binary (an installed one) instead.
#   agent_stop              stop it now.
#   stop_pid PID NAME       stop any daemon the test started: SIGTERM, then
#                           SIGKILL after 30 s; then every process of it
#                           (PID and its descendants running the same
#                           program, e.g. the agent's worker) must be gone
#                           within 60 s, or the test fails naming the one
#                           left (which is then killed).
#   procs_note PID          record PID and those descendants now (for a
#                           daemon the test may kill itself, whose orphans
#                           stop_pid would not find; agent_start does it).
#   agent_worker_pid        print the pid of the agent's worker: the process
#                           holding the listening socket (AGENT_PID is the
#                           privileged monitor; with --no-privsep, itself).
#   socket_holders INODE    print the pids that hold socket INODE.
#   free_port               print a free TCP port on 127.0.0.1.
#   port_open HOST PORT     succeed if HOST:PORT accepts a TCP connection.

AGENT_NODE=${AGENT_NODE:-testnode}
if [ -n "${TESTDIR:-}" ]; then
	AGENT_SOCK=${AGENT_SOCK:-$TESTDIR/agent.sock}
fi
AGENT_PID=

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_open() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

unix_socket_open() {
	python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])' "$1" 2>/dev/null
}

# _proc_start PID: the start time of PID (field 22 of /proc/PID/stat),
# which tells it from a later process given the same pid.
_proc_start() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	# shellcheck disable=SC2086 # the fields, from the state (field 3) on
	set -- $stat
	echo "${20}"
}

# _proc_kin PID: the descendants of PID that run its program (same comm),
# through a chain of such processes: a daemon's own workers and forks, not
# the commands or containers it starts.
_proc_kin() {
	ps -e -o pid=,ppid=,comm= | awk -v root="$1" '
		{ parent[$1] = $2; comm[$1] = $3 }
		END {
			want = comm[root]
			if (want == "")
				exit
			do {
				grew = 0
				for (p in parent)
					if (!(p in kin) && comm[p] == want &&
					    (parent[p] == root || (parent[p] in kin))) {
						kin[p] = 1
						grew = 1
					}
			} while (grew)
			for (p in kin)
				print p
		}'
}

# procs_note ROOT [PID]: record PID (default ROOT) and its kin, each as pid
# and start time, in $TESTDIR/procs.ROOT, for _procs_gone.
procs_note() {
	local root=$1 from=${2:-$1} p start
	for p in "$from" $(_proc_kin "$from"); do
		start=$(_proc_start "$p") || continue
		grep -qx "$p $start" "$TESTDIR/procs.$root" 2>/dev/null ||
			echo "$p $start" >>"$TESTDIR/procs.$root"
	done
}

# _proc_describe PID: one line naming a process for a failure message.
_proc_describe() {
	local st cmd
	st=$(ps -o stat=,ppid=,user= -p "$1" 2>/dev/null | awk '{print "state " $1 ", ppid " $2 ", user " $3}')
	cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-300)
	# A zombie has no command line left: its name.
	[ -n "$cmd" ] || cmd="[$(cat "/proc/$1/comm" 2>/dev/null)]"
	printf 'pid %s (%s): %s' "$1" "$st" "$cmd"
}

# _procs_gone ROOT NAME: wait up to 60 s for every process recorded for
# ROOT (procs_note) to be gone, recording the kin each has meanwhile (a
# child made on the way out: LeakSanitizer's tracer at a sanitized exit).
# A process left after that fails the test (cleanup_fail) naming it, and
# is killed, so that nothing outlives the test.
_procs_gone() {
	local root=$1 name=$2 file=$TESTDIR/procs.$1 deadline p start left
	[ -f "$file" ] || return 0
	deadline=$(($(date +%s) + 60))
	while :; do
		left=()
		while read -r p start; do
			[ "$(_proc_start "$p")" = "$start" ] || continue
			left+=("$p")
			procs_note "$root" "$p"
		done <"$file"
		[ ${#left[@]} -gt 0 ] || break
		if [ "$(date +%s)" -ge "$deadline" ]; then
			for p in "${left[@]}"; do
				cleanup_fail "$name (pid $root) ended, but its process stayed 60 s after: $(_proc_describe "$p"); killed"
			done
			for p in "${left[@]}"; do
				kill -KILL "$p" 2>/dev/null || true
			done
			break
		fi
		sleep 0.1
	done
	rm -f "$file"
}

# stop_pid PID NAME: SIGTERM, wait up to 30 s (a sanitized daemon's exit, with
# its leak check, takes a while on a busy machine), then SIGKILL. Records an
# exit by a signal other than the SIGTERM we sent (e.g. an ASan abort) as a
# finding. Then every process of it must be gone (_procs_gone).
stop_pid() {
	local pid=$1 name=$2 i rc=0
	kill -0 "$pid" 2>/dev/null || {
		wait "$pid" 2>/dev/null || rc=$?
		log "$name (pid $pid) had already exited (status $rc)"
		_procs_gone "$pid" "$name"
		return 0
	}
	procs_note "$pid"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 300; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "$name (pid $pid) ignored SIGTERM for 30 s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	case $rc in
	0 | 143) ;;
	*) log "$name (pid $pid) ended with status $rc after SIGTERM" ;;
	esac
	_procs_gone "$pid" "$name"
}

agent_start() {
	local bin=${AGENT_BIN:-$EXECFS_BUILD_DIR/execfs-agent} args=("$@") i addr waits=()
	[ -x "$bin" ] || fail "no $bin (build first)"
	for ((i = 0; i < ${#args[@]}; i++)); do
		if [ "${args[i]}" = --listen ] && [ $((i + 1)) -lt ${#args[@]} ]; then
			addr=${args[i + 1]}
			[[ $addr == unix:* ]] || waits+=("$addr")
		fi
	done
	mkdir -p "$RUNC_ROOT"
	log_register agent "$TESTDIR/agent.log"
	log "agent: ${AGENT_PREFIX[*]+${AGENT_PREFIX[*]} }$bin --runc-root $RUNC_ROOT --node $AGENT_NODE --listen unix:$AGENT_SOCK $*"
	${AGENT_PREFIX[@]+"${AGENT_PREFIX[@]}"} \
		"$bin" --runc-root "$RUNC_ROOT" --node "$AGENT_NODE" \
		--listen "unix:$AGENT_SOCK" "$@" </dev/null >>"$TESTDIR/agent.log" 2>&1 &
	AGENT_PID=$!
	cleanup_push "stop_pid $AGENT_PID agent"
	wait_for "! kill -0 $AGENT_PID || unix_socket_open '$AGENT_SOCK'" 60 ||
		fail "agent: unix:$AGENT_SOCK not up in 60 s"
	kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited at start"
	# The monitor has made its worker by now: it holds the socket.
	procs_note "$AGENT_PID"
	for addr in ${waits[@]+"${waits[@]}"}; do
		wait_for "! kill -0 $AGENT_PID || port_open '${addr%:*}' '${addr##*:}'" 60 ||
			fail "agent: $addr not up in 60 s"
		kill -0 "$AGENT_PID" 2>/dev/null || fail "agent exited at start"
	done
	log "agent up (pid $AGENT_PID)"
}

socket_holders() {
	# find reads the links itself: a loop of readlinks over every fd of a
	# busy machine takes minutes.
	# (Processes that end meanwhile make find complain: not an error.)
	{ find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\[$1\]" 2>/dev/null || true; } |
		cut -d/ -f3 | sort -u
}

agent_worker_pid() {
	local inode
	inode=$(awk -v p="$AGENT_SOCK" '$NF == p && $6 == "01" {print $7}' /proc/net/unix | head -1)
	[ -n "$inode" ] || fail "no listening socket at $AGENT_SOCK"
	socket_holders "$inode"
}

agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	stop_pid "$AGENT_PID" agent
	AGENT_PID=
}
