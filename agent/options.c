/*
 * execfs-agent's options (options.h): the --help text and the parser. A
 * value is checked here, with a message naming the option, before the
 * agent runs with it; the defaults that depend on other options (the
 * listener, the state roots, the host's cgroup namespace) are set last.
 */
#include "options.h"

#include "execfs/evloop.h"
#include "execfs/log.h"
#include "execfs/numparse.h"
#include "execfs/proto.h"
#include "execfs/version.h"
#include "handover.h"
#include "inventory.h"
#include "naming.h"
#include "session.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: execfs-agent [OPTIONS]\n"
		"\n"
		"The execfs node agent: serves this node's containers to execfs mounts\n"
		"over HTTP/2 and runs the sessions they start inside the containers.\n"
		"\n"
		"Options:\n"
		"  --listen ADDR      where to listen; repeatable. ADDR is unix:PATH (h2c,\n"
		"                     peers identified by uid) or HOST:PORT / [V6]:PORT\n"
		"                     (TLS with mutual authentication: needs --cert, --key\n"
		"                     and --client-ca). Default: unix:%s\n"
		"  --cert FILE        PEM certificate chain the agent presents on TCP\n"
		"  --key FILE         PEM private key of --cert\n"
		"  --client-ca FILE   PEM CA(s) client certificates must be signed by\n"
		"  --crl FILE         PEM CRL(s) of those CAs: a revoked client\n"
		"                     certificate is refused, and so is one whose CA\n"
		"                     has no CRL in FILE\n"
		"  --node NAME        the node's name in the tree (default: the host name)\n"
		"  --state-root DIR   an OCI runtime state root (runc or crun) to discover\n"
		"                     containers in; repeatable; components may hold\n"
		"                     wildcards (* ? [..]) and roots that appear later\n"
		"                     are followed. Default: /run/runc, /run/crun,\n"
		"                     /run/containerd/runc/*, /run/docker/runtime-*/moby\n"
		"                     (runc, crun, Podman, CRI-O, containerd in every\n"
		"                     namespace, Docker). --runc-root is the same\n"
		"  --docker-root DIR  Docker's data root, where Docker's names and\n"
		"                     labels are read (default /var/lib/docker)\n"
		"  --host-exec        offer the node itself as <node>/.host: a session\n"
		"                     there runs in the namespaces of pid 1 (the host's,\n"
		"                     with hostPID) as root or the requested user, not\n"
		"                     confined; the policy's exec_node action allows it\n"
		"  --policy FILE      the exec policy (JSON, default deny; see\n"
		"                     docs/SECURITY.md), reloaded on SIGHUP and when\n"
		"                     the file is replaced. Without it\n"
		"                     only root on the Unix socket (uid:0) may exec\n"
		"  --audit FILE       append a JSON line per session start and end\n"
		"  --audit-required   a start whose audit line cannot be written\n"
		"                     (a full disk, an I/O error) fails with EIO\n"
		"  --audit-redact RE  write arguments matching the POSIX extended\n"
		"                     regex RE as [REDACTED]; repeatable\n"
		"  --max-sessions N   running sessions allowed per peer identity\n"
		"                     (ended ones kept for a resume count too),\n"
		"                     whatever the policy says (default 4096)\n"
		"  --max-handshakes N TLS handshakes under way at once, per listener;\n"
		"                     more connections are closed at accept\n"
		"                     (default 256)\n"
		"  --max-conns-per-peer N  connections of one peer identity, per\n"
		"                     listener; more are closed after the\n"
		"                     handshake (default 128)\n"
		"  --max-streams-per-peer N  streams open on all connections of one\n"
		"                     peer identity; more are refused\n"
		"                     (REFUSED_STREAM; default 32768)\n"
		"  --grace SECS       keep a running session whose client went away\n"
		"                     for SECS (1..86400), then kill its processes\n"
		"                     (default 60)\n"
		"  --heartbeat SECS   PING a connection silent for SECS and drop it\n"
		"                     after 3*SECS without a byte: its sessions get\n"
		"                     their grace period (default 5; 0: never)\n"
		"  --spin US          after a wakeup, poll for US microseconds before\n"
		"                     sleeping again: fewer slow wakeups in interactive\n"
		"                     sessions (default 100, 0 on one CPU; 0: never)\n"
		"  --log FILE         log to FILE instead of standard error (reopened\n"
		"                     on SIGUSR1, for logrotate)\n"
		"  --pidfile FILE     write the agent's pid to FILE (removed at exit)\n"
		"  --metrics ADDR     serve GET /healthz, /readyz and /metrics (the\n"
		"                     Prometheus text format) over plain HTTP/1.1 on\n"
		"                     ADDR: 127.0.0.1:PORT, [::1]:PORT or unix:PATH\n"
		"                     (loopback only: it has no authentication)\n"
		"  --user NAME|UID    the unprivileged user the network-facing worker\n"
		"                     runs as (default: " AGENT_USER
		" when that user exists,\n"
		"                     else nobody, with a warning)\n"
		"  --host-cgroupns FILE  the cgroup namespace to join at start, so\n"
		"                     processes can be placed in any container's\n"
		"                     cgroups (default /proc/1/ns/cgroup: the host's\n"
		"                     in a pod with hostPID); none: stay in ours\n"
		"  --no-privsep       one root process for everything (debugging only:\n"
		"                     the part that parses network input keeps root)\n"
		"  --debug            log every request\n"
		"  -h, --help         this text\n"
		"  --version          the version (the same as execfs --version)\n"
		"\n"
		"Signals (to the agent's main process, the privileged monitor): SIGTERM\n"
		"and SIGINT stop the agent; running sessions are killed. SIGHUP reloads\n"
		"--policy and the TLS files (a bad file keeps the old one in force; the\n"
		"TLS files are also reloaded when their directory changes, as a\n"
		"Kubernetes Secret volume does; new connections get the new\n"
		"certificate, open ones and their sessions go on). SIGUSR1 reopens --log.\n"
		"SIGUSR2 upgrades in place: the binary now at the agent's path (a\n"
		"regular file owned by root, writable by root only, that answers\n"
		"--handover-check) replaces the running one in the same process,\n"
		"which keeps every session, its bytes and its listening sockets;\n"
		"clients resume on their own. A binary that fails those checks is\n"
		"refused with a log line and the agent goes on (docs/DEPLOY.md).\n"
		"  --handover-check   print the handover version this binary speaks\n"
		"  --handover-fd N    (set by the agent itself when it executes the\n"
		"                     new binary of an upgrade: the state it hands over)\n"
		"  --handover-socket PATH  let a new agent, started on its own (a\n"
		"                     DaemonSet's rolling update), take every session\n"
		"                     over through this Unix socket (suggested:\n"
		"                     /run/execfs/handover.sock; its directory is made\n"
		"                     0700): only a root process whose binary answers\n"
		"                     --handover-check is let in. This agent then stays\n"
		"                     the parent of its sessions' processes, relaying\n"
		"                     their exit statuses and signals, and exits after\n"
		"                     the last one ended\n"
		"  --take-over PATH   start by taking every session over from the agent\n"
		"                     listening on PATH (its --handover-socket); give\n"
		"                     the same --listen addresses. Nobody listening\n"
		"                     there: a fresh start\n"
		"\n"
		"Under systemd (Type=notify, NotifyAccess=all) the agent reports\n"
		"READY=1 once it listens and its policy is in force, and a STATUS line.\n"
		"Privilege separation: docs/SECURITY.md.\n"
		"Protocol: docs/PROTOCOL.md.\n",
		EXECFS_DEFAULT_SOCKET);
}

int agent_opts_parse(int argc, char **argv, struct agent_opts *o)
{
	enum {
		O_LISTEN = 256,
		O_CERT,
		O_KEY,
		O_CA,
		O_CRL,
		O_NODE,
		O_ROOT,
		O_DOCKER_ROOT,
		O_HOST_EXEC,
		O_LOG,
		O_PIDFILE,
		O_METRICS,
		O_POLICY,
		O_AUDIT,
		O_REDACT,
		O_AUDIT_REQUIRED,
		O_MAX_HANDSHAKES,
		O_MAX_CONNS,
		O_MAX_STREAMS,
		O_MAX_SESSIONS,
		O_GRACE,
		O_HEARTBEAT,
		O_SPIN,
		O_USER,
		O_HOST_CGROUPNS,
		O_NO_PRIVSEP,
		O_WORKER,
		O_HANDOVER_FD,
		O_HANDOVER_SOCKET,
		O_TAKE_OVER,
		O_HANDOVER_CHECK,
		O_DEBUG,
		O_HELP,
		O_VERSION
	};
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "client-ca", required_argument, NULL, O_CA },
		{ "crl", required_argument, NULL, O_CRL },
		{ "node", required_argument, NULL, O_NODE },
		{ "state-root", required_argument, NULL, O_ROOT },
		{ "runc-root", required_argument, NULL, O_ROOT },
		{ "docker-root", required_argument, NULL, O_DOCKER_ROOT },
		{ "host-exec", no_argument, NULL, O_HOST_EXEC },
		{ "log", required_argument, NULL, O_LOG },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "metrics", required_argument, NULL, O_METRICS },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "audit", required_argument, NULL, O_AUDIT },
		{ "audit-redact", required_argument, NULL, O_REDACT },
		{ "audit-required", no_argument, NULL, O_AUDIT_REQUIRED },
		{ "max-handshakes", required_argument, NULL, O_MAX_HANDSHAKES },
		{ "max-conns-per-peer", required_argument, NULL, O_MAX_CONNS },
		{ "max-streams-per-peer", required_argument, NULL,
		  O_MAX_STREAMS },
		{ "max-sessions", required_argument, NULL, O_MAX_SESSIONS },
		{ "grace", required_argument, NULL, O_GRACE },
		{ "heartbeat", required_argument, NULL, O_HEARTBEAT },
		{ "spin", required_argument, NULL, O_SPIN },
		{ "user", required_argument, NULL, O_USER },
		{ "host-cgroupns", required_argument, NULL, O_HOST_CGROUPNS },
		{ "no-privsep", no_argument, NULL, O_NO_PRIVSEP },
		{ "privsep-worker", required_argument, NULL, O_WORKER },
		{ "handover-fd", required_argument, NULL, O_HANDOVER_FD },
		{ "handover-socket", required_argument, NULL,
		  O_HANDOVER_SOCKET },
		{ "take-over", required_argument, NULL, O_TAKE_OVER },
		{ "handover-check", no_argument, NULL, O_HANDOVER_CHECK },
		{ "debug", no_argument, NULL, O_DEBUG },
		{ "help", no_argument, NULL, O_HELP },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN:
			if (o->nlisten == MAX_LISTEN) {
				fprintf(stderr,
					"execfs-agent: at most %d --listen\n",
					MAX_LISTEN);
				return -1;
			}
			o->listen[o->nlisten++] = optarg;
			break;
		case O_ROOT:
			if (o->nroots == MAX_ROOTS) {
				fprintf(stderr,
					"execfs-agent: at most %d --state-root\n",
					MAX_ROOTS);
				return -1;
			}
			if (optarg[0] != '/') {
				fprintf(stderr,
					"execfs-agent: --state-root %s: not an absolute path\n",
					optarg);
				return -1;
			}
			o->roots[o->nroots++] = optarg;
			break;
		case O_DOCKER_ROOT:
			o->docker_root = optarg;
			break;
		case O_HOST_EXEC:
			o->host_exec = true;
			break;
		case O_CERT:
			o->cert = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_CA:
			o->client_ca = optarg;
			break;
		case O_CRL:
			o->crl = optarg;
			break;
		case O_NODE:
			o->node = optarg;
			break;
		case O_LOG:
			o->log = optarg;
			break;
		case O_PIDFILE:
			o->pidfile = optarg;
			break;
		case O_METRICS:
			o->metrics = optarg;
			break;
		case O_POLICY:
			o->policy = optarg;
			break;
		case O_AUDIT_REQUIRED:
			o->audit_required = true;
			break;
		case O_MAX_HANDSHAKES:
		case O_MAX_CONNS:
		case O_MAX_STREAMS: {
			unsigned *v =
				ch == O_MAX_HANDSHAKES ? &o->caps.handshakes :
				ch == O_MAX_CONNS ? &o->caps.conns_per_peer :
						    &o->caps.streams_per_peer;

			if (num_parse_unsigned(optarg, 1000000, v) < 0 || !*v) {
				fprintf(stderr,
					"execfs-agent: --max-handshakes, --max-conns-per-peer and --max-streams-per-peer want 1..1000000\n");
				return -1;
			}
			break;
		}
		case O_MAX_SESSIONS: {
			char *end;

			errno = 0;
			o->max_sessions = strtoul(optarg, &end, 10);
			if (errno || *end || !o->max_sessions ||
			    o->max_sessions > 1000000) {
				fprintf(stderr,
					"execfs-agent: --max-sessions wants 1..1000000\n");
				return -1;
			}
			break;
		}
		case O_GRACE:
			if (num_parse_unsigned(optarg, 86400, &o->grace) < 0 ||
			    !o->grace) {
				fprintf(stderr,
					"execfs-agent: --grace wants 1..86400 seconds\n");
				return -1;
			}
			break;
		case O_HEARTBEAT: {
			unsigned beat;

			if (h2_heartbeat_parse(optarg, &beat) < 0) {
				fprintf(stderr,
					"execfs-agent: --heartbeat wants 0..%d seconds\n",
					H2_HEARTBEAT_MAX);
				return -1;
			}
			o->heartbeat = (long)beat;
			break;
		}
		case O_SPIN:
			if (evloop_spin_parse(optarg, &o->spin_us) < 0) {
				fprintf(stderr,
					"execfs-agent: --spin wants 0..%d microseconds\n",
					EVLOOP_SPIN_MAX_US);
				return -1;
			}
			break;
		case O_AUDIT:
			o->audit = optarg;
			break;
		case O_REDACT:
			if (o->nredact == MAX_REDACT) {
				fprintf(stderr,
					"execfs-agent: at most %d --audit-redact\n",
					MAX_REDACT);
				return -1;
			}
			o->redact[o->nredact++] = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_HOST_CGROUPNS:
			o->host_cgroupns = optarg;
			break;
		case O_NO_PRIVSEP:
			o->no_privsep = true;
			break;
		case O_WORKER: {
			char *end;
			long fd;

			/* Internal: how the monitor starts the worker. */
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno || *end || fd < 3 || fd > 1024) {
				fprintf(stderr,
					"execfs-agent: bad --privsep-worker\n");
				return -1;
			}
			o->worker_fd = (int)fd;
			break;
		}
		case O_HANDOVER_FD: {
			char *end;
			long fd;

			/* Internal: how an upgrade in place starts the new
			 * image (monitor_upgrade.h). */
			errno = 0;
			fd = strtol(optarg, &end, 10);
			if (errno || *end || fd < 3 || fd > INT_MAX) {
				fprintf(stderr,
					"execfs-agent: bad --handover-fd\n");
				return -1;
			}
			o->handover_fd = (int)fd;
			break;
		}
		case O_HANDOVER_SOCKET:
			o->handover_socket = optarg;
			break;
		case O_TAKE_OVER:
			o->take_over = optarg;
			break;
		case O_HANDOVER_CHECK:
			fputs(HANDOVER_CHECK_LINE, stdout);
			exit(0);
		case O_DEBUG:
			o->debug = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		case O_VERSION:
			printf("execfs-agent %s\n", EXECFS_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "execfs-agent: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->audit_required && !o->audit) {
		fprintf(stderr,
			"execfs-agent: --audit-required needs --audit FILE\n");
		return -1;
	}
	if (o->no_privsep && (o->handover_socket || o->take_over)) {
		fprintf(stderr,
			"execfs-agent: --handover-socket and --take-over "
			"need the monitor (not --no-privsep)\n");
		return -1;
	}
	if (!o->host_cgroupns)
		o->host_cgroupns = "/proc/1/ns/cgroup";
	if (!o->nlisten)
		o->listen[o->nlisten++] = "unix:" EXECFS_DEFAULT_SOCKET;
	/* Each runtime's and orchestrator's default root (docs/FILES.md). */
	if (!o->nroots) {
		o->roots[o->nroots++] = "/run/runc";
		o->roots[o->nroots++] = "/run/crun";
		o->roots[o->nroots++] = "/run/containerd/runc/*";
		o->roots[o->nroots++] = "/run/docker/runtime-*/moby";
	}
	naming_set_docker_root(o->docker_root);
	inventory_set_host_exec(o->host_exec);
	return 0;
}
