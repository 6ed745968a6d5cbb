#!/bin/bash
# Run one libFuzzer target for a bounded time from its seeds.
# Usage: run_fuzzer.sh BINARY SECONDS
# The corpus lives next to the binary (BINARY.corpus/) and grows across
# runs; seeds come from h2_seeds.py for the HTTP/2 target,
# privsep_seeds.py for the privsep messages, handover_seeds.py for an
# upgrade's documents, bolt_seeds.py for BoltDB
# files and confine_seeds.py for a container's seccomp profile and
# confinement. Crash inputs are
# kept as BINARY.crash-* for reproduction (run BINARY on the file).
set -eu
bin=$1
secs=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus=$bin.corpus
mkdir -p "$corpus"
case $(basename "$bin") in
fuzz_agent_h2) python3 "$here/h2_seeds.py" "$corpus" ;;
fuzz_agent_privsep) python3 "$here/privsep_seeds.py" "$corpus" ;;
fuzz_agent_handover) python3 "$here/handover_seeds.py" "$corpus" ;;
fuzz_agent_metrics_http)
	printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >"$corpus/seed-get"
	printf 'HEAD /healthz?x=1 HTTP/1.0\n\n' >"$corpus/seed-head"
	printf 'POST /readyz HTTP/1.1\r\n\r\n' >"$corpus/seed-post"
	;;
fuzz_agent_seccomp) python3 "$here/confine_seeds.py" seccomp "$corpus" ;;
fuzz_agent_confine) python3 "$here/confine_seeds.py" confine "$corpus" ;;
fuzz_fs_ctl)
	# One seed per verb, as users write them.
	i=0
	for line in "date" "sh -c 'echo \"a b\" \$x; exit 7'" "exec ls -l /" \
		"tty 80 24" "env A=b\\ c" "cwd /tmp" "user app:wheel" "merge" \
		"signal TERM" "kill" "resize 100 30" "eof" "forget"; do
		printf '%s\n' "$line" >"$corpus/seed-$i"
		i=$((i + 1))
	done
	;;
fuzz_agent_boltdb) python3 "$here/bolt_seeds.py" "$corpus" ;;
fuzz_agent_runtime_files)
	# The first byte picks the parser (see the target).
	printf '\000{"pid": 4242, "process-start-time": 56501, "cgroup-path": "/c1", "bundle": "/b", "created": "2026-12-07T11:42:57.724807Z", "owner": "root"}' >"$corpus/seed-crun"
	printf '\001{"ID": "66", "Name": "/shop-web-1", "Config": {"Image": "busybox:1", "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web", "com.docker.compose.container-number": "1"}, "Env": ["A=b"]}}' >"$corpus/seed-compose"
	printf '\001{"ID": "66", "Name": "/redis-6f3c", "Config": {"Labels": {"com.hashicorp.nomad.alloc_id": "6f3c2a9e-1b7d", "com.hashicorp.nomad.job_name": "cache", "com.hashicorp.nomad.task_group_name": "kv", "com.hashicorp.nomad.task_name": "redis"}, "Env": ["NOMAD_ALLOC_INDEX=2", "NOMAD_NAMESPACE=prod"]}}' >"$corpus/seed-nomad"
	printf '\002[{"id": "a", "names": ["web"], "metadata": "{\\"image-name\\": \\"localhost/b:1\\"}"}]' >"$corpus/seed-store"
	printf '\003{"pod": "1a57", "pause": true, "name": "1a57-infra"}' >"$corpus/seed-libpod"
	{
		printf '\004%b' '4:pids:/kube/pod1\n1:cpu,cpuacct:/c1\n0::/c1\n'
		printf '\0'
		printf '%b' '31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n34 30 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n'
		printf '%s\n' '35 30 0:31 /kube /srv/my\040pids rw - cgroup cgroup rw,pids'
	} >"$corpus/seed-cgroup"
	;;
fuzz_agent_policy)
	# Every key of docs/SECURITY.md's policy table.
	printf '{"exec_enabled": true, "rules": [{"principals": ["ops", "uid:*"], "namespaces": ["default"], "pods": ["web-*"], "containers": ["*"], "labels": {"app": "w*"}, "actions": ["exec", "exec_privileged"], "run_as": ["app", "default"], "max_sessions": 500}]}' >"$corpus/seed-0"
	printf '{"exec_enabled": false, "rules": []}' >"$corpus/seed-1"
	printf '{"rules": [{"principals": ["dns:ops", "cn:alice", "uri:spiffe://*", "bare"], "actions": ["exec"], "run_as": ["app", "uid:1000-1999", "gid:0"]}]}' >"$corpus/seed-2"
	;;
fuzz_fs_status)
	# The first byte picks the HTTP status (200, 400, 403, 404, ...).
	printf '\000{"state": "exited", "code": 7}' >"$corpus/seed-0"
	printf '\000{"state": "killed", "signal": 9, "signame": "KILL"}' >"$corpus/seed-1"
	printf '\003{"state": "failed", "errno": "ENOENT", "message": "exec x: No such file"}' >"$corpus/seed-2"
	;;
fuzz_agent_userdb)
	# spec NUL passwd NUL group, as a container's files look.
	printf 'app\000root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n\000root:x:0:\nstaff:x:50:app,other\n' >"$corpus/seed-0"
	printf '1000:staff\000+nis::::::\nbroken:x:y:1:::\n\000staff:x:50:app\n' >"$corpus/seed-1"
	;;
fuzz_fs_snapshot)
	# Two snapshots: a container appears, then moves to another pod.
	{
		printf '{"node": "n1", "containers": [{"id": "c1", "namespace": "default", "pod": "web-1", "name": "box"}, {"id": "c2"}]}\n'
		printf '{"node": "n1", "containers": [{"id": "c1", "namespace": "prod", "pod": "web-2", "name": "box"}, {"id": "c3", "pod": "web-2", "name": "box"}]}\n'
	} >"$corpus/seed-0"
	;;
fuzz_fs_exec_lines)
	# The first byte: bit 0 JSON or text, the rest the read size.
	printf '\001caf\303\251 ok\nbad \377 byte\n\000nul\nlast' >"$corpus/seed-0"
	printf '\010line one\nline two\n\n\nno end' >"$corpus/seed-1"
	;;
esac
exec "$bin" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=60 \
	-print_final_stats=1 -artifact_prefix="$bin.crash-" "$corpus"
