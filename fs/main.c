/*
 * execfs: the FUSE client. Parses options (mountopts.h: also as mount(8)'s
 * helper), finds (or starts) the local agent or loads the fleet
 * configuration, mounts, and runs one libevent loop that serves the FUSE
 * session fd and every node connection. Signals are events of that loop,
 * so shutdown (answer what is parked, unmount, free) happens in one place.
 * Logs go to stderr in the foreground, else to syslog, or to -o log=FILE.
 */
#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "config.h"
#include "echo_wait.h"
#include "exec_cli.h"
#include "execfs/evloop.h"
#include "execfs/h2.h"
#include "execfs/log.h"
#include "execfs/memtune.h"
#include "execfs/numparse.h"
#include "execfs/proto.h"
#include "execfs/version.h"
#include "fleet.h"
#include "fs.h"
#include "history.h"
#include "local.h"
#include "mountopts.h"
#include "node.h"
#include "notify.h"
#include "ops.h"
#include "tree.h"

/* FUSE requests handled per wakeup before other events get a turn. */
#define FUSE_BATCH 64

static void usage(const char *prog)
{
	printf("usage: %s [--agent unix:PATH|HOST:PORT] [--config FILE] [--log FILE] [-f] [-d]\n"
	       "              [-o OPT[,OPT...]] [SOURCE] MOUNTPOINT\n"
	       "       mount -t fuse.execfs [-o OPT[,OPT...]] SOURCE MOUNTPOINT   (and fstab)\n"
	       "       %s exec [-i] [-t] [-e CHAR|none] [--any] DIR -- CMD [ARGS...]   (see exec --help)\n"
	       "       %s exec --all [--max-parallel N] [--json] GLOB... -- CMD [ARGS...]\n"
	       "\n"
	       "Remote execution in containers, as files. Mounts one directory per node:\n"
	       "\n"
	       "  MOUNTPOINT/<node>/<namespace>/<pod>/<container>/\n"
	       "    ctl     write: one message a line. A command line starts a session, which\n"
	       "            becomes the container's current one (shell quoting, no expansion):\n"
	       "            `echo date > ctl`, `echo \"sh -c 'ls /'\" > ctl`, or `exec ARGV...`;\n"
	       "            the write fails with the start's error (ENOENT, EACCES...).\n"
	       "            Before exec: tty [COLS ROWS], env NAME=VALUE, cwd DIR,\n"
	       "            user NAME|UID[:GID], merge (stderr into stdout). After: resize\n"
	       "            COLS ROWS, signal SIG, kill, eof (close stdin), forget (an ended\n"
	       "            session). EINVAL: bad verb; EBUSY/ESRCH: wrong state; the reason\n"
	       "            is on the `error:` line of a ctl read.  read: N SID STATE\n"
	       "    stdin   write: bytes to the session's stdin; the last close sends EOF\n"
	       "    stdout  read: the session's output from its first retained byte; blocks at\n"
	       "            the tail while the process runs; EOF once it ended (poll, tail -f work)\n"
	       "    stderr  likewise\n"
	       "    status  never blocks: new, starting, running [(stdout full|reconnecting)],\n"
	       "            exited N, killed SIGNAME, failed: REASON, lost (none: no session\n"
	       "            yet)\n"
	       "    wait    blocks until the session ends, then the same line as status\n"
	       "    info    the container as JSON\n"
	       "    clone   read: makes a new session N/ and gives N\n"
	       "    N/      ctl stdin stdout stderr status wait of session N; the last 16\n"
	       "            ended sessions are kept (the current one besides)\n"
	       "\n"
	       "Example: n=$(cat clone); printf 'env A=1\\nexec sh -c \"echo $A\"\\n' > $n/ctl;\n"
	       "         cat $n/stdout $n/wait.  Interactive: `%s exec -it DIR -- sh`\n"
	       "\n"
	       "Nothing runs on ls, stat or open: only a write to ctl starts a process.\n"
	       "Output is kept per stream up to the history cap; a reader that falls behind\n"
	       "stops the remote process (like a full pipe), never loses bytes.\n"
	       "\n"
	       "SOURCE names the mount in the mount table (findmnt, df; default execfs);\n"
	       "what is mounted is said by agent= or config=. Every option below is also\n"
	       "an -o option (-o agent=ADDR,config=FILE,log=FILE), so an fstab line says\n"
	       "everything:\n"
	       "  execfs /exec fuse.execfs config=/etc/execfs/execfs.json,_netdev,nofail 0 0\n"
	       "fstab's own options (_netdev, nofail, noauto, user, x-systemd.*, comment=)\n"
	       "are ignored.\n"
	       "\n"
	       "Options:\n"
	       "  --agent ADDR, -o agent=ADDR\n"
	       "                  the agent to mount: unix:PATH or HOST:PORT (cleartext h2c on a\n"
	       "                  Unix socket). Default: unix:%s, started if\n"
	       "                  nothing accepts there (execfs-agent next to execfs, in\n"
	       "                  ../sbin, or in PATH; pid and log in /run/execfs)\n"
	       "  --config FILE, -o config=FILE\n"
	       "                  mount a fleet over mutual TLS; FILE is JSON (execfs(5)):\n"
	       "                  {\"nodes\": [{\"name\": \"n1\", \"address\": \"host:port\",\n"
	       "                              \"server_name\": \"optional, default the host\"}],\n"
	       "                   \"discover\": [{\"dns\": \"agents.example\", \"port\": 7443,\n"
	       "                                 \"server_name\": \"{node}.nodes.example\"}],\n"
	       "                   \"dns_server\": \"optional IP[:PORT], default resolv.conf\",\n"
	       "                   \"ca\": \"ca.pem\", \"cert\": \"client.pem\", \"key\": \"client.key\"}\n"
	       "                  nodes are static; every A/AAAA record of a discover name\n"
	       "                  is an agent, re-resolved by TTL (at least every 30 s), its\n"
	       "                  directory named as its agent says. MOUNTPOINT/.status\n"
	       "                  lists every node and name, NODE/.status one node;\n"
	       "                  MOUNTPOINT/.metrics is the mount's figures (Prometheus)\n"
	       "  --log FILE, -o log=FILE\n"
	       "                  log to FILE (reopened on SIGUSR1, for logrotate). Default:\n"
	       "                  standard error with -f or -d, else syslog (daemon facility)\n"
	       "  -o history=BYTES  output history per stream (K, M, G suffixes; default 1M)\n"
	       "  -o heartbeat=SECS  PING a node connection silent for SECS; after 3*SECS\n"
	       "                  without a byte it reconnects and resumes its sessions\n"
	       "                  (default 5; 0: never)\n"
	       "  -o resume=SECS  how long a session whose connection was lost waits for its\n"
	       "                  node to come back before it turns lost (default 60, the\n"
	       "                  agent's --grace; output, input and status resume where they\n"
	       "                  stopped: nothing lost, nothing twice)\n"
	       "  -o spin=US      after a wakeup, poll for US microseconds before sleeping\n"
	       "                  again: fewer slow wakeups in interactive sessions\n"
	       "                  (default 100, 0 on one CPU; 0: never)\n"
	       "  -o echo_wait=US  after a write of a few bytes to a tty session's stdin,\n"
	       "                  a poll(2) of its stdout waits up to US microseconds for\n"
	       "                  the echo and answers with it, sparing select/poll readers\n"
	       "                  two round trips per keystroke; stops after a key that\n"
	       "                  got no echo in time until one does (default 2000; 0: never)\n"
	       "  -f              stay in the foreground\n"
	       "  -d              debug: foreground, FUSE requests and our log at debug level\n"
	       "  -o allow_other  let other users use the mount (modes are enforced:\n"
	       "                  execfs always mounts with default_permissions)\n"
	       "  -h, --help      this text;  -V, --version  versions\n"
	       "\n"
	       "Signals: SIGTERM and SIGINT unmount (as does fusermount3 -u MOUNTPOINT);\n"
	       "SIGUSR1 reopens the log file; SIGHUP re-reads --config (nodes added\n"
	       "appear, removed ones go once their sessions ended, new addresses and\n"
	       "TLS files serve new connections; a bad file changes nothing).\n"
	       "Man pages: execfs(1), execfs(5) (the files), execfs-agent(8).\n"
	       "\n",
	       prog, prog, prog, prog, EXECFS_DEFAULT_SOCKET);
	printf("FUSE options:\n");
	fuse_cmdline_help();
	fuse_lowlevel_help();
}

static int parse_size(const char *s, size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k':
	case 'K':
		v <<= 10;
		end++;
		break;
	case 'm':
	case 'M':
		v <<= 20;
		end++;
		break;
	case 'g':
	case 'G':
		v <<= 30;
		end++;
		break;
	default:
		break;
	}
	if (*end || v < 4096 || v > (1ULL << 34))
		return -EINVAL;
	*out = (size_t)v;
	return 0;
}

struct loop {
	struct execfs *fs;
	struct event_base *base;
	struct fuse_buf fbuf; /* owned: libfuse fills mem, we free it */
};

static void fuse_readable(evutil_socket_t fd, short what, void *arg)
{
	struct loop *lp = arg;
	struct fuse_session *se = lp->fs->se;
	int k, res;

	for (k = 0; k < FUSE_BATCH; k++) {
		res = fuse_session_receive_buf(se, &lp->fbuf);
		if (res == -EINTR || res == -EAGAIN)
			return;
		if (res <= 0 || fuse_session_exited(se)) {
			/* 0 with exited: unmounted (ENODEV), e.g. fusermount -u */
			if (res < 0)
				log_error("reading /dev/fuse: %s",
					  strerror(-res));
			event_base_loopbreak(lp->base);
			return;
		}
		fuse_session_process_buf(se, &lp->fbuf);
		if (fuse_session_exited(se)) {
			event_base_loopbreak(lp->base);
			return;
		}
	}
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop *lp = arg;

	log_info("signal %d: unmounting", (int)sig);
	event_base_loopbreak(lp->base);
}

/* SIGHUP: read the configuration again (fleet.h). */
static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct loop *lp = arg;

	if (lp->fs->fleet)
		fleet_reload(lp->fs->fleet);
	else
		log_info("SIGHUP: a mount without --config has nothing to "
			 "re-read");
}

/* A node is a socket: a fleet of thousands needs more fds than the soft
 * limit a shell or a unit starts with (often 1024); the hard limit is
 * what the administrator allows. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	/* An unlimited hard limit is more than the kernel's nr_open. */
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0 && rl.rlim_max == RLIM_INFINITY) {
		rl.rlim_cur = 1024 * 1024;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* SIGUSR1: logrotate moved the log file. */
static void on_reopen_signal(evutil_socket_t sig, short what, void *arg)
{
	int rc = log_reopen();

	if (rc == 0)
		log_info("log reopened");
}

/* The -o values that are numbers, checked before anything is mounted.
 * 0, or -EINVAL after saying why on stderr. */
static int check_numbers(const struct mount_opts *mo, struct execfs *fs,
			 unsigned *spin_us)
{
	if (mo->history && parse_size(mo->history, &fs->history_cap) < 0) {
		fprintf(stderr, "execfs: bad history=%s (4K to 16G)\n",
			mo->history);
		return -EINVAL;
	}
	if (mo->heartbeat) {
		unsigned beat;

		if (h2_heartbeat_parse(mo->heartbeat, &beat) < 0) {
			fprintf(stderr,
				"execfs: bad heartbeat=%s (0 to %d seconds)\n",
				mo->heartbeat, H2_HEARTBEAT_MAX);
			return -EINVAL;
		}
		h2_set_heartbeat(beat);
	}
	if (mo->resume && (num_parse_unsigned(mo->resume, FS_RESUME_MAX,
					      &fs->resume_seconds) < 0 ||
			   fs->resume_seconds == 0)) {
		fprintf(stderr, "execfs: bad resume=%s (1 to %d seconds)\n",
			mo->resume, FS_RESUME_MAX);
		return -EINVAL;
	}
	*spin_us = evloop_spin_default();
	if (mo->spin && evloop_spin_parse(mo->spin, spin_us) < 0) {
		fprintf(stderr, "execfs: bad spin=%s (0 to %d microseconds)\n",
			mo->spin, EVLOOP_SPIN_MAX_US);
		return -EINVAL;
	}
	if (mo->echo_wait) {
		unsigned us;

		if (num_parse_unsigned(mo->echo_wait, ECHO_WAIT_MAX_US, &us) <
		    0) {
			fprintf(stderr,
				"execfs: bad echo_wait=%s (0 to %d microseconds)\n",
				mo->echo_wait, ECHO_WAIT_MAX_US);
			return -EINVAL;
		}
		echo_wait_set_limit(us);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fuse_cmdline_opts opts;
	struct mount_opts mo;
	struct execfs fs;
	struct config *cfg = NULL;
	SSL_CTX *ctx = NULL;
	struct loop lp;
	struct event *fuse_ev = NULL, *sig_ev[4] = { NULL, NULL, NULL, NULL };
	const int sigs[4] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };
	char err[512], address[sizeof(EXECFS_DEFAULT_SOCKET) + 8];
	int rc = 1, i, fd;
	unsigned spin_us;
	bool mounted = false;

	/* `execfs exec ...` is a client of a mount, not a mount. */
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return exec_main(argc - 1, argv + 1);

	memset(&fs, 0, sizeof(fs));
	memset(&opts, 0, sizeof(opts));
	memset(&lp, 0, sizeof(lp));
	list_init(&fs.nodes);
	list_init(&fs.handles);
	fs.history_cap = HISTORY_DEFAULT_CAP;
	fs.resume_seconds = FS_RESUME_SECONDS;
	fs.uid = getuid();
	fs.gid = getgid();
	log_open("execfs", NULL);

	if (mount_opts_parse(argc, argv, &mo, err, sizeof(err)) < 0) {
		fprintf(stderr, "execfs: %s\n", err);
		goto out_args;
	}
	if (fuse_parse_cmdline(&mo.fuse, &opts) != 0) {
		fprintf(stderr, "execfs: bad arguments (try --help)\n");
		goto out_args;
	}
	if (opts.show_help) {
		usage(argv[0]);
		rc = 0;
		goto out_args;
	}
	if (opts.show_version) {
		printf("execfs %s\n", EXECFS_VERSION);
		printf("libfuse %s\n", fuse_pkgversion());
		/* Ours first: libfuse runs fusermount3, which prints too. */
		fflush(stdout);
		fuse_lowlevel_version();
		rc = 0;
		goto out_args;
	}
	if (!opts.mountpoint) {
		fprintf(stderr, "execfs: no mount point (try --help)\n");
		goto out_args;
	}
	if (mo.agent && mo.config) {
		fprintf(stderr,
			"execfs: agent= and config= exclude each other\n");
		goto out_args;
	}
	if (check_numbers(&mo, &fs, &spin_us) < 0)
		goto out_args;
	if (opts.debug)
		log_set_level(LOG_LVL_DEBUG);
	if (mo.log && (i = log_open("execfs", mo.log)) < 0) {
		fprintf(stderr, "execfs: cannot open log %s: %s\n", mo.log,
			strerror(-i));
		goto out_args;
	}

	if (mo.config) {
		if (config_load(mo.config, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "execfs: %s\n", err);
			goto out_args;
		}
		ctx = tls_client_ctx_new(cfg->ca, cfg->cert, cfg->key, err,
					 sizeof(err));
		if (!ctx) {
			fprintf(stderr, "execfs: %s: %s\n", mo.config, err);
			goto out_args;
		}
	}
	if (mo.fake) {
		/* mount -f: everything checked, nothing started or mounted. */
		rc = 0;
		goto out_args;
	}
	if (!cfg && !mo.agent) {
		if (local_agent_ensure(err, sizeof(err)) < 0) {
			fprintf(stderr, "execfs: %s\n", err);
			goto out_args;
		}
		snprintf(address, sizeof(address), "unix:%s",
			 EXECFS_DEFAULT_SOCKET);
	}
	fs.local = !cfg;

	fs.se = fuse_session_new(&mo.fuse, &fs_ops, sizeof(fs_ops), &fs);
	if (!fs.se)
		goto out_args;
	if (fuse_session_mount(fs.se, opts.mountpoint) != 0)
		goto out_session;
	mounted = true;
	/* Fork (unless -f) before any event base or thread exists. Its
	 * stderr is /dev/null from here on: log to syslog unless to a file. */
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_session;
	if (!opts.foreground && !mo.log)
		log_to_syslog();

	signal(SIGPIPE, SIG_IGN);
	/* Until the loop handles it (a re-read of the configuration), a
	 * SIGHUP must not unmount. */
	signal(SIGHUP, SIG_IGN);
	raise_nofile();
	memtune_for_streaming();
	fs.base = event_base_new();
	if (fs.base && event_base_priority_init(fs.base, FS_PRIORITIES) < 0) {
		event_base_free(fs.base);
		fs.base = NULL;
	}
	fs.tree = fs.base ? tree_new(&fs) : NULL;
	fs.notifier = fs.tree ? notifier_new(fs.se) : NULL;
	if (!fs.notifier) {
		log_error("out of memory");
		goto out_loop;
	}
	lp.fs = &fs;
	lp.base = fs.base;
	/* Signals first: a SIGHUP from here on re-reads the file. */
	for (i = 0; i < 4; i++) {
		sig_ev[i] = evsignal_new(fs.base, sigs[i],
					 sigs[i] == SIGUSR1 ? on_reopen_signal :
					 sigs[i] == SIGHUP  ? on_reload_signal :
							      on_signal,
					 &lp);
		if (!sig_ev[i] || event_add(sig_ev[i], NULL) < 0)
			goto out_loop;
	}
	if (cfg) {
		/* Static host names resolve here (transport); the fleet's
		 * DNS names on a resolver of its own (discovery.h). */
		fs.dns = evdns_base_new(fs.base,
					EVDNS_BASE_INITIALIZE_NAMESERVERS);
		if (!fs.dns) {
			log_error("cannot set up DNS");
			goto out_loop;
		}
		fs.fleet =
			fleet_new(&fs, cfg, ctx, mo.config, err, sizeof(err));
		cfg = NULL; /* the fleet's, or freed */
		ctx = NULL;
		if (!fs.fleet) {
			log_error("%s: %s", mo.config, err);
			goto out_loop;
		}
	} else {
		struct node_params p = {
			.address = mo.agent ? mo.agent : address,
		};

		if (!node_new(&fs, &p)) {
			log_error("out of memory");
			goto out_loop;
		}
		nodes_start(&fs);
	}

	fd = fuse_session_fd(fs.se);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	fuse_ev = event_new(fs.base, fd, EV_READ | EV_PERSIST, fuse_readable,
			    &lp);
	if (!fuse_ev || event_add(fuse_ev, NULL) < 0)
		goto out_loop;
	log_info("mounted on %s", opts.mountpoint);
	if (evloop_run(fs.base, spin_us) < 0)
		log_error("event loop failed");
	else
		rc = 0;

out_loop:
	/* Teardown order: connections first (their streams' on_close answers
	 * every parked request while the kernel still listens), then the
	 * handles the kernel will never release, the mount, the inodes. */
	fs.unmounting = true;
	fleet_free(fs.fleet);
	fs.fleet = NULL;
	nodes_free(&fs);
	ops_free_handles(&fs);
	notifier_free(fs.notifier);
	for (i = 0; i < 4; i++)
		if (sig_ev[i])
			event_free(sig_ev[i]);
	if (fuse_ev)
		event_free(fuse_ev);
	/* One more pass: whatever the teardown above activated runs before
	 * the base goes. */
	if (fs.base)
		event_base_loop(fs.base, EVLOOP_NONBLOCK);
out_session:
	if (mounted)
		fuse_session_unmount(fs.se);
	tree_free(fs.tree);
	fuse_session_destroy(fs.se);
	free(lp.fbuf.mem);
	if (fs.dns)
		evdns_base_free(fs.dns, 0);
	if (fs.base)
		event_base_free(fs.base);
out_args:
	tls_ctx_free(ctx);
	config_free(cfg);
	free(opts.mountpoint);
	mount_opts_release(&mo);
	return rc;
}
